"""Sanity checks of proved obligations, like Certora's: a proof that says nothing is flagged.

1. A conclusion that merely restates an assumption. After a case is PROVED, its conclusion is
   checked again with everything the action and the rulebook define made free: the state after
   the action, the action's lets, `liquidated` and `fill_price`, and every derived value (before and
   after) become fresh variables; the invariant's own `define`s, the arguments and the state before
   stay. If the conclusion still follows from the assumptions, the proof never used what the
   action does or what the definitions say: it restates an assumption (a warning, the status stays).
2. `--against` assumptions that pin a free input. For each numeric name the auditor's formula or
   assumption reads (state fields and derived values), a value allowed by the assumptions is
   found, and then a second one differing from it by more than a tiny amount (10^-6 relative,
   10^-9 absolute); if there is none, the assumption pins that input to a point or a tiny range and
   the equivalence is proved only there (e.g. `leverage == 1` makes a wrong formula agree).
"""

from __future__ import annotations

from fractions import Fraction

import z3

from .. import ast
from ..solving import check, found_sat, satisfiable
from ..z3env import SymEnv
from ..z3terms import SV, as_bool, q, to_fraction
from .base import be_contract
from .envs import _TEnv, proper
from .results import Goal, Obligation, _dec

RL_SANITY = 300_000  # each sanity check: a slice of solver work (a warning is only given on unsat)
_RESTATE_KINDS = ("transition", "preservation", "fact")


class SanityMixin:
    """Warnings about proofs that say less than they seem to."""

    def _fresh_named(self, names, tag: str, like: dict) -> dict[str, SV]:
        """Fresh variables for `names`, of the kind of the same name in `like` (SVs) or of the
        rulebook's derived values (numbers otherwise)."""
        be = self.be
        types = {d.name: d.ty for d in self.rb.derived}
        out = {}
        for n in names:
            sv, ty = like.get(n), types.get(n)
            kind = sv.kind if sv is not None else (ty.kind if ty is not None else "num")
            enum = sv.enum if sv is not None else (ty.enum if ty is not None else None)
            if kind == "bool":
                out[n] = SV(z3.Bool(f"{tag}.{n}"), kind="bool")
            elif kind == "enum":
                v = z3.Int(f"{tag}.{n}") if be.enum_sort == "int" else z3.Real(f"{tag}.{n}")
                out[n] = SV(v, z3.Bool(f"{tag}.{n}.null"), "enum", enum)
            else:
                out[n] = SV(z3.Real(f"{tag}.{n}"), z3.Bool(f"{tag}.{n}.null"))
        return out

    def _abstract_goal(self, ob: Obligation, g: Goal):
        """The conclusion with the action's effects and the rulebook's definitions made free."""
        be, f, fin = self.be, ob.formal, g.final or {}
        sym = self.subject(ob)
        c = be_contract(self, sym)
        derived = [d.name for d in self.rb.derived]
        tag = f"san.{ob.kind}"
        if ob.kind == "fact":
            st = fin["world"].view(fin["symbol"])
            vals = {**c.values(), **st, **{k: v for k, v in fin.get("forall", {}).items()}}
            vals.update(self._fresh_named(derived, f"{tag}.d", {}))
            env = SymEnv(be, vals, dict(f.defines(None)), None, c)
            return as_bool(be.compile_expr(f.formula, env).v)
        run = fin["run"]
        post = be.symbolic_state(f"{tag}.post.")
        lets = [n for n, _ in self.rb.actions[ob.action].lets]
        if ob.kind == "preservation":
            env = SymEnv(be, {**c.values(), **post, **self._fresh_named(derived, f"{tag}.d", {})}, {}, None, c)
            return as_bool(be.compile_expr(f.formula, env).v)
        args = {f"arg.{k}": v for k, v in fin["args"].items()}
        locals_ = self._fresh_named(lets + ["liquidated", "fill_price"], f"{tag}.l", run.locals)
        locals_["liquidated"] = SV(z3.Bool(f"{tag}.liquidated"), kind="bool")
        pre = SymEnv(be, {**c.values(), **run.pre, **args, **locals_,
                          **self._fresh_named(derived, f"{tag}.old", {})}, dict(f.defines(ob.action)), None, c)
        env = _TEnv(be, {**c.values(), **post, **args, **locals_, **self._fresh_named(derived, f"{tag}.new", {})},
                    dict(f.defines(ob.action)), None, c, old=pre)
        return as_bool(be.compile_expr(f.formula, env).v)

    def restates_assumption(self, ob: Obligation, label: str, g, witness=None) -> str | None:
        """A warning when a PROVED case's conclusion follows from its assumptions alone.

        `witness` (goal, obligation, answer): the vacuity check's answer, a model of the assumptions, of
        this goal or of the same obligation over a concrete contract. The conclusion failing there
        (`_fails_at`) settles it without the full query: no warning, exactly as the full query would
        answer (see `_fails_at`). `g`: the goal, or a function building it."""
        if ob.kind not in _RESTATE_KINDS or ob.formal is None:
            return None
        if witness is not None and self._fails_at(*witness):
            return None
        g = g() if callable(g) else g
        if not g.final:
            return None
        try:
            goal = self._abstract_goal(ob, g)
        except (KeyError, TypeError):
            return None
        r = check(goal, proper(g.assumptions), g.facts + self.be.take_facts(), min(self.timeout, 2.0), vacuity=False,
                  rlimit=RL_SANITY)
        if r.status != "proved":
            return None
        what = "the definitions of the derived values" if ob.kind == "fact" else "the action's effects and lets"
        used = ", ".join(r.core) if r.core else "no assumption at all"
        return (f"{label}: the conclusion follows from the assumptions alone ({used}), without {what}: "
                f"it restates an assumption")

    def _fails_at(self, wg: Goal, wob: Obligation, answer) -> bool:
        """Does the abstracted conclusion of `wob` fail in some state agreeing with `model` (a model of
        `wg`'s assumptions and facts) on every value the model gives? Then the sanity query is
        satisfiable, so it can never be proved and there is no warning: the answer the full query
        would give, found with every input pinned (a query Z3 settles at once). For a general
        obligation `wg` is its instance over a concrete contract: a model of that instance is a
        model of the general query too (every concrete contract is an instance of the symbolic one,
        the soundness argument of anycontract.py, which `_vacuity_on_contract` rests on as well; the
        fresh variables of the abstraction have the same names in both). False when unsure (the
        full query then decides)."""
        model = getattr(answer, "witness", None)
        if model is None:
            model = getattr(answer, "model", None)
        if model is None:
            return False
        # the abstracted conclusion of one obligation on one witness goal: the cases of an enum
        # parameter the concrete contract fixes share both, and so their abstraction
        key = ("sanity abstract", wob.id, self._mode, id(wg))
        hit = self._cache.get(key)
        if hit is None or hit[2] is not wg:
            pending = self.be.take_facts()  # kept for whoever collects them (the full query)
            try:
                goal = self._abstract_goal(wob, wg)
            except (KeyError, TypeError):
                return False
            finally:
                own = self.be.take_facts()
                self.be.facts = pending
            hit = self._cache[key] = (goal, own, wg)  # wg kept alive: its id stays its own
        goal, own, _ = hit
        hard = wg.facts + own + [a for _, a in proper(wg.assumptions)] + self._pins(model) + [z3.Not(goal)]
        return found_sat(hard, min(self.timeout, 2.0), RL_SANITY)

    def _pins(self, model) -> list:
        """Every value of `model` as an equation (a witness serves every invariant of its action and
        side: its equations are built once)."""
        cache = self._cache.setdefault("sanity pins", {})
        hit = cache.get(id(model))
        if hit is None or hit[0] is not model:
            pins = []
            for d in model.decls():
                if d.arity() != 0:
                    continue
                val = model[d]
                if z3.is_bool(val) or z3.is_int_value(val) or z3.is_rational_value(val):
                    pins.append(d() == val)
            hit = cache[id(model)] = (model, pins)  # the model kept alive: its id stays its own
        return hit[1]

    def case_warnings(self, ob: Obligation, label: str, g, witness=None) -> list[str]:
        """Every sanity warning of a PROVED case (never raises: a failed check gives no warning).
        `g`: the goal, or a function building it (only when needed); `witness`: a model of the
        assumptions, if the proof found one (see `restates_assumption`)."""
        try:
            w = self.restates_assumption(ob, label, g, witness)
            if ob.kind != "equivalence":
                return [w] if w else []
            return ([w] if w else []) + self.pinned_inputs(ob, label, g() if callable(g) else g)
        except Exception as e:  # pragma: no cover - a sanity check must not turn a proof into an error
            return [f"{label}: sanity check not run ({type(e).__name__}: {e})"]

    def pinned_inputs(self, ob: Obligation, label: str, g: Goal) -> list[str]:
        """Warnings for an `--against` assumption that pins an input to a point or a tiny range."""
        entry = ob.data or {}
        if ob.kind != "equivalence" or entry.get("assume") is None:
            return []
        _mine, _alt, env = (g.final or {})["against"]
        state_names = {f.name for f in self.rb.state} | {d.name for d in self.rb.derived}
        read = sorted((ast.names(entry["assume"]) | ast.names(entry["expr"])) & state_names)
        out = []
        for n in read:
            sv = env[n]
            if sv.kind != "num" or sv.v is None:
                continue
            first = satisfiable(z3.Not(as_bool(sv.null)), g.assumptions, g.facts, min(self.timeout, 2.0),
                                rlimit=RL_SANITY * 3)
            if first.status != "sat":
                continue
            x0 = to_fraction(first.model.eval(sv.v, model_completion=True))
            if x0 is None:
                continue
            eps = max(abs(x0) / 10 ** 6, Fraction(1, 10 ** 9))
            away = z3.And(z3.Not(as_bool(sv.null)), z3.Or(sv.v > q(x0 + eps), sv.v < q(x0 - eps)))
            second = satisfiable(away, g.assumptions, g.facts, min(self.timeout, 2.0), rlimit=RL_SANITY * 3)
            if second.status != "unsat":
                continue
            point = satisfiable(z3.And(z3.Not(as_bool(sv.null)), sv.v != q(x0)), g.assumptions, g.facts,
                                min(self.timeout, 2.0), rlimit=RL_SANITY * 3).status == "unsat"
            shown = _dec(x0)
            out.append(f"{label}: the assumption pins {n} to " + (f"exactly {shown}" if point else
                       f"within {_dec(eps)} of {shown}") + ": the formula is proved equal only there")
        return out

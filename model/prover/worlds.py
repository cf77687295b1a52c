"""Symbolic worlds: fresh states with the state invariants as hypotheses, the state after reset,
one symbolic action step, one bounded-model-checking step over a choice of requests, snapshots,
and the shape of a well-formed state.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

import z3

from ..formal import Formal
from ..z3env import SymContract, SymEnv
from ..z3terms import SV, _same, as_bool, b_and, b_or, merge
from .anycontract import is_any
from .base import be_contract
from .envs import _NamedEnv, _TEnv
from .results import SymWorld


class WorldsMixin:
    """Builds symbolic states and steps."""

    def fresh_world(self, symbols: Sequence[str], side: str | None, tag: str = "s") -> tuple[SymWorld, list, list]:
        """A world of fresh variables (one side fixed), the state invariants of each symbol as
        named hypotheses (`hyp:INV-x`, `hyp:INV-x@SYM` with several symbols) and the side facts."""
        key = ("world", tuple(symbols), side, tag, self._mode)
        general = any(is_any(s.split("#", 1)[0]) for s in symbols)  # its contract is the goal's own
        if key in self._cache and not general:
            return self._cache[key]
        be = self.be
        account = be.symbolic_state(f"{tag}.", scopes=("account",))
        syms = {}
        for s in symbols:
            syms[s] = be.symbolic_state(f"{tag}.{s}.", scopes=("symbol", "position"), side=side)
        w = SymWorld(account, syms)
        hyps = []
        for s in symbols:
            env = be.env(be_contract(self, s), w.view(s))
            for f in self.state_invariants():
                name = f"hyp:{f.id}" + (f"@{s}" if len(symbols) > 1 else "")
                hyps.append((name, as_bool(be.compile_expr(f.formula, env).v)))
        facts = be.take_facts()
        if not general:
            self._cache[key] = (w, hyps, facts)
        return w, hyps, facts

    def reset_world(self, symbols: Sequence[str], tag: str) -> tuple[SymWorld, list]:
        """The state right after reset: initial values from the rulebook; a field without an initial
        value (the available balance) is a reset argument, constrained by the state invariants'
        `initial_assume`."""
        be = self.be
        account, syms = {}, {}
        for f in self.rb.state:
            if f.scope == "account":
                if f.initial is None and not f.ty.nullable:
                    account[f.name] = be._var(f"{tag}.reset.{f.name}", f.ty)
                else:
                    account[f.name] = be.concrete_value(f.initial, f.ty)
        for s in symbols:
            syms[s] = {f.name: be.concrete_value(f.initial, f.ty) for f in self.rb.state if f.scope in ("symbol", "position")}
            for f in self.rb.state:
                if f.scope == "position":
                    syms[s][f.name] = be.concrete_value(None, f.ty)
        w = SymWorld(account, syms)
        path = []
        for s in symbols:
            env = be.env(be_contract(self, s), w.view(s))
            for f in self.state_invariants():
                if f.initial_assume is not None:
                    path.append((f"initial:{f.id}", as_bool(be.compile_expr(f.initial_assume, env).v)))
        return w, path

    def _arg_side(self, action: str, args: dict[str, SV], side: str | None) -> list:
        """Fix enum arguments of the side's enumeration to the case's side (open_position side)."""
        out = []
        if side is None:
            return out
        for x in self.rb.actions[action].args:
            if x.ty.kind == "enum" and x.ty.enum == self.side_enum:
                out.append(args[x.name].v == self.be.enum_val(self.be.enum_index[self.side_enum][side]))
        return out

    def _action_step(self, action: str, contract: SymContract, state: dict[str, SV], tag: str, side=None):
        be = self.be
        args = be.symbolic_args(action, f"{tag}.{action}.")
        run = be.run_action(action, contract, state, args)
        assumptions = []
        for x in self.rb.actions[action].args:
            if x.valid is not None:
                sv = args[x.name]
                ok = b_or(sv.null, be.compile_expr(x.valid, be.env(contract, {}, args)).v)
                assumptions.append((f"arg:{action}.{x.name}", as_bool(ok)))
        for chk in run.checks:
            assumptions.append((f"check:{chk.id}", chk.passes))
        facts = [f for f in self._arg_side(action, args, side)]
        return args, run, assumptions, facts

    def world_and_step(self, action: str, sym: str, side: str | None):
        """`fresh_world` of `sym` and `_action_step` of `action` on it (tag "x"): (world, hypotheses,
        facts, args, run, assumptions, argument facts), as the transition and preservation goals
        begin. Over an AnyContract (every-contract goals) this beginning is the same for every
        invariant of the action, case and mode, but a fresh contract per goal used to build it again
        each time: it is now built once and handed out as a copy of its state right after the step
        (the contract's slots, the run's environments, whose derived values a goal computes on
        demand, and the facts the step adds), so every goal gets the very terms it would build."""
        be = self.be
        if not is_any(sym) or be.tracer is not None:
            w, hyps, facts = self.fresh_world([sym], side)
            args, run, assumptions, afacts = self._action_step(action, be_contract(self, sym), w.view(sym), "x", side)
            return w, hyps, facts, args, run, assumptions, afacts
        key = ("world and step", sym, action, side, self._mode, tuple(sorted(self._any_fixed.items())))
        hit = self._cache.get(key)
        if hit is None:
            pending = len(be.facts)
            w, hyps, facts = self.fresh_world([sym], side)
            c = be_contract(self, sym)
            args, run, assumptions, afacts = self._action_step(action, c, w.view(sym), "x", side)
            self._cache[key] = (w, hyps, facts[pending:], args, _pristine(run, None), assumptions, afacts,
                                list(be.facts), c.clone())
            return w, hyps, facts, args, run, assumptions, afacts
        w, hyps, own, args, run, assumptions, afacts, step_facts, c = hit
        facts = be.take_facts() + own
        be.facts.extend(step_facts)
        c = self._anys[(sym, self._mode)] = c.clone()
        return w, hyps, facts, args, _pristine(run, c), list(assumptions), list(afacts)

    def shared_step(self, action: str, sym: str, world: SymWorld, tag: str):
        """`_action_step` of `action` on a per-contract world that `fresh_world` keeps (the same world
        object each time), built once per action, contract, tag and mode: the reachability
        obligations of one action ask each check of the same step. Handed out with environments of
        its own and the facts the step adds, as a new build would give."""
        be = self.be
        c = be_contract(self, sym)
        if is_any(sym) or be.tracer is not None:
            return self._action_step(action, c, world.view(sym), tag)
        key = ("step", action, sym, tag, self._mode, id(world))
        hit = self._cache.get(key)
        if hit is None:
            pending = len(be.facts)
            args, run, assumptions, afacts = self._action_step(action, c, world.view(sym), tag)
            self._cache[key] = (args, _pristine(run, None), assumptions, afacts, be.facts[pending:], world)
            return args, run, assumptions, afacts
        args, run, assumptions, afacts, step_facts, _ = hit
        be.facts.extend(step_facts)
        return args, _pristine(run, None), list(assumptions), list(afacts)

    def _trans_env(self, formal: Formal | None, action: str, contract: SymContract, run, post_extra=None,
                   named: list | None = None) -> _TEnv:
        """The env of a transition formula: the state after the action, `old.X` before it. With
        `named` (a list), what the formula reads of the derived values (before and after) and of the
        fields the action changes is named (`rule:NAME`, `effect:ACTION.FIELD`: envs._NamedEnv) and
        their definitions are appended to `named`, to be tracked as assumptions."""
        be = self.be
        defines = formal.defines(action) if formal is not None else {}
        locals_ = {"liquidated": SV(z3.BoolVal(False), kind="bool"), "fill_price": SV(z3.RealVal(0), z3.BoolVal(True))}
        for k, v in run.locals.items():
            locals_[k] = v if v.v is not None else SV(z3.RealVal(0), v.null, v.kind, v.enum)
        vals = {**contract.values(), **run.post, **locals_, **(post_extra or {})}
        if named is None:
            pre = _TEnv(be, {}, defines, run.env, contract)
            return _TEnv(be, vals, {**be.derived, **defines}, run.env, contract, old=pre)
        changed = {k: sv for k, sv in run.post.items()
                   if k not in (post_extra or {}) and not _unchanged(sv, run.pre.get(k))}
        for k in changed:
            del vals[k]
        pre = _NamedEnv(be, {}, {**be.derived, **defines}, run.env, contract, named=named, tag="def.old")
        return _NamedEnv(be, vals, {**be.derived, **defines}, run.env, contract, old=pre, named=named,
                         tag="def.new", effects=changed, action=action)

    def shape(self, state: Mapping[str, SV]):
        """The state's shape: every position field is null exactly when there is no position, and
        every enumeration field holds one of its values."""
        hp = as_bool(state["has_position"].v)
        parts = [as_bool(state[f].null) == z3.Not(hp) for f in self.be.position_fields if f in state]
        for f in self.rb.state:
            sv = state.get(f.name)
            if sv is not None and f.ty.kind == "enum" and sv.v is not None:
                parts.append(b_or(sv.null, z3.Or(*[sv.v == self.be.enum_val(i)
                                                   for i in range(len(self.rb.enums[f.ty.enum]))])))
        return b_and(*parts)

    def bmc_step(self, world: SymWorld, choices: Sequence[tuple[str, str]], tag: str):
        """One step of any of `choices` ((action, symbol) pairs), chosen by an integer `tag.op`: the
        chosen request must be valid and pass its checks. Returns (world', taken, step info)."""
        be = self.be
        sel = z3.Int(f"{tag}.op") if be.enum_sort == "int" else z3.Real(f"{tag}.op")
        runs = []
        for j, (a, s) in enumerate(choices):
            c = be_contract(self, s)
            args = be.symbolic_args(a, f"{tag}.{j}.")
            run = be.run_action(a, c, world.view(s), args)
            venv = be.env(c, {}, args)
            valid = b_and(*[as_bool(b_or(args[x.name].null, be.compile_expr(x.valid, venv).v))
                            for x in self.rb.actions[a].args if x.valid is not None])
            applied = b_and(sel == j, valid, run.ok)
            runs.append({"action": a, "symbol": s, "args": args, "run": run, "applied": applied, "contract": c})
        account = dict(world.account)
        for k in account:
            for r in reversed(runs):
                account[k] = merge(r["applied"], r["run"].post[k], account[k])
        syms = {s: dict(v) for s, v in world.symbols.items()}
        for s in syms:
            for k in syms[s]:
                for r in reversed(runs):
                    if r["symbol"] == s:
                        syms[s][k] = merge(r["applied"], r["run"].post[k], syms[s][k])
        taken = as_bool(b_or(*[r["applied"] for r in runs]))
        new = SymWorld(account, syms)
        snap, eqs = self.snapshot(new, tag)
        return snap, b_and(taken, *eqs), {"sel": sel, "runs": runs, "tag": tag}

    def snapshot(self, world: SymWorld, tag: str) -> tuple[SymWorld, list]:
        """The same world with every field a fresh variable equal to its (merged) term: later steps
        then read simple variables (the solver keeps the equalities), which keeps deep sequences fast."""
        eqs = []

        def fresh(name: str, sv: SV) -> SV:
            if sv.v is None:
                return sv
            if z3.is_const(sv.v) and (sv.null is False or z3.is_const(as_bool(sv.null))):
                return sv
            sort = sv.v.sort()
            v = z3.Const(f"{tag}.{name}", sort)
            eqs.append(v == sv.v)
            null = sv.null
            if null is not False:
                nb = z3.Bool(f"{tag}.{name}.null")
                eqs.append(nb == as_bool(null))
                null = nb
            return SV(v, null, sv.kind, sv.enum)

        account = {k: fresh(k, v) for k, v in world.account.items()}
        syms = {s: {k: fresh(f"{s}.{k}", v) for k, v in fields.items()} for s, fields in world.symbols.items()}
        return SymWorld(account, syms), eqs

    def prefix_choices(self, symbols: Sequence[str]) -> list[tuple[str, str]]:
        """The requests a scenario may use before the step under test: every action that can change
        the state (query changes nothing), on every symbol of the world."""
        return [(a, s) for s in symbols for a, act in self.rb.actions.items() if act.effects]


def _pristine(run, contract):
    """The run with environments of their own (the derived values computed so far, over `contract`,
    or the run's own contract if None): what one goal computes in them stays its own."""
    def fresh(env):
        return SymEnv(env.backend, dict(env.values), env.lazy, env.parent,
                      contract if contract is not None else env.contract)
    return replace(run, env=fresh(run.env), post_env=fresh(run.post_env))


def _unchanged(post: SV, pre: SV | None) -> bool:
    """The same value before and after (the action does not set the field): the same terms."""
    if pre is None:
        return False
    if post is pre:
        return True
    if (post.v is None) != (pre.v is None) or post.kind != pre.kind:
        return False
    if post.v is not None and not _same(post.v, pre.v):
        return False
    if isinstance(post.null, bool) or isinstance(pre.null, bool):
        return post.null is pre.null
    return _same(post.null, pre.null)

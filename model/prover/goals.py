"""Goal construction for the state-level kinds: initial, preservation, transition, fact, frame,
reachability and equivalence (what each case asks of Z3).
"""

from __future__ import annotations

import itertools
from typing import Sequence



from ..formal import Formal
from ..z3env import SymContract, SymEnv
from ..z3terms import SV, as_bool, b_and, b_or, sv_equal
from .base import be_contract
from .envs import _NamedEnv
from .results import Obligation, Goal


class GoalsMixin:
    """Builds the goal of a case for each kind (dispatch by kind name)."""

    def goal(self, ob: Obligation, label: str) -> Goal:
        """The goal of one case; a general obligation (no contract named) is built over fresh
        AnyContracts and gets their assumptions (anycontract.py) once the goal is complete."""
        if ob.contracts or ob.kind == "lemma":
            return getattr(self, "_goal_" + ob.kind)(ob, label)
        self._anys = {}
        self._any_fixed = self._enum_case(label)
        g = getattr(self, "_goal_" + ob.kind)(ob, label)
        g.assumptions = g.assumptions + self.any_assumptions()
        return g

    def any_assumptions(self) -> list:
        """What the AnyContracts of the goal just built assume (domains, lookups, family 8, lemmas)."""
        family8 = self.of_kind("parameter")
        return [a for c in self._anys.values() for a in c.assumptions(family8)]

    def _side(self, label: str) -> str | None:
        head = label.split(", ", 1)[0]
        return head if head in self.sides else None

    def enum_param_cases(self, sides: Sequence[str]) -> tuple[str, ...]:
        """Case labels over the sides and every value of each enum-valued contract parameter
        ("long, maintenance_basis=mark"): a parametric fact is proved for each value separately,
        which together cover every contract (the values are the parameter's whole domain)."""
        enums = [(p.name, self.rb.enums[p.enum]) for p in self.rb.params if p.enum]
        combos = [", ".join(f"{n}={v}" for n, v in zip([n for n, _ in enums], vals))
                  for vals in itertools.product(*[vs for _, vs in enums])]
        return tuple(f"{s}, {c}" if c else s for s in sides for c in combos)

    def _enum_case(self, label: str) -> dict[str, str]:
        """The enum-valued parameters a case label fixes."""
        return dict(part.split("=", 1) for part in label.split(", ")[1:])

    def _goal_initial(self, ob: Obligation, label: str) -> Goal:
        sym = self.subject(ob)
        w, path = self.reset_world([sym], "r")
        env = self.be.env(be_contract(self, sym), w.view(sym))
        goal = as_bool(self.be.compile_expr(ob.formal.formula, env).v)
        return Goal(goal, path, self.be.take_facts(), final={"world": w})

    def _goal_transition(self, ob: Obligation, label: str) -> Goal:
        side = self._side(label)
        sym = self.subject(ob)
        w, hyps, facts, args, run, assumptions, afacts = self.world_and_step(ob.action, sym, side)
        c = be_contract(self, sym)
        f = ob.formal
        named: list = []  # what the formula reads of the definitions and updates (rule:, effect:)
        env = self._trans_env(f, ob.action, c, run, named=named)
        if f.assume is not None and f.kind == "transition":
            assumptions.append((f"assume:{f.id}", as_bool(self.be.compile_expr(f.assume, env).v)))
        goal = as_bool(self.be.compile_expr(f.formula, env).v)
        if ob.kind == "preservation":  # the state stays well formed too (position fields null iff no position;
            goal = b_and(goal, self.shape(run.post))  # read off the updates directly, not named)
        return Goal(goal, hyps + assumptions + named, facts + afacts,
                    final={"action": ob.action, "symbol": sym, "args": args, "world": w, "run": run})

    _goal_preservation = _goal_transition

    def _fact_env(self, f: Formal, contract: SymContract, state: dict[str, SV], tag: str, named: list | None = None):
        """The envs of a fact: `base` over the state and the `forall` variables, `hyp` with the fact's
        `with` substitutions. With `named` (a list), the derived values the fact reads are named
        (`rule:NAME`, envs._NamedEnv) and their definitions appended to `named`."""
        be = self.be
        fvars = {}
        for n, ty, _ in f.forall:
            fvars[n] = be._var(f"{tag}.{n}", ty)
        lazy = {**be.derived, **f.defines(None)}
        if named is None:
            base = be.env(contract, state, extra=fvars, lets=f.defines(None))
        else:
            base = _NamedEnv(be, {**contract.values(), **state, **fvars}, lazy, None, contract, named=named,
                             tag=f"def.{tag}")
        assume = as_bool(be.compile_expr(f.assume, base).v) if f.assume is not None else None
        if f.with_:
            over = {n: be.compile_expr(x, base) for n, x in f.with_}
            vals = {**contract.values(), **state, **fvars, **over}
            hyp = (SymEnv(be, vals, lazy, base, contract) if named is None else
                   _NamedEnv(be, vals, lazy, base, contract, named=named, tag=f"def.{tag}.with"))
        else:
            hyp = base
        goal = as_bool(be.compile_expr(f.formula, hyp).v)
        return fvars, assume, goal, base, hyp

    def _goal_fact(self, ob: Obligation, label: str) -> Goal:
        side = self._side(label)
        sym = self.subject(ob)
        w, hyps, facts = self.fresh_world([sym], side)
        c = be_contract(self, sym)
        named: list = []  # the definitions the fact reads (rule:)
        fvars, assume, goal, base, hyp = self._fact_env(ob.formal, c, w.view(sym), "v", named=named)
        assumptions = list(hyps)
        if assume is not None:
            assumptions.append((f"assume:{ob.formal.id}", assume))
        return Goal(goal, assumptions + named, facts + self.be.take_facts(),
                    final={"symbol": sym, "forall": fvars, "world": w, "fact_env": (base, hyp)})

    # frame goals (one symbolic state for all symbols): isolation.py

    def _goal_reachability(self, ob: Obligation, label: str) -> Goal:
        sym = self.subject(ob)
        w, hyps, facts = self.fresh_world([sym], None, "q")
        args, run, assumptions, afacts = self.shared_step(ob.action, sym, w, "rq")
        valid = [a for a in assumptions if a[0].startswith("arg:")]
        kind, cid = ob.data
        if kind == "check":
            chk = next(ch for ch in run.checks if ch.id == cid)
            goal = b_and(chk.reached, chk.applies, chk.require) if label == "pass" else chk.refuses
        else:
            block = [ch for ch in run.checks if ch.id.startswith(cid + ".")]
            if label == "pass":
                goal = b_and(block[0].reached, *[ch.applies for ch in block[:1]], *[ch.passes for ch in block])
            else:
                goal = b_or(*[ch.refuses for ch in block])
                goal = as_bool(goal)
        return Goal(as_bool(goal), hyps + valid, facts + afacts, witness=True,
                    final={"action": ob.action, "symbol": sym, "args": args, "world": w, "run": run})

    def _goal_equivalence(self, ob: Obligation, label: str) -> Goal:
        side = self._side(label)
        sym = self.subject(ob)
        entry = ob.data
        be = self.be
        w, hyps, facts = self.fresh_world([sym], side)
        c = be_contract(self, sym)
        env = be.env(c, w.view(sym))
        mine = env[entry["name"]]
        alt = be.compile_expr(entry["expr"], env)
        assumptions = list(hyps) + [("position open", as_bool(env["has_position"].v))]
        if entry.get("assume") is not None:
            assumptions.append(("assume:against", as_bool(be.compile_expr(entry["assume"], env).v)))
        return Goal(sv_equal(mine, alt), assumptions, facts + be.take_facts(),
                    final={"symbol": sym, "world": w, "against": (mine, alt, env)})

"""Cumulative statements by induction: a transition invariant's `sequence` formula (read with
`init.X`, X at reset, and `total.D`, the sum over the steps of its define D) proved as a state
invariant of the state extended with ghost variables, so it holds for runs of ANY length, not only
for the bounded sequences from reset.

The ghosts: `init.X` are fresh constants (set at reset to the state's values, never changed), and
`total.D` one fresh variable per define, 0 at reset, incremented by each successful action by the
value of D for that action (0 for an action the invariant does not cover). Obligations, per
contract: the base case (`INV/induction/reset/C`: the formula holds right after reset) and one
induction step per action (`INV/induction/ACTION/C`: from any state satisfying the state invariants
and the formula, a successful action keeps the formula with the updated totals). One symbol's world
suffices because the formula may read only account fields, `init.*` and `total.*` (anything else is
reported as an ERROR): the account is what every symbol's actions share, and each step's define
reads only the acting symbol.
"""

from __future__ import annotations

import z3

from .. import ast
from ..z3terms import SV, as_bool
from .base import be_contract
from .envs import _TEnv
from .render import _human
from .results import Goal, Obligation


class CumulativeMixin:
    """Generates and builds the `cumulative` obligations (the ghost-variable induction)."""

    def cumulative_obligations(self, contracts) -> list[Obligation]:
        out = []
        sides = tuple(s or "any" for s in self.sides)
        for f in self.of_kind("transition"):
            if f.sequence is None:
                continue
            stmt = f"induction over runs of any length: {ast_text(f.sequence)}"
            title = f"{f.inv.title}, for runs of any length (ghost totals, induction)"
            for c in contracts:
                out.append(Obligation(f"{f.id}/induction/reset/{c}", "cumulative", title, (f.id,), f.inv.family,
                                      None, (c,), f, ("reset",), stmt))
                for a in self.rb.actions:
                    out.append(Obligation(f"{f.id}/induction/{a}/{c}", "cumulative", title, (f.id,), f.inv.family,
                                          a, (c,), f, sides, stmt))
        return out

    def _cumulative_reads(self, f) -> list[str]:
        """Names the sequence formula reads outside the account, `init.*` and `total.*` (must be none)."""
        account = {x.name for x in self.rb.state if x.scope == "account"}
        params = {p.name for p in self.rb.params}
        bad = []
        for n in sorted(ast.names(f.sequence)):
            if n.startswith(("init.", "total.")) or n in account or n in params:
                continue
            bad.append(n)
        return bad

    def _seq_env(self, contract, state, totals, init_env, defines):
        be = self.be
        vals = {**contract.values(), **state, **{f"total.{n}": v for n, v in totals.items()}}
        return _TEnv(be, vals, {**be.derived, **defines}, None, contract, init=init_env)

    def _goal_cumulative(self, ob: Obligation, label: str) -> Goal:
        f = ob.formal
        bad = self._cumulative_reads(f)
        if bad:
            raise ValueError(f"{f.id}: the sequence formula reads {', '.join(bad)}, which is not shared by every "
                             f"symbol (only account fields, init.X and total.X can be proved for any run)")
        be = self.be
        sym = ob.contracts[0]
        c = be_contract(self, sym)
        names = list(f.defines(None))
        if ob.action is None:  # base case: right after reset, totals 0, init = the state itself
            w, path = self.reset_world([sym], "r")
            init_env = be.env(c, w.view(sym))
            zero = {n: SV(z3.RealVal(0)) for n in names}
            env = self._seq_env(c, w.view(sym), zero, init_env, f.defines(None))
            goal = as_bool(be.compile_expr(f.sequence, env).v)
            return Goal(goal, path, be.take_facts(), final={"world": w})
        side = self._side(label)
        w, hyps, facts = self.fresh_world([sym], side)
        init_env = be.env(c, be.symbolic_state("g.init.", side=None))
        totals = {n: SV(z3.Real(f"g.total.{n}")) for n in names}
        pre = self._seq_env(c, w.view(sym), totals, init_env, f.defines(None))
        hyp = (f"hyp:{f.id} (cumulative)", as_bool(be.compile_expr(f.sequence, pre).v))
        args, run, assumptions, afacts = self._action_step(ob.action, c, w.view(sym), "x", side)
        tenv = self._trans_env(f, ob.action, c, run)
        covered = ob.action in f.actions
        after = {n: SV(totals[n].v + tenv[n].v) if covered else totals[n] for n in names}
        post = self._seq_env(c, run.post, after, init_env, f.defines(ob.action))
        goal = as_bool(be.compile_expr(f.sequence, post).v)
        return Goal(goal, hyps + [hyp] + assumptions, facts + afacts + be.take_facts(),
                    final={"action": ob.action, "symbol": sym, "args": args, "world": w, "run": run})

    def _bmc_cumulative(self, ob: Obligation, label: str, c, w0, w, steps, tag: str):
        """A violation from reset: the totals summed over the prefix steps and the step under proof
        (or none: the base case), the sequence formula false after it (see counterexamples)."""
        be, f = self.be, ob.formal
        sym = ob.contracts[0]
        names = list(f.defines(None))
        init_env = be.env(c, w0.view(sym))
        totals = {n: z3.RealVal(0) for n in names}
        for info in steps:
            for r in info["runs"]:
                if r["action"] in f.actions and r["symbol"] == sym:
                    env = self._trans_env(f, r["action"], r["contract"], r["run"])
                    for n in names:
                        totals[n] = totals[n] + z3.If(r["applied"], env[n].v, z3.RealVal(0))
        if ob.action is None:
            env = self._seq_env(c, w.view(sym), {n: SV(v) for n, v in totals.items()}, init_env, f.defines(None))
            return b_not_(be.compile_expr(f.sequence, env).v), [], [], {"world": w, "symbol": sym}
        side = self._side(label)
        args, run, asm, afacts = self._action_step(ob.action, c, w.view(sym), f"{tag}.last", side)
        if ob.action in f.actions:
            tenv = self._trans_env(f, ob.action, c, run)
            totals = {n: totals[n] + tenv[n].v for n in names}
        env = self._seq_env(c, run.post, {n: SV(v) for n, v in totals.items()}, init_env, f.defines(ob.action))
        final = {"action": ob.action, "symbol": sym, "args": args, "run": run, "world": w}
        return b_not_(be.compile_expr(f.sequence, env).v), asm, afacts, final

    def _confirm_cumulative(self, ob: Obligation, eng, records, sym) -> tuple[bool, dict]:
        """The sequence formula on the replayed run (interpreter): `init.X` in the state after reset,
        `total.D` the sum of D over the successful steps, read after the last step."""
        from fractions import Fraction

        from ..interpreter import Env
        from ..interpreter import compile_expr as icompile
        from .envs import _CEnv
        f = ob.formal
        names = list(f.defines(None))
        init = records[0]["pre"] if records else self._values(eng, sym)
        totals = {n: Fraction(0) for n in names}
        for rec in records:
            req = rec["request"]
            if not rec["reply"].get("ok") or req["op"] not in f.actions:
                continue
            args = {k: _arg(self.rb, req["op"], k, v) for k, v in req["args"].items() if k != "symbol"}
            _value, named = self._eval_transition(f, req["op"], rec["pre"], rec["post"], rec["outcome"], args)
            for n in names:
                totals[n] += Fraction(str(named["defined"][n]["after"]))
        final = records[-1]["post"] if records else init
        lazy = {**self.interp.derived, **{n: icompile(e) for n, e in f.defines(None).items()}}
        env = _CEnv({**final, **{f"total.{n}": v for n, v in totals.items()}}, lazy, None,
                    prefixes={"init.": Env(init, self.interp.derived)})
        value = icompile(f.sequence)(env)
        return value is False, {"totals": {n: _show(v) for n, v in totals.items()},
                                "formula": f"{ast_text(f.sequence)}  ->  {_human(value)}"}


def b_not_(x):
    from ..z3terms import b_not
    return as_bool(b_not(as_bool(x)))


def _arg(rb, action: str, name: str, v):
    """A request argument as the interpreter reads it (decimal strings as Fractions)."""
    from ..numbers import parse_decimal
    x = next((a for a in rb.actions[action].args if a.name == name), None)
    return parse_decimal(v) if x is not None and x.ty.kind == "num" and isinstance(v, str) else v


def _show(v) -> str:
    from .results import _dec
    return str(_dec(v))


def ast_text(e) -> str:
    from ..printer import to_text
    return to_text(e)

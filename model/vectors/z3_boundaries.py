"""Boundary cases solved by Z3: for every numeric comparison in every check of every action (and in
every `liquidate_if`), a reachable, tick/lot/money-aligned state and request on which the two
sides of the comparison are exactly equal, with every earlier check passing, in every tier of
every contract profile and on both sides; then the same request with its numeric arguments one
grid step either side.

The comparison, the checks before it and the state after earlier effects are compiled from the
rulebook's AST by model/z3backend.py. The state must be one the protocol can reach from reset
(open at the profile's mark with a margin the open checks accept, every open position covered:
reachable.state_assumptions), so each solution is realised as requests: reset with the balance,
set_mark_price, open_position, set_mark_price. Terms stay linear: the position's size is fixed per
tier, and where a product of two unknowns would appear the mark (or the leverage) is fixed.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterator

import z3

from .. import ast
from ..rulebook import Rulebook
from ..z3backend import EXACT, Backend
from ..z3env import SymEnv
from ..z3terms import SV, as_bool, b_and, b_not, q
from .cases import CaseSpec, dec, req
from .market import Market, markets
from .reachable import state_assumptions

LEV_STEP = Fraction(1, 100)
RATE_STEP = Fraction(1, 10 ** 8)
BIG = Fraction(10 ** 7)


@dataclass(frozen=True)
class Target:
    action: str
    where: str  # check id, or "effect[j]" for a liquidate_if
    index: int  # check index or effect index
    atom: ast.Compare
    text: str


def _numeric_atoms(rb: Rulebook, e: ast.Expr) -> list[ast.Compare]:
    """The comparisons of numbers in `e`, following boolean derived values (`liquidatable`)."""
    from .mutants import _unordered

    derived = {d.name: d for d in rb.derived}
    out = []
    for n in ast.walk(e):
        if isinstance(n, ast.Compare) and not _unordered(rb, n.left) and not _unordered(rb, n.right):
            out.append(n)
        elif isinstance(n, ast.Name) and n.name in derived and derived[n.name].ty.kind == "bool":
            out += _numeric_atoms(rb, derived[n.name].expr)
    return out


def _flags(t: Target) -> tuple[str, ...]:
    w = t.where
    if w.endswith("liquidate_if"):
        return ("MissedLiquidation", "PrematureLiquidation") + (("FundingDirection",) if t.action == "apply_funding" else ())
    kind = {"max_leverage": "LeverageCap", "min_margin": "MinMargin", "balance": "Balance", "coverage": "InsufficientCoverage",
            "notional_limit": "TierBoundary"}.get(w.rsplit(".", 1)[-1])
    return ("ErrorCode",) + ((kind,) if kind else ())


def targets(rb: Rulebook) -> list[Target]:
    from ..printer import to_text

    out = []
    for name, a in rb.actions.items():
        for i, c in enumerate(a.checks):
            for atom in _numeric_atoms(rb, c.require):
                out.append(Target(name, c.id, i, atom, to_text(atom)))
        for j, ef in enumerate(a.effects):
            if ef.kind == "liquidate_if":
                for atom in _numeric_atoms(rb, ef.cond):
                    out.append(Target(name, f"{name}.liquidate_if", j, atom, to_text(atom)))
    return out


# the mark stays at the profile's mark where it would multiply another unknown: a funding rate, a
# new position's size, and a leverage that is itself unknown (set_leverage.max_leverage)
FIX_MARK = {"open_position", "apply_funding"}


def grid_step(m: Market, unit: str) -> Fraction:
    """The grid of an argument of this unit: tick, money step, lot, 0.01 of leverage, 1e-8 of rate."""
    return {"price": m.tick, "money": m.money, "size": m.lot, "leverage": LEV_STEP, "rate": RATE_STEP}.get(unit, m.money)


@contextmanager
def fresh_z3_context():
    """Build and solve in a brand-new Z3 context: the model Z3 returns then depends only on the
    problem, not on whatever else this process asked Z3 before (byte-identical vectors)."""
    old = z3.z3._main_ctx
    z3.z3._main_ctx = z3.Context()
    try:
        yield
    finally:
        z3.z3._main_ctx = old


def solve(rb, m, t, side, hp, size, lev, k, timeout) -> dict | None:
    for realistic in (True, False):
        with fresh_z3_context():
            sol = _Problem(rb, m, t, side, hp, size, lev, k, realistic).solve(timeout)
        if sol is not None:
            return sol
    return None


class _Problem:
    def __init__(self, rb: Rulebook, m: Market, target: Target, side: str, has_position: bool, size: Fraction,
                 leverage: Fraction | None, tier: int, realistic: bool):
        self.rb, self.m, self.t = rb, m, target
        be = self.be = Backend(rb, EXACT)
        c = self.c = be.concrete_contract(m.symbol)
        st = self.st = be.symbolic_state("s.", side=side, has_position=has_position)
        a = rb.actions[target.action]
        args = self.args = be.symbolic_args(target.action, "a.")
        self.hp, self.side, self.size = has_position, side, size
        cons: list[Any] = []
        self.cons = cons
        mode_ix = be.enum_index[rb.state_field("margin_mode").ty.enum]["isolated"]
        cons.append(st["margin_mode"].v == mode_ix)
        cons.append(st["insurance_fund"].v == 0)
        self._grid(st["available_balance"].v, m.money, "k.avail", 0, BIG / m.money)
        mark = st["mark_price"]
        cons.append(b_not(mark.null))
        self._grid(mark.v, m.tick, "k.mark", (m.mark / 2) / m.tick, (m.mark * 2) / m.tick)
        if target.action in FIX_MARK or not has_position or (target.action == "set_leverage" and leverage is None):
            cons.append(mark.v == q(m.mark))
        elif realistic:
            cons += [mark.v >= q(m.mark * Fraction(4, 5)), mark.v <= q(m.mark * Fraction(6, 5))]
        dl = st["default_leverage"]
        cons.append(dl.null)  # the margin is always given (a default leverage would make it nonlinear)
        if has_position:
            cons += [st["size"].v == q(size), st["entry_price"].v == q(m.mark)]
            self._grid(st["isolated_margin"].v, m.money, "k.margin", 1, BIG / m.money)
            at_entry = be.env(c, {**st, "mark_price": SV(q(m.mark))})
            cons.append(st["isolated_margin"].v >= at_entry["minimum_margin"].v)
            cons.append(at_entry["notional"].v <= c.tiers[-1]["max_notional"])
            if realistic:
                cons += [st["isolated_margin"].v >= 2 * at_entry["minimum_margin"].v,
                         st["isolated_margin"].v <= at_entry["notional"].v]
        if realistic:
            cons.append(st["available_balance"].v >= 1)
        for x in a.args:
            sv = args[x.name]
            if x.ty.kind == "enum" and x.name == "side":
                cons.append(sv.v == be.enum_index[x.ty.enum][side])
            if x.ty.kind != "num":
                continue
            if x.optional:
                cons.append(b_not(sv.null))
            step = self.step(x.type_name)
            self._grid(sv.v, step, f"k.arg.{x.name}", -BIG / step, BIG / step)
            if x.type_name == "leverage" and leverage is not None:
                cons.append(sv.v == q(leverage))
            if x.type_name == "price":
                cons.append(sv.v >= q(m.mark / 2))
                cons.append(sv.v <= q(m.mark * 2))
            if realistic and x.type_name == "money":
                cons.append(sv.v >= 1)
            if realistic and x.type_name == "rate":
                cons += [sv.v <= q(Fraction(1, 10)), sv.v >= q(Fraction(-1, 10))]
        if target.action == "open_position":
            env0 = be.env(c, st, args, dict(a.lets))
            lo = m.lower(tier)
            cons += [env0["new_notional"].v > q(lo), env0["new_notional"].v <= c.tiers[tier - 1]["max_notional"]]
        run = be.run_action(target.action, c, st, args)
        cons.append(as_bool(run.valid))
        values = {**c.values(), **st}
        root = SymEnv(be, {**values, **{f"arg.{x.name}": args[x.name] for x in a.args}},
                      {**be.derived, **dict(a.lets)}, None, c)
        if target.where.endswith(".liquidate_if"):
            cons.append(as_bool(run.ok))
            _, env, _ = be._apply(a.effects[:target.index], dict(values), root, root, be.derived)
        else:
            cr = run.checks[target.index]
            cons += [as_bool(cr.reached), as_bool(cr.applies)]
            if realistic:  # no later check refuses: at the boundary the request succeeds or this check refuses it
                cons += [b_not(later.refuses) for later in run.checks[target.index + 1:]]
            check = a.checks[target.index]
            env = root
            if check.with_:
                env = SymEnv(be, {**values, **{n: be.compile_expr(x, root) for n, x in check.with_}}, be.derived, root, c)
        left, right = be.compile_expr(target.atom.left, env), be.compile_expr(target.atom.right, env)
        cons.append(b_and(b_not(left.null), b_not(right.null), left.v == right.v))
        self.assumptions = state_assumptions(be, c, st)
        cons += be.take_facts()

    def step(self, unit: str) -> Fraction:
        return grid_step(self.m, unit)

    def _grid(self, term, step: Fraction, name: str, lo, hi) -> None:
        """`term` = k * step with the integer k in [lo, hi]."""
        k = z3.Int(name)
        self.cons += [term == z3.ToReal(k) * q(step), k >= int(lo), k <= int(hi)]

    def solve(self, timeout: float) -> dict | None:
        s = z3.Solver()
        s.set("timeout", max(1, int(timeout * 1000)))
        s.add(*self.cons)
        for _, a in self.assumptions:
            s.add(as_bool(a))
        r = s.check()
        if r == z3.unknown:  # never skip silently: the vectors would then depend on the machine's speed
            raise RuntimeError(f"Z3 gave up on the boundary of {self.t.where} ({self.t.text}) for {self.m.symbol} "
                               f"{self.side}: {s.reason_unknown()}")
        if r != z3.sat:
            return None
        model = s.model()
        val = lambda sv: self.be.value(model, sv)  # noqa: E731
        state = {k: val(v) for k, v in self.st.items()}
        args = {}
        for x in self.rb.actions[self.t.action].args:
            v = val(self.args[x.name])
            if v is not None:
                args[x.name] = v
        return {"state": state, "args": args}


def _realise(m: Market, sol: dict, hp: bool, side: str) -> tuple[str, list[dict]]:
    st = sol["state"]
    steps = []
    balance = st["available_balance"]
    if hp:
        balance += st["isolated_margin"]
        steps += [req("set_mark_price", symbol=m.symbol, price=st["entry_price"]),
                  req("open_position", symbol=m.symbol, side=side, size=st["size"], margin=st["isolated_margin"])]
        if st["mark_price"] != st["entry_price"]:
            steps.append(req("set_mark_price", symbol=m.symbol, price=st["mark_price"]))
    else:
        steps.append(req("set_mark_price", symbol=m.symbol, price=st["mark_price"]))
    return dec(balance), steps


def generate(rb: Rulebook, timeout: float = 120.0) -> Iterator[CaseSpec]:
    for m in markets(rb):
        for t in targets(rb):
            a = rb.actions[t.action]
            hps = (False,) if t.action == "open_position" else ((True, False) if t.action == "set_leverage" else (True,))
            for hp in hps:
                for k in range(1, len(m.tiers) + 1):
                    size = m.mid_size(k)
                    levs = [None]
                    if t.action == "set_leverage" and t.where != "set_leverage.max_leverage":
                        levs = [Fraction(10), m.tiers[k - 1]["max_leverage"]]
                    for side in ("long", "short"):
                        if not hp and k > 1 and t.action != "open_position":
                            continue
                        for lev in levs:
                            sol = solve(rb, m, t, side, hp, size, lev, k, timeout)
                            if sol is None:
                                continue
                            balance, setup = _realise(m, sol, hp, side)
                            args = sol["args"]
                            probes = [("at the boundary", args)]
                            for x in a.args:
                                if x.ty.kind == "num" and x.name in args:
                                    step = grid_step(m, x.type_name)
                                    probes.append((f"{x.name} - one step", {**args, x.name: args[x.name] - step}))
                                    probes.append((f"{x.name} + one step", {**args, x.name: args[x.name] + step}))
                            for label, pargs in probes:
                                pr = req(t.action, symbol=m.symbol, **pargs)
                                yield CaseSpec(
                                    title=f"Z3 boundary of {t.where}: {t.text} exactly equal; {m.symbol} {side}"
                                          f"{' in tier ' + str(k) if hp else ''}, {label}",
                                    steps=(*setup, pr, req("query", symbol=m.symbol)), source="boundary",
                                    flags=_flags(t), rules=("INV-covered",), balance=balance,
                                    comment=f"solved by Z3 from the rulebook: {t.text} at equality, every earlier check passing")

"""Deciding with Z3 whether a mutant is equivalent to the rulebook (through model/z3backend.py).

A mutant is equivalent when no reachable state and no request can tell it apart: for every
action it touches (every action, for a derived value or the liquidation section) and every
contract profile, run the action symbolically on the same symbolic state and arguments under the
rulebook and under the mutant, and prove that the replies agree: the same argument validity, the
same outcome (done, or refused with the same error code), and when done the same state after it,
the same result fields and the same liquidation. The state is any state the actions can reach
(reachable.state_assumptions: the rulebook's proved state invariants). The proof's unsat core
names the assumptions it used. 'violated' comes with a model: a concrete state and request on
which the mutant differs (the vectors have a gap); 'unknown' is never taken as equivalent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import z3

from ..rulebook import Rulebook
from ..solving import check
from ..z3backend import EXACT, Backend
from ..z3terms import as_bool, sv_equal
from .mutants import Mutant
from .reachable import position_domain, state_assumptions

OK_CODE = -1
INVALID_CODE = -2


@dataclass
class Verdict:
    mutant_id: str
    status: str  # equivalent | different | unknown
    detail: str = ""
    core: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _outcome(be: Backend, run) -> Any:
    codes = {c: i for i, c in enumerate(sorted(be.rb.errors))}
    out = z3.IntVal(OK_CODE)
    for _cid, code, refuses in reversed(run.errors):
        out = z3.If(as_bool(refuses), z3.IntVal(codes[code]), out)
    return z3.If(as_bool(run.valid), out, z3.IntVal(INVALID_CODE))


def _result_same(ra: dict, rb_: dict):
    parts = []
    for name in set(ra) | set(rb_):
        if name not in ra or name not in rb_:
            return z3.BoolVal(False)
        wa, va, _ = ra[name]
        wb, vb, _ = rb_[name]
        if (wa is None) != (wb is None):
            return z3.BoolVal(False)
        if wa is not None:
            parts.append(as_bool(wa) == as_bool(wb))
        if isinstance(va, dict):
            same = z3.And(*[sv_equal(va[k], vb[k]) for k in va]) if va else z3.BoolVal(True)
        else:
            same = sv_equal(va, vb)
        parts.append(z3.Implies(as_bool(wa), same) if wa is not None else same)
    return z3.And(*parts) if parts else z3.BoolVal(True)


def equivalence_claim(rb: Rulebook, mrb: Rulebook, action: str, symbol: str):
    """(claim, assumptions, facts) saying that `action` behaves the same under `rb` and `mrb`."""
    be, bm = Backend(rb, EXACT), Backend(mrb, EXACT)
    c = be.concrete_contract(symbol)
    cm = bm.concrete_contract(symbol)
    st = be.symbolic_state("s.")
    stm = bm.symbolic_state("s.")
    args = be.symbolic_args(action, "a.")
    argsm = bm.symbolic_args(action, "a.")
    ro = be.run_action(action, c, st, args)
    rm = bm.run_action(action, cm, stm, argsm)
    oo, om = _outcome(be, ro), _outcome(bm, rm)
    post = z3.And(*[sv_equal(ro.post[k], rm.post[k]) for k in ro.post]) if ro.post else z3.BoolVal(True)
    claim = z3.And(oo == om, z3.Implies(oo == OK_CODE, z3.And(post, _result_same(ro.result, rm.result),
                                                              as_bool(ro.liquidated) == as_bool(rm.liquidated))))
    facts = be.take_facts() + bm.take_facts()
    return claim, state_assumptions(be, c, st), facts, (be, ro, rm, st, args)


def derived_equal(rb: Rulebook, mrb: Rulebook, name: str, timeout: float) -> tuple[str, list[str], float]:
    """Is derived value `name` the same under both rulebooks for every position (any margin, any
    mark: the hypothetical states of `with` and the states before a liquidation included)?"""
    core: set[str] = set()
    total = 0.0
    for symbol in rb.contracts:
        be, bm = Backend(rb, EXACT), Backend(mrb, EXACT)
        st, stm = be.symbolic_state("s.", has_position=True), bm.symbolic_state("s.", has_position=True)
        a = be.env(be.concrete_contract(symbol), st)[name]
        b = bm.env(bm.concrete_contract(symbol), stm)[name]
        res = check(sv_equal(a, b), position_domain(be, st), be.take_facts() + bm.take_facts(), timeout=timeout, vacuity=False)
        total += res.seconds
        if res.status != "proved":
            return res.status, [], total
        core.update(res.core)
    return "proved", sorted(core), total


def decide(rb: Rulebook, m: Mutant, timeout: float = 30.0) -> Verdict:
    """Equivalent, different (with the distinguishing state) or unknown."""
    mrb = m.build(rb)
    if m.location.startswith("derived."):
        name = m.location.split(".", 1)[1]
        status, core_, secs = derived_equal(rb, mrb, name, timeout)
        if status == "proved":
            return Verdict(m.id, "equivalent", f"the derived value {name} is unchanged for every position of "
                                               f"{', '.join(rb.contracts)}", core_, secs)
    actions = [m.action] if m.action in rb.actions else list(rb.actions)
    core: set[str] = set()
    total = 0.0
    for action in actions:
        for symbol in rb.contracts:
            claim, assumptions, facts, ctx = equivalence_claim(rb, mrb, action, symbol)
            res = check(claim, assumptions, facts, timeout=timeout, vacuity=False)
            total += res.seconds
            if res.status == "violated":
                return Verdict(m.id, "different", f"{action} on {symbol}: {_describe(ctx, res.model)}", [], total)
            if res.status != "proved":
                return Verdict(m.id, "unknown", f"{action} on {symbol}: {res.status} {res.reason}", [], total)
            core.update(res.core)
    return Verdict(m.id, "equivalent", f"proved for {', '.join(actions) if len(actions) < 4 else 'every action'} "
                                       f"on {', '.join(rb.contracts)}", sorted(core), total)


def _describe(ctx, model) -> str:
    be, ro, rm, st, args = ctx
    vals = []
    for name, sv in list(st.items()) + [(f"arg.{k}", v) for k, v in args.items()]:
        try:
            v = be.value(model, sv)
        except (ValueError, KeyError):
            continue
        vals.append(f"{name}={v}")
    return ", ".join(vals)

"""The Z3 backend agrees with the exact interpreter on random concrete inputs.

Concrete values substituted into the backend's terms must `simplify` to the interpreter's values:
every derived value of random positions of the shipped profiles, and for every action the outcome
(ok or the first refusing check), the post-state and the reply. The RELAXED encoding (used for
proofs) must admit the interpreter's values (it over-approximates them)."""

from __future__ import annotations

from fractions import Fraction

import pytest
import z3
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from marginspec.interpreter import Interpreter
from marginspec.rulebook import load_rulebook
from marginspec.z3backend import EXACT, RELAXED, Backend
from marginspec.z3terms import SV, as_bool, q

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RB = load_rulebook()
INTERP = Interpreter(RB)
BE = Backend(RB, EXACT)
CONTRACTS = {s: BE.concrete_contract(s) for s in RB.contracts}


def decimals(lo: int, hi: int, places: int):
    """Decimals with at most `places` digits after the point, between lo and hi."""
    return st.integers(lo * 10 ** places, hi * 10 ** places).map(lambda n: Fraction(n, 10 ** places))


@st.composite
def states(draw, with_position=None):
    """A symbol's state on a shipped profile: possibly a position (any margin, even drained by
    funding), possibly no mark or default leverage, any mode, any balance."""
    symbol = draw(st.sampled_from(sorted(RB.contracts)))
    c = RB.contracts[symbol]
    tick = c.params["tick_size"]
    has = draw(st.booleans()) if with_position is None else with_position
    mark = tick * draw(st.integers(1, 2_000_000))
    values = {
        **INTERP.contract_values(c),
        "available_balance": draw(decimals(0, 10_000_000, 4)),
        "insurance_fund": draw(decimals(-1000, 1000, 4)),
        "margin_mode": "isolated" if has else draw(st.sampled_from(["isolated", "cross"])),
        "mark_price": mark if has or draw(st.booleans()) else None,
        "default_leverage": draw(st.one_of(st.none(), decimals(1, 150, 2))),
        "has_position": has,
        "side": None, "size": None, "entry_price": None, "isolated_margin": None,
    }
    if has:
        values.update(side=draw(st.sampled_from(["long", "short"])), size=Fraction(draw(st.integers(1, 200_000))),
                      entry_price=mark * draw(st.sampled_from([Fraction(1), Fraction(9, 10), Fraction(11, 10),
                                                               Fraction(1, 2), Fraction(3, 2)])),
                      isolated_margin=draw(decimals(-50, 1_000_000, 4)))
    return symbol, values


def zval(sv: SV):
    return BE.value(None, sv)


@SETTINGS
@given(states(with_position=True))
def test_every_derived_value_agrees(sample):
    symbol, values = sample
    ienv = INTERP.derived_values(values)
    zenv = BE.env(CONTRACTS[symbol], BE.concrete_state(values))
    for d in RB.derived:
        try:
            expected = ienv[d.name]
        except Exception:  # a division by a zero margin etc.: the interpreter refuses, nothing to compare
            continue
        assert zval(zenv[d.name]) == expected, d.name


def _money(draw, hi: Fraction) -> Fraction:
    """A positive multiple of 0.0001 up to about `hi` (small ones likely)."""
    top = max(1, int(hi * 10_000))
    return Fraction(draw(st.one_of(st.integers(1, 100), st.integers(1, top))), 10_000)


def _args(draw, action: str, values: dict) -> dict:
    """Arguments a trader would send in that state (so that every outcome, ok included, is common)."""
    c = RB.contracts[values["__symbol__"]]
    mark = values["mark_price"] or c.params["tick_size"] * 1000
    if action == "set_mark_price":
        return {"price": mark * draw(st.sampled_from([Fraction(1, 2), Fraction(9, 10), Fraction(99, 100), Fraction(1),
                                                        Fraction(101, 100), Fraction(11, 10), Fraction(2)]))
                         + c.params["tick_size"] * draw(st.integers(0, 10))}
    if action == "set_margin_mode":
        return {"mode": draw(st.sampled_from(["isolated", "cross"]))}
    if action == "set_leverage":
        return {"leverage": draw(decimals(1, 130, 2))}
    if action == "open_position":
        size = Fraction(draw(st.integers(1, 5_000)))
        notional = size * c.params["contract_multiplier"] * mark
        margin = draw(st.one_of(st.none(), st.just(None),
                                st.integers(1, 400).map(lambda k: max(Fraction(1, 10_000),
                                                                      round(notional * k / 100 / 100, 4)))))
        return {"side": draw(st.sampled_from(["long", "short"])), "size": size,
                "margin": Fraction(margin).limit_denominator(10_000) if margin is not None else None}
    if action in ("add_margin", "reduce_margin"):
        m = values["isolated_margin"] if values["isolated_margin"] and values["isolated_margin"] > 0 else Fraction(100)
        return {"amount": _money(draw, m)}
    if action == "apply_funding":
        return {"rate": draw(st.one_of(decimals(-1, 1, 4).filter(lambda x: -1 < x < 1),
                                       st.integers(-100, 100).map(lambda k: Fraction(k, 10_000))))}
    return {}


NEEDS = {"add_margin": True, "reduce_margin": True, "apply_funding": True, "close_position": True,
         "open_position": False}


@st.composite
def requests(draw):
    action = draw(st.sampled_from(sorted(RB.actions)))
    wanted = NEEDS.get(action)
    symbol, values = draw(states(with_position=wanted if wanted is None or draw(st.integers(0, 9)) else None))
    args = _args(draw, action, {**values, "__symbol__": symbol})
    return symbol, values, action, args


def _plain(v):
    return {k: _plain(x) for k, x in v.items()} if isinstance(v, dict) else v


@SETTINGS
@given(requests())
def test_actions_agree(sample):
    symbol, values, action, args = sample
    out = INTERP.run(action, values, args)
    event(f"{action}: {'ok' if out.ok else out.error}")
    run = BE.run_action(action, CONTRACTS[symbol], BE.concrete_state(values), BE.concrete_args(action, args))
    assert zval(SV(run.valid, kind="bool")) is True
    assert zval(SV(run.ok, kind="bool")) is out.ok
    refusing = [cid for cid, code, cond in run.errors if zval(SV(cond, kind="bool"))]
    if out.ok:
        assert refusing == []
        for f in RB.state:
            assert zval(run.post[f.name]) == out.values[f.name], f.name
        for name, (when, val, omit_null) in run.result.items():
            if when is not None and not zval(SV(when, kind="bool")):
                assert out.result.get(name) is None
                continue
            got = {k: zval(v) for k, v in val.items()} if isinstance(val, dict) else zval(val)
            if got is None and omit_null:
                assert name not in out.result
            else:
                assert got == _plain(out.result[name]), name
    else:
        assert refusing[:1] == [out.check_id]
        assert next(code for cid, code, _ in run.errors if cid == out.check_id) == out.error


@SETTINGS
@given(requests())
def test_relaxed_encoding_admits_the_interpreter(sample):
    """Every fresh variable of the RELAXED encoding (roundings, multiple_of) can take the value the
    interpreter computes: the relaxation over-approximates the exact semantics."""
    symbol, values, action, args = sample
    out = INTERP.run(action, values, args)
    bx = Backend(RB, RELAXED)
    run = bx.run_action(action, bx.concrete_contract(symbol), bx.concrete_state(values), bx.concrete_args(action, args))
    s = z3.Solver()
    for f in bx.take_facts() + bx.rounding_lemmas():
        s.add(f)
    s.add(as_bool(run.ok) == out.ok)
    if out.ok:
        for f in RB.state:
            sv = run.post[f.name]
            expected = out.values[f.name]
            if expected is None:
                s.add(as_bool(sv.null))
            elif f.ty.kind == "num":
                s.add(z3.Not(as_bool(sv.null)), sv.v == q(expected))
    assert s.check() == z3.sat


def test_concrete_contract_values():
    c = CONTRACTS["BTCUSDT"]
    assert zval(c.values()["tick_size"]) == Fraction(1, 10)
    assert zval(c.values()["last_tier.max_leverage"]) == 20


@pytest.mark.parametrize("direction,value,expected", [
    ("up", Fraction(101, 10), Fraction(11)), ("down", Fraction(-101, 10), Fraction(-11)),
    ("half_away", Fraction(-25, 10), Fraction(-3)), ("half_away", Fraction(25, 10), Fraction(3)),
    ("half_away", Fraction(-24, 10), Fraction(-2)), ("up", Fraction(7), Fraction(7)),
])
def test_rounding_through_integers(direction, value, expected):
    assert zval(SV(BE.round_term(q(value), q(1), direction))) == expected

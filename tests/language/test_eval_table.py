"""The interpreter on every construct, table-driven, including the ones the shipped rulebook never
runs (or, !=, == null, unary minus, abs, tier past the last tier) and the exact numbers helpers."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from marginspec.interpreter import Env, EvalError, compile_expr, solve_tier, tier_index, tier_of
from marginspec.numbers import exact_text, format_decimal, is_multiple, is_terminating, parse_decimal, round_to
from marginspec.parser import parse

TIERS = ({"max_notional": F(100), "rate": F(1, 100)}, {"max_notional": F(1000), "rate": F(2, 100)},
         {"max_notional": F(5000), "rate": F(5, 100)})
VALUES = {"x": F(7, 2), "y": F(-2), "z": F(0), "n": None, "s": "long", "t": True, "f": False,
          "__tiers__": TIERS, "__tier_envs__": tuple({f"tier.{k}": v for k, v in t.items()} for t in TIERS)}


def ev(text: str, **more):
    return compile_expr(parse(text))(Env({**VALUES, **more}))


TABLE = [
    ("1.25", F(5, 4)), ("-x", F(-7, 2)), ("- -x", F(7, 2)), ("-y", F(2)), ("'long'", "long"), ("null", None),
    ("true", True), ("false", False), ("x", F(7, 2)),
    ("x + y", F(3, 2)), ("x - y", F(11, 2)), ("y - x", F(-11, 2)), ("x * y", F(-7)), ("x / y", F(-7, 4)), ("y / x", F(-4, 7)),
    ("x == 3.5", True), ("x == 3", False), ("x != 3.5", False), ("x != 3", True),
    ("x < 3.5", False), ("x < 4", True), ("x <= 3.5", True), ("x <= 3", False),
    ("x > 3.5", False), ("x > 3", True), ("x >= 3.5", True), ("x >= 4", False),
    ("s == 'long'", True), ("s != 'long'", False), ("s == 'short'", False), ("s != 'short'", True),
    ("n == null", True), ("n != null", False), ("x == null", False), ("x != null", True),
    ("null == n", True), ("null != x", True), ("null == x", False), ("null != n", False),
    ("t and t", True), ("t and f", False), ("f and t", False), ("f and f", False),
    ("t or t", True), ("t or f", True), ("f or t", True), ("f or f", False),
    ("not t", False), ("not f", True), ("not not t", True),
    ("f and missing", False), ("t or missing", True),  # short-circuit: the right side is never read
    ("if t then x else y", F(7, 2)), ("if f then x else y", F(-2)), ("if f then missing else 1", F(1)),
    ("abs(y)", F(2)), ("abs(x)", F(7, 2)), ("abs(z)", F(0)), ("abs(-x)", F(7, 2)),
    ("min(x, y)", F(-2)), ("min(y, x)", F(-2)), ("max(x, y)", F(7, 2)), ("max(y, x)", F(7, 2)),
    ("min(x, 5, z)", F(0)), ("max(y, z, -5)", F(0)), ("min(3, 2, 1)", F(1)), ("max(1, 2, 3)", F(3)),
    ("multiple_of(x, 0.5)", True), ("multiple_of(x, 2)", False), ("multiple_of(z, 0.1)", True),
    ("round(x, 1, up)", F(4)), ("round(x, 1, down)", F(3)), ("round(x, 1, half_away)", F(4)),
    ("round(y - 0.5, 1, half_away)", F(-3)), ("round(-x, 1, up)", F(-3)), ("round(-x, 1, down)", F(-4)),
    ("round(3.4, 1, half_away)", F(3)), ("round(x, 0.5, up)", F(7, 2)),
    ("tier(50).rate", F(1, 100)), ("tier(100).rate", F(1, 100)), ("tier(100.01).rate", F(2, 100)),
    ("tier(1000).rate", F(2, 100)), ("tier(4999).rate", F(5, 100)), ("tier(5000).rate", F(5, 100)),
    ("tier(99999).rate", F(5, 100)), ("tier(0).max_notional", F(100)),  # past the last tier: the last
    ("solve_tier(tier.rate * 10000, value <= tier.max_notional)", F(100)),
    ("solve_tier(tier.rate * 40000, value <= tier.max_notional)", F(800)),
    ("solve_tier(tier.max_notional * 2, value <= tier.max_notional)", F(10000)),  # none holds: the last tier
    ("solve_tier(tier.rate, value > 0.03)", F(5, 100)),
]


@pytest.mark.parametrize("text,want", TABLE, ids=[t for t, _ in TABLE])
def test_evaluates(text, want):
    got = ev(text)
    assert got == want and type(got) is type(want)


def test_a_name_without_a_value_is_an_eval_error():
    with pytest.raises(EvalError) as ei:
        ev("missing + 1")
    assert str(ei.value) == "'missing' has no value here"
    with pytest.raises(EvalError, match="'missing' has no value here"):
        ev("t and missing")
    with pytest.raises(EvalError):
        ev("f or missing")


def test_env_lazy_values_and_parent():
    calls = []
    lazy = {"d": lambda env: calls.append(1) or env["x"] * 2}
    parent = Env({"p": F(1)})
    env = Env({"x": F(3)}, lazy, parent)
    assert env["d"] == 6 and env["d"] == 6 and calls == [1]  # computed once, cached
    assert env["p"] == 1 and "p" in env
    with pytest.raises(EvalError) as ei:
        env["q"]
    assert str(ei.value) == "'q' has no value here"


def test_tier_helpers():
    assert [tier_index(TIERS, F(v)) for v in (0, 100, 101, 1000, 1001, 5000, 5001)] == [0, 0, 1, 1, 2, 2, 2]
    assert tier_of(TIERS, F(150)) is TIERS[1]
    env = Env(VALUES)
    i, sub = solve_tier(lambda e: e["tier.rate"] * 40000, lambda e: e["value"] <= e["tier.max_notional"], env)
    assert i == 1 and sub["value"] == 800 and sub["tier.max_notional"] == 1000 and sub["x"] == F(7, 2)
    i, sub = solve_tier(lambda e: F(10 ** 6), lambda e: False, env)
    assert i == 2 and sub["value"] == 10 ** 6


NUMBERS = [("0", F(0)), ("12", F(12)), ("-12", F(-12)), ("+1.5", F(3, 2)), ("0.001", F(1, 1000)), ("10.50", F(21, 2))]


@pytest.mark.parametrize("text,value", NUMBERS)
def test_parse_decimal(text, value):
    assert parse_decimal(text) == value


@pytest.mark.parametrize("bad", ["", "1.", ".5", "1e3", "NaN", " 1", "1 ", "--1", "1.2.3", "0x10", "١"])
def test_parse_decimal_refuses(bad):
    with pytest.raises(ValueError) as ei:
        parse_decimal(bad)
    assert str(ei.value) == f"{bad!r} is not a plain decimal string"
    with pytest.raises(ValueError) as ei:
        parse_decimal(5)
    assert str(ei.value) == "5 is not a plain decimal string"


FORMATS = [(F(0), "0"), (F(12), "12"), (F(-12), "-12"), (F(1, 2), "0.5"), (F(-1, 2), "-0.5"), (F(1, 8), "0.125"),
           (F(1, 1000), "0.001"), (F(-3, 40), "-0.075"), (F(12345, 100), "123.45"), (F(10), "10"), (F(1, 20), "0.05"),
           (F(7, 16), "0.4375"), (F(3, 5), "0.6"), (F(-1001, 1000), "-1.001")]


@pytest.mark.parametrize("q,text", FORMATS)
def test_format_decimal(q, text):
    assert format_decimal(q) == text
    assert parse_decimal(text) == q


@pytest.mark.parametrize("q", [F(1, 3), F(-2, 7), F(1, 6), F(5, 12)])
def test_format_decimal_refuses_non_terminating(q):
    with pytest.raises(ValueError) as ei:
        format_decimal(q)
    assert str(ei.value) == f"{q} has no finite decimal expansion"
    assert not is_terminating(q)


def test_is_terminating_and_is_multiple():
    assert all(is_terminating(F(1, d)) for d in (1, 2, 4, 5, 8, 10, 16, 20, 25, 40, 50, 80, 125, 1000))
    assert not any(is_terminating(F(1, d)) for d in (3, 6, 7, 12, 15, 30))
    assert is_multiple(F(3, 10), F(1, 10)) and not is_multiple(F(3, 10), F(1, 4)) and is_multiple(F(0), F(7))
    assert is_multiple(F(-6), F(3)) and not is_multiple(F(7), F(2))


ROUNDS = [  # x, step, up, down, half_away
    (F(7, 2), F(1), F(4), F(3), F(4)), (F(-7, 2), F(1), F(-3), F(-4), F(-4)), (F(3), F(1), F(3), F(3), F(3)),
    (F(13, 10), F(1), F(2), F(1), F(1)), (F(-13, 10), F(1), F(-1), F(-2), F(-1)), (F(17, 10), F(1), F(2), F(1), F(2)),
    (F(-17, 10), F(1), F(-1), F(-2), F(-2)), (F(1, 3), F(1, 10), F(2, 5), F(3, 10), F(3, 10)),
    (F(5, 8), F(1, 4), F(3, 4), F(1, 2), F(3, 4)), (F(-5, 8), F(1, 4), F(-1, 2), F(-3, 4), F(-3, 4)),
    (F(0), F(1, 10), F(0), F(0), F(0)), (F(149, 100), F(1, 10), F(3, 2), F(7, 5), F(3, 2)),
    (F(1, 20), F(1, 10), F(1, 10), F(0), F(1, 10)), (F(-1, 20), F(1, 10), F(0), F(-1, 10), F(-1, 10)),
]


@pytest.mark.parametrize("x,step,up,down,half", ROUNDS)
def test_round_to(x, step, up, down, half):
    assert (round_to(x, step, "up"), round_to(x, step, "down"), round_to(x, step, "half_away")) == (up, down, half)


@pytest.mark.parametrize("q, places, text", [
    (F(5, 4), None, "1.25"), (F(5, 4), 6, "1.25"), (F(-3), None, "-3"),
    (F(1, 3), None, "1/3"), (F(2, 3), 6, "2/3 ≈ 0.666667"), (F(-1, 6), 2, "-1/6 ≈ -0.17"),
    (F(1, 8000000), 6, "0.000000125"), (F(1, 2000001), 7, "1/2000001 ≈ 0.0000005"),
])
def test_exact_text_is_the_decimal_or_the_fraction_with_its_rounding(q, places, text):
    """What messages, reports and the venue table show for an exact value (one function for all)."""
    assert exact_text(q, places) == text

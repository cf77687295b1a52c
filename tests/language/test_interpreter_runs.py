"""The interpreter running actions directly (no engine, no protocol): checks in order with their
verdicts, effects, the liquidation and its locals, results, contract domains, argument validity,
and a rulebook bug (a null in arithmetic) reported as an EvalError naming the action."""

from __future__ import annotations

import dataclasses
from fractions import Fraction as F

import pytest

from marginspec.interpreter import EvalError, Interpreter
from marginspec.parser import parse
from marginspec.rulebook import load_rulebook

OPEN_CHECKS = ("open_position.isolated_mode", "open_position.mark_price", "open_position.no_position",
               "open_position.margin_known", "open_position.notional_limit", "open_position.min_margin",
               "open_position.balance")


@pytest.fixture(scope="module")
def setup():
    rb = load_rulebook()
    it = Interpreter(rb)
    c = rb.contracts["BTCUSDT"]
    values = {**it.contract_values(c), **it.initial_account(F(10000)), **it.initial_symbol_state(), "mark_price": F(50000)}
    return rb, it, c, values


def test_open_runs_every_check_then_the_effects(setup):
    rb, it, c, values = setup
    o = it.run("open_position", values, {"side": "long", "size": F(1000), "margin": F(5000)})
    assert o.ok and o.result == {} and o.checks == tuple((cid, "pass") for cid in OPEN_CHECKS)
    v = o.values
    assert (v["has_position"], v["side"], v["size"], v["entry_price"], v["isolated_margin"], v["available_balance"]) == (
        True, "long", F(1000), F(50000), F(5000), F(5000))
    assert not o.liquidated and o.error is None


def test_a_refusal_names_the_failing_check_and_stops(setup):
    rb, it, c, values = setup
    o = it.run("open_position", values, {"side": "long", "size": F(1000), "margin": F(1)})
    assert (o.ok, o.error, o.check_id, o.values, o.result) == (False, "BELOW_MIN_MARGIN", "open_position.min_margin", None, None)
    assert o.message == "margin below notional / max leverage of the tier"
    assert o.liquidated is False and o.locals is None
    assert o.checks == (*((cid, "pass") for cid in OPEN_CHECKS[:5]), ("open_position.min_margin", "fail"))


def test_checks_whose_condition_does_not_hold_are_skipped(setup):
    rb, it, c, values = setup
    o = it.run("set_leverage", values, {"leverage": F(10)})
    assert o.ok and o.checks[0] == ("set_leverage.max_leverage", "pass")
    assert [v for _, v in o.checks[1:]] == ["skip"] * (len(o.checks) - 1) and len(o.checks) == 6
    assert o.values["default_leverage"] == 10


def test_a_liquidation_sets_its_locals_and_removes_the_position(setup):
    rb, it, c, values = setup
    opened = it.run("open_position", values, {"side": "long", "size": F(1000), "margin": F(5000)}).values
    kept = it.run("set_mark_price", opened, {"price": F("45180.8")})
    assert kept.ok and kept.liquidated is False and kept.result == {"liquidated": False}  # a null fill_price is omitted
    assert kept.locals == {"liquidated": False, "fill_price": None}
    assert kept.values["has_position"] is True and kept.values["mark_price"] == F("45180.8")
    gone = it.run("set_mark_price", opened, {"price": F("45180.7")})
    assert gone.liquidated is True and gone.locals == {"fill_price": F("44954.7"), "liquidated": True}
    assert gone.result == {"liquidated": True, "fill_price": F("44954.7")}
    assert gone.values["has_position"] is False and gone.values["size"] is None and gone.values["side"] is None
    assert gone.values["insurance_fund"] == F("-45.3") and gone.values["available_balance"] == 5000
    funded = it.run("apply_funding", opened, {"rate": F(1, 10000)})
    assert funded.ok and funded.result["fee"] == 5 and funded.values["isolated_margin"] == 4995


def test_contract_values_and_domains(setup):
    rb, it, c, values = setup
    cv = it.contract_values(c)
    assert cv["first_tier.max_leverage"] == c.tiers[0]["max_leverage"] and cv["last_tier.max_notional"] == c.tiers[-1]["max_notional"]
    assert cv["__tiers__"] is c.tiers and cv["__tier_envs__"][1]["tier.maintenance_amount"] == c.tiers[1]["maintenance_amount"]
    assert it.contract_problems(c) == []
    bad = dataclasses.replace(c, params={**c.params, "tick_size": F(0)},
                              tiers=(c.tiers[0], {**c.tiers[1], "max_leverage": F(1, 2)}))
    assert it.contract_problems(bad) == ["tick_size fails tick_size > 0", "tier 2: max_leverage fails its domain"]
    assert it.initial_account(F(5)) == {"available_balance": F(5), "insurance_fund": F(0)}
    assert it.initial_symbol_state()["margin_mode"] == "isolated" and it.initial_symbol_state()["has_position"] is False


def test_derived_values_of_a_position(setup):
    rb, it, c, values = setup
    opened = it.run("open_position", values, {"side": "short", "size": F(1000), "margin": F(5000)}).values
    env = it.derived_values({**opened, "mark_price": F(51000)})
    assert (env["notional"], env["unrealized_pnl"], env["equity"], env["liquidation_price"]) == (
        F(51000), F(-1000), F(4000), F("54776.1"))


def test_invalid_argument_is_the_first_in_declaration_order(setup):
    rb, it, c, values = setup
    cv = it.contract_values(c)
    assert it.invalid_argument("open_position", cv, {"side": "long", "size": F(-1), "margin": F(-1)}) == "size"
    assert it.invalid_argument("open_position", cv, {"side": "long", "size": F(1), "margin": F(-1)}) == "margin"
    assert it.invalid_argument("open_position", cv, {"side": "long", "size": F(1), "margin": None}) is None
    assert it.invalid_argument("open_position", cv, {"side": "long", "size": F(1, 2), "margin": F(1)}) == "size"


def test_a_null_in_arithmetic_is_an_eval_error_naming_the_action(setup):
    rb, it, c, values = setup
    a = rb.actions["add_margin"]
    broken = dataclasses.replace(a, checks=(dataclasses.replace(a.checks[0], require=parse("mark_price + null > 0")),
                                            *a.checks[1:]))
    it2 = Interpreter(dataclasses.replace(rb, actions={**rb.actions, "add_margin": broken}))
    with pytest.raises(EvalError, match=r"^add_margin: TypeError: "):
        it2.run("add_margin", values, {"amount": F(1)})

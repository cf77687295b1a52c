"""Comparing replies with expectations: decimals as decimals, null as null, missing is a failure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marginspec.conformance.compare import MISSING, Diff, compare_step, compare_value, decimal_equal
from marginspec.conformance.loader import Step


def diffs(expected, got):
    out: list = []
    compare_value(expected, got, "result", out)
    return out


def step(expect_ok=True, error=None, result=None):
    return Step(0, "query", {}, "", b"", expect_ok, error, result)


@pytest.mark.parametrize("a,b", [("1.50", "1.5"), ("1.5", "1.50"), ("50000", "50000.000"), ("-0", "0"),
                                 ("0.0", "0"), ("+2", "2"), ("-0.50", "-0.5")])
def test_equal_decimals_pass(a, b):
    assert decimal_equal(a, b)
    assert diffs({"x": a}, {"x": b}) == []


@pytest.mark.parametrize("a,b", [("1.51", "1.5"), ("1.5", "15"), ("0.0001", "0"), ("-1", "1")])
def test_different_decimals_fail(a, b):
    assert not decimal_equal(a, b)
    assert diffs({"x": a}, {"x": b}) == [("result.x", a, b)]


@pytest.mark.parametrize("got", ["1.5 ", " 1.5", "1_5", "NaN", "Infinity", "1.5.0", "", "0x10"])
def test_strings_that_are_not_decimals_compare_as_text(got):
    assert diffs({"x": "1.5"}, {"x": got}) == [("result.x", "1.5", got)]


@pytest.mark.parametrize("got", ["15E-1", "1.5e0", "0.15E+1", "1.50E0"])
def test_an_exponent_is_not_a_plain_decimal(got):
    """N-numbers and the protocol's schema: a decimal string has no exponent, so "15E-1" (what
    Python's Decimal may print) fails where "1.5" is expected, and the table says why (the design
    changed: the comparer used to read exponents, ".5" and "5." as numbers)."""
    from marginspec.conformance.compare import render_value

    assert not decimal_equal("1.5", got)
    assert diffs({"x": "1.5"}, {"x": got}) == [("result.x", "1.5", got)]
    assert render_value(got) == f'"{got}" (not a plain decimal string)'
    assert render_value("1.5") == "1.5" and render_value("long") == '"long"'


@pytest.mark.parametrize("got", [".5", "5.", "+.5"])
def test_a_bare_point_is_not_a_plain_decimal(got):
    assert diffs({"x": "0.5" if got != "5." else "5"}, {"x": got}) != []


def test_plain_strings_compare_exactly():
    assert diffs({"side": "long"}, {"side": "long"}) == []
    assert diffs({"side": "long"}, {"side": "Long"}) == [("result.side", "long", "Long")]


def test_a_json_number_is_not_a_decimal_string():
    assert diffs({"fee": "0.5"}, {"fee": Decimal("0.5")}) == [("result.fee", "0.5", Decimal("0.5"))]
    assert diffs({"fee": "1"}, {"fee": 1}) == [("result.fee", "1", 1)]


def test_null_must_be_null():
    assert diffs({"position": None}, {"position": None}) == []
    assert diffs({"position": None}, {"position": {"side": "long"}}) == [("result.position", None, {"side": "long"})]
    assert diffs({"mark_price": "1"}, {"mark_price": None}) == [("result.mark_price", "1", None)]
    assert diffs({"mark_price": None}, {}) == [("result.mark_price", None, MISSING)]


def test_booleans_are_not_numbers_or_strings():
    assert diffs({"liquidated": False}, {"liquidated": False}) == []
    assert diffs({"liquidated": False}, {"liquidated": 0}) == [("result.liquidated", False, 0)]
    assert diffs({"liquidated": True}, {"liquidated": "true"}) == [("result.liquidated", True, "true")]


def test_nested_objects_missing_and_extra_fields():
    expected = {"position": {"side": "long", "size": "100", "leverage": "50"}, "available_balance": "9900"}
    got = {"position": {"side": "long", "size": "100.0", "extra": "x"}, "available_balance": "9900", "more": 1}
    assert diffs(expected, got) == [("result.position.leverage", "50", MISSING)]
    assert diffs(expected, {"position": None, "available_balance": "9900"}) == [
        ("result.position", expected["position"], None)]


def test_step_expecting_success():
    out: list = []
    compare_step(step(result={"fee": "0.5"}), {"id": 1, "ok": True, "result": {"fee": "0.50"}}, 2, "apply_funding", out)
    assert out == []
    compare_step(step(result={"fee": "0.5"}), {"id": 1, "ok": True}, 2, "apply_funding", out)
    assert [(d.field, d.got) for d in out] == [("result", MISSING)]


def test_step_expecting_success_gets_refusal():
    out: list = []
    reply = {"id": 1, "ok": False, "error": {"code": "NO_POSITION", "message": "no"}}
    compare_step(step(result={}), reply, 3, "close_position", out)
    assert [(d.step, d.op, d.field, d.expected, d.got) for d in out] == [
        (3, "close_position", "ok", True, False), (3, "close_position", "error.code", MISSING, "NO_POSITION")]
    # the table reads "no error" where success was expected, not "<missing>" (a missing field)
    from marginspec.conformance.report import diff_table

    assert [line.split() for line in diff_table(out)] == [
        ["step", "op", "field", "expected", "got"], ["3", "close_position", "ok", "true", "false"],
        ["3", "close_position", "error.code", "no", "error", "\"NO_POSITION\""]]


def test_step_expecting_refusal():
    out: list = []
    ok_code = {"id": 1, "ok": False, "error": {"code": "INSUFFICIENT_COVERAGE", "message": "whatever text"}}
    compare_step(step(False, "INSUFFICIENT_COVERAGE"), ok_code, 1, "reduce_margin", out)
    assert out == []  # the message is not compared
    wrong = {"id": 1, "ok": False, "error": {"code": "LEVERAGE_TOO_HIGH", "message": ""}}
    compare_step(step(False, "INSUFFICIENT_COVERAGE"), wrong, 1, "reduce_margin", out)
    assert [(d.field, d.expected, d.got) for d in out] == [("error.code", "INSUFFICIENT_COVERAGE", "LEVERAGE_TOO_HIGH")]
    out.clear()
    compare_step(step(False, "INSUFFICIENT_COVERAGE"), {"id": 1, "ok": True, "result": {}}, 1, "reduce_margin", out)
    assert [(d.field, d.expected, d.got) for d in out] == [("ok", False, True),
                                                          ("error.code", "INSUFFICIENT_COVERAGE", MISSING)]
    out.clear()
    compare_step(step(False, "NO_POSITION"), {"id": 1, "ok": False, "error": "NO_POSITION"}, 1, "x", out)
    assert [(d.field, d.got) for d in out] == [("error.code", MISSING)]  # error must be an object


def test_reply_without_ok():
    out: list = []
    compare_step(step(result={}), {"id": 1, "result": {}}, 0, "query", out)
    assert [(d.field, d.expected, d.got) for d in out] == [("ok", True, MISSING)]


@pytest.mark.parametrize("expected, got, tolerance, ok", [
    ("1.5", "1.6", "0.1", True), ("1.5", "1.4", "0.1", True), ("1.5", "1.61", "0.1", False),
    ("1.5", "1.6", None, False), ("1.5", 1.6, "0.1", False), (None, "1.6", "0.1", False),
    ("1.5", "x", "0.1", False), ("x", "1.5", "0.1", False), ("1.5", "1.5", "0", True)])
def test_within_a_tolerance(expected, got, tolerance, ok):
    """A venue's published example: a decimal reply at most `tolerance` from the expected one passes."""
    from marginspec.conformance.compare import within

    assert within(expected, got, tolerance) is ok


def test_a_step_tolerance_applies_to_its_own_field_only():
    s = Step(0, "query", {}, "", b"", True, None, {"position": {"liquidation_price": "100", "leverage": "10"}},
             tolerance={"position.liquidation_price": "0.5"})
    out: list = []
    reply = {"id": 1, "ok": True, "result": {"position": {"liquidation_price": "100.4", "leverage": "10.4"}}}
    compare_step(s, reply, 2, "query", out)
    assert [(d.field, d.expected, d.got) for d in out] == [("result.position.leverage", "10", "10.4")]
    out = []
    reply["result"]["position"]["liquidation_price"] = "100.6"
    compare_step(s, reply, 2, "query", out)
    assert [d.field for d in out] == ["result.position.liquidation_price", "result.position.leverage"]


def test_no_error_is_shown_only_where_success_was_expected():
    from marginspec.conformance.compare import render_expected

    assert render_expected(Diff(1, "op", "error.code", MISSING, "X")) == "no error"
    assert render_expected(Diff(1, "op", "error.code", "NO_POSITION", MISSING)) == '"NO_POSITION"'
    assert render_expected(Diff(1, "op", "result.x", MISSING, "1")) == "<missing>"

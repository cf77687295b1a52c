"""The verdict on a reply, table-driven: every kind of expected value (string, decimal, null,
object, list, bool, JSON number), every path of compare_step, and the report helpers."""

from __future__ import annotations

import pickle
from decimal import Decimal
from types import SimpleNamespace

import pytest

from marginspec.conformance.compare import (MISSING, Diff, Marker, compare_step, compare_value, decimal_equal,
                                            error_code, jsonable, render_value)

VALUES = [  # expected, got, differences [(path, expected, got)]
    ("1.5", "1.50", []), ("1.5", "1.5", []), ("abc", "abc", []), ("1.5", "1.6", [("r", "1.5", "1.6")]),
    ("abc", "abd", [("r", "abc", "abd")]), ("1", 1, [("r", "1", 1)]), ("0.5", ".5", [("r", "0.5", ".5")]), ("500", "5E+2", [("r", "500", "5E+2")]),
    ("-0", "0", []), ("1", "+1", []), ("1.5", None, [("r", "1.5", None)]),
    (None, None, []), (None, "0", [("r", None, "0")]), (None, MISSING, [("r", None, MISSING)]),
    ({"a": "1"}, {"a": "1.0", "b": "x"}, []), ({"a": "1"}, {}, [("r.a", "1", MISSING)]),
    ({"a": "1"}, "x", [("r", {"a": "1"}, "x")]), ({"a": {"b": None}}, {"a": {"b": "2"}}, [("r.a.b", None, "2")]),
    ({"a": "x"}, {"a": "x"}, []), ({"a": "1"}, {"a": "2"}, [("r.a", "1", "2")]),
    (["1", "2"], ["1.0", "2"], []), (["1", "2"], ["1"], [("r[1]", "2", MISSING)]),
    (["1"], ["1", "2"], [("r[1]", MISSING, "2")]), (["1"], "1", [("r", ["1"], "1")]),
    (["1", "2"], ["2", "1"], [("r[0]", "1", "2"), ("r[1]", "2", "1")]), ([], [], []),
    (True, True, []), (True, False, [("r", True, False)]), (False, 0, [("r", False, 0)]), (True, "true", [("r", True, "true")]),
    (5, 5, []), (5, Decimal(5), []), (5, "5", [("r", 5, "5")]), (5, 6, [("r", 5, 6)]), (Decimal("1.5"), Decimal("1.50"), []),
    (5.5, 5.5, []), (5.5, "5.5", [("r", 5.5, "5.5")]), (1.0, 1, [("r", 1.0, 1)]), (5.5, 6.5, [("r", 5.5, 6.5)]),
    (["1"], "12", [("r", ["1"], "12")]), (["1"], None, [("r", ["1"], None)]), ({"a": "1"}, None, [("r", {"a": "1"}, None)]),
]


@pytest.mark.parametrize("expected,got,diffs", VALUES, ids=[repr(v[:2]) for v in VALUES])
def test_compare_value(expected, got, diffs):
    out: list = []
    compare_value(expected, got, "r", out)
    assert out == diffs


def test_compare_value_top_level_paths():
    out: list = []
    compare_value({"a": "1", "b": ["2"]}, {"b": []}, "", out)
    assert out == [("a", "1", MISSING), ("b[0]", "2", MISSING)]


@pytest.mark.parametrize("a,b,eq", [("1", "1.0", True), ("1", "2", False), ("x", "x", False), ("1", "x", False),
                                     ("x", "1", False), ("1e2", "100", False), ("-.5", "-0.50", False),
                                     ("-0.5", "-0.50", True), ("+1", "1", True)])
def test_decimal_equal(a, b, eq):
    assert decimal_equal(a, b) is eq


def step(ok=True, error=None, result=None):
    return SimpleNamespace(expect_ok=ok, expect_error=error, expect_result=result)


STEPS = [  # step, reply, diffs
    (step(result={"a": "1"}), {"ok": True, "result": {"a": "1"}}, []),
    (step(result={"a": "1"}), {"ok": True, "result": {"a": "2"}}, [Diff(3, "op", "result.a", "1", "2")]),
    (step(result={"a": "1"}), {"ok": True}, [Diff(3, "op", "result", {"a": "1"}, MISSING)]),
    (step(result=None), {"ok": True}, []),
    (step(result={}), {"ok": True, "result": {"x": 1}}, []),
    (step(result={"a": "1"}), {"ok": False, "error": {"code": "E"}},
     [Diff(3, "op", "ok", True, False), Diff(3, "op", "error.code", MISSING, "E")]),
    (step(result={"a": "1"}), {"ok": "yes"}, [Diff(3, "op", "ok", True, "yes")]),
    (step(result={"a": "1"}), {}, [Diff(3, "op", "ok", True, MISSING)]),
    (step(False, "E"), {"ok": False, "error": {"code": "E", "message": "m"}}, []),
    (step(False, "E"), {"ok": False, "error": {"code": "F"}}, [Diff(3, "op", "error.code", "E", "F")]),
    (step(False, "E"), {"ok": False, "error": "E"}, [Diff(3, "op", "error.code", "E", MISSING)]),
    (step(False, "E"), {"ok": False}, [Diff(3, "op", "error.code", "E", MISSING)]),
    (step(False, "E"), {"ok": True, "result": {}}, [Diff(3, "op", "ok", False, True), Diff(3, "op", "error.code", "E", MISSING)]),
]


@pytest.mark.parametrize("st,reply,diffs", STEPS)
def test_compare_step(st, reply, diffs):
    out: list = []
    compare_step(st, reply, 3, "op", out)
    assert out == diffs


def test_error_code():
    assert error_code({"error": {"code": "X"}}) == "X"
    assert error_code({"error": {}}) is MISSING and error_code({"error": "X"}) is MISSING and error_code({}) is MISSING


RENDER = [(MISSING, "<missing>"), (Marker("a reply"), "a reply"), ("1.5", "1.5"), ("abc", '"abc"'), ("", '""'),
          (None, "null"), (True, "true"), (False, "false"), (5, "5 (a JSON number)"), (Decimal("1.5"), "1.5 (a JSON number)"),
          ({"b": 1, "a": [None]}, '{"a":[null],"b":1}'), (["é"], '["é"]'), ({"k": "x" * 300}, '{"k":"' + "x" * 191 + "..."),
          ({"k": {1, 2}}, '{"k":"{1, 2}"}'), (1.5, "1.5"), ("é", '"é"'),
          (["x" * 194], '["' + "x" * 194 + '"]'),  # 198 characters: shown whole
          (["x" * 196], '["' + "x" * 196 + '"]'),  # exactly 200: shown whole
          (["x" * 197], '["' + "x" * 195 + "..."),  # 201: cut to 197 and "..."
          ]


@pytest.mark.parametrize("value,text", RENDER, ids=[repr(v)[:30] for v, _ in RENDER])
def test_render_value(value, text):
    assert render_value(value) == text


def test_render_value_of_something_json_cannot_write():
    class Odd:
        def __repr__(self):
            return "<odd>"
    circular: list = []
    circular.append(circular)
    assert render_value(circular) == "[[...]]"


JSONABLE = [(MISSING, None), (Marker("timeout"), "timeout"), (Decimal("1.50"), "1.50"), ({"a": MISSING}, {"a": None}),
            ((1, Decimal("2")), [1, "2"]), ([MISSING], [None]), (None, None), ("s", "s"), (3, 3), (True, True),
            (1.5, "1.5"), ({"a": {"b": Decimal("0")}}, {"a": {"b": "0"}})]


@pytest.mark.parametrize("value,want", JSONABLE, ids=[repr(v)[:30] for v, _ in JSONABLE])
def test_jsonable(value, want):
    got = jsonable(value)
    assert got == want and type(got) is type(want)


def test_missing_is_falsy_named_and_a_singleton_when_pickled():
    assert not MISSING and repr(MISSING) == "<missing>"
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING
    assert isinstance(Marker("x"), str) and str(Marker("x")) == "x"

"""Comparing a reply with a step's expectation.

The rules (PROTOCOL.md, vectors.schema.json): ``ok`` must match; for a refusal the error code must
match (the message is ignored); for a result each expected field must be present and equal:
strings that both are plain decimals compare as numbers ("1.50" equals "1.5"; "5E+4" is no plain
decimal, so it differs from "50000"), null must be
null, objects compare recursively, extra reply fields are ignored, and a missing field that the
step checks is a failure. A number sent as a JSON number where a decimal string is expected is a
failure (the protocol's numbers are strings). Everything is exact: Decimal, never float.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self):
        return "MISSING"


#: Stands for a value that is not there (a field the reply lacks, or one the step did not expect).
MISSING: Any = _Missing()

# What an engine may write for a number: a plain decimal string as N-numbers and the protocol's
# schema define it (an optional sign, digits, an optional fraction). "5E+4" (what Python's Decimal
# may print), ".5" or "5." are not: a client reading the protocol's decimals would refuse them.
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_fullmatch = _NUMBER.fullmatch
# A number in some other notation, named as such in a diff table.
_LOOSE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class Diff(NamedTuple):
    """One difference at one step: ``step`` is the index in the case's steps (None for the reset),
    ``field`` a dotted path ("result.position.size", "error.code", "ok", "reply")."""

    step: int | None
    op: str
    field: str
    expected: Any
    got: Any


def decimal_equal(a: str, b: str) -> bool:
    """True when both strings read as decimal numbers of equal value."""
    if _fullmatch(a) is None or _fullmatch(b) is None:
        return False
    try:
        return Decimal(a) == Decimal(b)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        return False


def compare_value(expected: Any, got: Any, path: str, out: list) -> None:
    """Append (path, expected, got) for every difference between an expected value and a reply's."""
    te = type(expected)
    if te is str:
        if type(got) is str and (got == expected or decimal_equal(expected, got)):
            return
        out.append((path, expected, got))
    elif expected is None:
        if got is not None:
            out.append((path, None, got))
    elif te is dict:
        if type(got) is not dict:
            out.append((path, expected, got))
            return
        for key, value in expected.items():
            sub = got.get(key, MISSING)
            if sub is MISSING:
                out.append((f"{path}.{key}" if path else key, value, MISSING))
            elif type(value) is str and type(sub) is str and value == sub:
                continue  # the common case, without a call
            else:
                compare_value(value, sub, f"{path}.{key}" if path else key, out)
    elif te is list:
        if type(got) is not list:
            out.append((path, expected, got))
            return
        for i, value in enumerate(expected):
            if i >= len(got):
                out.append((f"{path}[{i}]", value, MISSING))
            else:
                compare_value(value, got[i], f"{path}[{i}]", out)
        if len(got) > len(expected):
            out.append((f"{path}[{len(expected)}]", MISSING, got[len(expected)]))
    elif te is bool:
        if got is not expected:
            out.append((path, expected, got))
    elif te is int or te is Decimal:
        if type(got) not in (int, Decimal) or got != expected:
            out.append((path, expected, got))
    elif expected != got or type(expected) is not type(got):
        out.append((path, expected, got))


def compare_step(step, reply: dict, index: int | None, op: str, out: list) -> None:
    """Append Diffs for one reply (a dict with the right id) against one step's expectation."""
    ok = reply.get("ok", MISSING)
    if step.expect_ok:
        if ok is True:
            expected = step.expect_result
            if expected:
                result = reply.get("result", MISSING)
                if result is MISSING:
                    out.append(Diff(index, op, "result", expected, MISSING))
                    return
                found: list = []
                compare_value(expected, result, "result", found)
                tolerance = getattr(step, "tolerance", None)
                for path, exp, got in found:
                    if tolerance and within(exp, got, tolerance.get(path[len("result."):])):
                        continue
                    out.append(Diff(index, op, path, exp, got))
            return
        out.append(Diff(index, op, "ok", True, ok))
        if ok is False:
            out.append(Diff(index, op, "error.code", MISSING, error_code(reply)))
        return
    # A refusal is expected.
    if ok is False:
        code = error_code(reply)
        if code != step.expect_error:
            out.append(Diff(index, op, "error.code", step.expect_error, code))
        return
    out.append(Diff(index, op, "ok", False, ok))
    out.append(Diff(index, op, "error.code", step.expect_error, MISSING))


def within(expected: Any, got: Any, tolerance: str | None) -> bool:
    """True when a step's tolerance for this field admits the reply: both decimal strings, at most
    `tolerance` apart (a venue's published example printed with its own rounding)."""
    if tolerance is None or type(expected) is not str or type(got) is not str:
        return False
    if _fullmatch(expected) is None or _fullmatch(got) is None:
        return False
    return abs(Decimal(expected) - Decimal(got)) <= Decimal(tolerance)


def error_code(reply: dict) -> Any:
    err = reply.get("error", MISSING)
    if type(err) is dict:
        return err.get("code", MISSING)
    return MISSING


def render_expected(diff: Diff) -> str:
    """The expected side of a diff for a table: render_value, except that an error code where the
    step expected success reads "no error" (not "<missing>", which would read as a missing field)."""
    if diff.expected is MISSING and diff.field == "error.code":
        return "no error"
    return render_value(diff.expected)


def render_value(value: Any) -> str:
    """A value for a diff table: decimal strings bare, other strings quoted, JSON for the rest."""
    import json

    if value is MISSING:
        return "<missing>"
    if type(value) is Marker:
        return str(value)
    if type(value) is str:
        if _fullmatch(value):
            return value
        note = " (not a plain decimal string)" if _LOOSE.fullmatch(value) else ""
        return json.dumps(value, ensure_ascii=False) + note
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) in (int, Decimal):
        return f"{value} (a JSON number)"
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def jsonable(value: Any) -> Any:
    """A value for a JSON report (MISSING becomes None; the caller records which side is missing)."""
    if value is MISSING:
        return None
    if type(value) is Marker:
        return str(value)
    if type(value) is Decimal:
        return str(value)
    if type(value) is dict:
        return {k: jsonable(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return [jsonable(v) for v in value]
    if value is None or type(value) in (str, int, bool):
        return value
    return repr(value)


class Marker(str):
    """Text shown as is in a diff (not a value from the vector or the reply): "a reply", "timeout"."""

    __slots__ = ()

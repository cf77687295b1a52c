"""What to fix: a failing run's cases grouped by the rule they differ on, most frequent first, each
group with the case that shows it most simply; the same cases by the flags their vectors carry; and,
per failing case, the requests of the differing steps and the meaning of the case's flags.

A case's flags say what the case tests (a liquidation-boundary case carries both
PrematureLiquidation and MissedLiquidation), not which mistake a given engine made, so the flag
section says so and counts a case under each of its flags, with how many of the cases that ran
carry the flag: a flag most of whose cases fail is worth reading; the rule section is the
diagnosis.

The rule of a difference: the derived value or state field that differs
(``result.position.liquidation_price`` -> ``liquidation_price``), ``liquidation (missed)`` or
``liquidation (premature)`` for a wrong ``liquidated`` (the vector expected a liquidation, or
expected none), ``liquidation`` for a wrong fill, the check whose error code was expected or
returned for a wrong refusal (``reduce_margin.coverage``), or the kind of engine fault
(``engine: crash``).
"""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from typing import Any, Iterable, Sequence

from .compare import Diff
from .field_order import installed_rulebook, leaf as field_leaf


@lru_cache(maxsize=1)
def _rulebook_names() -> tuple[frozenset, dict]:
    """(derived and state names, {(op, error code): check id}) of the installed rulebook; empty when
    it cannot be loaded (the report then names fields and codes as they are)."""
    rb = installed_rulebook()
    if rb is None:
        return frozenset(), {}
    names = frozenset({d.name for d in rb.derived} | {f.name for f in rb.state})
    checks: dict = {}
    for op, action in rb.actions.items():
        for c in list(rb.common_checks) + list(action.checks):
            if getattr(c, "error", None):
                checks.setdefault((op, c.error), c.id)
    return names, checks


def rule_of(d: Diff, kind: str | None = None, case: Any = None, diffs: Sequence[Diff] = ()) -> str:
    """The rule a difference points at (see the module's docstring)."""
    names, checks = _rulebook_names()
    if d.field == "reply":
        return f"engine: {kind or 'fault'}"
    if d.field in ("ok", "error.code"):
        step = case.steps[d.step] if case is not None and d.step is not None and d.step < len(case.steps) else None
        if step is not None and not step.expect_ok:  # a refusal was expected: that check
            return checks.get((d.op, step.expect_error), f"{d.op} {step.expect_error}")
        got = next((x.got for x in diffs if x.step == d.step and x.field == "error.code" and isinstance(x.got, str)),
                   d.got if isinstance(d.got, str) else None)
        if got is None:
            return f"{d.op} (accepted or refused wrongly)"
        return f"{checks.get((d.op, got), f'{d.op} {got}')} (refused wrongly)"
    leaf = field_leaf(d.field)
    if leaf == "liquidated" and isinstance(d.expected, bool) and d.got is (not d.expected):
        return "liquidation (missed)" if d.expected else "liquidation (premature)"
    if leaf in ("liquidated", "fill_price"):
        return "liquidation"
    if leaf in names:
        return leaf
    return f"{d.op} {d.field}"


def case_rule(result: Any) -> str:
    """The rule of a failing case's first difference: the runner puts the most basic one first
    (field_order.py), and the others usually follow from it."""
    if not result.diffs:
        return f"engine: {result.kind or 'fault'}"
    return rule_of(result.diffs[0], result.kind, result.case, result.diffs)


def cause_op(result: Any) -> str:
    """The request after which a failing case's first difference shows: the differing step's own op,
    or for a query the last request before it that is not a query ("reset" before any). One bug
    shows on several fields (a flipped funding sign: margin, then missed and premature liquidations);
    the op they share points at it."""
    d = result.diffs[0] if result.diffs else None
    if d is None or d.step is None:
        return "reset"
    steps = result.case.steps
    for s in reversed(steps[:min(d.step, len(steps) - 1) + 1]):
        if s.op != "query":
            return s.op
    return "reset"


def _simplicity(result) -> tuple:
    return (len(result.case.steps), len(result.diffs), result.case.id)


def _example(result) -> str:
    """The simplest case of a group; its reason only for a mismatch (an engine fault's reason is
    already on the case's own line)."""
    head = f"{result.case.id} ({len(result.case.steps)} steps)"
    return f"{head}: {result.reason}" if result.kind == "mismatch" else head


def groups(results: Iterable[Any], meanings: dict[str, str] | None = None) -> dict:
    """{"by_rule": [...], "by_flag": [...]} for the failed results, most frequent first; a by_flag
    row's "cases" are the failing cases carrying the flag, "ran" the cases carrying it that ran."""
    meanings = meanings or {}
    by_rule: dict[str, list] = {}
    by_flag: dict[str, list] = {}
    carrying: dict[str, int] = {}
    for r in results:
        if r.status == "passed" or r.status == "failed":
            for flag in r.case.flags:
                carrying[flag] = carrying.get(flag, 0) + 1
        if r.status != "failed":
            continue
        by_rule.setdefault(case_rule(r), []).append(r)
        for flag in r.case.flags:
            by_flag.setdefault(flag, []).append(r)

    def rows(table: dict, key: str) -> list[dict]:
        out = []
        for name, rs in sorted(table.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            simplest = min(rs, key=_simplicity)
            row = {key: name, "cases": len(rs), "simplest": simplest.case.id, "example": _example(simplest)}
            if key == "rule":
                after = Counter(cause_op(r) for r in rs)
                row["after"] = dict(sorted(after.items(), key=lambda kv: (-kv[1], kv[0])))
            if key == "flag":
                row["ran"] = carrying.get(name, 0)
                row["meaning"] = meanings.get(name, "")
            out.append(row)
        return out

    return {"by_rule": rows(by_rule, "rule"), "by_flag": rows(by_flag, "flag")}


def summary_lines(results: Sequence[Any], meanings: dict[str, str] | None = None) -> list[str]:
    g = groups(results, meanings)
    if not g["by_rule"] and not g["by_flag"]:
        return []
    failed = sum(1 for r in results if r.status == "failed")
    lines = [f"What to fix ({failed:,} failing case{'s' if failed != 1 else ''} by the rule of their first "
             "difference, most frequent first, with the requests it shows after and the simplest case):"]
    for row in g["by_rule"]:
        after = list(row["after"].items())
        ops = ", ".join(f"{op} {n:,}" for op, n in after[:3]) + (", ..." if len(after) > 3 else "")
        lines.append(f"  {row['rule']}: {row['cases']:,} case{'s' if row['cases'] != 1 else ''} (after {ops}); "
                     f"simplest: {row['example']}")
    if g["by_flag"]:
        lines.append("The failing cases by the flags their vectors carry (what those cases test, not which mistake "
                     "the engine made: a case counts under each of its flags):")
        for row in g["by_flag"]:
            meaning = f" ({row['meaning']})" if row["meaning"] else ""
            lines.append(f"  flag {row['flag']}: {row['cases']:,} failing of {row['ran']:,} "
                         f"carrying it{meaning}; simplest: {row['example']}")
    return lines


def case_details(result: Any, meanings: dict[str, str] | None = None, indent: str = "    ",
                 limit: int = 12) -> list[str]:
    """The case's requests with their arguments up to the last differing step ("!" marks a
    differing one), and the case's flags with their meaning."""
    steps = result.case.steps
    differing = {d.step for d in result.diffs if d.step is not None}
    lines = []
    if differing:
        last = min(max(differing), len(steps) - 1)
        first = max(0, last + 1 - limit)
        lines.append(f"{indent}requests (after the reset):")
        for s in steps[first:last + 1]:
            args = json.dumps(s.args, ensure_ascii=False, separators=(", ", ": "), sort_keys=True, default=str)
            expect = "ok" if s.expect_ok else f"refused: {s.expect_error}"
            mark = "!" if s.index in differing else " "
            lines.append(f"{indent} {mark}{s.index:>3}  {s.op} {args}  -> expected {expect}")
    meanings = meanings or {}
    for flag in result.case.flags:
        meaning = meanings.get(flag)
        lines.append(f"{indent}flag {flag}" + (f": {meaning}" if meaning else ""))
    return lines


def flag_meanings(files: Iterable[Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for vf in files:
        for name, entry in vf.flags.items():
            if isinstance(entry, dict):
                out.setdefault(name, str(entry.get("meaning", "")))
    return out


__all__ = ["groups", "summary_lines", "case_details", "flag_meanings", "rule_of", "case_rule"]

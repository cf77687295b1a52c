"""What `marginspec fuzz` shows and writes: the shrunk trace as a table (request, expected, got, the
rule ids involved), the same as JSON, and a vector file that `marginspec conform --vectors FILE`
replays (format marginspec-vectors/1, every expectation from the reference engine).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..conformance.compare import render_value
from ..conformance.report import diff_table, diffs_json
from ..engine import ReferenceEngine
from ..rulebook import Rulebook
from ..vectors.cases import CaseSpec
from ..vectors.recorder import case_id, record, replay
from ..vectors.writer import document, dumps
from .driver import Finding, FuzzResult
from .trace import Trace

#: The flag a difference in a field stands for (when the rulebook's flag table has it).
FIELD_FLAGS = (
    ("liquidated", None),  # decided by the expected value below
    ("liquidation_price", "LiquidationPrice"),
    ("bankruptcy_price", "BankruptcyPrice"),
    ("fill_price", "LiquidationFill"),
    ("fee", "FundingDirection"),
    ("insurance_fund", "LiquidationFill"),
    ("error.code", "ErrorCode"),
    ("ok", "ErrorCode"),
    ("margin_mode", "ModeLock"),
    ("position", "DerivedValues"),
    ("available_balance", "Balance"),
)


def flags_of(rb: Rulebook, finding: Finding) -> tuple[str, ...]:
    known = {f.name for f in rb.flags}
    out: set[str] = set()
    for d in finding.result.diffs:
        leaf = d.field
        if leaf.endswith("liquidated"):
            out.add("MissedLiquidation" if d.expected is True else "PrematureLiquidation")
            continue
        for key, flag in FIELD_FLAGS:
            if flag and (leaf.endswith(key) or f".{key}." in leaf or leaf.startswith(key)):
                out.add(flag)
                break
    return tuple(sorted(out & known)) or (("Sequence",) if "Sequence" in known else ())


def step_rules(rb: Rulebook, trace: Trace) -> list[list[str]]:
    """Per step (requests and queries), the rule ids that decided its reply: the action, the check
    that refused it, the liquidation it triggered."""
    steps = replay(ReferenceEngine(rb), trace.contracts, trace.balance, trace.steps(), positions=False)
    out = []
    for st in steps:
        op = st.request["op"]
        ids = [op] if op in rb.actions else []
        if st.checks:
            ids += [c for c, verdict in st.checks if verdict == "fail"]
        elif not st.reply.get("ok"):
            code = st.reply["error"]["code"]
            ids += [c.id for c in rb.common_checks if c.error == code][:1]
        if st.liquidated:
            ids.append("liquidation")
        out.append(ids)
    return out


def field_rules(rb: Rulebook, fields: list[str]) -> list[str]:
    """The rulebook names (derived values, state fields) among the differing fields' last parts."""
    names = {d.name for d in rb.derived} | {f.name for f in rb.state}
    out: list[str] = []
    for f in fields:
        leaf = f.rsplit(".", 1)[-1]
        if leaf in names and leaf not in out:
            out.append(leaf)
    return out


def _args(request: dict) -> str:
    return " ".join(f"{k}={v if isinstance(v, str) and v.isidentifier() else render_value(v)}"
                    for k, v in request.get("args", {}).items())


def _reply(reply: dict | None, fields: list[str] | None = None) -> str:
    """A reply in a few words: the error code, or ok with the result (only `fields` for a query)."""
    if reply is None:
        return "<no reply>"
    if reply.get("ok") is False:
        err = reply.get("error")
        return str(err.get("code") if isinstance(err, dict) else err)
    if reply.get("ok") is not True:
        return render_value(reply)
    result = reply.get("result")
    if not isinstance(result, dict):
        return "ok " + render_value(result)
    if fields is not None:
        return "ok " + " ".join(f"{f}={render_value(_get(result, f))}" for f in fields)
    return ("ok " + " ".join(f"{k}={render_value(v)}" for k, v in result.items())).rstrip()


def _get(obj: Any, dotted: str) -> Any:
    from ..conformance.compare import MISSING

    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return MISSING
        obj = obj[part]
    return obj


def rows(rb: Rulebook, finding: Finding) -> list[dict]:
    """One row per request, and one per query that differs: the table of the report."""
    steps = finding.trace.steps()
    rules = step_rules(rb, finding.trace)
    differing: dict[int, list[str]] = {}
    for d in finding.result.diffs:
        if d.step is not None:
            differing.setdefault(d.step, []).append(d.field.removeprefix("result."))
    out = []
    for i, step in enumerate(steps):
        is_query = i % 2 == 1
        if is_query and i not in differing:
            continue
        fields = differing.get(i) if is_query else None
        exp = finding.expected[i] if i < len(finding.expected) else None
        got = finding.got[i] if i < len(finding.got) else None
        out.append({"step": i, "op": step["op"], "args": step.get("args", {}), "request": f"{step['op']} {_args(step)}",
                    "expected": _reply(exp, fields), "got": _reply(got, fields) if got is not None else
                    ("<no reply: " + (finding.result.kind or "fault") + ">"),
                    "differs": i in differing,
                    "rules": (rules[i] if i < len(rules) else []) + field_rules(rb, differing.get(i, []))})
    return out


def render_text(rb: Rulebook, result: FuzzResult, vector_path: str | None, console: Any) -> None:
    from rich.table import Table

    head = (f"marginspec fuzz: engine {result.engine!r}, seed {result.seed}: {result.traces} traces, "
            f"{result.steps} steps in {result.seconds:.1f} s ({result.steps_per_second:,.0f} steps/s)")
    console.print(head, markup=False, highlight=False)
    if result.error:
        console.print(f"error: {result.error}", markup=False, highlight=False)
        return
    f = result.shrunk or result.found
    if f is None:
        console.print("no disagreement found", markup=False, highlight=False)
        return
    original = len(result.found.trace.requests) if result.found else len(f.trace.requests)
    console.print(f"DISAGREEMENT: {f.result.reason}", markup=False, highlight=False)
    console.print(f"shrunk from {original} to {len(f.trace.requests)} request(s) in {result.shrink_seconds:.1f} s; "
                  f"reset with {', '.join(f.trace.contracts)} and available_balance {f.trace.balance}; "
                  "each request (even step) is followed by a query (odd step, shown where it differs, marked !)",
                  markup=False, highlight=False)
    table = Table(show_lines=False)
    for col in ("step", "request", "expected (reference)", "got", "rules"):
        table.add_column(col, overflow="fold")
    from rich.text import Text

    for r in rows(rb, f):  # Text cells: an engine's reply is shown as written, never read as markup
        mark = "!" if r["differs"] else ""
        table.add_row(*(Text(x) for x in (f"{r['step']}{mark}", r["request"], r["expected"], r["got"],
                                          " ".join(r["rules"]))))
    console.print(table)
    console.print("\n".join(diff_table(f.result.diffs, indent="  ")), markup=False, highlight=False)
    if f.result.detail:
        console.print("engine stderr (last lines):\n" + f.result.detail, markup=False, highlight=False)
    if vector_path:
        console.print(f"vector file: {vector_path}\nreplay: {replay_command(result.engine, vector_path)}",
                      markup=False, highlight=False)


def replay_command(engine: str, path: str) -> str:
    import shlex

    return f"marginspec conform --engine {shlex.quote(engine)} --vectors {shlex.quote(path)}"


def to_json(rb: Rulebook, result: FuzzResult, vector_path: str | None) -> dict:
    out: dict[str, Any] = {
        "seed": result.seed, "engine": result.engine, "hello": result.hello, "traces": result.traces,
        "steps": result.steps, "seconds": round(result.seconds, 3),
        "steps_per_second": round(result.steps_per_second, 1), "error": result.error,
        "found": (result.shrunk or result.found) is not None,
    }
    f = result.shrunk or result.found
    if f is not None:
        out.update({
            "reason": f.result.reason, "kind": f.result.kind,
            "original_requests": len(result.found.trace.requests) if result.found else None,
            "requests": len(f.trace.requests), "shrink_seconds": round(result.shrink_seconds, 3),
            "contracts": f.trace.contracts, "available_balance": f.trace.balance,
            "trace": [{k: r[k] for k in ("step", "op", "args", "expected", "got", "differs", "rules")}
                      for r in rows(rb, f)],
            "differences": diffs_json(f.result.diffs), "vector_file": vector_path,
            "replay": replay_command(result.engine, vector_path) if vector_path else None,
        })
    return out


def vector_document(rb: Rulebook, finding: Finding, seed: str) -> tuple[str, bytes]:
    """(file stem, bytes) of a vector file holding the finding as one case."""
    trace = finding.trace
    steps = tuple(trace.steps())
    d = finding.result.diffs[0] if finding.result.diffs else None
    where = f": first difference at steps[{d.step}] ({d.op}) {d.field}" if d is not None and d.step is not None else ""
    spec = CaseSpec(title=f"fuzz finding, seed {seed}, {len(trace.requests)} request(s){where}", steps=steps,
                    source="trace",
                    flags=flags_of(rb, finding), rules=(), contracts=tuple(trace.contracts.items()),
                    balance=trace.balance, group="fuzz finding")
    title, balance, contracts, case = record(rb, spec)
    case["id"] = case_id("fuzz", contracts, balance, steps)
    stem = case["id"]
    doc = document(rb, stem, f"A disagreement found by marginspec fuzz (seed {seed}), shrunk.",
                   [(title, balance, contracts, case)], set())
    return stem, dumps(doc)


def write_vector(rb: Rulebook, finding: Finding, seed: str, out_dir: str | os.PathLike) -> str:
    """Write the finding's vector file into `out_dir` (created if need be) and return its path. The
    file is written whole and then renamed into place; no other file is touched."""
    stem, data = vector_document(rb, finding, seed)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.json"
    from ..atomic import write_atomic

    write_atomic(path, data)
    return str(path)

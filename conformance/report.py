"""Reports of a conformance run: text for people, JSON for machines, JUnit XML for CI; and the
progress display shown on a terminal."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Sequence
from xml.etree import ElementTree as ET

from .compare import MISSING, Diff, jsonable, render_expected, render_value
from .escape import printable
from .runner import FAILED, NOT_RUN, PASSED, SKIPPED, CaseResult, RunResult, summary_line
from .summary import case_details, groups, summary_lines

_MAX_CELL = 60


# --------------------------------------------------------------------------- diff tables


def _cell(text: str) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 3] + "..."


def diff_table(diffs: Sequence[Diff], indent: str = "    ") -> list[str]:
    """The per-step diff as aligned lines: step, op, field, expected, got."""
    if not diffs:
        return []
    rows = [("step", "op", "field", "expected", "got")]
    for d in diffs:
        rows.append(("reset" if d.step is None else str(d.step), d.op, d.field,
                     _cell(render_expected(d)), _cell(render_value(d.got))))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    out = []
    for r in rows:
        cells = [r[i].ljust(widths[i]) for i in range(4)] + [r[4]]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


def failure_text(result: CaseResult, *, header: bool = True, meanings: dict | None = None) -> str:
    """A failing case: one line with its id, title and reason, then the diff table, the requests of
    the differing steps and the case's flags with their meaning (and the tail of the engine's
    stderr when there is one)."""
    lines = []
    if header:
        lines.append(f"FAILED {result.case.id} [{result.case.file}] {result.case.title}: {result.reason}")
    lines += diff_table(result.diffs)
    lines += case_details(result, meanings)
    if result.detail:
        lines.append("    engine stderr / traceback (last lines):")
        lines += ["      " + ln for ln in result.detail.splitlines()]
    return printable("\n".join(lines))  # engine output: control characters escaped


def diffs_json(diffs: Sequence[Diff]) -> list[dict]:
    out = []
    for d in diffs:
        item = {"step": d.step, "op": d.op, "field": d.field,
                "expected": jsonable(d.expected), "got": jsonable(d.got)}
        if d.got is MISSING:
            item["missing"] = "got"
        elif d.expected is MISSING:
            item["missing"] = "expected"
        out.append(item)
    return out


# --------------------------------------------------------------------------- text


def render_text(run: RunResult) -> str:
    lines = []
    hello = run.hello or {}
    ident = " ".join(str(x) for x in (hello.get("engine"), hello.get("version")) if x)
    head = f"marginspec conform: engine {run.engine!r}"
    if ident:
        head += f" ({ident})"
    head += f", {len(run.results)} case{'s' if len(run.results) != 1 else ''}"
    if run.loaded:
        head += f" selected of {run.loaded}"
    if run.timeout:
        head += f", timeout {run.timeout:g} s"
    lines.append(head)
    meanings = getattr(run, "flag_meanings", None) or {}
    for r in run.results:
        if r.status == FAILED:
            lines.append(failure_text(r, meanings=meanings))
    skipped: dict[str, list[str]] = {}
    for r in run.results:
        if r.status == SKIPPED:
            skipped.setdefault(r.reason, []).append(r.case.id)
    for reason, ids in sorted(skipped.items()):
        shown = ", ".join(ids[:8]) + (f", ... ({len(ids) - 8} more)" if len(ids) > 8 else "")
        lines.append(f"SKIPPED {len(ids)} case{'s' if len(ids) != 1 else ''}: {reason}: {shown}")
    if run.not_run:
        lines.append(f"NOT RUN {run.not_run} case{'s' if run.not_run != 1 else ''}: {run.stopped or ('interrupted' if run.interrupted else 'the engine stopped')}")
    if run.results and run.passed == 0 and run.failed == 0 and not run.not_run:
        lines.append("no case was run: every selected case was skipped, so nothing was checked (exit 3)")
    lines += summary_lines(run.results, meanings)
    lines.append(summary_line(run))
    return printable("\n".join(lines)) + "\n"  # engine output: control characters escaped


def write_text(run: RunResult, out: Any = None) -> None:
    out = out if out is not None else sys.stdout
    out.write(render_text(run))
    out.flush()


# --------------------------------------------------------------------------- JSON


def case_json(r: CaseResult) -> dict:
    return {
        "id": r.case.id, "file": r.case.file, "title": r.case.title, "rules": list(r.case.rules),
        "flags": list(r.case.flags), "level": r.case.level, "source": r.case.source,
        "status": r.status, "reason": r.reason, "kind": r.kind, "seconds": round(r.seconds, 6),
        "steps": diffs_json(r.diffs), **({"detail": r.detail} if r.detail else {}),
    }


def to_json(run: RunResult) -> dict:
    return {"summary": run.summary(), "cases": [case_json(r) for r in run.results],
            "what_to_fix": groups(run.results, getattr(run, "flag_meanings", None))}


def write_json(run: RunResult, out: Any = None) -> None:
    out = out if out is not None else sys.stdout
    json.dump(to_json(run), out, indent=2, ensure_ascii=True, default=str)  # an engine's lone surrogate stays JSON
    out.write("\n")
    out.flush()


# --------------------------------------------------------------------------- JUnit XML


def to_junit(run: RunResult) -> ET.Element:
    """<testsuites> with one <testsuite> per vector file and one <testcase> per case."""
    root = ET.Element("testsuites", name="marginspec conform", tests=str(len(run.results)),
                      failures=str(run.failed), skipped=str(run.skipped), errors=str(run.not_run),
                      time=f"{run.seconds:.3f}")
    suites: dict[str, ET.Element] = {}
    counts: dict[str, list] = {}
    for r in run.results:
        file = r.case.file
        if file not in suites:
            suites[file] = ET.SubElement(root, "testsuite", name=f"marginspec.{file}")
            counts[file] = [0, 0, 0, 0.0, 0]
        c = counts[file]
        c[0] += 1
        c[3] += r.seconds
        tc = ET.SubElement(suites[file], "testcase", classname=f"marginspec.{file}",
                           name=printable(f"{r.case.id}: {r.case.title}"), time=f"{r.seconds:.6f}")
        if r.status == FAILED:
            c[1] += 1
            el = ET.SubElement(tc, "failure", message=printable(r.reason), type=r.kind or "failure")
            el.text = failure_text(r, header=False, meanings=getattr(run, "flag_meanings", None)) or printable(r.reason)
        elif r.status == SKIPPED:
            c[2] += 1
            ET.SubElement(tc, "skipped", message=printable(r.reason))
        elif r.status == NOT_RUN:
            c[4] += 1
            ET.SubElement(tc, "error", message=printable(r.reason), type=NOT_RUN)
    for file, suite in suites.items():
        n, f, s, t, e = counts[file]
        suite.set("tests", str(n))
        suite.set("failures", str(f))
        suite.set("skipped", str(s))
        suite.set("errors", str(e))
        suite.set("time", f"{t:.3f}")
    return root


def write_junit(run: RunResult, path: str | os.PathLike) -> None:
    import io

    from marginspec.atomic import write_atomic

    tree = ET.ElementTree(to_junit(run))
    ET.indent(tree)
    buf = io.BytesIO()
    tree.write(buf, encoding="utf-8", xml_declaration=True)
    write_atomic(os.fspath(path), buf.getvalue())  # replaced whole or not at all


# --------------------------------------------------------------------------- progress


class _NoProgress:
    def advance(self, result: CaseResult) -> None:
        pass

    def close(self) -> None:
        pass


class _PlainProgress:
    """``\\r  120/450 cases, 2 failed, 1 skipped`` at most ten times a second."""

    def __init__(self, total: int, out: Any) -> None:
        self.total, self.out = total, out
        self.done = self.failed = self.skipped = 0
        self.last = 0.0
        self.width = 0

    def advance(self, result: CaseResult) -> None:
        self.done += 1
        if result.status == FAILED:
            self.failed += 1
        elif result.status == SKIPPED:
            self.skipped += 1
        now = time.monotonic()
        if now - self.last >= 0.1 or self.done == self.total:
            self.last = now
            text = f"  {self.done}/{self.total} cases, {self.failed} failed, {self.skipped} skipped"
            self.width = max(self.width, len(text))
            self.out.write("\r" + text.ljust(self.width))
            self.out.flush()

    def close(self) -> None:
        if self.width:
            self.out.write("\r" + " " * self.width + "\r")
            self.out.flush()


class _RichProgress:
    def __init__(self, total: int, out: Any) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("conform"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                                 console=Console(file=out), transient=True)
        self.failed = self.skipped = 0
        self.task = self.progress.add_task("conform", total=total, status="")
        self.progress.start()

    def advance(self, result: CaseResult) -> None:
        if result.status == PASSED:
            self.progress.advance(self.task)
            return
        if result.status == FAILED:
            self.failed += 1
        else:
            self.skipped += 1
        self.progress.update(self.task, advance=1,
                             status=f"[red]{self.failed} failed[/] {self.skipped} skipped")

    def close(self) -> None:
        self.progress.stop()


def make_progress(total: int, out: Any = None, *, enabled: bool = True):
    """A progress display (rich when importable, else plain text) or a silent stand-in."""
    if not enabled:
        return _NoProgress()
    out = out if out is not None else sys.stdout
    try:
        return _RichProgress(total, out)
    except ImportError:
        return _PlainProgress(total, out)

"""The conformance runner: run vector cases against an engine and judge every case.

For each case the runner sends ``reset`` with the group's contracts and balance, then each step's
request (ids assigned by the runner, increasing over the run), and compares each reply with the
step's expectation (compare.py). A case is

- **passed** when every reply matches;
- **failed** when a reply differs (one Diff per differing field, the most basic first:
  field_order.py), or the engine crashed, hung past the per-request timeout, wrote a line that is
  not JSON, or answered with a wrong id; the engine is then stopped and restarted for the next
  case, so one fault costs one case;
- **skipped** when it needs an op the engine's ``hello`` does not list, or (for an engine that
  lists no ops) the engine answered ``UNSUPPORTED`` to a step that expected something else.
  A skipped case is never counted as passed.

``run_conformance`` is what ``marginspec conform`` calls.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from .compare import MISSING, Diff, Marker, compare_step, error_code, render_expected, render_value
from .engines import CRASH, START, TIMEOUT, EngineFault, SubprocessEngine, make_engine
from .field_order import ordered
from .loader import Case, VectorFileError, load_vectors, parse_shard, select_cases, shard_cases

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"
#: Not run because the engine could not be used any more (see Runner: the circuit breaker).
NOT_RUN = "not_run"

#: A mismatch between replies and expectations (the other kinds are the engines.EngineFault kinds:
#: crash, timeout, bad_json, wrong_id, exception, start).
MISMATCH = "mismatch"
RESET = "reset"
SKIP_OPS = "unsupported_op"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_NOTHING_SELECTED = 3
EXIT_INTERRUPTED = 130


@dataclass(slots=True, eq=False)
class CaseResult:
    case: Case
    status: str
    reason: str = ""
    kind: str | None = None
    diffs: list[Diff] = field(default_factory=list)
    seconds: float = 0.0
    requests: int = 0          # requests answered (reset included)
    detail: str = ""           # e.g. the tail of the engine's stderr after a crash

    @property
    def id(self) -> str:
        return self.case.id

    @property
    def passed(self) -> bool:
        return self.status == PASSED


@dataclass(slots=True, eq=False)
class RunResult:
    results: list[CaseResult]
    engine: str = ""
    hello: dict | None = None
    seconds: float = 0.0
    requests: int = 0
    files: int = 0
    loaded: int = 0
    timeout: float | None = None
    interrupted: bool = False
    engine_starts: int = 0
    #: Why the remaining cases were not run (the engine could not start, or kept timing out).
    stopped: str | None = None
    stopped_detail: str = ""
    #: flag -> meaning, from the flag tables of the vector files (for the reports)
    flag_meanings: dict = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def passed(self) -> int:
        return self.count(PASSED)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def skipped(self) -> int:
        return self.count(SKIPPED)

    @property
    def not_run(self) -> int:
        return self.count(NOT_RUN)

    @property
    def steps(self) -> int:
        """Vector steps of the cases that were run (the reset not counted)."""
        return sum(len(r.case.steps) for r in self.results if r.status not in (SKIPPED, NOT_RUN))

    def summary(self) -> dict:
        return {
            "total": len(self.results), "passed": self.passed, "failed": self.failed,
            "skipped": self.skipped, "not_run": self.not_run, "stopped": self.stopped,
            **({"stopped_detail": self.stopped_detail} if self.stopped_detail else {}),
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3), "requests": self.requests, "steps": self.steps,
            "engine": {"command": self.engine, "hello": self.hello, "starts": self.engine_starts},
            "timeout": self.timeout,
        }

    @property
    def exit_code(self) -> int:
        return exit_code(self)


def exit_code(run: RunResult) -> int:
    """0 only when every selected case passed (skipped cases are reported but do not fail the run);
    1 when a case failed; 2 when cases could not be run (the engine could not start or kept timing
    out); 3 when no case was selected, or every selected one was skipped (nothing was checked: an
    engine that supports no op passes nothing); 130 when the run was interrupted."""
    if not run.interrupted and all(r.status == SKIPPED for r in run.results):
        return EXIT_NOTHING_SELECTED
    if run.interrupted:
        return EXIT_INTERRUPTED
    if run.stopped is not None or any(r.status == NOT_RUN for r in run.results):
        return EXIT_ERROR
    if any(r.status == FAILED for r in run.results):
        return EXIT_FAILED
    return EXIT_OK


def summary_line(run: RunResult) -> str:
    line = f"{run.passed} passed, {run.failed} failed, {run.skipped} skipped"
    if run.not_run:
        line += f", {run.not_run} not run"
    line += f" in {run.seconds:.2f} s"
    if run.seconds > 0 and run.requests:
        line += f" ({run.requests} requests, {run.requests / run.seconds:,.0f}/s)"
    if run.interrupted:
        line += " (interrupted)"
    return line


class Runner:
    """Runs cases over one engine, restarting it after a fault.

    ``engine``: ``"reference"``, a command line (str or argv list), an object with ``handle``, a
    factory (callable) of such objects, or an engine from engines.py. ``timeout`` is per request
    (subprocess engines); ``pipeline`` sends a case's requests in one write (see
    engines.SubprocessEngine; False: lock step).

    The circuit breaker: an engine that never answered ``hello`` (the command cannot run, or the
    process dies or hangs before its first reply) is not tried again; nor after
    ``max_start_failures`` cases in a row that ended in a failed restart or a time-out before the
    engine answered anything of the case (an engine hanging on every request), nor after
    ``max_timeouts`` cases in a row that ended in a time-out at all (an engine that answers a few
    requests of each case and hangs on the rest). The remaining cases are then reported as not run
    (NOT_RUN, with ``stopped`` saying why, once), so a broken or hanging engine cannot make a run
    last cases × timeout.
    """

    def __init__(self, engine: Any, *, timeout: float = 10.0, stderr: Any = None,
                 max_start_failures: int = 3, pipeline: bool = True, max_timeouts: int = 50) -> None:
        self.engine = make_engine(engine, timeout=timeout, stderr=stderr, pipeline=pipeline)
        self.timeout = timeout
        self.max_start_failures = max_start_failures
        self.max_timeouts = max_timeouts
        self.timeouts = 0            # consecutive cases ending in a time-out, whatever came before
        self._bytes = isinstance(self.engine, SubprocessEngine)
        self.requests = 0
        self.start_failures = 0      # consecutive cases ending in a failed start or a time-out
        self.dead: str | None = None  # why the engine is not tried any more
        self.dead_detail = ""
        self.hello: dict | None = None  # the engine's last hello result

    @property
    def description(self) -> str:
        return str(getattr(self.engine, "command", self.engine))

    def prestart(self) -> None:
        """Start an engine process now, to boot while the caller does other work (loading the
        vectors); the first case says hello to it. A command that cannot start is reported by
        that case."""
        spawn = getattr(self.engine, "spawn", None)
        if spawn is not None and not self.engine.alive:
            try:
                spawn()
            except EngineFault:
                pass

    # -- one case

    def _ensure_started(self) -> EngineFault | None:
        eng = self.engine
        if eng.alive:
            return None
        if self.dead is not None:
            return EngineFault(START, self.dead)
        try:
            eng.start()
        except EngineFault as fault:
            if self.hello is None:  # never answered hello: trying again would only repeat this
                self.dead = f"the engine could not be started: {fault.message}"
                self.dead_detail = fault.detail
            return fault
        self.hello = eng.hello
        return None

    def _breaker(self, result: CaseResult) -> None:
        """Count cases in a row that ended in a failed start or a time-out; stop at a limit."""
        self.timeouts = self.timeouts + 1 if result.kind == TIMEOUT else 0
        unresponsive = result.kind == START or (result.kind == TIMEOUT and result.requests == 0)
        self.start_failures = self.start_failures + 1 if unresponsive else 0
        if self.dead is not None:
            return
        if self.start_failures >= self.max_start_failures:
            self.dead = (f"the engine failed to start or answered nothing before the timeout in "
                         f"{self.start_failures} cases in a row (last: {result.reason})")
        elif self.timeouts >= self.max_timeouts:
            self.dead = f"the engine timed out in {self.timeouts} cases in a row (last: {result.reason})"
        else:
            return
        self.dead_detail = result.detail

    def run_case(self, case: Case) -> CaseResult:
        result = self._run_case(case)
        self._breaker(result)
        return result

    def _run_case(self, case: Case) -> CaseResult:
        t0 = time.perf_counter()
        if self.dead is not None:
            return CaseResult(case, NOT_RUN, f"not run: {self.dead}", NOT_RUN)
        fault = self._ensure_started()
        if fault is not None:
            if self.dead is not None:
                return CaseResult(case, NOT_RUN, f"not run: {self.dead}", NOT_RUN)
            return CaseResult(case, FAILED, fault.message, START, seconds=time.perf_counter() - t0,
                              detail=fault.detail)
        eng = self.engine
        declared = eng.ops
        if declared is not None and case.ops and not case.ops <= declared:
            missing = ", ".join(sorted(case.ops - declared))
            return CaseResult(case, SKIPPED, f"engine does not implement {missing}", SKIP_OPS)
        next_id = eng.next_id
        if self._bytes:
            items = [(next_id(), case.reset_tail_bytes)]
            items += [(next_id(), s.tail_bytes) for s in case.steps]
        else:
            items = [(next_id(), case.reset_tail)]
            items += [(next_id(), s.tail) for s in case.steps]
        try:
            replies = eng.transact(items)
            fault = None
        except EngineFault as exc:
            fault = exc
            replies = exc.replies
            eng.kill()
        except Exception as exc:  # noqa: BLE001 - a runner bug must not lose the verdicts so far
            fault = EngineFault("runner_error", f"runner error: {type(exc).__name__}: {exc}", 0)
            replies = []
            eng.kill()
        self.requests += len(replies)
        result = self._judge(case, replies, fault, declared)
        result.requests = len(replies)
        result.seconds = time.perf_counter() - t0
        return result

    def _judge(self, case: Case, replies: list[dict], fault: EngineFault | None,
               declared: frozenset | None) -> CaseResult:
        diffs: list[Diff] = []
        steps = case.steps
        if replies:
            first = replies[0]
            if first.get("ok") is not True:
                code = error_code(first)
                diffs.append(Diff(None, "reset", "ok", True, first.get("ok", MISSING)))
                if code is not MISSING:
                    diffs.append(Diff(None, "reset", "error.code", MISSING, code))
                what = f"refused the reset ({code})" if code is not MISSING else \
                    f"answered the reset with {render_value(first)}"
                return CaseResult(case, FAILED, f"engine {what}", RESET, diffs)
            for k in range(1, len(replies)):
                step = steps[k - 1]
                reply = replies[k]
                if (declared is None and fault is None and not diffs and reply.get("ok") is False
                        and step.expect_error != "UNSUPPORTED" and error_code(reply) == "UNSUPPORTED"):
                    return CaseResult(case, SKIPPED, f"engine answered UNSUPPORTED to {step.op}", SKIP_OPS)
                compare_step(step, reply, step.index, step.op, diffs)
        if len(diffs) > 1:
            diffs = ordered(diffs)  # the most basic difference first (field_order.py)
        if fault is not None:
            idx = fault.index if fault.index is not None else len(replies)
            if idx == 0:
                where, s_index, op = "at the reset", None, "reset"
            else:
                step = steps[min(idx, len(steps)) - 1]
                where, s_index, op = f"at steps[{step.index}] ({step.op})", step.index, step.op
            diffs.append(Diff(s_index, op, "reply", Marker("a reply"), Marker(f"<{fault.kind}>")))
            return CaseResult(case, FAILED, f"{fault.message} {where}", fault.kind, diffs, detail=fault.detail)
        if diffs:
            d = diffs[0]
            where = "reset" if d.step is None else f"steps[{d.step}] ({d.op})"
            reason = f"{where}: {d.field} expected {render_expected(d)}, got {render_value(d.got)}"
            if len(diffs) > 1:
                reason += f" (+{len(diffs) - 1} more)"
            return CaseResult(case, FAILED, reason, MISMATCH, diffs)
        return CaseResult(case, PASSED)

    # -- many cases

    def run(self, cases: Iterable[Case], on_result: Callable[[CaseResult], None] | None = None) -> RunResult:
        t0 = time.perf_counter()
        results: list[CaseResult] = []
        interrupted = False
        cases = list(cases)
        try:
            for case in cases:
                result = self.run_case(case)
                results.append(result)
                if on_result is not None:
                    on_result(result)
        except KeyboardInterrupt:
            interrupted = True
            # Ctrl-C reaches the engine too: a crash of the case in progress is the interruption's,
            # and the cases after it were not run (so the counts add up to the selection).
            if results and results[-1].status == FAILED and results[-1].kind == CRASH:
                results[-1] = CaseResult(results[-1].case, NOT_RUN, "not run: interrupted", NOT_RUN)
            results += [CaseResult(c, NOT_RUN, "not run: interrupted", NOT_RUN) for c in cases[len(results):]]
        finally:
            self.close()
        return RunResult(results, engine=self.description, hello=self.hello,
                         seconds=time.perf_counter() - t0, requests=self.requests,
                         timeout=self.timeout if self._bytes else None, interrupted=interrupted,
                         engine_starts=getattr(self.engine, "starts", 0), stopped=self.dead,
                         stopped_detail=self.dead_detail)

    def close(self) -> None:
        try:
            self.engine.close()
        except Exception:  # noqa: BLE001 - closing must not lose a run
            self.engine.kill()

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_cases(engine: Any, cases: Sequence[Case], *, timeout: float = 10.0, stderr: Any = None,
              on_result: Callable[[CaseResult], None] | None = None, pipeline: bool = True) -> RunResult:
    """Run cases against an engine (see Runner) and return every verdict."""
    runner = Runner(engine, timeout=timeout, stderr=stderr, pipeline=pipeline)
    return runner.run(cases, on_result)


def run_conformance(engine: str, paths: Iterable[Any] | None = None, *, rule: Sequence[str] = (),
                    flag: Sequence[str] = (), case: Sequence[str] = (), shard: str | None = None,
                    timeout: float = 10.0, fmt: str = "text", junit: str | None = None,
                    progress: bool | None = None, out: Any = None, err: Any = None,
                    pipeline: bool = True) -> int:
    """What ``marginspec conform`` does; returns the exit code.

    ``engine``: ``"reference"`` (the in-process reference engine) or a command line. ``paths``:
    vector files or folders (default: the packaged vectors). Filters: ``rule`` (prefixes of rule
    ids), ``flag``, ``case`` (ids or globs); ``shard`` "I/N". ``fmt``: "text" or "json" (on
    ``out``, default stdout); ``junit``: a file to write JUnit XML to; ``progress``: None shows a
    progress display when ``out`` is a terminal and the format is text; ``pipeline=False`` sends
    each request only after the previous reply (slower; see engines.SubprocessEngine).

    Exit codes: 0 every selected case passed (skips allowed), 1 some case failed, 2 bad input
    (vector file, shard, format, engine), 3 no case selected, 130 interrupted.
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    if fmt not in ("text", "json"):
        print(f"error: unknown format {fmt!r} (text or json)", file=err)
        return EXIT_ERROR
    try:
        shard_spec = parse_shard(shard) if shard not in (None, "") else None
    except ValueError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR
    try:
        runner = Runner(engine, timeout=timeout, pipeline=pipeline)
    except (ImportError, ValueError, TypeError) as exc:
        print(f"error: cannot use engine {engine!r}: {exc}", file=err)
        return EXIT_ERROR
    runner.prestart()  # the engine boots while the vectors load
    try:
        return _conform(runner, engine, paths, rule, flag, case, shard_spec, fmt, junit, progress, out, err)
    finally:
        runner.close()


def _conform(runner: Runner, engine: Any, paths: Any, rule: Sequence[str], flag: Sequence[str],
             case: Sequence[str], shard_spec: tuple[int, int] | None, fmt: str, junit: str | None,
             progress: bool | None, out: Any, err: Any) -> int:
    from . import report, selection, summary

    skipped: list[str] = []
    try:
        files = load_vectors(paths, skipped=skipped)
    except VectorFileError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR
    for note in skipped:
        print(f"note: {note}", file=err)
    all_cases = [c for vf in files for c in vf.cases]
    unknown = selection.unknown_names(files, all_cases, rule=rule, flag=flag, case=case)
    if unknown:
        for message in unknown:
            print(f"error: {message}", file=err)
        return EXIT_ERROR
    chosen = selection.order_by_purpose(select_cases(all_cases, rule=rule, flag=flag, case=case), rule)
    selected = shard_cases(chosen, shard_spec)
    if not selected:
        what = []
        for name, values in (("--rule", rule), ("--flag", flag), ("--case", case)):
            what += [f"{name} {v}" for v in values or ()]
        if shard_spec:
            what.append(f"--shard {shard_spec[0]}/{shard_spec[1]}")
        print(f"error: no vector case selected ({len(all_cases)} loaded from {len(files)} file(s)"
              + (f"; filters: {' '.join(what)}" if what else "") + ")", file=err)
        empty = RunResult([], engine=str(engine), files=len(files), loaded=len(all_cases))
        if fmt == "json":
            report.write_json(empty, out)
        if junit:
            try:
                report.write_junit(empty, junit)
            except OSError as exc:
                print(f"error: cannot write {junit}: {exc.strerror or exc}", file=err)
                return EXIT_ERROR
        return EXIT_NOTHING_SELECTED
    if progress is None:
        progress = fmt == "text" and _isatty(out)
    display = report.make_progress(len(selected), out, enabled=bool(progress))
    try:
        run = runner.run(selected, display.advance)
    finally:
        display.close()
    run.files = len(files)
    run.loaded = len(all_cases)
    if run.stopped is not None:  # said once, on stderr, whatever the format
        from .escape import printable

        print(f"error: {printable(run.stopped)}; {run.not_run} case(s) not run", file=err)
        for line in run.stopped_detail.splitlines():
            print(f"  engine stderr: {printable(line)}", file=err)
    run.flag_meanings = summary.flag_meanings(files)
    if fmt == "json":
        report.write_json(run, out)
    else:
        report.write_text(run, out)
    if junit:
        try:
            report.write_junit(run, junit)
        except OSError as exc:
            print(f"error: cannot write {junit}: {exc.strerror or exc}", file=err)
            return EXIT_ERROR
    return exit_code(run)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False

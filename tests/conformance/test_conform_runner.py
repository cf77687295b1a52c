"""The runner against misbehaving engines: each fault fails exactly the case in progress, with the
right reason; the engine is restarted and the next case passes; the run never hangs."""

from __future__ import annotations

import json
import shlex
import sys
import time

import pytest

from conform_support import ALL_IDS, BASIC, BASIC_IDS, MORE, canned_command, load_canned_module
from marginspec.conformance.engines import EngineFault, InProcessEngine, SubprocessEngine
from marginspec.conformance.loader import load_vectors
from marginspec.conformance.runner import (
    FAILED, MISMATCH, NOT_RUN, PASSED, RESET, SKIPPED, Runner, exit_code, run_cases,
)

ERR, FUND, LIQ = "err-2cfdbfea", "fund-2fb58b28", "liq-b41d23f1"


def statuses(run):
    return {r.case.id: r.status for r in run.results}


def by_id(run, case_id):
    return next(r for r in run.results if r.case.id == case_id)


def test_a_correct_engine_passes_everything(cases):
    run = run_cases(canned_command(), cases, timeout=5)
    assert statuses(run) == {i: PASSED for i in ALL_IDS}
    assert run.engine_starts == 1
    assert run.requests == sum(len(c.steps) + 1 for c in cases)
    assert exit_code(run) == 0


def test_lockstep_mode_passes_too(cases):
    run = run_cases(canned_command(), cases, timeout=5, pipeline=False)
    assert set(statuses(run).values()) == {PASSED}
    assert run.requests == sum(len(c.steps) + 1 for c in cases)


def test_trailing_zeros_and_extra_fields_still_pass(cases):
    run = run_cases(canned_command("--pad", "--extra"), cases, timeout=5)
    assert set(statuses(run).values()) == {PASSED}


@pytest.mark.parametrize("fault,kind,words", [
    ("crash", "crash", "engine exited with code 3"),
    ("segv", "crash", "engine crashed (killed by SIGSEGV)"),
    ("hang", "timeout", "no reply within 0.5 s (timeout)"),
    ("garbage", "bad_json", "not JSON: 'this is not JSON {'"),
    ("wrong-id", "wrong_id", "answered with id"),
])
@pytest.mark.parametrize("pipeline", [True, False], ids=["pipelined", "lockstep"])
def test_a_fault_fails_only_the_case_in_progress(cases, fault, kind, words, pipeline):
    t0 = time.monotonic()
    run = run_cases(canned_command("--fault", f"{fault}@{FUND}:2"), cases, timeout=0.5, pipeline=pipeline)
    assert time.monotonic() - t0 < 5
    expected = {i: PASSED for i in ALL_IDS}
    expected[FUND] = FAILED
    assert statuses(run) == expected  # the cases after it passed: the engine was restarted
    r = by_id(run, FUND)
    assert r.kind == kind
    assert words in r.reason and "at steps[2] (apply_funding)" in r.reason
    # the steps answered before the fault matched; the diff names the step it happened at
    assert [(d.step, d.op, d.field, str(d.got)) for d in r.diffs] == [(2, "apply_funding", "reply", f"<{kind}>")]
    assert run.engine_starts == 2
    assert exit_code(run) == 1


def test_two_replies_to_one_request_fail_that_case(cases):
    run = run_cases(canned_command("--fault", f"double@{FUND}:3"), cases, timeout=5)  # its last step
    r = by_id(run, FUND)
    assert r.status == FAILED and r.kind == "extra_output"
    assert r.reason.startswith("engine wrote more than one reply to a request: ")
    assert r.reason.endswith("at steps[3] (query)")
    assert [x.status for x in run.results].count(PASSED) == len(ALL_IDS) - 1


def test_several_faults_in_one_run_lose_no_verdict(cases):
    # (The canned engine knows a step by the requests since the reset: pick steps no other case shares.)
    run = run_cases(canned_command("--fault", f"crash@{BASIC_IDS[0]}:2", "--fault", f"hang@{ERR}:3",
                                   "--fault", f"wrong-id@{LIQ}:2", "--fault", "garbage@close-efe742e0:4"),
                    cases, timeout=0.5)
    assert [r.case.id for r in run.results] == ALL_IDS
    assert [r.kind for r in run.results] == ["crash", "timeout", None, "wrong_id", None, None, "bad_json"]
    assert run.engine_starts == 4  # restarted after each fault but the last (no case after it)


def test_an_omitted_field_is_a_mismatch_without_restart(cases):
    run = run_cases(canned_command("--fault", f"omit@{BASIC_IDS[0]}:2"), cases, timeout=5)
    r = by_id(run, BASIC_IDS[0])
    assert r.status == FAILED and r.kind == MISMATCH
    assert r.reason == 'steps[2] (query): result.position.side expected "long", got <missing>'
    assert [(d.step, d.op, d.field, d.expected) for d in r.diffs] == [(2, "query", "result.position.side", "long")]
    assert run.engine_starts == 1
    assert [x.status for x in run.results].count(PASSED) == len(ALL_IDS) - 1


def test_a_wrong_value_is_a_mismatch(cases):
    run = run_cases(canned_command("--fault", f"wrong@{FUND}:2"), cases, timeout=5)
    r = by_id(run, FUND)
    assert r.kind == MISMATCH
    assert [(d.field, d.expected, d.got) for d in r.diffs] == [("result.fee", "0.5", "0.51")]


def test_a_bad_reset_reply(cases):
    # The ETHUSDT group holds three cases; the engine refuses its reset each time.
    run = run_cases(canned_command("--fault", "unsupported@close-efe742e0:reset"), cases, timeout=5)
    more = [r for r in run.results if r.case.file == "more"]
    assert {r.kind for r in more} == {RESET}
    assert all(r.reason == "engine refused the reset (UNSUPPORTED)" for r in more)
    assert [(d.step, d.op, d.field) for d in more[0].diffs] == [(None, "reset", "ok"), (None, "reset", "error.code")]
    assert all(r.status == PASSED for r in run.results if r.case.file == "basic")


def test_skip_cases_needing_undeclared_ops(cases):
    ops = "hello,reset,set_mark_price,open_position,query,close_position,set_margin_mode"
    run = run_cases(canned_command("--ops", ops), cases, timeout=5)
    assert statuses(run) == {
        "ka-953f9dcd": PASSED, ERR: SKIPPED, FUND: SKIPPED, LIQ: PASSED,
        "mode-c0750b40": PASSED, "unk-a53e5cef": PASSED, "close-efe742e0": PASSED}
    assert by_id(run, ERR).reason == "engine does not implement reduce_margin"
    assert by_id(run, FUND).reason == "engine does not implement apply_funding"
    assert by_id(run, ERR).requests == 0  # nothing was sent for it
    assert exit_code(run) == 0  # skips are reported, not failures


def test_an_engine_that_supports_no_op_passes_nothing(cases):
    """Every case skipped (the engine lists no op beyond the session's): nothing was checked, so the
    run is 'nothing to run', exit 3, and says so (it was exit 0 with a warning)."""
    from marginspec.conformance.report import render_text

    run = run_cases(canned_command("--ops", "hello,reset,shutdown"), cases, timeout=5)
    assert set(statuses(run).values()) == {SKIPPED} and run.passed == run.failed == 0
    assert exit_code(run) == 3
    assert "no case was run: every selected case was skipped, so nothing was checked (exit 3)" in render_text(run)


def test_unsupported_answer_from_an_engine_without_an_ops_list_skips(cases):
    run = run_cases(canned_command("--fault", f"unsupported@{FUND}:2"), cases, timeout=5)
    r = by_id(run, FUND)
    assert r.status == SKIPPED and r.reason == "engine answered UNSUPPORTED to apply_funding"


def test_unsupported_answer_for_a_declared_op_fails(cases):
    ops = "set_mark_price,open_position,query,close_position,set_margin_mode,reduce_margin,apply_funding"
    run = run_cases(canned_command("--ops", ops, "--fault", f"unsupported@{FUND}:2"), cases, timeout=5)
    r = by_id(run, FUND)
    assert r.status == FAILED
    assert [(d.field, d.got) for d in r.diffs][:2] == [("ok", False), ("error.code", "UNSUPPORTED")]


def test_engine_that_cannot_start(cases):
    t0 = time.monotonic()
    run = run_cases("/nonexistent/engine --flag", cases, timeout=5)
    assert time.monotonic() - t0 < 5
    # Issue 10 / 12.3: never started, so never tried again; every case is not run, exit 2.
    assert all(r.status == NOT_RUN and r.kind == NOT_RUN for r in run.results)
    assert run.results[0].reason.startswith("not run: the engine could not be started: cannot start engine")
    assert run.stopped.startswith("the engine could not be started: cannot start engine '/nonexistent/engine")
    assert run.exit_code == 2


def test_an_echo_is_not_a_refusal_of_hello(cases):
    """`cat` sends the request back: it has no "ok", so it is not a reply to hello, and the run says
    so rather than that the engine refused (which is an "ok": false reply)."""
    run = run_cases("cat", cases[:2], timeout=5)
    assert run.exit_code == 2
    assert run.stopped.endswith('engine\'s reply to hello is not {"ok": true, "result": {...}}: '
                                '\'{"id": 1, "op": "hello", "args": {}}\'')
    assert "refused" not in run.stopped


def test_engine_that_dies_before_hello(cases, tmp_path):
    script = tmp_path / "dies.py"
    script.write_text("import sys\nsys.stderr.write('fatal: no config\\n')\nsys.exit(7)\n")
    run = run_cases(f"{sys.executable} {script}", cases[:2], timeout=5)
    r = run.results[0]
    assert r.kind == NOT_RUN and "engine did not answer hello: engine exited with code 7" in r.reason
    assert "fatal: no config" in run.stopped_detail  # its stderr tail, said once
    assert run.exit_code == 2


def test_engine_that_hangs_at_start(cases, tmp_path):
    script = tmp_path / "sleeps.py"
    script.write_text("import time\ntime.sleep(60)\n")
    engine = SubprocessEngine(f"{sys.executable} {script}", timeout=0.3, start_timeout=0.3)
    assert SubprocessEngine("x", timeout=2).start_timeout == 10.0  # start-up gets at least 10 s
    t0 = time.monotonic()
    run = run_cases(engine, cases[:5])
    assert time.monotonic() - t0 < 2  # one try: it never answered hello, so no more
    assert [r.kind for r in run.results] == [NOT_RUN] * 5
    assert run.results[0].reason == ("not run: the engine could not be started: engine did not answer hello: "
                                     "no reply within 0.3 s (timeout)")
    assert engine.starts == 1


def test_engine_that_never_reads_cannot_block_the_runner(tmp_path, cases):
    # A request larger than any pipe buffer, to an engine that stopped reading: a timeout, not a hang.
    doc = json.loads(BASIC.read_text())
    big = doc["groups"][0]["cases"][1]
    big["steps"][2]["request"]["args"]["amount"] = "9" * 2_000_000  # refused: anything may be sent
    path = tmp_path / "basic.json"
    path.write_text(json.dumps(doc))
    big_cases = [c for vf in load_vectors([path]) for c in vf.cases]
    t0 = time.monotonic()
    run = run_cases(canned_command("--deaf", vectors=[path]), big_cases[:2], timeout=0.5)
    assert time.monotonic() - t0 < 5
    assert [r.kind for r in run.results] == ["timeout", "timeout"]


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.startswith("State:") and "Z" in line for line in f)  # a zombie is gone
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_a_hanging_engine_behind_a_shell_is_killed(cases, tmp_path):
    pidfile = tmp_path / "pid"
    inner = canned_command("--pidfile", str(pidfile), "--fault", f"hang@{FUND}:1")
    run = run_cases(f"sh -c {shlex.quote(inner)}", cases[:3], timeout=0.5)
    assert [r.status for r in run.results] == [PASSED, PASSED, FAILED]
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid)


def test_chatty_stderr_does_not_block(cases):
    run = run_cases(canned_command("--chatty", "200000"), cases, timeout=5)
    assert set(statuses(run).values()) == {PASSED}


def test_ids_increase_and_shutdown_is_sent(cases):
    runner = Runner(canned_command(), timeout=5)
    first = runner.run_case(cases[0])
    engine = runner.engine
    assert isinstance(engine, SubprocessEngine)
    start_id = engine.next_id()
    runner.run_case(cases[1])
    assert engine.next_id() == start_id + len(cases[1].steps) + 2  # reset + steps, then this call
    proc = engine.proc
    runner.close()
    assert first.status == PASSED
    assert proc.returncode == 0 and engine.last_exit == 0  # it exited by itself after shutdown


def test_transact_checks_ids_directly():
    engine = SubprocessEngine(canned_command("--fault", f"wrong-id@{FUND}:0"), timeout=5)
    engine.start()
    try:
        replies = engine.transact([(100, '"op":"hello","args":{}}\n'), (101, '"op":"hello","args":{}}\n')])
        assert [r["id"] for r in replies] == [100, 101]
        assert engine.ops is None and engine.hello["engine"] == "canned-engine"
    finally:
        engine.close()
    with pytest.raises(EngineFault):
        engine.transact([(1, '"op":"hello","args":{}}\n')])  # closed


# --------------------------------------------------------------------------- in process


def test_in_process_engine(cases):
    canned = load_canned_module()
    made = []

    def factory():
        made.append(canned.CannedEngine([BASIC, MORE]))
        return made[-1]

    run = run_cases(factory, cases)
    assert set(statuses(run).values()) == {PASSED}
    assert len(made) == 1
    assert run.timeout is None


def test_in_process_exception_fails_the_case_and_replaces_the_engine(cases):
    canned = load_canned_module()

    class Fragile(canned.CannedEngine):
        def handle(self, request):
            if request["op"] == "apply_funding":
                raise ZeroDivisionError("boom")
            return super().handle(request)

    made = []
    run = run_cases(lambda: made.append(Fragile([BASIC, MORE])) or made[-1], cases)
    r = by_id(run, FUND)
    assert r.status == FAILED and r.kind == "exception"
    assert r.reason == "engine raised ZeroDivisionError: boom at steps[2] (apply_funding)"
    assert "ZeroDivisionError" in r.detail
    assert len(made) == 2
    assert [x.status for x in run.results].count(PASSED) == len(ALL_IDS) - 1


def test_in_process_requests_are_fresh_json_objects(cases):
    canned = load_canned_module()
    seen = []

    class Mutating(canned.CannedEngine):
        def handle(self, request):
            reply = super().handle(request)
            seen.append(request)
            request["args"].clear()  # must not damage the loaded vectors
            return reply

    engine = InProcessEngine(lambda: Mutating([BASIC, MORE]))
    run_cases(engine, cases)
    again = run_cases(lambda: canned.CannedEngine([BASIC, MORE]), cases)
    assert set(statuses(again).values()) == {PASSED}
    assert seen[0] == {"id": 1, "op": "hello", "args": {}}


def test_an_interrupted_run_counts_the_cases_it_did_not_run(cases):
    """Ctrl-C in the third case: two cases done, the rest (the third included) not run, so the
    counts add up to the selection; exit 130, and the report says why they were not run."""
    from marginspec.conformance.report import render_text

    canned = load_canned_module()
    calls = [0]

    class Interrupted(canned.CannedEngine):
        def handle(self, request):
            if request["op"] == "reset":
                calls[0] += 1
                if calls[0] == 3:
                    raise KeyboardInterrupt
            return super().handle(request)

    run = run_cases(lambda: Interrupted([BASIC, MORE]), cases)
    assert run.interrupted and run.exit_code == 130
    assert [r.status for r in run.results] == [PASSED, PASSED] + [NOT_RUN] * (len(cases) - 2)
    assert all(r.reason == "not run: interrupted" for r in run.results[2:])
    text = render_text(run)
    assert f"NOT RUN {len(cases) - 2} cases: interrupted" in text
    assert f"2 passed, 0 failed, 0 skipped, {len(cases) - 2} not run in " in text and "(interrupted)" in text

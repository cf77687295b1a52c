"""Catalogue (issue 10, issue 12 item 3): bad options, broken or hostile engines, bad vector files
and unwritable report paths give one clear message and the right exit code, fast."""

from __future__ import annotations

import json
import sys
import time
import xml.dom.minidom
from pathlib import Path

import pytest
from click.testing import CliRunner

from robust_support import ENGINES

from marginspec.cli import main
from marginspec.conformance.engines import SubprocessEngine
from marginspec.conformance.loader import load_vectors
from marginspec.conformance.processes import STDERR_CAP
from marginspec.conformance.runner import NOT_RUN, run_cases, run_conformance

SHIPPED = [c for vf in load_vectors() for c in vf.cases]
ONE = SHIPPED[0].id  # a case the shipped vectors hold, whatever their ids are after a regeneration
TOTAL = len(SHIPPED)


def conform(*args):
    result = CliRunner().invoke(main, ["conform", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.output


def engine_cmd(name: str) -> str:
    return f"{sys.executable} {ENGINES / name}"


@pytest.fixture(scope="module")
def some_cases():
    return [c for vf in load_vectors() for c in vf.cases][:40]


@pytest.mark.parametrize("value,message", [
    ("nan", "'nan' is not a finite number of seconds"), ("inf", "'inf' is not a finite number of seconds"),
    ("1e308", "'1e308' is more than 86400 seconds"), ("0", "'0' must be more than 0 seconds"),
    ("-1", "'-1' must be more than 0 seconds"), ("soon", "'soon' is not a number of seconds")])
def test_bad_timeout_is_a_usage_error(value, message):
    code, out = conform("--timeout", value)
    assert code == 2
    assert f"Invalid value for '--timeout': {message}" in out
    result = CliRunner().invoke(main, ["prove", "--timeout", value, "--list"])
    assert result.exit_code == 2 and message in result.output


def run_cli(engine, *extra):
    import io

    out, err = io.StringIO(), io.StringIO()
    code = run_conformance(engine, None, case=[ONE], out=out, err=err, **dict(extra))
    return code, out.getvalue(), err.getvalue()


def test_missing_engine_is_reported_once():
    import io

    out, err = io.StringIO(), io.StringIO()
    t0 = time.monotonic()
    code = run_conformance("no-such-engine-command", None, out=out, err=err)
    assert time.monotonic() - t0 < 10
    assert code == 2
    assert err.getvalue().count("cannot start engine 'no-such-engine-command'") == 1
    assert "FAILED" not in out.getvalue()
    assert f"{TOTAL} not run" in out.getvalue().splitlines()[-1]


def test_engine_dying_before_hello_is_reported_once_with_its_stderr():
    import io

    out, err = io.StringIO(), io.StringIO()
    code = run_conformance(engine_cmd("dies_before_hello.py"), None, out=out, err=err)
    assert code == 2
    e = err.getvalue()
    assert e.count("engine did not answer hello: engine exited with code 3") == 1
    assert "engine stderr: fatal: cannot open \\x1b[31mconfig\\x1b[0m\\x07 here" in e
    assert "\x1b" not in e + out.getvalue()


def test_engine_hanging_on_every_request_trips_the_breaker(some_cases):
    t0 = time.monotonic()
    run = run_cases(engine_cmd("hang_after_hello.py"), some_cases, timeout=0.3)
    assert time.monotonic() - t0 < 10  # not 0.3 s x 40 cases
    assert [r.kind for r in run.results[:3]] == ["timeout"] * 3
    assert all(r.status == NOT_RUN for r in run.results[3:])
    assert run.stopped.startswith("the engine failed to start or answered nothing before the timeout in 3 cases")
    assert run.exit_code == 2


def test_engine_that_never_answers_costs_one_start_timeout(some_cases):
    engine = SubprocessEngine(engine_cmd("silent.py"), timeout=0.3, start_timeout=0.5)
    t0 = time.monotonic()
    run = run_cases(engine, some_cases)
    assert time.monotonic() - t0 < 5
    assert all(r.status == NOT_RUN for r in run.results) and engine.starts == 1


def test_control_characters_from_an_engine_are_escaped(tmp_path):
    import io

    junit = tmp_path / "r.xml"
    out, err = io.StringIO(), io.StringIO()
    code = run_conformance(engine_cmd("crash_with_control_stderr.py"), None, case=[ONE], out=out, err=err,
                           junit=str(junit))
    assert code == 1
    text = out.getvalue()
    assert "\x1b" not in text and "\x00" not in text and "\x07" not in text
    assert "panic \\x1b[2J\\x00" in text and "crashy\\x1b[2J" in text
    xml.dom.minidom.parse(str(junit))  # valid XML
    assert "panic \\x1b[2J" in junit.read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_a_grandchild_that_calls_setsid_is_killed(tmp_path, monkeypatch):
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("SETSID_PID_FILE", str(pidfile))
    code, _, _ = run_cli(engine_cmd("setsid_child.py"))
    assert code == 0
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not _gone(pid):
        time.sleep(0.05)
    assert _gone(pid)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.startswith("State:") and "Z" in line for line in f)
    except FileNotFoundError:
        return True


def test_stderr_capture_is_capped():
    engine = SubprocessEngine(engine_cmd("chatty_stderr.py"), timeout=30)
    try:
        engine.start()
        tail = engine._err_tail
        deadline = time.monotonic() + 10
        while tail.total < 20 * 1024 * 1024 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tail.total >= 20 * 1024 * 1024
        assert len(tail.data) <= STDERR_CAP
        assert len(engine.stderr_tail()) <= 4000
    finally:
        engine.close()


def test_vectors_from_dev_zero():
    code, out = conform("--vectors", "/dev/zero")
    assert code == 2
    assert "error: /dev/zero: larger than 64 MiB, the limit for a vector file" in out


def test_deeply_nested_vector_step(tmp_path):
    from marginspec.conformance.loader import default_vector_paths

    src = next(p for p in default_vector_paths() if Path(str(p)).name == "known_answers.json")
    doc = json.loads(Path(str(src)).read_text())
    doc["groups"][0]["cases"][0]["steps"][0]["request"]["args"]["price"] = json.loads("[" * 200 + "]" * 200)
    path = tmp_path / "known_answers.json"
    path.write_text(json.dumps(doc))
    code, out = conform("--vectors", str(path))
    assert code == 2
    assert "known_answers.json: arrays and objects nest more than 64 levels deep; the limit is 64" in out


def test_junit_path_that_cannot_be_written(tmp_path):
    (tmp_path / "blocker").write_text("a file, not a folder")
    code, out, err = run_cli("reference", ("junit", str(tmp_path / "blocker" / "r.xml")))
    assert code == 2 and "error: cannot write" in err


def test_json_report_says_why_nothing_ran():
    import io

    out, err = io.StringIO(), io.StringIO()
    code = run_conformance(engine_cmd("dies_before_hello.py"), None, fmt="json", out=out, err=err)
    assert code == 2
    summary = json.loads(out.getvalue())["summary"]
    assert summary["not_run"] == summary["total"] == TOTAL and summary["failed"] == 0
    assert summary["stopped"] == "the engine could not be started: engine did not answer hello: engine exited with code 3"
    assert "fatal: cannot open" in summary["stopped_detail"]


def test_engine_exits_quietly_when_its_reader_goes_away():
    import subprocess

    p = subprocess.Popen([sys.executable, "-m", "marginspec", "engine"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # nobody reads the replies
    _, errs = p.communicate(b'{"id":1,"op":"hello","args":{}}\n' * 1000, timeout=60)
    assert p.returncode == 0
    assert b"Traceback" not in errs


def test_a_folder_with_a_json_file_that_is_not_a_vector_file(tmp_path):
    """A user's notes.json beside the vectors is skipped with a note (not read as a vector file);
    named on its own it is an error saying what a vector file is; a file that is not JSON at all is
    an error in a folder too (it could be a broken vector file). Never a traceback."""
    from marginspec.conformance.loader import default_vector_paths

    src = next(p for p in default_vector_paths() if Path(str(p)).name == "known_answers.json")
    vec = tmp_path / "vec"
    vec.mkdir()
    (vec / "known_answers.json").write_bytes(Path(str(src)).read_bytes())
    (vec / "notes.json").write_text('{"todo": "ask about tier 3"}\n')
    one = next(c for vf in load_vectors([vec / "known_answers.json"]) for c in vf.cases).id
    code, out = conform("--vectors", str(vec), "--case", one)
    assert code == 0, out
    assert f'note: {vec / "notes.json"}: skipped, not a vector file (no "schema": "marginspec-vectors/1")' in out
    code, out = conform("--vectors", str(vec), "--list")
    assert code == 0 and "skipped, not a vector file" in out
    code, out = conform("--vectors", str(vec / "notes.json"))
    assert code == 2
    assert (f'error: {vec / "notes.json"}: not a vector file (a vector file is a JSON object with '
            f'"schema": "marginspec-vectors/1")') in out
    (vec / "notes.json").write_text("ask about tier 3\n")
    code, out = conform("--vectors", str(vec))
    assert code == 2 and f"error: {vec / 'notes.json'}: line 1 column 1: Expecting value" in out
    assert (vec / "notes.json").read_text() == "ask about tier 3\n"

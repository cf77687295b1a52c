"""Reports (text, JSON, JUnit XML), the progress display, and run_conformance's exit codes."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest

from conform_support import ALL_IDS, BASIC, MORE, VECTORS, canned_command
from marginspec.conformance.report import make_progress, render_text, to_json, write_junit
from marginspec.conformance.runner import run_cases, run_conformance

FUND, ERR = "fund-2fb58b28", "err-2cfdbfea"


@pytest.fixture
def mixed_run(cases):
    """One mismatch (fund), one crash (err), one skip (mode: set_margin_mode not declared)."""
    ops = "set_mark_price,open_position,query,close_position,reduce_margin,apply_funding"
    cmd = canned_command("--ops", ops, "--fault", f"wrong@{FUND}:2", "--fault", f"crash@{ERR}:2")
    return run_cases(cmd, cases, timeout=5)


def test_text_report(mixed_run):
    text = render_text(mixed_run)
    lines = text.splitlines()
    assert lines[0].startswith("marginspec conform: engine ") and "(canned-engine 0.1)" in lines[0]
    fail = [ln for ln in lines if ln.startswith("FAILED ")]
    assert fail == [
        f"FAILED {ERR} [basic] Reduce margin below coverage is refused: engine exited with code 3 at steps[2] (reduce_margin)",
        f"FAILED {FUND} [basic] Funding is paid by longs: steps[2] (apply_funding): result.fee expected 0.5, got 0.51",
    ]
    i = lines.index(fail[1])
    assert lines[i + 1].split() == ["step", "op", "field", "expected", "got"]
    assert lines[i + 2].split() == ["2", "apply_funding", "result.fee", "0.5", "0.51"]
    assert "SKIPPED 1 case: engine does not implement set_margin_mode: mode-c0750b40" in lines
    assert lines[-1].startswith("4 passed, 2 failed, 1 skipped in ")


def test_json_report(mixed_run):
    doc = json.loads(json.dumps(to_json(mixed_run)))
    s = doc["summary"]
    assert (s["total"], s["passed"], s["failed"], s["skipped"]) == (7, 4, 2, 1)
    assert s["engine"]["hello"]["engine"] == "canned-engine"
    cases = {c["id"]: c for c in doc["cases"]}
    assert list(cases) == ALL_IDS
    assert cases[FUND]["status"] == "failed" and cases[FUND]["kind"] == "mismatch"
    assert cases[FUND]["steps"] == [{"step": 2, "op": "apply_funding", "field": "result.fee",
                                     "expected": "0.5", "got": "0.51"}]
    assert cases[ERR]["steps"] == [{"step": 2, "op": "reduce_margin", "field": "reply",
                                    "expected": "a reply", "got": "<crash>"}]
    assert cases["mode-c0750b40"]["status"] == "skipped"
    assert cases["ka-953f9dcd"] == {**cases["ka-953f9dcd"], "status": "passed", "reason": "", "steps": []}


def test_json_report_marks_missing_values(cases):
    run = run_cases(canned_command("--fault", "omit@ka-953f9dcd:2"), cases, timeout=5)
    doc = to_json(run)
    diff = doc["cases"][0]["steps"][0]
    assert diff == {"step": 2, "op": "query", "field": "result.position.side", "expected": "long",
                    "got": None, "missing": "got"}


def test_junit_xml(mixed_run, tmp_path):
    path = tmp_path / "junit.xml"
    write_junit(mixed_run, path)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("7", "2", "1")
    suites = root.findall("testsuite")
    assert [(s.get("name"), s.get("tests"), s.get("failures"), s.get("skipped")) for s in suites] == [
        ("marginspec.basic", "4", "2", "0"), ("marginspec.more", "3", "0", "1")]
    testcases = root.iter("testcase")
    by_name = {tc.get("name").split(":")[0]: tc for tc in testcases}
    assert list(by_name) == ALL_IDS
    failure = by_name[FUND].find("failure")
    assert failure.get("message") == "steps[2] (apply_funding): result.fee expected 0.5, got 0.51"
    assert "result.fee" in failure.text and "0.51" in failure.text
    assert by_name["mode-c0750b40"].find("skipped").get("message") == "engine does not implement set_margin_mode"
    assert by_name["ka-953f9dcd"].find("failure") is None and by_name["ka-953f9dcd"].find("skipped") is None


# --------------------------------------------------------------------------- run_conformance


def conform(*args, **kwargs):
    out, err = io.StringIO(), io.StringIO()
    code = run_conformance(*args, out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


def test_exit_0_when_all_pass():
    code, out, _ = conform(canned_command(), [VECTORS])
    assert code == 0
    assert out.splitlines()[-1].startswith("7 passed, 0 failed, 0 skipped")


def test_exit_1_on_failure_and_junit(tmp_path):
    junit = tmp_path / "j.xml"
    code, out, _ = conform(canned_command("--fault", f"wrong@{FUND}:2"), [BASIC, MORE], junit=str(junit))
    assert code == 1
    assert f"FAILED {FUND}" in out
    assert ET.parse(junit).getroot().get("failures") == "1"


def test_skips_do_not_fail_the_run():
    code, out, _ = conform(canned_command("--ops", "set_mark_price,open_position,query"), [VECTORS])
    assert code == 0
    assert "3 passed, 0 failed, 4 skipped" in out


def test_filters_and_shards_through_run_conformance():
    code, out, _ = conform(canned_command(), [VECTORS], rule=["set_"], fmt="json")
    assert code == 0
    assert [c["id"] for c in json.loads(out)["cases"]] == ["liq-b41d23f1", "mode-c0750b40"]
    seen = []
    for i in (1, 2, 3):
        code, out, _ = conform(canned_command(), [VECTORS], shard=f"{i}/3", fmt="json")
        assert code in (0, 3)
        if code == 0:
            seen += [c["id"] for c in json.loads(out)["cases"]]
    assert sorted(seen) == sorted(ALL_IDS)


def test_exit_3_when_nothing_selected(tmp_path):
    junit = tmp_path / "j.xml"
    code, out, err = conform(canned_command(), [VECTORS], case=["nope-*"], fmt="json", junit=str(junit))
    assert code == 3
    assert "no vector case selected (7 loaded from 2 file(s); filters: --case nope-*)" in err
    assert json.loads(out)["summary"]["total"] == 0
    assert ET.parse(junit).getroot().get("tests") == "0"


def test_an_engine_that_cannot_start_is_reported_once_and_nothing_runs():
    # Issue 10 / issue 12 item 3: a command that cannot start is said once, exit 2 (could not run),
    # and every case is "not run" (never failed one by one, never passed).
    code, out, err = conform("/nonexistent/engine", [VECTORS])
    assert code == 2
    assert err.count("cannot start engine '/nonexistent/engine'") == 1
    assert "error: the engine could not be started: cannot start engine '/nonexistent/engine'" in err
    assert "FAILED" not in out
    assert out.count("cannot start engine '/nonexistent/engine'") == 1
    assert "NOT RUN 7 cases: the engine could not be started" in out
    assert out.splitlines()[-1].startswith("0 passed, 0 failed, 0 skipped, 7 not run")


def test_exit_2_on_bad_input(tmp_path):
    bad = tmp_path / "basic.json"
    doc = json.loads(BASIC.read_text())
    doc["groups"][0]["cases"][0]["level"] = "MAY"
    bad.write_text(json.dumps(doc))
    code, _, err = conform(canned_command(), [bad])
    assert code == 2 and f"{bad}: $.groups[0].cases[0].level:" in err
    code, _, err = conform(canned_command(), [VECTORS], shard="4/3")
    assert code == 2 and "shard" in err
    code, _, err = conform(canned_command(), [VECTORS], fmt="yaml")
    assert code == 2


def test_progress_displays():
    from marginspec.conformance.report import _PlainProgress

    class R:
        status = "failed"

    out = io.StringIO()
    p = _PlainProgress(2, out)
    p.advance(R())
    p.advance(R())
    p.close()
    assert "2/2 cases, 2 failed, 0 skipped" in out.getvalue()
    out = io.StringIO()
    code = run_conformance(canned_command(), [VECTORS], progress=True, out=out, err=io.StringIO())
    assert code == 0 and "7 passed" in out.getvalue()
    assert make_progress(3, out, enabled=False).advance(R()) is None

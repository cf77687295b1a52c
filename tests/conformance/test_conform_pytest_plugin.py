"""The pytest plugin, run in a nested pytest (pytester) on the hand-made vector files."""

from __future__ import annotations

import shutil

import pytest

from conform_support import BASIC, MORE, canned_command

pytest_plugins = ["pytester"]

FUND, ERR = "fund-2fb58b28", "err-2cfdbfea"


@pytest.fixture
def env(pytester, monkeypatch):
    # Load the plugin explicitly (whether or not the package's entry point is installed).
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    vectors = pytester.mkdir("vectors")
    shutil.copy(BASIC, vectors / "basic.json")
    shutil.copy(MORE, vectors / "more.json")
    pytester.makepyfile(test_own="def test_own_suite():\n    assert True\n")
    return pytester


def run(pytester, *args):
    return pytester.runpytest("-p", "marginspec.conformance.pytest_plugin", "-p", "no:cacheprovider",
                              "-W", "ignore::pytest.PytestAssertRewriteWarning", *args)


def test_without_the_option_the_plugin_does_nothing(env):
    result = run(env, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*marginspec/*")


def test_one_item_per_case_with_diffs(env):
    vectors = env.path / "vectors"
    cmd = canned_command("--ops", "set_mark_price,open_position,query,close_position,reduce_margin,apply_funding",
                         "--fault", f"wrong@{FUND}:2", vectors=[vectors / "basic.json", vectors / "more.json"])
    result = run(env, "-v", "-rs", "--marginspec-engine", cmd, "--marginspec-vectors", "vectors")
    result.assert_outcomes(passed=6, failed=1, skipped=1)  # test_own + 5 cases
    result.stdout.fnmatch_lines([
        "*marginspec/basic::ka-953f9dcd PASSED*",
        f"*marginspec/basic::{FUND} FAILED*",
        "*marginspec/more::mode-c0750b40 SKIPPED*",
    ])
    result.stdout.fnmatch_lines([
        f"*{FUND} [[]basic] Funding is paid by longs",
        "reason: steps[2] (apply_funding): result.fee expected 0.5, got 0.51",
        "*step*op*field*expected*got",
        "*2*apply_funding*result.fee*0.5*0.51",
    ])
    result.stdout.fnmatch_lines(["*SKIPPED*more.json*engine does not implement set_margin_mode"])
    assert result.ret == 1


def test_keyword_selection_and_engine_restart(env):
    vectors = env.path / "vectors"
    cmd = canned_command("--fault", f"crash@{ERR}:2", vectors=[vectors / "basic.json", vectors / "more.json"])
    result = run(env, "-v", "--marginspec-engine", cmd, "--marginspec-vectors", str(vectors / "basic.json"),
                 "--marginspec-timeout", "2", "-k", "err or fund or own")
    result.assert_outcomes(passed=2, failed=1, deselected=2)
    result.stdout.fnmatch_lines([f"*marginspec/basic::{ERR} FAILED*", f"*marginspec/basic::{FUND} PASSED*",
                                 "reason: engine exited with code 3 at steps[2] (reduce_margin)"])


def test_hanging_engine_times_out(env):
    vectors = env.path / "vectors"
    cmd = canned_command("--fault", f"hang@{FUND}:1", vectors=[vectors / "basic.json"])
    result = run(env, "--marginspec-engine", cmd, "--marginspec-vectors", str(vectors / "basic.json"),
                 "--marginspec-timeout", "0.5")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["reason: no reply within 0.5 s (timeout) at steps[1] (open_position)"])


def test_bad_vector_file_is_a_usage_error(env):
    (env.path / "vectors" / "more.json").write_text('{"schema": "marginspec-vectors/1"}')
    result = run(env, "--marginspec-engine", canned_command(), "--marginspec-vectors", "vectors")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*marginspec: *more.json: $: *required property*"])


def test_an_engine_that_cannot_start_fails_once_and_stops_the_session(env):
    """Said once, as conform says it: the first case fails with the reason, pytest stops there
    (it failed every case with the same reason)."""
    result = run(env, "--marginspec-engine", "/nonexistent/engine", "--marginspec-vectors", "vectors")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*Interrupted: marginspec: the engine could not be started: cannot start engine "
                                 "'/nonexistent/engine'*; the remaining cases are not run*"])


def test_rules_select_cases_and_failures_show_flag_meanings(env):
    vectors = env.path / "vectors"
    cmd = canned_command("--fault", f"wrong@{FUND}:2", vectors=[vectors / "basic.json", vectors / "more.json"])
    result = run(env, "-v", "--marginspec-engine", cmd, "--marginspec-vectors", "vectors", "-k", "apply_funding")
    result.assert_outcomes(failed=1, deselected=7)
    result.stdout.fnmatch_lines([f"*marginspec/basic::{FUND} FAILED*", "*flag FundingSide: Which side pays funding.*"])

"""The command line from outside the checkout: check, simulate (text and json), engine."""

import json
import subprocess
import sys

SIM = """
- {op: set_mark_price, args: {symbol: BTCUSDT, price: "50000"}}
- {op: open_position, args: {symbol: BTCUSDT, side: long, size: "1000", margin: "5000"}}
- {op: reduce_margin, args: {symbol: BTCUSDT, amount: "4900"}}
"""


def ms(*args, cwd, input=None):
    return subprocess.run([sys.executable, "-m", "marginspec", *args], capture_output=True, text=True,
                          cwd=cwd, input=input, timeout=120)


def test_simulate_json_from_any_folder(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(SIM)
    r = ms("simulate", "--format", "json", str(f), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [x["ok"] for x in doc["replies"]] == [True, True, False]
    assert doc["replies"][2]["error"]["code"] == "INSUFFICIENT_COVERAGE"
    p = doc["state"]["BTCUSDT"]["position"]
    assert p["liquidation_price"] == "45180.8" and p["isolated_margin"] == "5000"
    assert doc["state"]["ETHUSDT"]["position"] is None


def test_simulate_text_from_stdin_shows_tables(tmp_path):
    r = ms("simulate", "-", cwd=tmp_path, input=SIM)
    assert r.returncode == 0, r.stderr
    assert "INSUFFICIENT_COVERAGE" in r.stdout and "Positions" in r.stdout and "BTCUSDT" in r.stdout


def test_simulate_reports_bad_input(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("{op: x")
    r = ms("simulate", str(f), cwd=tmp_path)
    assert r.returncode == 2 and "malformed YAML" in r.stderr


def test_help_lists_commands(tmp_path):
    r = ms("--help", cwd=tmp_path)
    for cmd in ("check", "simulate", "engine"):
        assert cmd in r.stdout


def test_simulate_reports_every_problem_of_a_bad_file_at_its_place(tmp_path):
    """A mistyped op, an op that is not a name, an entry that is not a mapping, a mistyped key, args
    that are not a mapping: bad input (exit 2), each at file:line:col with a "did you mean"; nothing
    is run."""
    f = tmp_path / "s1.yaml"
    f.write_text('- {op: set_mark_pric, args: {symbol: BTCUSDT, price: "50000"}}\n'
                 "- op: 5\n"
                 "- 17\n"
                 "- {op: query, arg: {symbol: BTCUSDT}}\n"
                 "- {op: query, args: [1]}\n"
                 '- {op: open_position, side: long, args: {symbol: BTCUSDT, size: "1", margin: "100"}}\n')
    r = ms("simulate", str(f), cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        f"error: {f}:1:8: request 1: unknown op 'set_mark_pric' (did you mean 'set_mark_price'?)",
        f"error: {f}:2:7: request 2: unknown op '5' (ops: hello, reset, set_mark_price, set_margin_mode, "
        "set_leverage, open_position, add_margin, reduce_margin, apply_funding, close_position, query, shutdown)",
        f"error: {f}:3:3: request 3: expected a mapping {{op, args}}, got 17",
        f"error: {f}:4:15: request 4: unknown key 'arg' (did you mean 'args'?)",
        f'error: {f}:5:21: request 5: args must be a mapping, got ["1"]',
        f"error: {f}:6:23: request 6: 'side' is an argument of open_position: put it under args",
    ]


def test_simulate_reads_a_json_file_as_json(tmp_path):
    f = tmp_path / "s.json"
    f.write_text('[{"op": "query", "args": {"symbol": "BTCUSDT"}},]\n')
    r = ms("simulate", str(f), cwd=tmp_path)
    assert r.returncode == 2 and r.stderr == f"error: {f}:1:48: trailing comma before ']'\n"
    f.write_text('[{"op": "query", "args": {"symbol": "BTCUSDT"}}]\n')
    assert ms("simulate", str(f), cwd=tmp_path).returncode == 0


def test_simulate_labels_each_row_by_its_step(tmp_path):
    """Rows are numbered by step; a request's own id, when it differs, is shown beside it (a request
    with id 3 on step 2 and the auto-numbered step 3 no longer both read "3")."""
    f = tmp_path / "s3.yaml"
    f.write_text('- {op: set_mark_price, args: {symbol: BTCUSDT, price: "50000"}}\n'
                 "- {id: 3, op: query, args: {symbol: BTCUSDT}}\n"
                 "- {op: query, args: {symbol: BTCUSDT}}\n")
    r = subprocess.run([sys.executable, "-m", "marginspec", "simulate", str(f)], capture_output=True, text=True,
                       cwd=tmp_path, timeout=120, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    labels = [line.split("│")[1].strip() for line in r.stdout.splitlines()
              if line.startswith("│") and line.split("│")[1].strip()][:3]
    assert labels == ["1", "2 (id 3)", "3"]


def test_an_unknown_command_gets_a_did_you_mean():
    from click.testing import CliRunner

    from marginspec.cli import main

    for typed, hint in (("provee", "Did you mean 'prove'?"), ("vector", "Did you mean 'vectors'?")):
        r = CliRunner().invoke(main, [typed])
        assert r.exit_code == 2
        assert r.output.splitlines()[-1] == f"Error: No such command '{typed}'. {hint}"
    r = CliRunner().invoke(main, ["xyzzy"])
    assert r.exit_code == 2 and r.output.splitlines()[-1].startswith("Error: No such command 'xyzzy'. Commands: all, check,")
    r = CliRunner().invoke(main, ["check", "--fomat", "json"])  # options keep click's own suggestion
    assert r.exit_code == 2 and "Did you mean '--format'?" in r.output

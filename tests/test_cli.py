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

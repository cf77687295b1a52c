"""CLI consistency: --spec everywhere (check's PATH a deprecated alias), exit 2 for a bad path,
--version with the rulebook's version, JSON for every --format json, prove's progress only on a
terminal, simulate's positions, JSON booleans and argument errors, docs --path from the package."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from marginspec.progress import _Bar, _Silent, stderr_progress


def ms(*args, cwd, input=None):
    return subprocess.run([sys.executable, "-m", "marginspec", *args], capture_output=True, text=True,
                          cwd=cwd, input=input, timeout=180)


@pytest.mark.parametrize("args", [("check", "/nonexistent"), ("check", "--spec", "/nonexistent"),
                                  ("simulate", "--spec", "/nonexistent", "-"), ("docs", "--spec", "/nonexistent"),
                                  ("prove", "--spec", "/nonexistent", "--list"), ("vectors", "--spec", "/nonexistent"),
                                  ("engine", "--spec", "/nonexistent")])
def test_a_bad_rulebook_path_exits_2(args):
    from click.testing import CliRunner

    from marginspec.cli import main

    r = CliRunner().invoke(main, list(args), input="")
    assert r.exit_code == 2, r.output
    assert "error: /nonexistent: no such directory" in r.stderr


def test_check_takes_spec_and_keeps_the_path_alias(tmp_path, rulebook):
    spec = rulebook.path
    a, b = ms("check", "--spec", str(spec), cwd=tmp_path), ms("check", str(spec), cwd=tmp_path)
    assert a.returncode == b.returncode == 0 and a.stdout == b.stdout and a.stdout.startswith("ok: ")
    f = tmp_path / "file.txt"
    f.write_text("x")
    r = ms("check", "--spec", str(f), "--format", "json", cwd=tmp_path)
    assert r.returncode == 2 and json.loads(r.stdout)["ok"] is False
    r = ms("check", str(spec), "--spec", str(tmp_path), cwd=tmp_path)
    assert r.returncode == 2 and "give the rulebook once" in r.stderr


def test_version_shows_the_rulebook(tmp_path, rulebook):
    r = ms("--version", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout.strip().endswith(f"rulebook {rulebook.name} {rulebook.version}") and "marginspec " in r.stdout


def test_prove_list_json_is_json(tmp_path):
    r = ms("prove", "--list", "--format", "json", "--only", "INV-liq-root*", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc and all(set(o) == {"id", "kind", "invariants", "title"} for o in doc)
    assert all("INV-liq-root" in o["invariants"] or o["id"].startswith("INV-liq-root") for o in doc)


def test_progress_only_on_a_terminal(monkeypatch):
    import io

    class NotATerminal(io.StringIO):
        def isatty(self):
            return False

    monkeypatch.setattr(sys, "stderr", NotATerminal())
    assert isinstance(stderr_progress(10, "prove"), _Silent)
    bar = stderr_progress(2, "prove", enabled=True)
    assert isinstance(bar, _Bar)
    bar.advance("PROVED")
    bar.advance("VIOLATED")
    assert dict(bar.counts) == {"PROVED": 1, "VIOLATED": 1}
    bar.close()


SIM = """
- {op: set_mark_price, args: {symbol: BTCUSDT, price: "50000"}}
- {op: open_position, args: {symbol: BTCUSDT, side: long, size: "0.5", margin: "100"}}
- {op: open_position, args: {symbol: BTCUSDT, side: long, size: "1000", margin: "5000"}}
- {op: query, args: {symbol: BTCUSDT}}
- {op: add_margin, args: {symbol: BTCUSDT, amount: "0.00001"}}
"""


def test_simulate_shows_positions_booleans_and_argument_errors(tmp_path):
    r = subprocess.run([sys.executable, "-m", "marginspec", "simulate", "-"], capture_output=True, text=True,
                       cwd=tmp_path, input=SIM, timeout=120, env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())
    assert "liquidated=false" in out and "False" not in out
    assert "position={side=long, size=1000, entry_price=50000, isolated_margin=5000" in out
    assert "step 2 (open_position): size: 0.5 does not satisfy" in out and "size counts contracts; lot_size is 1" in out
    assert "step 5 (add_margin): amount:" in out and "money_step is 0.0001" in out
    r = ms("simulate", "--format", "json", "-", cwd=tmp_path, input=SIM)
    doc = json.loads(r.stdout)
    assert doc["replies"][0]["result"] == {"liquidated": False}
    assert doc["argument_errors"][0].endswith("size counts contracts; lot_size is 1")


def test_docs_path_holds_the_rulebook_and_the_proof_report(tmp_path):
    r = ms("docs", "--path", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    folder = Path(r.stdout.strip())
    assert {"rulebook.md", "index.html", "proof-report.json"} <= {p.name for p in folder.iterdir()}


def test_protocol_document_is_self_contained():
    root = Path(__file__).resolve().parents[1]
    text = (root / "conformance" / "PROTOCOL.md").read_text()
    assert "RULES.md" not in text
    import re

    anchors = set(re.findall(r'<a id="([^"]+)"></a>', (root / "generated_docs" / "rulebook.md").read_text()))
    links = re.findall(r"\(\.\./generated_docs/rulebook\.md#([^)]+)\)", text)
    assert len(links) > 40 and set(links) <= anchors, sorted(set(links) - anchors)
    for field in ("liquidation_price", "bankruptcy_price", "maintenance_margin", "equity", "leverage"):
        assert field in links


def test_docs_from_an_install_use_the_shipped_proof_report(tmp_path, monkeypatch, rulebook):
    """As from a wheel (no checkout around the rulebook): the rendered docs show the shipped proofs,
    exactly as the committed generated_docs/ do."""
    from click.testing import CliRunner

    import marginspec.cli  # noqa: F401 - registers the commands first (no circular import)
    import marginspec.commands.docs as docs_cmd

    monkeypatch.setattr(docs_cmd, "checkout_root", lambda spec_dir: None)
    out = tmp_path / "gd"
    r = CliRunner().invoke(docs_cmd.command, ["--out", str(out)])
    assert r.exit_code == 0, r.output
    text = (out / "rulebook.md").read_text()
    assert "not yet proved" not in text
    shipped = Path(__file__).resolve().parents[1] / "generated_docs" / "rulebook.md"
    assert text == shipped.read_text()

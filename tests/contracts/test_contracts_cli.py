"""`--contracts FILE` on every command that reads contracts (smoke tests with the three-contract file:
one single-tier, one 12-tier, one with tiny ticks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from marginspec.cli import main

THREE = str(Path(__file__).resolve().parents[1] / "fixtures" / "contracts" / "three.yaml")
SYMBOLS = ["ONEUSDT", "TINYUSDT", "TWELVEUSDT"]
BROKEN = """\
WIDEUSDT:
  contract_multiplier: "1"
  tick_size: "0.1"
  lot_size: "1"
  money_step: "0.01"
  tiers:
    - {max_notional: "1000", maintenance_margin_rate: "0.01", max_leverage: "200", maintenance_amount: "0"}
"""


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def broken(tmp_path) -> str:
    p = tmp_path / "broken.yaml"
    p.write_text(BROKEN)
    return str(p)


BORN_SAFE = ("INV-born-safe fails for WIDEUSDT tier 1: 1 / max_leverage (0.005) must exceed maintenance_margin_rate "
             "+ taker_fee_rate (0.01)")


@pytest.mark.parametrize("cmd", ["check", "prove", "vectors", "docs", "simulate", "engine", "all"])
def test_every_command_documents_the_option(cmd):
    r = run(cmd, "--help")
    assert r.exit_code == 0
    assert "--contracts FILE" in r.output


def test_check_accepts_the_three_contracts():
    r = run("check", "--contracts", THREE)
    assert r.exit_code == 0, r.output
    assert f"contracts {', '.join(SYMBOLS)} (from {THREE})" in r.output
    assert ("parameters well formed: each contract satisfies INV-tiers-ordered, INV-born-safe, INV-mm-continuous, "
            "INV-mm-monotone") in r.output


def test_check_reports_a_parameter_invariant_at_its_tier(broken):
    r = run("check", "--contracts", broken)
    assert r.exit_code == 1
    assert f"error: {broken}:7:7: {BORN_SAFE}" in r.output
    js = run("check", "--format", "json", "--contracts", broken)
    assert js.exit_code == 1
    (e,) = json.loads(js.output)["errors"]
    assert (e["file"], e["line"], e["col"]) == (broken, 7, 7) and e["message"].startswith(BORN_SAFE)


def test_prove_proves_the_parameters_of_each_contract():
    r = run("prove", "--contracts", THREE, "--kind", "parameter", "--jobs", "1", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    ids = sorted(o["id"] for o in doc["results"])
    assert doc["options"]["contracts"] == SYMBOLS
    assert {o["status"] for o in doc["results"]} == {"PROVED"}
    assert ids == sorted(f"{inv}/{s}" for inv in ("INV-born-safe", "INV-mm-continuous", "INV-mm-monotone",
                                                     "INV-tiers-ordered") for s in SYMBOLS)


def test_prove_shows_a_broken_contract_as_violated(broken):
    r = run("prove", "--contracts", broken, "--only", "INV-born-safe", "--kind", "parameter", "--jobs", "1")
    assert r.exit_code == 1
    assert "INV-born-safe/WIDEUSDT" in r.output and "VIOLATED" in r.output


def test_vectors_and_docs_receive_the_contracts(monkeypatch, tmp_path):
    import marginspec.vectors as vectors

    seen = {}

    class Stop(Exception):
        pass

    def generate(rb, **kw):
        seen["contracts"] = sorted(rb.contracts)
        raise Stop

    monkeypatch.setattr(vectors, "generate", generate)
    with pytest.raises(Stop):
        run("vectors", "--contracts", THREE, "--out", str(tmp_path / "v"))
    assert seen["contracts"] == SYMBOLS
    r = run("docs", "--contracts", THREE, "--out", str(tmp_path / "d"), "--vectors", str(tmp_path / "v"))
    assert r.exit_code == 0, r.output
    md = (tmp_path / "d" / "rulebook.md").read_text()
    assert "TWELVEUSDT" in md and "15530435" in md and "BTCUSDT" not in md.split("## ")[0]


@pytest.mark.parametrize("cmd", ["vectors", "docs", "simulate", "engine", "prove"])
def test_a_malformed_file_is_bad_input(cmd, tmp_path):
    p = tmp_path / "m.json"
    p.write_text('{"A": {"tiers": [}}')
    args = [cmd, "--contracts", str(p)] + (["-"] if cmd == "simulate" else [])
    r = run(*args, input="")
    assert r.exit_code == 2
    assert f"error: {p}:1:18: malformed JSON: Expecting value" in r.output


def test_simulate_loads_the_contracts_when_no_reset_comes_first():
    reqs = ('[{"op": "set_mark_price", "args": {"symbol": "TINYUSDT", "price": "0.0000123"}},'
            ' {"op": "open_position", "args": {"symbol": "TINYUSDT", "side": "long", "size": "1000", "margin": "5"}}]')
    r = run("simulate", "--contracts", THREE, "--format", "json", "-", input=reqs)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert sorted(doc["state"]) == SYMBOLS
    assert [x["ok"] for x in doc["replies"]] == [True, True]
    assert doc["state"]["TINYUSDT"]["position"]["size"] == "1000"


def test_simulate_refuses_a_broken_contract(broken):
    r = run("simulate", "--contracts", broken, "-", input="[]")
    assert r.exit_code == 2 and BORN_SAFE in r.output


def test_engine_starts_with_the_contracts():
    q = '{"id": 1, "op": "query", "args": {"symbol": "ONEUSDT"}}\n'
    r = run("engine", "--contracts", THREE, input=q)
    reply = json.loads(r.output)
    assert reply["ok"] is True and reply["result"]["available_balance"] == "0"
    without = json.loads(run("engine", input=q).output)
    assert without["error"]["code"] == "UNKNOWN_SYMBOL"


def test_all_passes_the_file_to_each_stage(monkeypatch, tmp_path):
    import subprocess

    calls = []
    monkeypatch.setattr(subprocess, "call", lambda argv: calls.append(argv[3:]) or 0)
    out = str(tmp_path / "out")
    r = run("all", "--contracts", THREE, "--out", out)
    assert r.exit_code == 0, r.output
    assert calls == [
        ["check", "--contracts", THREE],
        ["prove", "--output", f"{out}/docs/proof-report.json", "--contracts", THREE],
        ["vectors", "--contracts", THREE, "--out", f"{out}/vectors"],
        ["diff", "--all-pairs", "--output", f"{out}/docs/venue-diff.json", "--contracts", THREE],
        ["docs", "--contracts", THREE, "--out", f"{out}/docs", "--vectors", f"{out}/vectors"],
        ["conform", "--engine", "reference", "--vectors", f"{out}/vectors"],
    ]


def test_all_with_contracts_needs_an_output_folder():
    r = run("all", "--contracts", THREE)
    assert r.exit_code == 2 and "--contracts needs --out DIR" in r.output


def test_check_judges_the_rulebook_profiles_too(spec_copy):
    spec_copy.edit("contracts.yaml", 'maintenance_amount: "50"}', 'maintenance_amount: "60"}')
    r = run("check", str(spec_copy.path))
    assert r.exit_code == 1
    assert ("error: INV-mm-continuous fails for BTCUSDT tiers 1 and 2: tier.max_notional * (tier.maintenance_margin_rate"
            " + taker_fee_rate) - tier.maintenance_amount (200) must equal tier.max_notional * "
            "(next_tier.maintenance_margin_rate + taker_fee_rate) - next_tier.maintenance_amount (190)") in r.output
    ok = run("check", str(spec_copy.path), "--contracts", THREE)  # other contracts in force: nothing to report
    assert ok.exit_code == 0, ok.output

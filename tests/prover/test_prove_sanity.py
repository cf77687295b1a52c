"""Sanity warnings (like Certora's): a proved conclusion that merely restates an assumption, and an
`--against` assumption that pins an input to a point; the text output prints what --against assumed."""

from __future__ import annotations

from pathlib import Path

from prover_support import FIXTURES, by_id, fixture, patched_spec, run_prove, run_prove_json

AGAINST = FIXTURES / "against"


def test_a_conclusion_restating_a_check_is_proved_with_a_warning(tmp_path):
    spec = patched_spec("restates-check", tmp_path)
    expect = fixture("restates-check")["expect"]
    code, report, err = run_prove_json("--spec", str(spec), "--only", "INV-amount-covered/*", "--jobs", "1")
    assert code == 0, err
    for oid in expect["warned"]:
        r = by_id(report)[oid]
        assert r["status"] == "PROVED"
        assert r["warnings"] and all("restates an assumption" in w for w in r["warnings"])
        assert all(expect["assumption"] in w and "without the action's effects" in w for w in r["warnings"])


def test_the_shipped_rulebook_warns_only_where_a_check_alone_makes_the_claim_true(shipped):
    _code, report, _out, _junit = shipped
    warned = {r["id"]: r["warnings"] for r in report["results"] if r.get("warnings")}
    # the mode lock after set_margin_mode / open_position holds because their no_position check
    # refuses whenever a position is open: the check is the whole argument, and the report says so
    assert sorted(warned) == [f"INV-mode-lock/{a}" for a in ("open_position", "set_margin_mode")]
    for oid, ws in warned.items():
        check = f"check:{oid.split('/')[1]}.no_position"
        assert len(ws) == 2 and all(check in w and "restates an assumption" in w for w in ws)
    kinds = {r["kind"] for r in report["results"]}
    assert {"transition", "preservation", "fact"} <= kinds  # the kinds the check looks at were run


def test_against_with_a_degenerate_assumption_warns_that_it_pins_the_leverage():
    path = AGAINST / "degenerate-leverage-one.yaml"
    code, report, err = run_prove_json("--against", str(path), "--contract", "BTCUSDT", "--per-contract", "--jobs", "1")
    r = by_id(report)["against/liquidation_root/BTCUSDT"]
    assert code == 0 and r["status"] == "PROVED", err  # the wrong (1 + mmr) formula agrees there...
    assert any("pins leverage to exactly 1" in w for w in r["warnings"])  # ...and the report says why
    assert "assume:against" in r["assumed"] and "position open" in r["assumed"]
    code, out, _ = run_prove("--against", str(path), "--contract", "BTCUSDT", "--per-contract", "--jobs", "1")
    assert "WARNING against/liquidation_root/BTCUSDT" in out and "pins leverage to exactly 1" in out
    assert "assuming side == 'long' and leverage == 1" in out
    assert "  assuming: " in out and "assume:against" in out


def test_against_a_general_assumption_gets_no_pin_warning():
    code, report, _ = run_prove_json("--against", str(AGAINST / "correct-long-tier1.yaml"), "--contract", "BTCUSDT",
                                     "--per-contract", "--jobs", "1")
    r = by_id(report)["against/liquidation_root/BTCUSDT"]
    assert code == 0 and r["status"] == "PROVED" and r["warnings"] == []
    assert Path(AGAINST / "correct-long-tier1.yaml").is_file()

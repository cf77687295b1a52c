"""`marginspec prove` on the shipped rulebook: every obligation PROVED, with the assumptions used."""

from __future__ import annotations

import collections

import pytest
from xml.etree import ElementTree as ET

from marginspec.rulebook import load_rulebook

from prover_support import by_id, run_prove

RB = load_rulebook()


def test_every_obligation_is_proved(shipped):
    code, report, _, _ = shipped
    assert code == 0
    statuses = collections.Counter(r["status"] for r in report["results"])
    assert statuses == {"PROVED": len(report["results"])}, [
        (r["id"], r["status"], r["message"]) for r in report["results"] if r["status"] != "PROVED"]
    assert len(report["results"]) >= 25
    assert report["summary"]["exit_code"] == 0 and report["summary"]["PROVED"] == len(report["results"])


def test_all_eight_families_and_every_kind_are_covered(shipped):
    _, report, _, _ = shipped
    family = {i.id: i.family for i in RB.invariants}
    covered = {family[inv] for r in report["results"] for inv in r["invariants"]}
    assert covered == set(range(1, 9))
    assert {i.id for i in RB.invariants} <= {inv for r in report["results"] for inv in r["invariants"]}
    kinds = {r["kind"] for r in report["results"]}
    assert kinds >= {"parameter", "fact", "parametric", "initial", "preservation", "transition", "frame",
                     "reachability", "sequence"}


def test_obligations_are_generated_per_action_contract_and_side(shipped):
    _, report, _, _ = shipped
    ids = by_id(report)
    for action in RB.actions:
        for symbol in RB.contracts:
            r = ids[f"INV-covered/{action}/{symbol}"]
            assert r["action"] == action and r["contracts"] == [symbol]
            assert [c["label"] for c in r["cases"]] == ["long", "short"]
        assert f"INV-isolation-frame/{action}" in ids
    for check in RB.checks():
        if check.origin is None:
            assert f"reach/{check.id}/BTCUSDT" in ids
    assert ids["sequence/depth-3/BTCUSDT"]["cases"][-1]["label"] == "step 3"


def test_each_proof_lists_the_assumptions_it_needed(shipped):
    _, report, _, _ = shipped
    ids = by_id(report)
    for r in report["results"]:
        assert r["seconds"] >= 0 and r["counterexample"] is None
        assert all(c["status"] == "PROVED" for c in r["cases"])
    # named after rulebook items: checks, arguments, invariant hypotheses, tier facts, parameter domains
    assert "check:reduce_margin.coverage" in ids["INV-reduce-safe/reduce_margin/BTCUSDT"]["assumptions"]
    assert "hyp:INV-covered" in ids["INV-covered/add_margin/BTCUSDT"]["assumptions"]
    assert "check:open_position.min_margin" in ids["INV-covered/open_position/BTCUSDT"]["assumptions"]
    assert "BTCUSDT.tiers[2]" in ids["INV-mm-continuous/BTCUSDT"]["assumptions"]
    parametric = ids["INV-liq-root/any-4-tiers"]["assumptions"]
    assert "hyp:INV-mm-continuous" in parametric and any(a.startswith("domain:tiers[") for a in parametric)
    assert "contract:BTCUSDT" in ids["INV-liq-safe/BTCUSDT"]["assumptions"]
    # a check that cannot matter does not appear: mode lock needs no balance check
    assert not any(a.startswith("check:add_margin") for a in ids["INV-mode-lock/add_margin/BTCUSDT"]["assumptions"])


def test_reachability_witnesses(shipped):
    _, report, _, _ = shipped
    r = by_id(report)["reach/reduce_margin.coverage/BTCUSDT"]
    cases = {c["label"]: c for c in r["cases"]}
    assert set(cases) == {"pass", "refuse"} and all(c["status"] == "PROVED" for c in cases.values())
    assert cases["refuse"]["witness"]["state"]["has_position"] is True


def test_reports_json_output_and_junit(shipped):
    _, report, written, junit = shipped
    assert [r["id"] for r in written["results"]] == [r["id"] for r in report["results"]]
    keys = {"id", "kind", "status", "seconds", "assumptions", "counterexample", "invariants"}
    assert all(keys <= set(r) for r in written["results"])
    assert written["invariants"]["INV-covered"]["status"] == "PROVED"
    assert written["invariants"]["INV-covered"]["obligations"] >= 2 * len(RB.actions)
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == str(len(report["results"])) and suite.get("failures") == "0"
    assert suite.get("errors") == "0"


def test_text_report_is_a_table():
    code, out, _ = run_prove("--only", "INV-mode-lock/*", "--contract", "BTCUSDT")
    assert code == 0
    header = out.splitlines()[0]
    for col in ("id", "kind", "status", "time", "assumptions used"):
        assert col in header
    assert "INV-mode-lock/set_margin_mode/BTCUSDT" in out and "PROVED" in out
    assert out.rstrip().endswith("(marginspec-isolated-margin 1.0.0)")


def test_parallel_and_serial_runs_agree():
    args = ("--only", "INV-conservation/*", "--contract", "ETHUSDT", "--format", "json")
    import json
    one = json.loads(run_prove("--jobs", "1", *args)[1])
    two = json.loads(run_prove("--jobs", "2", *args)[1])
    assert [(r["id"], r["status"]) for r in one["results"]] == [(r["id"], r["status"]) for r in two["results"]]
    assert one["options"]["jobs"] == 1 and two["options"]["jobs"] == 2


@pytest.mark.ci
def test_second_solver_agrees_on_every_obligation(shipped):
    """CI: cvc5 re-checks every unsat query z3 answered and agrees on each obligation; the
    obligations over symbolic tier tables are the only ones it is not asked about (said so)."""
    _, report, _, _ = shipped
    assert report["options"]["cross_check"].startswith("cvc5 ")
    checked = 0
    for r in report["results"]:
        c = r["cross_check"]
        assert c["solver"] == "cvc5"
        if r["kind"] == "parametric":
            assert c["verdict"] == "skipped" and "symbolic tier tables" in c["reason"]
            continue
        assert c["disagree"] == 0 and c["unknown"] == 0, (r["id"], c)
        assert c["verdict"] == "agree" and c["agree"] == c["queries"], (r["id"], c)
        if r["kind"] != "reachability":  # a witness is a satisfiable query: nothing to re-check
            assert c["queries"] >= 1, r["id"]
        checked += c["queries"]
    assert checked >= 400

"""`marginspec prove` on the shipped rulebook: every obligation PROVED, with the assumptions used."""

from __future__ import annotations

import collections

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
    assert kinds >= {"parameter", "lemma", "fact", "initial", "preservation", "transition", "frame",
                     "reachability", "sequence"}


def test_scopes_every_contract_and_per_contract(shipped):
    """States, actions and facts are proved once for every contract satisfying family 8; each
    contract gets only its family-8 obligations; the scope field says which is which."""
    _, report, _, _ = shipped
    family8 = {i.id for i in RB.invariants if i.family == 8}
    for r in report["results"]:
        if r["kind"] in ("fact", "initial", "preservation", "transition", "frame", "lemma"):
            assert r["scope"] == "every-contract" and r["contracts"] == [], r["id"]
            assert not any(a.startswith("contract:") for a in r["assumptions"]), r["id"]
        elif r["kind"] == "parameter":
            assert r["scope"] == f"contract:{r['contracts'][0]}" and set(r["invariants"]) <= family8
        else:  # reachability and bounded sequences: per contract, and named so
            assert r["scope"].startswith("contract:"), r["id"]
    per_contract = {r["id"] for r in report["results"] if r["kind"] == "parameter"}
    assert per_contract == {f"{i}/{c}" for i in family8 for c in RB.contracts}
    assert {r["id"] for r in report["results"] if r["kind"] == "lemma"} == {"lemma/tier-order", "lemma/mm"}


def test_obligations_are_generated_per_action_contract_and_side(shipped):
    _, report, _, _ = shipped
    ids = by_id(report)
    for action in RB.actions:
        r = ids[f"INV-covered/{action}"]
        assert r["action"] == action and r["contracts"] == [] and r["scope"] == "every-contract"
        # each side, and each maintenance basis (an enum-valued contract parameter: one case per value)
        assert [c["label"] for c in r["cases"]] == [f"{side}, maintenance_basis={basis}" for side in ("long", "short")
                                                    for basis in ("mark", "entry")]
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
    assert "check:reduce_margin.coverage" in ids["INV-reduce-safe/reduce_margin"]["assumptions"]
    assert "hyp:INV-covered" in ids["INV-covered/add_margin"]["assumptions"]
    open_covered = ids["INV-covered/open_position"]["assumptions"]
    assert "check:open_position.min_margin" in open_covered and "hyp:INV-born-safe" in open_covered
    assert "BTCUSDT.tiers[2]" in ids["INV-mm-continuous/BTCUSDT"]["assumptions"]
    general = ids["INV-liq-root"]["assumptions"]  # the tier the root falls in, by family 8 and the lemmas
    assert {"hyp:INV-mm-continuous", "def:solve_tier", "def:tier", "domain:tiers"} <= set(general)
    assert "lemma:mm" in ids["INV-liq-safe"]["assumptions"]
    assert "hyp:INV-tiers-ordered" in ids["lemma/tier-order"]["assumptions"]
    assert {"hyp:INV-mm-continuous", "induction hypothesis (i, j)"} <= set(ids["lemma/mm"]["assumptions"])


def test_a_check_that_cannot_matter_is_not_listed(shipped):
    _, report, _, _ = shipped
    ids = by_id(report)
    # a check that cannot matter does not appear: mode lock needs no balance check
    assert not any(a.startswith("check:add_margin") for a in ids["INV-mode-lock/add_margin"]["assumptions"])


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
    # once for every contract: after reset and after each action (then the bounded sequences)
    assert written["invariants"]["INV-covered"]["obligations"] >= len(RB.actions) + 1
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == str(len(report["results"])) and suite.get("failures") == "0"
    assert suite.get("errors") == "0"


def test_text_report_is_a_table():
    code, out, _ = run_prove("--only", "INV-mode-lock/*", "--contract", "BTCUSDT")
    assert code == 0
    header = out.splitlines()[0]
    for col in ("id", "kind", "status", "time", "assumptions used"):
        assert col in header
    assert "INV-mode-lock/set_margin_mode" in out and "PROVED" in out and "every-contract" in out
    assert out.rstrip().endswith("(marginspec-isolated-margin 1.0.0)")


def test_parallel_and_serial_runs_agree():
    args = ("--only", "INV-conservation/*", "--contract", "ETHUSDT", "--format", "json")
    import json
    one = json.loads(run_prove("--jobs", "1", *args)[1])
    two = json.loads(run_prove("--jobs", "2", *args)[1])
    assert [(r["id"], r["status"]) for r in one["results"]] == [(r["id"], r["status"]) for r in two["results"]]
    assert one["options"]["jobs"] == 1 and two["options"]["jobs"] == 2

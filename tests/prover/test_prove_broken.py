"""Broken rulebooks (tests/fixtures/prover/*.yaml, small edits of spec/): each VIOLATED with a
readable counterexample naming the invariant, replayed through the interpreter and written as a
conformance vector; contradictory assumptions VACUOUS; a malformed invariant an ERROR."""

from __future__ import annotations

import pytest

from marginspec.conformance.loader import load_vector_file
from marginspec.conformance.runner import run_cases
from marginspec.engine import ReferenceEngine
from marginspec.rulebook import load_rulebook

from prover_support import by_id, fixture, fixture_names, patched_spec, run_prove_json

VIOLATING = [n for n in fixture_names() if fixture(n)["expect"]["status"] == "VIOLATED"
             and not fixture(n)["expect"].get("internal")]  # runtime safety: tests/prover/test_prove_safety.py


@pytest.mark.parametrize("name", VIOLATING)
def test_broken_rulebook_is_violated_with_a_counterexample(name, tmp_path):
    spec = patched_spec(name, tmp_path)
    expect = fixture(name)["expect"]
    only = [a for oid in expect["violated"] for a in ("--only", oid)]
    code, report, err = run_prove_json("--spec", str(spec), *only, "--vectors-out", str(tmp_path / "vectors"))
    assert code == 1, err
    results = by_id(report)
    assert set(expect["violated"]) <= set(results)
    for oid in expect["violated"]:
        r = results[oid]
        assert r["status"] == "VIOLATED", (oid, r["message"])
        cx = r["counterexample"]
        assert cx["confirmed"] is True, cx
        inv = oid.split("/")[0]
        assert r["invariants"] == [inv] and cx["invariant"] == inv
        assert inv in cx["note"]
        assert cx["text"] and ("->  false" in cx["text"] or "fails" in cx["note"])
        assert "->  False" not in cx["text"] and "->  True" not in cx["text"]  # JSON's words, not Python's
        if "steps" in cx and r["kind"] != "parameter":  # a scenario from reset, replayed
            assert cx["steps"][0]["request"]["op"] in {a for a in load_rulebook(spec).actions}
            assert all(s["reply"]["ok"] for s in cx["steps"])  # every request of the scenario succeeds
            for step in cx["steps"]:
                for v in step["request"]["args"].values():
                    assert not isinstance(v, float)
    # the vectors: valid files, whose expectations the broken rulebook's engine meets
    vf = load_vector_file(tmp_path / "vectors" / "counterexamples.json")
    cases = list(vf.cases)
    assert cases and all(c.source == "counterexample" for c in cases)
    assert {expect["invariant"]} <= {rule for c in cases for rule in c.rules}
    broken = load_rulebook(spec)
    assert run_cases(lambda: ReferenceEngine(broken), cases).failed == 0
    if all(e["file"] != "contracts.yaml" for e in fixture(name)["edits"]):
        # a rule changed: the shipped rulebook's engine answers differently somewhere
        assert run_cases(lambda: ReferenceEngine(load_rulebook()), cases).failed >= 1


def test_rounded_down_liquidation_price_counterexample_reads_well(tmp_path):
    spec = patched_spec("long-liq-rounded-down", tmp_path)
    code, report, _ = run_prove_json("--spec", str(spec), "--only", "INV-liq-safe")
    r = by_id(report)["INV-liq-safe"]
    cx = r["counterexample"]
    values = cx["values"]
    # the general obligation is refuted on a concrete contract, replayed from reset
    assert r["scope"] == "every-contract" and cx["contract"] == "BTCUSDT" and "BTCUSDT" in cx["note"]
    assert cx["case"] == "long, maintenance_basis=mark"  # the side, and the basis of the case
    # the named intermediate values: the state, and the state at the safe-side mark
    for name in ("notional", "equity", "maintenance_margin", "liquidation_root", "liquidation_price"):
        assert name in values["state"] and name in values["in that state"]
    from fractions import Fraction
    p = Fraction(values["with"]["mark_price"])
    assert p > Fraction(values["state"]["liquidation_price"])  # strictly on the safe side
    assert values["in that state"]["liquidatable"] is True  # and yet liquidatable
    # small numbers, on the grids: size in lots, money in money steps
    args = {k: v for s in cx["steps"] for k, v in s["request"]["args"].items()}
    assert Fraction(args["size"]) <= 100 and Fraction(args["margin"]) * 10_000 % 1 == 0


def test_tier_gap_names_the_tiers(tmp_path):
    spec = patched_spec("tier-gap", tmp_path)
    code, report, _ = run_prove_json("--spec", str(spec), "--only", "INV-mm-continuous/BTCUSDT",
                                     "--vectors-out", str(tmp_path / "v"))
    r = by_id(report)["INV-mm-continuous/BTCUSDT"]
    assert code == 1 and r["status"] == "VIOLATED"
    values = r["counterexample"]["values"]
    # tier 2's maintenance amount moved: both of its boundaries break
    assert values["failing"] == ["tier 1 and tier 2", "tier 2 and tier 3"]
    # each failing pair says why with the formula's two sides as the rulebook computes them (as
    # `check` does; the design changed: they were 'tier k gives' values from a formula of their own)
    sides = ("tier.max_notional * (tier.maintenance_margin_rate + taker_fee_rate) - tier.maintenance_amount ({}) "
             "must equal tier.max_notional * (next_tier.maintenance_margin_rate + taker_fee_rate) - "
             "next_tier.maintenance_amount ({})")
    assert values["why (tier 1 and tier 2)"] == sides.format("200", "190")
    assert values["why (tier 2 and tier 3)"] == sides.format("1190", "1200")


def test_parameter_counterexamples_on_the_entry_basis_with_a_fee(tmp_path):
    """Tiers out of order on a contract with a taker fee and the entry maintenance basis: VIOLATED
    with values that include the fee (the rulebook's formula), not ERROR (the counterexample's
    maintenance margin was computed on the mark notional, which a parameter has no value for)."""
    import json

    from marginspec.engine import contract_json
    from marginspec.rulebook import load_rulebook

    c = contract_json(load_rulebook().contracts["BTCUSDT"])
    c.update(taker_fee_rate="0.0005", maintenance_basis="entry")
    c["tiers"][2], c["tiers"][3] = c["tiers"][3], c["tiers"][2]
    (tmp_path / "order.json").write_text(json.dumps({"BTCUSDT": c}), encoding="utf-8")
    code, report, _ = run_prove_json("--contracts", str(tmp_path / "order.json"), "--kind", "parameter")
    r = by_id(report)
    assert code == 1
    assert {k: r[f"{k}/BTCUSDT"]["status"] for k in ("INV-tiers-ordered", "INV-born-safe", "INV-mm-continuous",
                                                    "INV-mm-monotone")} == {
        "INV-tiers-ordered": "VIOLATED", "INV-born-safe": "PROVED", "INV-mm-continuous": "VIOLATED",
        "INV-mm-monotone": "VIOLATED"}
    cont = r["INV-mm-continuous/BTCUSDT"]["counterexample"]["values"]
    assert cont["failing"] == ["tier 2 and tier 3", "tier 3 and tier 4"]
    assert cont["why (tier 2 and tier 3)"].endswith("(1325) must equal tier.max_notional * (next_tier."
                                                    "maintenance_margin_rate + taker_fee_rate) - next_tier."
                                                    "maintenance_amount (-9925)")  # 250000 * 0.0055 - 50
    mono = r["INV-mm-monotone/BTCUSDT"]["counterexample"]
    assert mono["confirmed"] is True and " must be at most " in mono["values"]["why"]


def test_contradictory_assumptions_are_vacuous(tmp_path):
    spec = patched_spec("contradictory-assumptions", tmp_path)
    expect = fixture("contradictory-assumptions")["expect"]
    code, report, _ = run_prove_json("--spec", str(spec), "--contract", "BTCUSDT", "--only", "*add_margin*")
    assert code == 1
    results = by_id(report)
    for oid in expect["vacuous"]:
        assert results[oid]["status"] == "VACUOUS"
        assert "arg:add_margin.amount" in results[oid]["message"]
        assert results[oid]["counterexample"] is None
    # and the reachability check says why: no add_margin request can pass its checks
    reach = results["reach/add_margin.balance/BTCUSDT"]
    assert reach["status"] == "VIOLATED" and "arg:add_margin.amount" in reach["message"]


def test_a_vacuity_core_is_decided_by_work_limits_not_the_clock(tmp_path, monkeypatch):
    """No solver attempt behind the contradictory fixture's INV-isolation-frame/add_margin is cut by
    the clock. One of its vacuity core's deletion attempts ran past its work limit in Z3's Groebner
    step (which counts no work) until the wall-clock safety net cut it (nlsat then answered, so only
    the time showed: a minute); the deletion attempts run without that step (solving.NO_GROBNER).
    Here the safety net is 20 s, a hundred times what the attempts need."""
    import marginspec.solving as solving
    from marginspec.prover import Prover

    rb = load_rulebook(patched_spec("contradictory-assumptions", tmp_path))
    cut = []
    real = solving._Tracked.check

    def recorded(self, names, rlimit=None):
        r, core = real(self, names, rlimit)
        if str(r) == "unknown":
            cut.append(self.s.reason_unknown())
        return r, core

    monkeypatch.setattr(solving._Tracked, "check", recorded)
    p = Prover(rb, timeout=20, contracts=["BTCUSDT"])
    ob = next(o for o in p.obligations() if o.id == "INV-isolation-frame/add_margin")
    r = p.run(ob)
    assert r.status == "VACUOUS" and "arg:add_margin.amount" in r.message
    assert not [why for why in cut if "resource" not in why], cut


def test_a_malformed_invariant_is_an_error(tmp_path):
    spec = patched_spec("formula-unit-error", tmp_path)
    code, report, _ = run_prove_json("--spec", str(spec), "--only", "INV-covered*", "--contract", "BTCUSDT")
    assert code == 2
    r = by_id(report)["INV-covered/formal"]
    assert r["status"] == "ERROR"
    assert "invariants.yaml:" in r["message"] and "do not mix" in r["message"] or "mismatch" in r["message"]


def test_a_violation_in_one_maintenance_basis_is_shown_on_a_contract_of_that_case(tmp_path):
    """The every-contract proofs split the maintenance basis into cases; a bug only on the entry
    basis is refuted on a contract of that case (the first profile with maintenance_basis entry),
    replayed by the interpreter, while the mark-basis cases stay proved."""
    spec = patched_spec("entry-basis-root", tmp_path)
    code, report, _ = run_prove_json("--spec", str(spec), "--only", "INV-liq-root")
    r = by_id(report)["INV-liq-root"]
    assert code == 1 and r["status"] == "VIOLATED" and r["scope"] == "every-contract"
    cases = {c["label"]: c["status"] for c in r["cases"]}
    assert cases["long, maintenance_basis=mark"] == "PROVED" and cases["short, maintenance_basis=mark"] == "PROVED"
    assert "VIOLATED" in {cases["long, maintenance_basis=entry"], cases["short, maintenance_basis=entry"]}
    cx = r["counterexample"]
    assert cx["confirmed"] is True and cx["contract"] == "BTCUSDT-entry"
    group = cx["vector"]["group"]
    assert group["contracts"]["BTCUSDT-entry"]["maintenance_basis"] == "entry"

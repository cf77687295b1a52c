"""The loss cap's cumulative statement by induction over ghost totals (runs of any length): proved
for the shipped rulebook with the ghost hypothesis, violated with a replayed run for a broken one."""

from __future__ import annotations

from prover_support import by_id, fixture, patched_spec, run_prove_json


def test_the_cumulative_loss_cap_is_proved_by_induction_for_every_action(shipped):
    _code, report, _out, _junit = shipped
    ind = {r["id"]: r for r in report["results"] if r["kind"] == "cumulative"}
    from marginspec.rulebook import load_rulebook
    rb = load_rulebook()
    expected = {f"INV-loss-cap/induction/{a}/{c}" for a in ["reset", *rb.actions] for c in rb.contracts}
    assert set(ind) == expected
    assert all(r["status"] == "PROVED" and r["invariants"] == ["INV-loss-cap"] for r in ind.values())
    # every induction step rests on the cumulative statement in the state before (the ghost hypothesis)
    for oid, r in ind.items():
        if "/induction/reset/" not in oid:
            assert "hyp:INV-loss-cap (cumulative)" in r["assumptions"], oid


def test_a_balance_leak_violates_the_induction_step_with_a_replayed_run(tmp_path):
    spec = patched_spec("reduce-debits-balance", tmp_path)
    (oid,) = fixture("reduce-debits-balance")["expect"]["induction_violated"]
    code, report, err = run_prove_json("--spec", str(spec), "--only", oid, "--jobs", "1")
    assert code == 1, err
    r = by_id(report)[oid]
    assert r["status"] == "VIOLATED" and r["kind"] == "cumulative"
    cx = r["counterexample"]
    assert cx["confirmed"] is True
    assert cx["steps"][-1]["request"]["op"] == "reduce_margin" and all(s["reply"]["ok"] for s in cx["steps"])
    assert "total.moved_in  ->  false" in cx["text"]  # JSON's word (was Python's False)

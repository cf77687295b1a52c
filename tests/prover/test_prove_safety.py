"""Runtime safety: rulebook bugs that make the reference engine answer INTERNAL (fixtures with
`expect.internal`) are VIOLATED, and the printed request sequence really gets INTERNAL from the
reference engine of the broken rulebook; the shipped rulebook's safety obligations are PROVED."""

from __future__ import annotations

import pytest

from marginspec.engine import ReferenceEngine
from marginspec.rulebook import load_rulebook

from prover_support import by_id, fixture, fixture_names, patched_spec, run_prove_json

INTERNAL = [n for n in fixture_names() if fixture(n)["expect"].get("internal")]


def test_the_two_internal_bugs_have_fixtures():
    assert {"set-leverage-and-swapped", "query-minimum-margin", "add-margin-stores-thirds"} <= set(INTERNAL)


@pytest.mark.parametrize("name", INTERNAL)
def test_internal_bug_is_violated_and_replays_to_internal(name, tmp_path):
    spec = patched_spec(name, tmp_path)
    expect = fixture(name)["expect"]
    only = [a for oid in expect["violated"] for a in ("--only", oid)]
    code, report, err = run_prove_json("--spec", str(spec), *only, "--jobs", "1")
    assert code == 1, err
    results = by_id(report)
    for oid in expect["violated"]:
        r = results[oid]
        assert r["status"] == "VIOLATED" and r["kind"] == "safety", (oid, r["message"])
        cx = r["counterexample"]
        assert cx["confirmed"] is True and cx["case"] == expect["case"], cx
        assert "INTERNAL" in cx["note"] and "INTERNAL" in cx["text"]
        steps = cx["steps"]
        stored = expect.get("stored")
        if stored:  # the step stores a value with no decimal form; the next query cannot report it
            assert all(s["reply"]["ok"] for s in steps)
            assert stored in cx["values"]["stored without a decimal form"]
            assert cx["values"]["next query"]["error"]["code"] == "INTERNAL"
            steps = steps + [{"request": {"op": "query", "args": {"symbol": steps[-1]["request"]["args"]["symbol"]}}}]
        else:
            assert steps[-1]["reply"]["error"]["code"] == "INTERNAL"
            assert all(s["reply"]["ok"] for s in steps[:-1])  # a valid, accepted scenario up to the last request
        assert "vector" not in cx  # no conformance vector expects INTERNAL
        # the printed requests, replayed by hand through the broken rulebook's engine
        eng = ReferenceEngine(load_rulebook(spec))
        symbols = {s["request"]["args"]["symbol"] for s in steps}
        from marginspec.prover import contract_json
        rb = load_rulebook(spec)
        assert eng.handle({"id": 0, "op": "reset", "args": {"contracts": {s: contract_json(rb, s) for s in symbols},
                                                              "available_balance": cx["balance"]}})["ok"]
        replies = [eng.handle({"id": i, **s["request"]}) for i, s in enumerate(steps, 1)]
        assert replies[-1]["ok"] is False and replies[-1]["error"]["code"] == "INTERNAL"
        assert all(rep["ok"] for rep in replies[:-1])
        # and the shipped rulebook answers the same requests without INTERNAL
        good = ReferenceEngine(load_rulebook())
        good.handle({"id": 0, "op": "reset", "args": {"contracts": {s: contract_json(rb, s) for s in symbols},
                                                       "available_balance": cx["balance"]}})
        for i, s in enumerate(steps, 1):
            rep = good.handle({"id": i, **s["request"]})
            assert rep["ok"] or rep["error"]["code"] != "INTERNAL"


def test_the_shipped_rulebook_is_runtime_safe():
    code, report, err = run_prove_json("--only", "safety/*", "--jobs", "1")
    assert code == 0, err
    results = report["results"]
    rb = load_rulebook()
    assert {r["id"] for r in results} == {f"safety/{a}/{c}" for a in rb.actions for c in rb.contracts}
    assert all(r["status"] == "PROVED" and [c["label"] for c in r["cases"]] == ["evaluation", "decimal"]
               for r in results)

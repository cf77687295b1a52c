"""The prover's counterexamples become cases of counterexamples.json (source "counterexample")."""

from __future__ import annotations

import json

from marginspec.vectors import generate
from marginspec.vectors.cases import profile_contracts


def test_counterexample_file_becomes_vectors(tmp_path, rb):
    contracts = dict(profile_contracts(rb, ["BTCUSDT"]))
    steps = [{"request": {"op": "set_mark_price", "args": {"symbol": "BTCUSDT", "price": "50000"}}, "expect": {"ok": True}},
             {"request": {"op": "open_position", "args": {"symbol": "BTCUSDT", "side": "long", "size": "1000",
                                                          "margin": "400"}}, "expect": {"ok": True}},
             {"request": {"op": "query", "args": {"symbol": "BTCUSDT"}}, "expect": {"ok": True}}]
    doc = {"schema": "marginspec-vectors/1", "rulebook": {"name": rb.name, "version": rb.version}, "file": "counterexamples",
           "description": "x", "flags": {}, "number_of_cases": 1,
           "groups": [{"title": "counterexample to INV-born-safe", "contracts": contracts, "available_balance": "10000",
                       "cases": [{"id": "cx-1", "title": "counterexample to INV-born-safe", "rules": ["INV-born-safe"],
                                  "flags": [], "level": "MUST", "source": "counterexample", "steps": steps}]}]}
    path = tmp_path / "counterexamples.json"
    path.write_text(json.dumps(doc))
    gen = generate(rb, only=["counterexamples"], counterexample_files=[path])
    out = gen.documents["counterexamples"]
    case = out["groups"][0]["cases"][0]
    assert case["source"] == "counterexample" and case["flags"] == ["ProofCounterexample"]
    assert "INV-born-safe" in case["rules"] and case["id"].startswith("cex-")
    assert case["steps"][2]["expect"]["result"]["position"]["leverage"] == "125"


def test_no_counterexample_file_no_counterexample_vectors(rb):
    assert generate(rb, only=["counterexamples"]).documents == {}

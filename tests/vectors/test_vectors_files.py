"""The committed vectors: valid against the schema, passed by the reference engine, honest metadata."""

from __future__ import annotations

from marginspec.conformance.loader import load_vectors, validate_document
from marginspec.engine import ReferenceEngine
from marginspec.vectors.mutants import first_failure, prepare

from vectors_support import VECTORS

EXPECTED_FILES = {"known_answers", "boundaries", "liquidation", "errors", "traces", "mutants"}


def test_every_vector_file_validates_against_the_schema(committed):
    assert EXPECTED_FILES <= set(committed)
    for stem, doc in committed.items():
        validate_document(doc, stem)
    files = load_vectors([VECTORS])  # the loader's own checks: ids unique over all files, flags declared
    assert sum(len(f.cases) for f in files) == sum(d["number_of_cases"] for d in committed.values())


def test_reference_engine_passes_every_vector_in_process(rb, committed):
    engine = ReferenceEngine(rb)
    failures = {}
    for case in prepare(list(committed.values())):
        how = first_failure(engine, case)
        if how:
            failures[case.id] = how
    assert not failures


def test_reference_engine_passes_through_the_runner(committed):
    from marginspec.conformance.runner import run_cases

    cases = [c for f in load_vectors([VECTORS]) for c in f.cases]
    run = run_cases("reference", cases)
    assert run.failed == 0 and run.skipped == 0 and run.passed == len(cases)


def test_flags_come_from_spec_flags_yaml(rb, committed):
    table = {f.name: {"meaning": f.meaning, "if_wrong": f.if_wrong} for f in rb.flags}
    for stem, doc in committed.items():
        used = {fl for g in doc["groups"] for c in g["cases"] for fl in c["flags"]}
        assert set(doc["flags"]) == used, stem
        for name, entry in doc["flags"].items():
            assert entry == table[name], (stem, name)


def test_rules_are_rulebook_ids_and_sources_match_files(rb, committed):
    ids = rb.rule_ids()
    source_of = {"known_answers": "known_answer", "boundaries": "boundary", "liquidation": "boundary",
                 "errors": "error", "traces": "trace", "counterexamples": "counterexample", "mutants": "mutant",
                 "venues": "venue"}
    for stem, doc in committed.items():
        for g in doc["groups"]:
            for c in g["cases"]:
                assert set(c["rules"]) <= ids, (c["id"], set(c["rules"]) - ids)
                assert c["source"] == source_of[stem]
                assert c["id"].split("-")[0] in ("ka", "bnd", "err", "trc", "cex", "mut", "ven")


def test_every_tier_and_side_appears_in_every_file_of_boundaries(rb, committed):
    """Both sides of every contract profile are opened by the boundary files."""
    seen = set()
    for stem in ("boundaries", "liquidation"):
        for g in committed[stem]["groups"]:
            for c in g["cases"]:
                for s in c["steps"]:
                    r = s["request"]
                    if r["op"] == "query" and s["expect"]["ok"] and s["expect"]["result"].get("position"):
                        p = s["expect"]["result"]["position"]
                        seen.add((r["args"]["symbol"], p["side"]))
    assert {(s, side) for s in rb.contracts for side in ("long", "short")} <= seen

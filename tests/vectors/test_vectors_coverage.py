"""Coverage: every rule, check outcome, error code, tier and side covered by some case; nothing at zero."""

from __future__ import annotations

import json

from marginspec.vectors import coverage

from vectors_support import COVERAGE


def test_nothing_at_zero(rb, committed):
    cov = coverage.measure(rb, committed.values())
    assert cov.zeros() == []
    for kind in ("action", "check", "common_check", "derived", "liquidation", "error", "tier", "invariant", "source"):
        assert cov.counts[kind], kind
    # both outcomes of every check, except the ones proved unreachable
    for c in rb.checks():
        for outcome in ("pass", "fail"):
            item = f"{c.id}:{outcome}"
            assert cov.counts["check"][item] > 0 or f"check:{item}" in cov.excused, item
    assert set(cov.counts["error"]) == set(rb.errors) and all(cov.counts["error"].values())
    assert all(cov.counts["tier"].values()) and len(cov.counts["tier"]) == sum(
        2 * len(c.tiers) for c in rb.contracts.values())


def test_excused_outcomes_are_exactly_the_unreachable_ones(rb, committed):
    cov = coverage.measure(rb, committed.values())
    unreachable = {k for k, why in cov.excused.items() if why.startswith("unreachable")}
    assert unreachable == {"check:set_leverage.add.position:fail", "check:set_leverage.reduce.position:fail",
                           "check:set_leverage.reduce.max_leverage:fail"}
    for k in unreachable:
        assert "Z3: unsat" in cov.excused[k]


def test_unreachability_proof_is_not_vacuous(rb):
    """The same Z3 question answers 'reachable' for outcomes that do happen."""
    from marginspec.vectors.unreachable import unreachable_outcomes

    assert unreachable_outcomes(rb, ["reduce_margin.max_leverage:fail", "set_leverage.reduce.coverage:fail",
                                     "set_leverage.add.balance:fail"]) == {}


def test_a_gap_shows_as_zero(rb, committed):
    only_ka = [committed["known_answers"]]
    cov = coverage.measure(rb, only_ka, prove_unreachable=False)
    assert "error:MODE_LOCKED" in cov.zeros()
    assert "check:reduce_margin.coverage:fail" in cov.zeros()


def test_committed_coverage_file_matches(rb, committed):
    cov = coverage.measure(rb, committed.values())
    assert json.loads(COVERAGE.read_text(encoding="utf-8")) == cov.to_json()
    assert coverage.dumps(cov) == COVERAGE.read_bytes()

"""Mutation adequacy: every non-equivalent mutant of the rulebook is caught by some vector.

The full run is `marginspec vectors --mutants` (every mutant); this test runs a fixed third of
them (every third in the stable enumeration order) plus every mutant the full run finds
equivalent, and asks Z3 about each survivor.
"""

from __future__ import annotations

from collections import Counter

import pytest

from marginspec.vectors import adequacy, mutants
from marginspec.vectors.equivalence import decide


@pytest.fixture(scope="module")
def all_mutants(rb):
    return mutants.enumerate_mutants(rb)


def test_at_least_100_mutants_of_every_required_kind(all_mutants):
    cats = Counter(m.category for m in all_mutants)
    assert len(all_mutants) >= 100
    for c in ("operator", "constant", "comparison", "rounding", "check_order", "side_sign", "logic"):
        assert cats[c] > 0, c
    assert len({m.id for m in all_mutants}) == len(all_mutants)


def test_mutant_ids_are_stable(rb, all_mutants):
    again = mutants.enumerate_mutants(rb)
    assert [m.id for m in again] == [m.id for m in all_mutants]


def test_every_non_equivalent_mutant_is_caught(rb, committed, all_mutants):
    subset = all_mutants[::3]
    a = adequacy.analyse(rb, list(committed.values()), subset, jobs=2)
    assert a.total == len(subset)
    assert a.surviving == [], adequacy.text_report(a)
    assert len(a.caught) > len(subset) // 2


def test_equivalent_mutants_are_proved_and_killed_ones_are_not(rb, all_mutants):
    by_id = {m.id: m for m in all_mutants}
    # set_leverage inlines add_margin.position under `when: has_position and ...`: it cannot fail
    eq = next(m for m in all_mutants if m.description.startswith("set_leverage: check set_leverage.add.position removed"))
    assert decide(rb, eq).status == "equivalent"
    # the liquidation trigger `equity <= maintenance_margin` -> `<` is a real (and caught) fault
    lt = next(m for m in all_mutants if m.location == "derived.liquidatable" and "<= -> < " in m.description)
    v = decide(rb, lt)
    assert v.status == "different" and v.detail
    assert by_id[lt.id] is lt


def test_weaker_vectors_leave_survivors(rb, committed, all_mutants):
    """The check can fail: without the liquidation and boundary files, mutants of the liquidation
    trigger survive and Z3 does not call them equivalent."""
    picked = [m for m in all_mutants if m.location in ("derived.liquidatable", "liquidation.let.fill_price")]
    a = adequacy.analyse(rb, [committed["known_answers"], committed["errors"]], picked, jobs=1)
    assert not a.ok
    survivors = {r.mutant.location for r in a.surviving}
    assert "derived.liquidatable" in survivors
    for r in a.surviving:
        assert a.verdicts[r.mutant.id].status != "equivalent"
    full = adequacy.analyse(rb, list(committed.values()), picked, jobs=1)
    assert full.ok


def test_a_mutant_changes_the_engine(rb, committed, all_mutants):
    from marginspec.engine import ReferenceEngine
    from marginspec.vectors.mutants import first_failure, prepare

    m = next(m for m in all_mutants if m.location == "liquidation.let.fill_price" and m.category == "rounding")
    cases = prepare([committed["known_answers"]])
    assert all(first_failure(ReferenceEngine(rb), c) is None for c in cases)
    assert any(first_failure(ReferenceEngine(m.build(rb)), c) for c in cases)

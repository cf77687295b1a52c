"""Properties: the marked JSON reader agrees with the json module and marks the right characters;
derived maintenance amounts always make a well-formed contract, and moving one amount breaks
continuity at that tier."""

from __future__ import annotations

import json
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marginspec.jsonmarks import load_json_text
from marginspec.rulebook import Contract
from marginspec.tiers_import import derive_amounts
from marginspec.wellformed import ContractChecks

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
_json = st.recursive(_scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                      st.dictionaries(st.text(max_size=6), kids, max_size=4)),
                     max_leaves=20)


def _plain(v):
    """Marked values back to what json.loads gives (numbers from their literal text)."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, str) and getattr(v, "style", "") is None:
        return json.loads(str(v))
    return str(v) if isinstance(v, str) else v


@given(_json, st.sampled_from([None, 1, 2]))
@settings(max_examples=150, deadline=None)
def test_the_marked_reader_reads_what_json_reads(value, indent):
    text = json.dumps(value, indent=indent)
    marked = load_json_text(text, "x.json")
    assert _plain(marked) == json.loads(text)
    lines = text.split("\n")

    def check_marks(v):
        if isinstance(v, dict):
            for k, x in v.items():
                m = v.key_marks[k]
                assert lines[m.line - 1][m.col - 1] == '"'
                check_marks(x)
        elif isinstance(v, list):
            assert lines[v.mark.line - 1][v.mark.col - 1] == "["
            for x in v:
                check_marks(x)
        elif isinstance(v, str):
            m = v.mark
            first = lines[m.line - 1][m.col - 1]
            assert first == '"' if v.style == '"' else first in "-0123456789"

    check_marks(marked)


_LADDER = [(125, "0.004"), (100, "0.005"), (75, "0.0065"), (50, "0.01"), (25, "0.02"), (20, "0.025"), (10, "0.05"),
           (5, "0.1"), (4, "0.125"), (3, "0.15"), (2, "0.25"), (1, "0.5")]


@st.composite
def _tier_tables(draw):
    rungs = sorted(draw(st.sets(st.integers(0, len(_LADDER) - 1), min_size=1, max_size=12)))
    caps = sorted(draw(st.sets(st.integers(1, 10**9), min_size=len(rungs), max_size=len(rungs))))
    return [{"max_notional": Fraction(c), "maintenance_margin_rate": Fraction(_LADDER[r][1]),
             "max_leverage": Fraction(_LADDER[r][0])} for c, r in zip(caps, rungs)]


def _contract(tiers, amounts) -> Contract:
    params = {"contract_multiplier": Fraction(1), "tick_size": Fraction(1, 10), "lot_size": Fraction(1),
              "money_step": Fraction(1, 10000), "liquidation_buffer_rate": Fraction(5, 1000),
              "taker_fee_rate": Fraction(0), "maintenance_basis": "mark"}
    return Contract("P", params, tuple({**t, "maintenance_amount": a} for t, a in zip(tiers, amounts)))


@given(_tier_tables(), st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_derived_amounts_are_well_formed_and_a_moved_amount_is_not(rulebook, tiers, data):
    checks = ContractChecks(rulebook)
    amounts = derive_amounts(tiers)
    assert checks.problems(_contract(tiers, amounts)) == []
    if len(tiers) > 1:
        k = data.draw(st.integers(1, len(tiers) - 1))
        moved = list(amounts)
        moved[k] += data.draw(st.sampled_from([Fraction(1, 100), Fraction(1), Fraction(500)]))
        found = checks.breaches(_contract(tiers, moved))
        assert any(b.invariant == "INV-mm-continuous" and b.tier == k for b in found), found

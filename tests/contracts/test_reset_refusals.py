"""`reset` refuses a contract that breaks a parameter invariant (family 8), naming the invariant and
the tier, and keeps the previous state: one test per invariant."""

from __future__ import annotations

import copy

import pytest

from marginspec.engine import ReferenceEngine
from marginspec import wellformed
from marginspec.wellformed import ContractChecks
from tests.support import Client, contract_json


def _broken(rulebook, edit) -> dict:
    c = copy.deepcopy(contract_json(rulebook, "BTCUSDT"))
    edit(c["tiers"])
    return c


def _swap_first_two(t):
    t[0], t[1] = t[1], t[0]


def _leverage_250(t):
    t[0]["max_leverage"] = "250"  # 1/250 = 0.004 = the tier's maintenance margin rate


def _amount_gap(t):
    t[1]["maintenance_amount"] = "60"  # tier 1 gives 200 at 50000, tier 2 gives 190


def _falling(t):
    # tier 2's maintenance margin at 50000 (0.005 * 50000 - 100 = 150) is below tier 1's (200):
    # maintenance margin falls as the notional crosses into tier 2
    t[1]["maintenance_amount"] = "100"


CASES = {
    "INV-tiers-ordered": (_swap_first_two, "tiers 1 and 2",
                          "tier.max_notional (250000) must be below next_tier.max_notional (50000)"),
    "INV-born-safe": (_leverage_250, "tier 1",
                      "1 / max_leverage (0.004) must exceed maintenance_margin_rate + taker_fee_rate (0.004)"),
    "INV-mm-continuous": (_amount_gap, "tiers 1 and 2",
                          "tier.max_notional * (tier.maintenance_margin_rate + taker_fee_rate) - "
                          "tier.maintenance_amount (200) must equal tier.max_notional * "
                          "(next_tier.maintenance_margin_rate + taker_fee_rate) - next_tier.maintenance_amount (190)"),
    "INV-mm-monotone": (_falling, "tiers 1 and 2", " (tier 1), y = "),
}


def test_every_parameter_invariant_has_a_refusal_case(rulebook):
    assert sorted(ContractChecks(rulebook).invariant_ids) == sorted(CASES)


@pytest.mark.parametrize("inv", sorted(CASES))
def test_reset_refuses_a_contract_breaking(rulebook, inv):
    edit, where, detail = CASES[inv]
    c = Client(ReferenceEngine(rulebook))
    c.ok("reset", contracts={"BTCUSDT": contract_json(rulebook, "BTCUSDT")}, available_balance="10000")
    c.ok("set_mark_price", symbol="BTCUSDT", price="50000")
    c.ok("open_position", symbol="BTCUSDT", side="long", size="100", margin="1000")
    before = c.query()
    reply = c.call("reset", contracts={"BTCUSDT": _broken(rulebook, edit)}, available_balance="5")
    assert reply["ok"] is False
    assert reply["error"]["code"] == "INVALID_ARGUMENT"
    message = reply["error"]["message"]
    assert f"{inv} fails for BTCUSDT {where}: " in message
    assert detail in message
    assert c.query() == before  # the previous state is kept
    assert before["position"]["size"] == "100" and before["mark_price"] == "50000"


def test_the_monotone_witness_is_confirmed_by_exact_values(rulebook):
    from dataclasses import replace
    from fractions import Fraction

    base = rulebook.contracts["BTCUSDT"]
    tiers = [dict(t) for t in base.tiers]
    tiers[1]["maintenance_amount"] = Fraction(100)
    found = {b.invariant: b for b in ContractChecks(rulebook).breaches(replace(base, tiers=tuple(tiers)))}
    assert sorted(found) == ["INV-mm-continuous", "INV-mm-monotone"]
    mono = found["INV-mm-monotone"]
    assert mono.tier == 1 and mono.where == "tiers 1 and 2"
    # the witness: two notionals x <= y, x in tier 1 and y in tier 2, where maintenance margin falls
    import re

    m = re.fullmatch(r"with x = (\S+) \(tier 1\), y = (\S+) \(tier 2\), x \* \(tier\(x\)\.maintenance_margin_rate \+ "
                     r"taker_fee_rate\) - tier\(x\)\.maintenance_amount \((\S+)\) must be at most "
                     r"y \* \(tier\(y\)\.maintenance_margin_rate \+ taker_fee_rate\) - "
                     r"tier\(y\)\.maintenance_amount \((\S+)\)", mono.detail)
    assert m, mono.detail
    x, y, mx, my = (Fraction(v) for v in m.groups())
    assert 0 <= x <= 50000 < y <= 250000 and mx > my
    assert mx == x * Fraction("0.004") and my == y * Fraction("0.005") - 100


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_the_shipped_profiles_are_well_formed(rulebook, symbol):
    assert ContractChecks(rulebook).problems(rulebook.contracts[symbol]) == []


def test_a_domain_problem_is_reported_before_the_invariants(rulebook):
    c = Client(ReferenceEngine(rulebook))
    bad = _broken(rulebook, lambda t: t[0].update(max_leverage="0.5"))  # max_leverage >= 1 fails
    reply = c.call("reset", contracts={"BTCUSDT": bad}, available_balance="1")
    assert reply["error"]["code"] == "INVALID_ARGUMENT"
    assert reply["error"]["message"] == "contract BTCUSDT: tier 1: max_leverage fails its domain"


def test_the_witness_does_not_depend_on_what_was_solved_before(rulebook):
    """The quantified invariant is solved in a fresh Z3 context: the same contract gets the same
    message in a fresh engine and after other contracts were judged."""
    wellformed._DECIDED.clear()
    first = Client(ReferenceEngine(rulebook)).call("reset", contracts={"BTCUSDT": _broken(rulebook, _falling)},
                                                  available_balance="1")["error"]["message"]
    busy = Client(ReferenceEngine(rulebook))
    for edit in (_amount_gap, _swap_first_two, lambda t: t[2].update(maintenance_amount="1200")):
        busy.call("reset", contracts={"BTCUSDT": _broken(rulebook, edit)}, available_balance="1")
    wellformed._DECIDED.clear()  # decide again, after the others, not from the cache
    again = busy.call("reset", contracts={"BTCUSDT": _broken(rulebook, _falling)}, available_balance="1")
    assert again["error"]["message"] == first


def _refusal_vectors(rulebook, path) -> None:
    """A vector file with one case per parameter invariant: a reset with a contract breaking it is
    refused and the state before is kept (the form the generated vectors can take)."""
    import json

    shipped = {s: contract_json(rulebook, s) for s in rulebook.contracts}
    cases = []
    for inv, (edit, _, _) in sorted(CASES.items()):
        cases.append({
            "id": f"refuse-{inv}", "title": f"reset refuses a contract breaking {inv}", "rules": [inv],
            "flags": [], "level": "MUST", "source": "error",
            "steps": [
                {"request": {"op": "set_mark_price", "args": {"symbol": "BTCUSDT", "price": "50000"}},
                 "expect": {"ok": True, "result": {"liquidated": False}}},
                {"request": {"op": "reset", "args": {"contracts": {"BTCUSDT": _broken(rulebook, edit)},
                                                     "available_balance": "5"}},
                 "expect": {"ok": False, "error": "INVALID_ARGUMENT"}},
                {"request": {"op": "query", "args": {"symbol": "BTCUSDT"}},
                 "expect": {"ok": True, "result": {"mark_price": "50000", "available_balance": "10000"}}},
            ]})
    doc = {"schema": "marginspec-vectors/1", "rulebook": {"name": rulebook.name, "version": rulebook.version},
           "file": path.stem, "description": "reset refusals", "flags": {}, "number_of_cases": len(cases),
           "groups": [{"title": "shipped profiles", "contracts": shipped, "available_balance": "10000",
                       "cases": cases}]}
    path.write_text(json.dumps(doc, indent=1))


def test_refusal_vectors_pass_the_reference_and_catch_an_engine_that_accepts(rulebook, tmp_path):
    from marginspec.conformance.loader import load_vector_file
    from marginspec.conformance.runner import run_cases

    path = tmp_path / "refusals.json"
    _refusal_vectors(rulebook, path)
    cases = list(load_vector_file(path).cases)
    assert len(cases) == len(CASES)
    assert run_cases(lambda: ReferenceEngine(rulebook), cases).failed == 0

    class Lenient(ReferenceEngine):  # checks the domains only, as reset did before
        def __init__(self, rb):
            super().__init__(rb)
            self.checks.problems = self.checks.domain_problems

    assert run_cases(lambda: Lenient(rulebook), cases).failed == len(CASES)

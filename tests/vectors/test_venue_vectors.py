"""Vectors per venue (model/vectors/venue_cases.py): they pin each venue parameter, so an engine that
ignores the taker fee, or keys maintenance on the mark instead of the entry, fails them."""

from __future__ import annotations

from fractions import Fraction

import pytest

from marginspec.engine import ReferenceEngine
from marginspec.rulebook import Contract, load_rulebook
from marginspec.vectors import generate
from marginspec.vectors.mutants import first_failure, prepare
from marginspec.venues import apply_venue


class FeeIgnored(ReferenceEngine):
    """A faulty engine: accepts taker_fee_rate and drops it."""

    def parse_contract(self, symbol, spec):
        c = super().parse_contract(symbol, spec)
        return Contract(c.symbol, {**c.params, "taker_fee_rate": Fraction(0)}, c.tiers)


class MarkBasis(ReferenceEngine):
    """A faulty engine: accepts maintenance_basis and computes maintenance on the mark anyway."""

    def parse_contract(self, symbol, spec):
        c = super().parse_contract(symbol, spec)
        return Contract(c.symbol, {**c.params, "maintenance_basis": "mark"}, c.tiers)


@pytest.fixture(scope="module")
def rb():
    return load_rulebook()


def venue_cases(rb, venue):
    doc = generate(apply_venue(rb, venue), only=["venues"]).documents["venues"]
    return doc, prepare([doc])


def pinning_ids(doc, word):
    return {c["id"] for g in doc["groups"] for c in g["cases"] if word in c["title"]}


def test_fee_preset_cases_fail_an_engine_that_ignores_the_fee(rb):
    doc, cases = venue_cases(rb, "phemex")
    fee_ids = pinning_ids(doc, "taker_fee_rate 0.0006") | pinning_ids(doc, "fee reserve") | pinning_ids(doc, "Phemex")
    assert len(pinning_ids(doc, "taker_fee_rate 0.0006")) == 16  # 2 contracts x 4 tiers x 2 sides
    ref, faulty = ReferenceEngine(rb), FeeIgnored(rb)
    by_id = {c.id: c for c in cases}
    assert all(first_failure(ref, c) is None for c in cases)
    failed = {i for i in fee_ids if first_failure(faulty, by_id[i]) is not None}
    assert failed == fee_ids


def test_entry_preset_cases_fail_an_engine_on_the_mark_basis(rb):
    doc, cases = venue_cases(rb, "bybit")
    entry_ids = pinning_ids(doc, "maintenance_basis entry") | pinning_ids(doc, "entry basis") | pinning_ids(doc, "Bybit")
    assert len(pinning_ids(doc, "maintenance_basis entry")) == 16
    ref, faulty = ReferenceEngine(rb), MarkBasis(rb)
    by_id = {c.id: c for c in cases}
    assert all(first_failure(ref, c) is None for c in cases)
    failed = {i for i in entry_ids if first_failure(faulty, by_id[i]) is not None}
    assert failed == entry_ids


def test_default_contracts_get_no_pinning_cases_but_the_published_examples(rb):
    doc = generate(rb, only=["venues"]).documents["venues"]
    titles = [c["title"] for g in doc["groups"] for c in g["cases"]]
    assert not [t for t in titles if "BTCUSDT" in t or "ETHUSDT" in t]
    assert sum("published example" in t for t in titles) == 2  # Phemex and Bybit publish one each
    assert sum(t.startswith(("fee reserve", "entry basis")) for t in titles) == 3


def test_published_example_carries_the_venue_value_and_tolerance(rb):
    doc = generate(rb, only=["venues"]).documents["venues"]
    case = next(c for g in doc["groups"] for c in g["cases"] if "phemex" in c["title"])
    step = case["steps"][2]
    assert step["expect"]["result"]["position"]["liquidation_price"] == "0.3232"  # printed by the venue
    assert step["tolerance"] == {"position.liquidation_price": "0.0001"}
    bybit = next(c for g in doc["groups"] for c in g["cases"] if "bybit" in c["title"])
    assert bybit["steps"][2]["expect"]["result"]["position"]["liquidation_price"] == "19700"
    assert "tolerance" not in bybit["steps"][2]  # reproduced exactly
    assert "https://testnet.bybit.com/" in bybit["comment"]


def test_tolerance_is_honoured_by_the_runner_and_nothing_else_is_loosened():
    from marginspec.conformance.compare import compare_step
    from marginspec.conformance.loader import Step

    step = Step(2, "query", {}, "", b"", True, None, {"position": {"liquidation_price": "0.3232", "size": "500"}},
                None, {"position.liquidation_price": "0.0001"})
    for got, n in (("0.32324", 0), ("0.3233", 0), ("0.3234", 1), ("0.3231", 0), ("0.32309", 1)):
        out = []
        compare_step(step, {"ok": True, "result": {"position": {"liquidation_price": got, "size": "500"}}}, 2, "query", out)
        assert len(out) == n, got
    out = []
    compare_step(step, {"ok": True, "result": {"position": {"liquidation_price": "0.3232", "size": "500.0001"}}}, 2,
                 "query", out)
    assert [d.field for d in out] == ["result.position.size"]  # no tolerance on the other fields

"""Mutation adequacy for a user's contracts (tests/fixtures/contracts/three.yaml): every
non-equivalent mutant is caught by the vectors written for them.

Before the one-lot cases of model/vectors/mutant_cases.py took a mark of their own (`small_mark`),
close_position's `max(0, equity)` -> `max(1, equity)` survived on this file: at each contract's
reference mark one lot needs a margin of 1 or more (ONEUSDT 25, TINYUSDT 1.25, TWELVEUSDT 1), so no
case closed a position whose equity is under 1, and Z3 rightly found the mutant different."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import pytest

from marginspec.contracts import contracts_in_force
from marginspec.numbers import round_to
from marginspec.rulebook import load_rulebook
from marginspec.vectors import adequacy, generate, mutants
from marginspec.vectors.market import markets
from marginspec.vectors.mutant_cases import small_mark
from marginspec.vectors.thresholds import Derive

from tests.contracts_support import FIXTURES

THREE = FIXTURES / "three.yaml"
CLOSE_MUTANT = "close_position.let.returned: 0 -> 1"


@pytest.fixture(scope="module")
def rb_three():
    return contracts_in_force(load_rulebook(), THREE)


@pytest.mark.parametrize("fixture", [None, "three.yaml", "three-variety.yaml"])
def test_the_one_lot_mark_puts_the_margin_under_one(fixture):
    rb = load_rulebook() if fixture is None else contracts_in_force(load_rulebook(), FIXTURES / fixture)
    d = Derive(rb)
    for m in markets(rb):
        low = small_mark(m)
        assert low % m.tick == 0 and 0 < low <= m.mark, m.symbol
        assert m.notional(m.lot, low) <= m.tiers[0]["max_notional"], m.symbol  # tier 1
        small = round_to(d.minimum_margin(m.contract, m.lot, low) * Fraction(5, 4), m.money, "up")
        assert small < 1, (m.symbol, low, small)
    if fixture is None:  # where the reference mark already does, it is kept
        assert {m.symbol: small_mark(m) for m in markets(rb)} == {"BTCUSDT": 50000, "ETHUSDT": 4000}


def test_the_close_mutant_is_caught_by_the_mutant_cases_alone(rb_three):
    doc = generate(rb_three, only={"mutants"}).documents["mutants"]
    closes = [st["expect"]["result"]["returned"] for g in doc["groups"] for c in g["cases"]
              if "closed (returns less than 1)" in c["title"] for st in c["steps"]
              if st["request"]["op"] == "close_position"]
    assert len(closes) == 2 * len(rb_three.contracts)  # every contract, both sides
    assert all(Fraction(r) < 1 for r in closes), closes
    picked = [m for m in mutants.enumerate_mutants(rb_three) if m.description.startswith(CLOSE_MUTANT)]
    assert len(picked) == 1
    a = adequacy.analyse(rb_three, [doc], picked, jobs=1)
    assert len(a.caught) == 1 and a.ok, adequacy.text_report(a)


@pytest.mark.slow
def test_vectors_mutants_on_three_contracts_exits_0(tmp_path):
    """The whole run, as a user types it: every mutant caught or proved equivalent, exit 0."""
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "marginspec", "vectors", "--contracts", str(THREE), "--mutants",
                        "--out", str(out), "--format", "json"], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    summary = json.loads(r.stdout)
    m = summary["mutants"]
    assert (m["total"], m["equivalent"], m["caught"], m["surviving"]) == (517, 50, 467, 0), \
        {k: m[k] for k in ("total", "equivalent", "caught", "surviving")}
    assert m["surviving_mutants"] == []
    assert not any(e["description"].startswith(CLOSE_MUTANT) for e in m["equivalent_mutants"])  # caught, not excused
    assert summary["cases"] == m["cases"] == 3307  # 2951 before the tier-boundary set_leverage/reduce_margin cases
    assert summary["coverage_zeros"] == []
    assert sorted(p.name for p in out.glob("*.json")) == sorted([f"{stem}.json" for stem in summary["files"]] +
                                                                 ["coverage.json"])

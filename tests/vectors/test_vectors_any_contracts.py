"""Vectors for contracts the rulebook does not ship: tests/fixtures/contracts/three-variety.yaml (one
single-tier contract, one with twelve tiers, one with tiny ticks) gets the full suite, with cases for
every tier and side of every contract, known answers worked out for it, and no shipped symbol."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marginspec.rulebook import default_spec_dir, load_rulebook
from marginspec.vectors import COVERAGE_FILE
from marginspec.vectors.known_answers import hand_mismatches, known
from marginspec.vectors.market import markets, reference_mark, round_lots

from tests.contracts_support import FIXTURES, load_contracts, three
from vectors_support import cli

THREE = FIXTURES / "three-variety.yaml"
FILES = {"known_answers", "boundaries", "liquidation", "errors", "traces", "mutants", "venues"}  # venues: the published examples


def spec_with_three(tmp: Path) -> Path:
    """A copy of the shipped rulebook whose contracts.yaml holds the three contracts."""
    import shutil

    spec = tmp / "spec"
    shutil.copytree(default_spec_dir(), spec, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    body = "".join("  " + line if line.strip() else line for line in THREE.read_text(encoding="utf-8").splitlines(True))
    (spec / "contracts.yaml").write_text("contracts:\n" + body, encoding="utf-8")
    return spec


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """`marginspec vectors --out DIR` on a rulebook with the three contracts, DIR holding a file of
    the user's that must survive."""
    tmp = tmp_path_factory.mktemp("three")
    out = tmp / "out"
    out.mkdir()
    (out / "mine.json").write_text('{"mine": true}\n', encoding="utf-8")
    r = cli("vectors", "--spec", str(spec_with_three(tmp)), "--out", str(out), "--format", "json")
    return r, out


@pytest.fixture(scope="module")
def rb3():
    return three(load_rulebook())


def test_the_fixture_is_three_contracts_not_in_the_rulebook(rb3):
    shipped = load_rulebook()
    cs = load_contracts(THREE)
    assert len(cs) == 3 and not set(cs) & set(shipped.contracts)
    assert sorted(len(c.tiers) for c in cs.values()) == [1, 3, 12]
    assert min(c.params["tick_size"] for c in cs.values()) == __import__("fractions").Fraction(1, 100000)
    for c in cs.values():  # well formed: continuous maintenance amounts, born safe
        for a, b in zip(c.tiers, c.tiers[1:]):
            assert b["maintenance_amount"] == a["maintenance_amount"] + a["max_notional"] * (
                b["maintenance_margin_rate"] - a["maintenance_margin_rate"])
        assert all(1 / t["max_leverage"] > t["maintenance_margin_rate"] for t in c.tiers)


def test_marks_and_sizes_come_from_the_tiers(rb3):
    shipped = load_rulebook()
    assert reference_mark(shipped.contracts["BTCUSDT"]) == 50000 and round_lots(shipped.contracts["BTCUSDT"]) == 1000
    for m in markets(rb3):
        assert m.mark % m.tick == 0
        assert m.notional(m.round_size) == m.tiers[0]["max_notional"]  # the round size lands on tier 1's bound
        for k in range(1, len(m.tiers) + 1):  # the middle of every tier is in that tier
            assert m.lower(k) < m.notional(m.mid_size(k)) <= m.tiers[k - 1]["max_notional"], (m.symbol, k)
    assert {m.symbol: m.mark for m in markets(rb3)} == {"SOLOUSDT": 1000, "DOZENUSDT": 10000, "TINYUSDT": 5}


def test_known_answers_are_worked_out_for_every_tier_and_side(rb3):
    ks = known(rb3)
    assert [m for k in ks for m in hand_mismatches(rb3, k)] == []
    titles = {k.title for k in ks}
    for m in markets(rb3):
        for k in range(1, len(m.tiers) + 1):
            for side in ("long", "short"):
                assert any(t.startswith(f"{m.symbol} {side} ") and t.endswith(f"in the middle of tier {k} at leverage "
                                                                               f"{t.rsplit(' ', 1)[-1]}") for t in titles), \
                    (m.symbol, k, side)
    dozen = next(k for k in ks if k.title.startswith("DOZENUSDT long") and "tier 12" in k.title)
    assert "(tier 12: rate 0.25, amount 3058465)" in dozen.comment and "leverage = " in dozen.comment


def test_the_cli_writes_the_full_suite_for_the_three_contracts(suite):
    r, out = suite
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    summary = json.loads(r.stdout)
    assert set(summary["files"]) == FILES and summary["coverage_zeros"] == []
    assert summary["coverage_file"] == str(out / COVERAGE_FILE)
    assert summary["extra"] == [str(out / "mine.json")]
    assert (out / "mine.json").read_text(encoding="utf-8") == '{"mine": true}\n'  # never deleted
    assert not list(out.glob(".*.tmp"))


def test_every_contract_has_cases_for_each_tier_and_side(suite, rb3):
    r, out = suite
    cov = json.loads((out / COVERAGE_FILE).read_text(encoding="utf-8"))
    tiers = cov["counts"]["tier"]
    want = {f"{s}:tier{k}:{side}" for s, c in rb3.contracts.items() for k in range(1, len(c.tiers) + 1)
            for side in ("long", "short")}
    assert set(tiers) == want and len(want) == 2 * (1 + 12 + 3)
    assert all(n > 0 for n in tiers.values()), [k for k, n in tiers.items() if n == 0]
    assert cov["zeros"] == []


def test_every_file_has_cases_for_every_contract_and_no_shipped_symbol(suite, rb3):
    r, out = suite
    for stem in FILES - {"venues"}:  # venues.json: the venues' published examples, with their own contracts
        doc = json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))
        symbols = {s for g in doc["groups"] for s in g["contracts"]}
        assert symbols == set(rb3.contracts), stem
        text = json.dumps(doc)
        assert "BTCUSDT" not in text and "ETHUSDT" not in text, stem


def test_the_suite_passes_the_reference_engine_through_the_runner(suite):
    from marginspec.conformance.loader import load_vectors
    from marginspec.conformance.runner import run_cases

    r, out = suite
    cases = [c for f in load_vectors([out / f"{stem}.json" for stem in sorted(FILES)]) for c in f.cases]
    run = run_cases("reference", cases)
    assert run.failed == 0 and run.passed == len(cases) > 2000


def test_mutation_adequacy_is_measured_for_the_contract_set(suite, rb3):
    """The liquidation trigger's and the fill's mutants, run against the three contracts' suite: every
    one is caught (the full run is `marginspec vectors --spec DIR --mutants`)."""
    from marginspec.vectors import adequacy, mutants

    r, out = suite
    docs = [json.loads((out / f"{stem}.json").read_text(encoding="utf-8")) for stem in sorted(FILES)]
    picked = [m for m in mutants.enumerate_mutants(rb3) if m.location in ("derived.liquidatable", "liquidation.let.fill_price")]
    a = adequacy.analyse(rb3, docs, picked, jobs=1)
    assert len(picked) >= 5 and a.ok, adequacy.text_report(a)
    assert len(a.caught) == len(picked) - len(a.equivalent) > 0


def test_a_single_one_tier_contract_gets_a_suite_with_nothing_at_zero(tmp_path):
    """One contract with one tier (the fixture's SOLOUSDT on its own): no tier boundary to cross and
    no second symbol. Maintenance margin is still shown at two notionals of its tier (INV-mm-monotone),
    and the isolation frame is excused as not applicable, not a gap: exit 0 (it was 1, two zeros)."""
    import yaml

    solo = {"SOLOUSDT": yaml.safe_load(THREE.read_text(encoding="utf-8"))["SOLOUSDT"]}
    (tmp_path / "solo.yaml").write_text(yaml.safe_dump(solo), encoding="utf-8")
    out = tmp_path / "out"
    r = cli("vectors", "--contracts", str(tmp_path / "solo.yaml"), "--out", str(out), "--format", "json")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert json.loads(r.stdout)["coverage_zeros"] == []
    cov = json.loads((out / COVERAGE_FILE).read_text(encoding="utf-8"))
    assert cov["counts"]["invariant"]["INV-mm-monotone"] == 2
    assert cov["counts"]["invariant"]["INV-isolation-frame"] == 0
    assert cov["excused"]["invariant:INV-isolation-frame"] == (
        "not applicable: the cases name one contract (SOLOUSDT); a frame relates two")
    doc = json.loads((out / "boundaries.json").read_text(encoding="utf-8"))
    within = [c for g in doc["groups"] for c in g["cases"] if c["title"].startswith("within tier 1")]
    assert [c["title"] for c in within] == [
        "within tier 1: SOLOUSDT long size 250, mark 1000 then 2000 (notional 250000 then 500000)",
        "within tier 1: SOLOUSDT short size 250, mark 1000 then 500 (notional 250000 then 125000)"]
    mms = [[s["expect"]["result"]["position"]["maintenance_margin"] for s in c["steps"] if s["request"]["op"] == "query"]
           for c in within]
    assert mms == [["2500", "5000"], ["2500", "1250"]]

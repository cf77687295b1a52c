"""Findings rendered in the docs: where INV-liq-fund's proved bound makes the insurance fund pay on
every liquidation of a tier (with the shipped BTCUSDT profile: tier 1, buffer 0.5% > rate 0.4%)."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

from marginspec.findings import fund_findings
from marginspec.rulebook import load_rulebook


def test_the_shipped_btcusdt_tier_1_fund_pays_on_every_liquidation():
    found = {(f.symbol, f.tier): f for f in fund_findings(load_rulebook())}
    f = found[("BTCUSDT", 1)]
    assert f.invariant == "INV-liq-fund"
    assert "PAYS on every liquidation" in f.text and "at least 0.1% of the notional" in f.text
    assert "at least 50" in found[("BTCUSDT", 2)].text  # rate = buffer, maintenance amount 50
    assert "never gains" in found[("ETHUSDT", 1)].text  # rate = buffer, no amount
    assert sorted(found) == [("BTCUSDT", 1), ("BTCUSDT", 2), ("ETHUSDT", 1)]


def test_a_buffer_below_every_rate_gives_no_finding():
    rb = load_rulebook()
    contracts = {s: dataclasses.replace(c, params={**c.params, "liquidation_buffer_rate": Fraction(1, 1000)})
                 for s, c in rb.contracts.items()}
    assert fund_findings(dataclasses.replace(rb, contracts=contracts)) == []


def test_the_findings_are_in_the_rendered_rulebook(tmp_path):
    from click.testing import CliRunner

    from marginspec.cli import main
    r = CliRunner().invoke(main, ["docs", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "rulebook.md").read_text(encoding="utf-8")
    assert "### Findings" in md and "BTCUSDT tier 1 (notional up to 50000)" in md
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert 'id="sec-findings"' in html and "PAYS on every liquidation" in html


def test_an_entry_basis_contract_is_said_to_have_no_tier_wide_finding():
    """On the entry basis the bound is read at the entry notional: the docs say so rather than
    leave the Findings out without a word."""
    rb = load_rulebook()
    contracts = {s: dataclasses.replace(c, params={**c.params, "maintenance_basis": "entry"}) if s == "ETHUSDT" else c
                 for s, c in rb.contracts.items()}
    found = {(f.symbol, f.tier): f for f in fund_findings(dataclasses.replace(rb, contracts=contracts))}
    assert sorted(found) == [("BTCUSDT", 1), ("BTCUSDT", 2), ("ETHUSDT", None)]
    assert found[("ETHUSDT", None)].text == (
        "ETHUSDT: maintenance is on the entry basis, so the bound on what the insurance fund receives is read at each "
        "position's entry notional, not at the tier's notionals: no tier-wide finding is drawn for it.")

"""Venue presets (spec/venues.yaml, marginspec.venues), `--venue`, and `marginspec diff` (marginspec.diff):
exact values, did-you-mean, the distinguishing position and the proved bound."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction as F

import pytest
from click.testing import CliRunner

from marginspec import diff
from marginspec.cli import main
from marginspec.diagnostics import SpecError
from marginspec.rulebook import default_spec_dir, load_rulebook
from marginspec.venues import apply_venue, load_venues


@pytest.fixture(scope="module")
def rb():
    return load_rulebook()


# -- presets ------------------------------------------------------------------------------------
def test_presets_load_with_citations_and_dates(rb):
    v = load_venues(rb)
    assert v.read == "2026-12-02"
    assert set(v.venues) >= {"phemex", "bitget", "binance", "bybit"}
    for venue in v.venues.values():
        assert venue.formula_url.startswith("https://") and venue.formula_text
        assert venue.examples or venue.no_example  # an example, or why there is none
    assert v.venues["phemex"].parameters == {"taker_fee_rate": F("0.0006"), "maintenance_basis": "mark"}
    assert v.venues["bybit"].parameters["maintenance_basis"] == "entry"


def test_apply_venue_sets_parameters_and_keeps_tiers(rb):
    out = apply_venue(rb, "bybit")
    for sym, c in rb.contracts.items():
        assert out.contracts[sym].tiers == c.tiers
        assert out.contracts[sym].params["maintenance_basis"] == "entry"
        assert out.contracts[sym].params["tick_size"] == c.params["tick_size"]
    assert rb.contracts["BTCUSDT"].params["maintenance_basis"] == "mark"  # the original is untouched


def test_unknown_venue_did_you_mean(rb):
    with pytest.raises(ValueError, match=r"unknown venue 'phemx' \(did you mean 'phemex'\?\)"):
        apply_venue(rb, "phemx")
    r = CliRunner().invoke(main, ["check", "--venue", "bybt"])
    assert r.exit_code == 2 and "did you mean 'bybit'" in r.output


def test_a_bad_preset_is_an_error_at_its_place(tmp_path):
    spec = tmp_path / "spec"
    shutil.copytree(default_spec_dir(), spec)
    text = (spec / "venues.yaml").read_text()
    (spec / "venues.yaml").write_text(text.replace("maintenance_basis: entry}", "maintenance_basis: entri}", 1))
    rb = load_rulebook(spec)
    with pytest.raises(SpecError) as ei:
        load_venues(rb)
    msg = str(ei.value)
    assert "venues.yaml:" in msg and "'entri' is not a maintenance_basis" in msg and "did you mean 'entry'" in msg


def test_venue_option_on_check_and_simulate():
    r = CliRunner().invoke(main, ["check", "--venue", "phemex", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output)["venue"] == "phemex"
    reqs = json.dumps([{"op": "set_mark_price", "args": {"symbol": "BTCUSDT", "price": "50000"}},
                       {"op": "open_position", "args": {"symbol": "BTCUSDT", "side": "long", "size": "1000",
                                                        "margin": "5000"}},
                       {"op": "query", "args": {"symbol": "BTCUSDT"}}])
    out = CliRunner().invoke(main, ["simulate", "-", "--venue", "phemex", "--format", "json"], input=reqs)
    assert out.exit_code == 0, out.output
    assert '"liquidation_price": "45208"' in out.output  # 45000 / 0.9954 rounded up (45180.8 without the fee)


# -- diff ---------------------------------------------------------------------------------------
def test_diff_fee_free_vs_fee_preset(rb):
    a, b = diff.resolve(rb, "binance"), diff.resolve(rb, "phemex")
    r = diff.compare(rb, "binance", a, "phemex", b)
    assert not r.equal
    btc = next(p for p in r.pairs if p.symbol == "BTCUSDT")
    assert btc.decisions == "differ" and btc.roots == "differ"
    w = btc.witness
    assert w.liquidatable_a != w.liquidatable_b and w.root_a != w.root_b
    # the witness is real: the interpreter agrees, and its numbers are round
    assert w.position.entry == 50000 and w.position.margin == 2500 and w.position.size == 500
    assert w.root_a == F(45000) / F("0.996") and w.root_b == F(45000) / F("0.9954")
    # the exact bound: |0 - 0.0006| / (1 - mmr_4 - 0), mmr_4 = 0.025, attained in the last tier
    assert btc.bound.kind == "exact" and btc.bound.value == F("0.0006") / (1 - F("0.025")) == F(1, 1625)
    eth = next(p for p in r.pairs if p.symbol == "ETHUSDT")
    assert eth.bound.value == F("0.0006") / (1 - F("0.02"))


def test_the_bound_is_attained_by_a_position_in_the_last_tier(rb):
    """Checked by hand with the interpreter: a long whose roots both lie in tier 4 of BTCUSDT."""
    from marginspec.engine import ReferenceEngine, contract_json

    roots = []
    for venue in ("binance", "phemex"):
        r = apply_venue(rb, venue)
        e = ReferenceEngine(r)
        e.handle({"id": 0, "op": "reset", "args": {"contracts": {"BTCUSDT": contract_json(r.contracts["BTCUSDT"], r)},
                                                   "available_balance": "10000000"}})
        e.handle({"id": 1, "op": "set_mark_price", "args": {"symbol": "BTCUSDT", "price": "50000"}})
        rep = e.handle({"id": 2, "op": "open_position", "args": {"symbol": "BTCUSDT", "side": "long",
                                                                 "size": "150000", "margin": "1000000"}})
        assert rep["ok"], rep
        w = e.world
        roots.append(e.interp.derived_values({**w.contract_values["BTCUSDT"], **w.account,
                                              **w.symbols["BTCUSDT"]})["liquidation_root"])
    la, lb = roots
    assert 1000000 < lb * 150 <= 10000000 and 1000000 < la * 150  # both roots' notionals in tier 4
    assert abs(la - lb) / lb == F(1, 1625)


def test_diff_equal_presets_exit_0_and_different_exit_1():
    r = CliRunner().invoke(main, ["diff", "phemex", "bitget"])
    assert r.exit_code == 0 and "EQUAL" in r.output
    r = CliRunner().invoke(main, ["diff", "binance", "phemex", "--format", "json"])
    assert r.exit_code == 1
    doc = json.loads(r.output)
    btc = next(c for c in doc["contracts"] if c["symbol"] == "BTCUSDT")
    assert btc["largest_relative_root_difference"]["value_fraction"] == "1/1625"
    pos = btc["distinguishing_position"]
    assert pos["a"]["liquidatable"] is False and pos["b"]["liquidatable"] is True
    assert pos["a"]["liquidation_price"] == "45180.8" and pos["b"]["liquidation_price"] == "45208"


def test_diff_contract_files(tmp_path):
    one = {"contract_multiplier": "1", "tick_size": "0.1", "lot_size": "0.001", "money_step": "0.0001",
           "tiers": [{"max_notional": "1000000", "maintenance_margin_rate": "0.004", "max_leverage": "100",
                      "maintenance_amount": "0"}]}
    (tmp_path / "a.json").write_text(json.dumps({"X": one}))
    (tmp_path / "b.yaml").write_text("X:\n" + "".join(
        f"  {k}: \"{v}\"\n" for k, v in one.items() if k != "tiers") + "  taker_fee_rate: \"0.0006\"\n  tiers:\n"
        "    - {max_notional: \"1000000\", maintenance_margin_rate: \"0.004\", max_leverage: \"100\", "
        "maintenance_amount: \"0\"}\n")
    r = CliRunner().invoke(main, ["diff", str(tmp_path / "a.json"), str(tmp_path / "b.yaml"), "--format", "json"])
    assert r.exit_code == 1, r.output
    c = json.loads(r.output)["contracts"][0]
    assert c["largest_relative_root_difference"]["value_fraction"] == str(F("0.0006") / F("0.996")) == "1/1660"


def test_diff_bad_inputs(tmp_path):
    r = CliRunner().invoke(main, ["diff", "binanse", "phemex"])
    assert r.exit_code == 2 and "did you mean 'binance'" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("X:\n  contract_multiplier: \"1\"\n  tiers: []\n")
    r = CliRunner().invoke(main, ["diff", str(bad), "phemex"])
    assert r.exit_code == 2 and f"{bad}:3:3: X.tiers: [] should be non-empty" in r.output  # the contracts loader
    assert "Traceback" not in r.output


def test_diff_mark_vs_entry_has_an_exact_supremum(rb):
    r = diff.compare(rb, "binance", diff.resolve(rb, "binance"), "bybit", diff.resolve(rb, "bybit"))
    btc = next(p for p in r.pairs if p.symbol == "BTCUSDT")
    assert btc.decisions == "differ"
    # relative to the entry-basis root the mark-basis root can fall towards 0 (leverage -> 1): sup 1, not attained
    assert btc.bound.kind == "exact" and btc.bound.value == 1 and "not attained" in btc.bound.attained


# -- docs ---------------------------------------------------------------------------------------
def test_formulas_specialised_per_preset(rb):
    from marginspec.docs_venues import preset_formulas
    from marginspec.printer import to_text

    entry = dict(preset_formulas(rb, {"taker_fee_rate": F(0), "maintenance_basis": "entry"}))
    mm = to_text(entry["maintenance_margin"])
    assert "base_quantity * entry_price" in mm and "taker_fee_rate" not in mm and "+ 0" not in mm
    assert "solve_tier" not in to_text(entry["liquidation_root"])  # the entry basis needs no tier search
    fee = dict(preset_formulas(rb, {"taker_fee_rate": F("0.0006"), "maintenance_basis": "mark"}))
    assert "0.0006" in to_text(fee["liquidation_root"]) and "solve_tier" in to_text(fee["liquidation_root"])
    assert "if " not in to_text(fee["liquidation_root"])


def test_docs_venues_section(rb):
    from marginspec.docs import Inputs, render
    from marginspec.docs_venues import fingerprint

    md = render(rb, Inputs())["rulebook.md"]
    sec = md[md.index('<a id="sec-venues">'):md.index('<a id="sec-ccxt">')]
    assert "### Phemex USDT-M perpetual" in sec and "https://phemex.com/help-center/liq-price-for-USDTM" in sec
    assert "25000000/553" in sec and "45208" in sec  # the fee known answer: 45000 / 0.9954
    assert "| 0.3232 | 0.0001 | 0.32324 (39976/123675" in sec and "| yes |" in sec
    assert "has not been computed" in sec  # no table on disk: said, not invented
    stale = {"fingerprint": "0" * 16, "pairs": []}
    md = render(rb, Inputs(venue_diff=stale))["rulebook.md"]
    assert "computed from other presets, formulas or contracts" in md
    table = {"fingerprint": fingerprint(rb), "pairs": [{"a": "binance", "b": "phemex", "contracts": [{
        "symbol": "BTCUSDT", "liquidation_decisions": "differ", "liquidation_roots": "differ",
        "distinguishing_position": None, "largest_relative_root_difference": {
            "kind": "exact", "value": "1/1625", "value_fraction": "1/1625", "lower": None,
            "formula": "|0 - 0.0006| / (1 - 0.025 - 0)", "attained": "attained by a long"}}]}]}
    html = render(rb, Inputs(venue_diff=table))["index.html"]
    assert '<section id="sec-venues">' in html and "1/1625" in html


def test_prove_with_a_venue_reports_it():
    r = CliRunner().invoke(main, ["prove", "--venue", "phemex", "--only", "INV-born-safe*", "--jobs", "1",
                                  "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["options"]["venue"] == "phemex"
    assert {x["status"] for x in doc["results"]} == {"PROVED"}
    assert any("taker_fee_rate" in a for x in doc["results"] for a in x["assumptions"])  # the fee is in the proof
    r = CliRunner().invoke(main, ["prove", "--venue", "phemex", "--only", "INV-born-safe*", "--jobs", "1"])
    assert r.exit_code == 0 and "[venue phemex]" in r.output


def test_a_fee_that_breaks_born_safe_is_violated_not_hidden(rb):
    """1/125 = 0.008 > 0.004 holds, but 0.008 > 0.004 + 0.005 does not: the prover says so."""
    from marginspec.prover import Prover
    from marginspec.venues import with_parameters

    r2 = with_parameters(rb, {"taker_fee_rate": F("0.005")}, "test")
    p = Prover(r2, timeout=10, contracts=["BTCUSDT"])
    ob = next(o for o in p.obligations() if o.id == "INV-born-safe/BTCUSDT")
    res = p.run(ob)
    assert res.status == "VIOLATED", res.to_json()


def test_the_shipped_table_has_the_witnesses_a_fresh_run_finds(rb):
    """generated_docs/venue-diff.json is an input of the docs, computed by `diff --all-pairs`: its
    distinguishing positions are rebuilt here from the contracts (interpreter only, no Z3), so a
    change to how positions are chosen cannot leave a stale table behind (it once did)."""
    from marginspec.docs import default_out_dir
    from marginspec.docs_venues import VENUE_DIFF

    table = json.loads((default_out_dir(default_spec_dir()) / VENUE_DIFF).read_text(encoding="utf-8"))
    venues = load_venues(rb)
    seen = 0
    for pair in table["pairs"]:
        a, b = (apply_venue(rb, pair[k], venues).contracts for k in ("a", "b"))
        for c in pair["contracts"]:
            sym = c["symbol"]
            fresh = diff.readable_witness(rb, sym, a[sym], b[sym])
            want = c["distinguishing_position"]
            if fresh is None:  # none with round numbers: the solver's own position, which `diff --check` covers
                continue
            report = diff.DiffReport(pair["a"], pair["b"], (diff.PairDiff(sym, {}, {}, "differ", "differ", fresh,
                                                                            diff.Bound("zero")),), (), ())
            assert diff.to_json(report)["contracts"][0]["distinguishing_position"] == want, (pair["a"], pair["b"], sym)
            seen += 1
    assert seen >= 10  # every pair of the four presets differs on both contracts


def test_diff_check_reports_a_stale_table(tmp_path, monkeypatch, rb):
    from marginspec import docs_venues

    one = [diff.compare(rb, "phemex", apply_venue(rb, "phemex").contracts, "bitget", apply_venue(rb, "bitget").contracts)]
    monkeypatch.setattr(docs_venues, "diff_table", lambda _rb, *_how: one)  # one pair: the check, not the solving, is tested
    path = tmp_path / "venue-diff.json"
    path.write_text('{"pairs": []}\n', encoding="utf-8")
    r = CliRunner().invoke(main, ["diff", "--all-pairs", "--check", "--output", str(path)])
    assert r.exit_code == 1
    assert f"stale: {path} differs from a fresh table (pairs: phemex vs bitget" in r.output
    assert path.read_text(encoding="utf-8") == '{"pairs": []}\n'  # --check writes nothing
    assert CliRunner().invoke(main, ["diff", "--all-pairs", "--output", str(path)]).exit_code == 0
    r = CliRunner().invoke(main, ["diff", "--all-pairs", "--check", "--output", str(path)])
    assert r.exit_code == 0 and f"up to date: {path}" in r.output
    r = CliRunner().invoke(main, ["diff", "phemex", "bybit", "--check"])
    assert r.exit_code == 2 and "--check and --output go with --all-pairs" in r.output


def test_diff_a_missing_file_is_a_file_that_cannot_be_read(tmp_path):
    """An argument with a suffix or a slash that does not exist is a file that cannot be read (as
    simulate says it), not an unknown venue; a plain name stays a venue with a "did you mean"."""
    names = "phemex, bitget, binance, bybit"
    for arg, reason in (("nonexist.yaml", "No such file or directory"), (f"{tmp_path}/x", "No such file or directory"),
                        (str(tmp_path), "Is a directory")):
        r = CliRunner().invoke(main, ["diff", "binance", arg])
        assert r.exit_code == 2
        assert r.output == (f"error: {arg}: cannot read: {reason} (taken for a contracts file, having a suffix or a "
                            f"slash; the venues are {names})\n")


def test_diff_of_own_contracts_and_a_venue_hints_at_contracts(tmp_path):
    """`diff mine.yaml bybit`: the preset goes onto the rulebook's contracts, which mine.yaml does not
    name; the error says how to put the preset on mine.yaml's contracts instead, and that works."""
    mine = tmp_path / "mine.yaml"
    contract = ({"contract_multiplier": "0.1", "tick_size": "0.01", "lot_size": "1",
                                      "money_step": "0.0001", "liquidation_buffer_rate": "0.005", "tiers": [
                                          {"max_notional": "100000", "maintenance_margin_rate": "0.01",
                                           "max_leverage": "50", "maintenance_amount": "0"}]})
    mine.write_text(json.dumps({"SOLUSDT": contract}), encoding="utf-8")
    r = CliRunner().invoke(main, ["diff", str(mine), "bybit"])
    assert r.exit_code == 2
    assert r.output == (f"error: {mine} and bybit have no contract symbol in common\n"
                        f"hint: a venue sets its parameters on the contracts in force (BTCUSDT, ETHUSDT); to put them "
                        f"on {mine}'s: marginspec diff {mine} bybit --contracts {mine}\n")
    r = CliRunner().invoke(main, ["diff", str(mine), "bybit", "--contracts", str(mine)])
    assert r.exit_code in (0, 1) and r.output.startswith(f"marginspec diff {mine} bybit: ")

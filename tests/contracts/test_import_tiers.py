"""`marginspec import-tiers` on hand-built ccxt fixtures (tests/fixtures/ccxt/README.md cites the
shapes): cum taken, amounts derived or refused as asked, floats read exactly, nothing guessed."""

from __future__ import annotations

import importlib.util
import json
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from marginspec.cli import main
from marginspec.contracts import load_contracts
from marginspec.jsonmarks import load_json_text
from marginspec.tiers_import import ccxt_number, rulebook_symbol

CCXT = Path(__file__).resolve().parents[1] / "fixtures" / "ccxt"
TIERS, MARKETS = str(CCXT / "binance_tiers.json"), str(CCXT / "binance_markets.json")
NOCUM = str(CCXT / "nocum_tiers.json")
STEPS = ["--tick-size", "0.001", "--lot-size", "1", "--multiplier", "1", "--money-step", "0.01"]


def run(*args):
    return CliRunner().invoke(main, ["import-tiers", *args], catch_exceptions=False)


def test_binance_tiers_with_markets_take_cum_and_the_market_steps(rulebook, tmp_path):
    out = tmp_path / "c.yaml"
    r = run(TIERS, "--markets", MARKETS, "--money-step", "0.0001", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "note: 2 symbol(s) renamed as BASE+QUOTE[-EXPIRY] (BTC/USDT:USDT -> BTCUSDT, ETH/USDT:USDT -> ETHUSDT)" \
        in r.output
    cs = load_contracts(out, rulebook)
    btc, eth = cs["BTCUSDT"], cs["ETHUSDT"]
    assert [t["maintenance_amount"] for t in btc.tiers] == [0, 50, 950, 11450]  # info.cum, as given
    assert [t["maintenance_amount"] for t in eth.tiers] == [0, 15, 365]
    assert btc.params["tick_size"] == Fraction(1, 10) and eth.params["tick_size"] == Fraction(1, 100)
    assert btc.params["lot_size"] == Fraction(1, 1000) and btc.params["contract_multiplier"] == 1
    assert btc.params["money_step"] == Fraction(1, 10000)
    assert btc.params["liquidation_buffer_rate"] == Fraction(5, 1000)  # the rulebook's default
    assert [t["maintenance_margin_rate"] for t in btc.tiers] == [Fraction(4, 1000), Fraction(5, 1000),
                                                                 Fraction(65, 10000), Fraction(1, 100)]
    assert [t["max_notional"] for t in btc.tiers] == [50000, 600000, 3000000, 12000000]


def test_the_output_is_byte_identical_and_json_by_extension(rulebook, tmp_path):
    args = [TIERS, "--markets", MARKETS, "--money-step", "0.0001"]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run(*args, "--out", str(a)).exit_code == 0 and run(*args, "--out", str(b)).exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    doc = json.loads(a.read_text())
    assert list(doc) == ["BTCUSDT", "ETHUSDT"] and doc["BTCUSDT"]["tiers"][2]["maintenance_margin_rate"] == "0.0065"
    stdout = run(*args)
    assert stdout.exit_code == 0 and "BTCUSDT:\n  contract_multiplier: \"1\"\n  tick_size: \"0.1\"\n" in stdout.output
    y = tmp_path / "c.yaml"
    y.write_text(stdout.stdout)  # the notes go to stderr
    assert load_contracts(a, rulebook) == load_contracts(y, rulebook)  # the same contracts in either format


def test_a_missing_tick_names_the_symbol_and_the_option(tmp_path):
    out = tmp_path / "c.yaml"
    r = run(TIERS, "--lot-size", "1", "--multiplier", "1", "--money-step", "0.01", "--out", str(out))
    assert r.exit_code == 2
    assert f"error: {TIERS}:2:3: BTC/USDT:USDT: no tick_size: give --tick-size (or --markets MARKETS.json)" in r.output
    assert f"error: {TIERS}:12:3: ETH/USDT:USDT: no tick_size: give --tick-size (or --markets MARKETS.json)" in r.output
    assert "2 error(s); nothing written" in r.output and not out.exists()


def test_a_market_without_a_value_names_the_key_and_the_option(tmp_path):
    markets = json.loads(Path(MARKETS).read_text())
    del markets["ETH/USDT:USDT"]["contractSize"]
    mp = tmp_path / "m.json"
    mp.write_text(json.dumps(markets))
    r = run(TIERS, "--markets", str(mp), "--money-step", "0.0001")
    assert r.exit_code == 2
    assert (f"error: {TIERS}:12:3: ETH/USDT:USDT: no contract_multiplier: give --multiplier (its market gives no "
            "contractSize)") in r.output
    assert "BTC/USDT:USDT" not in r.output


def test_without_cum_the_import_refuses_by_default(tmp_path):
    r = run(NOCUM, *STEPS)
    assert r.exit_code == 2
    assert (f"error: {NOCUM}:2:3: SOL/USDT:USDT: no maintenance amount (info.cum) in any tier; give --missing-amount "
            "derive to derive the amounts that make maintenance margin continuous") in r.output


def test_derived_amounts_are_said_and_make_margin_continuous(rulebook, tmp_path):
    out = tmp_path / "c.yaml"
    r = run(NOCUM, *STEPS, "--missing-amount", "derive", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert ("note: SOLUSDT: no maintenance amount (info.cum) in any tier: derived the amounts that make maintenance "
            "margin continuous (0, 1000, 16000)") in r.output
    assert ("note: SOLUSDT: tier 2 starts at 100001 in the file; in the rulebook it takes every notional above "
            "100000 (tiers are contiguous)") in r.output
    sol = load_contracts(out, rulebook)["SOLUSDT"]  # reads back, parameter invariants included
    assert [t["maintenance_amount"] for t in sol.tiers] == [0, 1000, 16000]


def test_a_wrong_cum_is_refused_with_the_invariant_and_nothing_is_written(tmp_path):
    bad = json.loads(Path(TIERS).read_text())
    bad["BTC/USDT:USDT"][1]["info"]["cum"] = "60.0"
    src = tmp_path / "t.json"
    src.write_text(json.dumps(bad, indent=1))
    out = tmp_path / "c.yaml"
    out.write_text("mine\n")
    r = run(str(src), "--markets", MARKETS, "--money-step", "0.0001", "--out", str(out))
    assert r.exit_code == 1
    assert ("BTC/USDT:USDT (as BTCUSDT): INV-mm-continuous fails for BTCUSDT tiers 1 and 2: tier.max_notional * "
            "(tier.maintenance_margin_rate + taker_fee_rate) - tier.maintenance_amount (200) must equal "
            "tier.max_notional * (next_tier.maintenance_margin_rate + taker_fee_rate) - next_tier.maintenance_amount (190)") in r.output
    assert out.read_text() == "mine\n"  # the user's file is untouched


def test_symbols_that_would_clash_are_refused(tmp_path):
    rows = json.loads(Path(TIERS).read_text())["BTC/USDT:USDT"]
    src = tmp_path / "t.json"
    src.write_text(json.dumps({"BTC/USDT:USDT": rows, "BTC/USDT": rows}))
    r = run(str(src), *STEPS)
    assert r.exit_code == 2
    assert "BTC/USDT:USDT and BTC/USDT would both be BTCUSDT: import them separately" in r.output


def test_decimal_places_precision_and_settings(rulebook, tmp_path):
    markets = json.loads(Path(MARKETS).read_text())
    for m in markets.values():
        m["precision"] = {"price": 1, "amount": 3}
    mp = tmp_path / "m.json"
    mp.write_text(json.dumps(markets))
    out = tmp_path / "c.yaml"
    r = run(TIERS, "--markets", str(mp), "--precision-mode", "decimals", "--money-step", "0.0001",
            "--set", "liquidation_buffer_rate=0.01", "--lot-size", "0.01", "--out", str(out))
    assert r.exit_code == 0, r.output
    btc = load_contracts(out, rulebook)["BTCUSDT"]
    assert btc.params["tick_size"] == Fraction(1, 10)  # 1 decimal place
    assert btc.params["lot_size"] == Fraction(1, 100)  # the option wins over the market's 3 places
    assert btc.params["liquidation_buffer_rate"] == Fraction(1, 100)
    bad = run(TIERS, "--set", "tick=1", *STEPS)
    assert bad.exit_code == 2 and "expected NAME=VALUE with NAME one of" in bad.output
    tick_mode = run(TIERS, "--markets", MARKETS, "--precision-mode", "decimals", "--money-step", "0.0001")
    assert tick_mode.exit_code == 2
    assert "precision.price 0.1 is not a number of decimal places (is the file in TICK_SIZE mode?" in tick_mode.output


def test_an_inverse_market_is_refused(tmp_path):
    markets = json.loads(Path(MARKETS).read_text())
    markets["ETH/USDT:USDT"].update(inverse=True, linear=False)
    mp = tmp_path / "m.json"
    mp.write_text(json.dumps(markets))
    r = run(TIERS, "--markets", str(mp), "--money-step", "0.0001")
    assert r.exit_code == 2
    assert "ETH/USDT:USDT: an inverse contract (margin in the base currency)" in r.output


def test_malformed_json_is_placed(tmp_path):
    src = tmp_path / "t.json"
    src.write_text('{"BTC/USDT:USDT": [\n  {"tier": 1,,}]}')
    r = run(str(src), *STEPS)
    assert r.exit_code == 2 and f"error: {src}:2:14: malformed JSON: Expecting property name" in r.output


@pytest.mark.parametrize("bracket", ["]", "}"])
def test_a_trailing_comma_is_placed_at_the_comma(tmp_path, bracket):
    """A hand-edited tiers file with a comma after the last tier (or the last key): named as such, at
    the comma, not as 'Expecting value' at the bracket after it."""
    src = tmp_path / "t.json"
    last = '{"tier": 2, "minNotional": 50000,' if bracket == "}" else '{"tier": 2, "minNotional": 50000},'
    src.write_text('{"BTC/USDT:USDT": [\n  {"tier": 1, "minNotional": 0},\n  ' + last + '\n' + bracket
                   + ("]}" if bracket == "}" else "}"))
    r = run(str(src), *STEPS)
    col = len(last) + 2
    assert r.exit_code == 2 and f"error: {src}:3:{col}: trailing comma before '{bracket}'" in r.output
    assert "Expecting" not in r.output


@pytest.mark.parametrize("text, value", [
    ("0.1", Fraction(1, 10)),
    ("0.1000000000000000055511151231257827", Fraction(1, 10)),  # the double nearest 0.1, shortest text 0.1
    ("1e-05", Fraction(1, 100000)),
    ("50000", Fraction(50000)),
    ("12345678901234567890123", Fraction(12345678901234567890123)),  # integers stay exact
    ('"0.0065"', Fraction(65, 10000)),
    ("Infinity", None),
    ("null", None),
    ('"abc"', None),
])
def test_numbers_are_read_as_their_shortest_decimal(text, value):
    assert ccxt_number(load_json_text(f"[{text}]", "x.json", constants=True)[0]) == value


@pytest.mark.parametrize("ccxt, name", [
    ("BTC/USDT:USDT", "BTCUSDT"), ("1000PEPE/USDT:USDT", "1000PEPEUSDT"), ("BTC/USD:BTC-240329", "BTCUSD-240329"),
    ("ETHUSDT", "ETHUSDT"), ("BTC/US DT", None),
])
def test_symbols_become_rulebook_symbols(ccxt, name):
    assert rulebook_symbol(ccxt) == name


def test_the_bench_builds_a_venue_the_import_accepts(rulebook, tmp_path):
    spec = importlib.util.spec_from_file_location("bench_import", Path(__file__).resolve().parents[2] / "bench" /
                                                  "bench_import.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    tp, mp = bench.build(tmp_path, 12, 3)
    doc = json.loads(tp.read_text())
    assert len(doc) == 12 and all(3 <= len(v) <= 12 for v in doc.values())
    out = tmp_path / "c.yaml"
    r = run(str(tp), "--markets", str(mp), "--money-step", "0.0001", "--out", str(out))
    assert r.exit_code == 0, r.output
    cs = load_contracts(out, rulebook)
    assert len(cs) == 12
    for c in cs.values():
        caps = [t["max_notional"] for t in c.tiers]
        assert caps == sorted(caps) and len(set(caps)) == len(caps)


def test_a_misspelled_ccxt_key_is_named_beside_the_missing_one(tmp_path):
    bad = json.loads(Path(TIERS).read_text())
    row = bad["BTC/USDT:USDT"][0]
    row["maintenanceMarginRte"] = row.pop("maintenanceMarginRate")
    src = tmp_path / "t.json"
    src.write_text(json.dumps(bad, indent=1))
    r = run(str(src), "--markets", MARKETS, "--out", str(tmp_path / "c.yaml"))
    assert r.exit_code == 2
    assert ("BTC/USDT:USDT: tier 1: maintenanceMarginRate is missing; a finite number is needed (the tier has "
            "'maintenanceMarginRte': misspelled?)") in r.output

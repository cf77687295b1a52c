"""Contracts files: YAML and JSON read into the rulebook's Contract, every problem at file:line:col."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from marginspec.contracts import dumps_contracts, load_contracts, with_contracts
from marginspec.diagnostics import SpecError

THREE = Path(__file__).resolve().parents[1] / "fixtures" / "contracts" / "three.yaml"


def errors(path, rulebook, **kw) -> list[str]:
    with pytest.raises(SpecError) as e:
        load_contracts(path, rulebook, **kw)
    return [str(d) for d in e.value.diagnostics]


def test_the_three_contracts_load_with_the_rulebook_default(rulebook):
    cs = load_contracts(THREE, rulebook)
    assert list(cs) == ["ONEUSDT", "TWELVEUSDT", "TINYUSDT"]
    assert [len(c.tiers) for c in cs.values()] == [1, 12, 3]
    tiny = cs["TINYUSDT"]
    assert tiny.params["tick_size"] == Fraction(1, 10**7)
    assert tiny.params["liquidation_buffer_rate"] == Fraction("0.005")  # the rulebook's default
    assert cs["TWELVEUSDT"].tiers[11] == {"max_notional": Fraction(10**8), "maintenance_margin_rate": Fraction(1, 2),
                                          "max_leverage": Fraction(1), "maintenance_amount": Fraction(15530435)}


def test_with_contracts_replaces_the_profiles(rulebook):
    rb = with_contracts(rulebook, load_contracts(THREE, rulebook))
    assert list(rb.contracts) == ["ONEUSDT", "TINYUSDT", "TWELVEUSDT"]
    assert list(rulebook.contracts) == ["BTCUSDT", "ETHUSDT"]  # the original is untouched


@pytest.mark.parametrize("fmt, name", [("yaml", "c.yaml"), ("json", "c.json")])
def test_written_files_read_back_identically(rulebook, tmp_path, fmt, name):
    cs = load_contracts(THREE, rulebook)
    text = dumps_contracts(cs, fmt)
    p = tmp_path / name
    p.write_text(text)
    again = load_contracts(p, rulebook)
    assert again == {s: cs[s] for s in sorted(cs)}
    assert dumps_contracts(again, fmt) == text


def test_a_contracts_section_is_accepted_as_it_is(rulebook, tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("contracts:\n" + "".join("  " + line + "\n" for line in THREE.read_text().splitlines()
                                          if not line.startswith("#")))
    assert sorted(load_contracts(p, rulebook)) == ["ONEUSDT", "TINYUSDT", "TWELVEUSDT"]


BAD_YAML = """\
BTC/USDT:
  contract_multiplier: "1"
  tick_size: "0.1"
  lot_size: "1"
  money_step: "0.01"
  tiers:
    - {max_notional: "100", maintenance_margin_rate: "0.01", max_leverage: "50", maintenance_amount: "0"}
XUSDT:
  contract_multiplier: "1"
  tick_size: "0.1x"
  lot_size: "1"
  tiers:
    - {max_notional: "100", maintenance_margin_rate: "0.01", max_leverage: "50", maintenance_amout: "0"}
YUSDT:
  contract_multiplier: "1"
  tick_size: "0"
  lot_size: "1"
  money_step: "0.01"
  tiers:
    - {max_notional: "100", maintenance_margin_rate: "0.01", max_leverage: "50", maintenance_amount: "0"}
ZUSDT:
  contract_multiplier: "1"
  tick_size: "0.1"
  lot_size: "1"
  money_step: "0.01"
  tiers:
    - {max_notional: "100", maintenance_margin_rate: "0.01", max_leverage: "50", maintenance_amount: "0"}
    - {max_notional: "200", maintenance_margin_rate: "0.02", max_leverage: "100", maintenance_amount: "1"}
"""


def test_every_problem_of_a_yaml_file_at_its_place(rulebook, tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(BAD_YAML)
    f = str(p)
    assert errors(p, rulebook) == [
        f"{f}:1:1: 'BTC/USDT' is not a symbol: use letters, digits, '_' and '-'",
        f"{f}:9:3: contract XUSDT: missing parameter 'money_step'",
        f"{f}:10:14: '0.1x' is not a plain decimal number",
        f"{f}:13:7: contract XUSDT: tier without 'maintenance_amount'",
        f"{f}:13:82: contract XUSDT: unknown tier field 'maintenance_amout' (did you mean 'maintenance_amount'?)",
        f'{f}:16:14: contract YUSDT: tick_size is "0", outside its domain tick_size > 0',
        f"{f}:28:7: INV-born-safe fails for ZUSDT tier 2: 1 / max_leverage (0.01) must exceed maintenance_margin_rate "
        "+ taker_fee_rate (0.02). For every tier, 1 / max_leverage > maintenance_margin_rate + taker_fee_rate (the fee "
        "reserve is part of maintenance margin, so a position at the tier's maximum leverage still has equity above it).",
    ]


def test_without_wellformed_the_invariants_are_left_to_the_prover(rulebook, tmp_path):
    p = tmp_path / "z.yaml"
    p.write_text(BAD_YAML[BAD_YAML.index("ZUSDT:"):])
    assert errors(p, rulebook) == [f"{p}:8:7: INV-born-safe fails for ZUSDT tier 2: 1 / max_leverage (0.01) must "
                                   "exceed maintenance_margin_rate + taker_fee_rate (0.02). For every tier, "
                                   "1 / max_leverage > maintenance_margin_rate + taker_fee_rate (the fee reserve is "
                                   "part of maintenance margin, so a position at the tier's maximum leverage still "
                                   "has equity above it)."]
    assert list(load_contracts(p, rulebook, wellformed=False)) == ["ZUSDT"]


BAD_JSON = """\
{
  "ZUSDT": {
    "contract_multiplier": "1", "tick_size": "0.1", "lot_size": "1", "money_step": 0.01,
    "tiers": [
      {"max_notional": "100", "maintenance_margin_rate": "0.01", "max_leverage": "50", "maintenance_amount": "0"},
      {"max_notional": "200", "maintenance_margin_rate": "0.02", "max_leverage": "100", "maintenance_amount": "1"}
    ]
  },
  "WUSDT": {"tiers": []},
  "VUSDT": {"contract_multiplier": true, "tiers": [{"max_notional": "1e3"}]}
}
"""


def test_every_problem_of_a_json_file_at_its_place(rulebook, tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(BAD_JSON)
    f = str(p)
    assert errors(p, rulebook) == [
        f"{f}:6:7: INV-born-safe fails for ZUSDT tier 2: 1 / max_leverage (0.01) must exceed maintenance_margin_rate "
        "+ taker_fee_rate (0.02). For every tier, 1 / max_leverage > maintenance_margin_rate + taker_fee_rate (the fee "
        "reserve is part of maintenance margin, so a position at the tier's maximum leverage still has equity above it).",
        f"{f}:9:13: WUSDT.tiers: [] should be non-empty",
        f"{f}:10:13: VUSDT.contract_multiplier: True is not of type 'string' or 'array'",
    ]


def test_a_json_number_is_read_as_its_literal_text(rulebook, tmp_path):
    p = tmp_path / "n.json"
    p.write_text('{"N": {"contract_multiplier": 0.1, "tick_size": "0.1", "lot_size": 1, "money_step": "0.01",'
                 ' "tiers": [{"max_notional": 100, "maintenance_margin_rate": 0.01, "max_leverage": 50,'
                 ' "maintenance_amount": 0}]}}')
    c = load_contracts(p, rulebook)["N"]
    assert c.params["contract_multiplier"] == Fraction(1, 10)  # not the binary double nearest 0.1
    assert c.tiers[0]["maintenance_margin_rate"] == Fraction(1, 100)


@pytest.mark.parametrize("text, where, message", [
    ('{"A": {"tiers": []},\n "A": {}}', "2:2", "duplicate key 'A' (first defined at line 1)"),
    ('{"A": {"tiers": [}}', "1:18", "malformed JSON: Expecting value"),
    ('{"A": 1,,}', "1:9", "malformed JSON: Expecting property name enclosed in double quotes"),
    ('{"A": NaN}', "1:7", "malformed JSON: NaN and Infinity are not JSON numbers"),
    ("", "1:1", "malformed JSON: Expecting value"),
    # a trailing comma, at the comma (the json module points at the bracket after it, "Expecting value")
    ('{"A": {"tiers": [{"max_notional": 1},\n  ]}}', "1:37", "trailing comma before ']'"),
    ('{"A": {"tiers": []} ,\n\t}', "1:21", "trailing comma before '}'"),
    ('{"A": ]}', "1:7", "malformed JSON: Expecting value"),  # a bracket where a value belongs, no comma
])
def test_malformed_json_is_a_placed_error(rulebook, tmp_path, text, where, message):
    p = tmp_path / "m.json"
    p.write_text(text)
    assert errors(p, rulebook) == [f"{p}:{where}: {message}"]


@pytest.mark.parametrize("text, where, message", [
    ("A: {tiers: []}\nA: {}\n", "2:1", "duplicate key 'A' (first defined at line 1)"),
    ("A: [1\n", "2:1", "malformed YAML: expected ',' or ']', but got '<stream end>'"),
])
def test_malformed_yaml_is_a_placed_error(rulebook, tmp_path, text, where, message):
    p = tmp_path / "m.yaml"
    p.write_text(text)
    assert errors(p, rulebook) == [f"{p}:{where}: {message}"]


def test_an_empty_or_unreadable_file_is_an_error_not_a_traceback(rulebook, tmp_path):
    p = tmp_path / "e.yaml"
    p.write_text("- 1\n")
    assert errors(p, rulebook) == [f"{p}:1:1: {p}: a contracts file maps SYMBOL to a contract "
                                   "(contract_multiplier, tick_size, ..., tiers)"]
    assert errors(tmp_path / "none.yaml", rulebook)[0].startswith(f"{tmp_path / 'none.yaml'}: cannot read: ")


def test_a_value_outside_its_domain_is_reported_at_the_value_with_the_value(rulebook, tmp_path):
    """A parameter or tier field outside its domain: the diagnostic points at the value (not at the
    symbol) and shows it as written, with the domain."""
    p = tmp_path / "bad7.yaml"
    p.write_text('''ACMEUSDT:
  contract_multiplier: "1"
  tick_size: "0.01"
  lot_size: "0.001"
  money_step: "0.01"
  liquidation_buffer_rate: "0.005"
  taker_fee_rate: "1.5"
  tiers:
    - {max_notional: "50000", maintenance_margin_rate: "0.004", max_leverage: "125", maintenance_amount: "0"}
    - {max_notional: "-250000", maintenance_margin_rate: "0.005", max_leverage: "100", maintenance_amount: "50"}
''')
    assert errors(p, rulebook) == [
        f'{p}:7:19: contract ACMEUSDT: taker_fee_rate is "1.5", outside its domain taker_fee_rate >= 0 and '
        "taker_fee_rate < 1",
        f'{p}:10:22: contract ACMEUSDT: tier 2: max_notional is "-250000", outside its domain max_notional > 0',
    ]


def test_errors_are_listed_by_file_then_line_and_column():
    """Whatever order the checks find them in, a file's errors read top to bottom; files keep the
    order in which they first come up."""
    from marginspec.diagnostics import Diagnostic, Mark

    found = [Diagnostic(Mark("b.yaml", 9, 1), "b9"), Diagnostic(Mark("a.yaml", 10, 14), "a10"),
             Diagnostic(Mark("b.yaml", 2, 5), "b2"), Diagnostic(Mark("a.yaml", 9, 3), "a9"),
             Diagnostic(Mark("b.yaml", 2, 1), "b2c1")]
    assert [d.message for d in SpecError(found).diagnostics] == ["b2c1", "b2", "b9", "a9", "a10"]

"""Catalogue (issue 10): hostile YAML files and formulas get file:line:col errors, never a
traceback, through `check`, `simulate FILE` and `prove --against FILE`."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from marginspec.cli import main

LAUGHS = 'lol0: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"lol{i}: &{chr(97 + i)} [" + ",".join(["*" + chr(96 + i)] * 9) + "]\n" for i in range(1, 9))


def run(*args, input=None):
    result = CliRunner().invoke(main, list(args), input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.output  # stdout and stderr


BAD_FILES = {
    "laughs": (LAUGHS.encode(), r"laughs\.yaml:\d+:\d+: the file expands to more than 100,000 values"),
    "recursive": (b"a: &x [1, *x]\n", r"recursive\.yaml:1:11: recursive alias \*x"),
    "utf16": ("a: 1\n".encode("utf-16"), r"utf16\.yaml:1:1: the file is UTF-16; save it as UTF-8"),
    "latin1": ("a: 1\nb: caf\xe9\n".encode("latin-1"), r"latin1\.yaml:2:7: not UTF-8: byte 0xe9"),
    "deep": (b"a: " + b"[" * 3000 + b"]" * 3000 + b"\n", r"deep\.yaml:1:\d+: nesting deeper than 64 levels"),
    "digits": (b"a: " + b"1" * 4301 + b"\n", r"digits\.yaml:1:4: a value with more than 1000 digits"),
    "nul": (b"a: 1\nb: x\x00y\n", r"nul\.yaml:2:5: malformed YAML: character U\+0000 is not allowed"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_simulate_file(tmp_path, name):
    data, pattern = BAD_FILES[name]
    (tmp_path / f"{name}.yaml").write_bytes(data)
    code, out = run("simulate", str(tmp_path / f"{name}.yaml"))
    assert code == 2
    assert re.search(pattern, out), out


@pytest.mark.parametrize("name", ["laughs", "recursive", "utf16", "latin1", "deep", "digits"])
def test_prove_against_file(tmp_path, name):
    data, pattern = BAD_FILES[name]
    (tmp_path / f"{name}.yaml").write_bytes(data)
    code, out = run("prove", "--against", str(tmp_path / f"{name}.yaml"))
    assert code == 2
    assert re.search(pattern, out), out


def test_simulate_stdin_not_utf8():
    code, out = run("simulate", "-", input=b"\xff\xfe[]")
    assert code == 2 and "<stdin>:1:1: the file is UTF-16" in out


def test_laughs_appended_to_the_rulebook(spec_copy):
    with open(spec_copy.path / "rulebook.yaml", "a") as f:
        f.write(LAUGHS)
    code, out = run("check", str(spec_copy.path))
    assert code == 1
    assert re.search(r"rulebook\.yaml:\d+:\d+: the file expands to more than 100,000 values", out), out


@pytest.mark.parametrize("name", ["recursive", "utf16", "latin1", "deep", "digits", "nul"])
def test_structural_problems_in_a_rulebook_file(spec_copy, name):
    data, pattern = BAD_FILES[name]
    (spec_copy.path / "notes.yaml").write_bytes(data)
    code, out = run("check", str(spec_copy.path))
    assert code == 1
    assert re.search(pattern.replace(rf"{name}\.yaml", r"notes\.yaml"), out), out


def test_rulebook_files_outside_the_folder(spec_copy):
    spec_copy.edit("rulebook.yaml", "files: [parameters.yaml,", "files: [../../../etc/passwd, /etc/hostname, parameters.yaml,")
    code, out = run("check", str(spec_copy.path))
    assert code == 1
    assert "file '../../../etc/passwd' listed in rulebook.files is outside the rulebook folder" in out
    assert "file '/etc/hostname' listed in rulebook.files is outside the rulebook folder" in out
    line = spec_copy.line_of("rulebook.yaml", "../../../etc/passwd")
    assert f"rulebook.yaml:{line}:" in out


EQUITY = 'expr: "isolated_margin + unrealized_pnl"'


def test_120_nested_parentheses_are_fine(spec_copy):
    spec_copy.edit("derived.yaml", EQUITY, 'expr: "' + "(" * 120 + "isolated_margin + unrealized_pnl" + ")" * 120 + '"')
    code, out = run("check", str(spec_copy.path))
    assert code == 0, out


def test_nesting_past_the_limit_is_refused(spec_copy):
    spec_copy.edit("derived.yaml", EQUITY, 'expr: "' + "(" * 300 + "isolated_margin + unrealized_pnl" + ")" * 300 + '"')
    code, out = run("check", str(spec_copy.path))
    assert code == 1
    assert "nesting deeper than 200 levels" in out and "RecursionError" not in out


def test_a_sum_of_500_terms_is_refused_with_the_limit(spec_copy):
    spec_copy.edit("derived.yaml", EQUITY, 'expr: "isolated_margin + unrealized_pnl' + " + 0" * 498 + '"')
    code, out = run("check", str(spec_copy.path))
    assert code == 1
    line = spec_copy.line_of("derived.yaml", "+ 0 + 0")
    assert f"derived.yaml:{line}:" in out
    assert "the expression is 500 operations deep; the limit is 64" in out


def test_a_sum_at_the_limit_is_checked_and_evaluated(spec_copy):
    from marginspec.engine import ReferenceEngine, contract_json
    from marginspec.rulebook import load_rulebook

    spec_copy.edit("derived.yaml", EQUITY, 'expr: "isolated_margin + unrealized_pnl' + " + 0" * 61 + '"')
    rb = load_rulebook(spec_copy.path)
    e = ReferenceEngine(rb)
    e.handle({"id": 1, "op": "reset", "args": {"contracts": {"BTCUSDT": contract_json(rb.contracts["BTCUSDT"])},
                                                "available_balance": "10000"}})
    e.handle({"id": 2, "op": "set_mark_price", "args": {"symbol": "BTCUSDT", "price": "50000"}})
    e.handle({"id": 3, "op": "open_position", "args": {"symbol": "BTCUSDT", "side": "long", "size": "1000", "margin": "5000"}})
    q = e.handle({"id": 4, "op": "query", "args": {"symbol": "BTCUSDT"}})
    assert q["result"]["position"]["equity"] == "5000"


def test_a_4301_digit_literal_in_a_formula(spec_copy):
    spec_copy.edit("derived.yaml", EQUITY, 'expr: "isolated_margin + unrealized_pnl * ' + "1" * 4301 + '"')
    code, out = run("check", str(spec_copy.path))
    assert code == 1
    assert "a number with more than 100 digits (the limit)" in out


def test_division_by_zero_is_reported(spec_copy):
    spec_copy.edit("derived.yaml", 'expr: "entry_price - direction * isolated_margin / base_quantity"',
                   'expr: "entry_price - direction * isolated_margin / base_quantity / 0"')
    code, out = run("check", str(spec_copy.path))
    assert code == 1
    line = spec_copy.line_of("derived.yaml", "base_quantity / 0")
    col = (spec_copy.path / "derived.yaml").read_text().splitlines()[line - 1].index("/ 0") + 1
    assert f"derived.yaml:{line}:{col}: derived value bankruptcy_root: the divisor '0' can be zero" in out


def test_a_divisor_the_domains_allow_to_be_zero_is_reported(spec_copy):
    spec_copy.edit("derived.yaml", 'expr: "notional / tier(notional).max_leverage"',
                   'expr: "notional / (tier(notional).max_leverage - 1)"')
    code, out = run("check", str(spec_copy.path))
    assert code == 1
    assert "derived value minimum_margin: the divisor 'tier(notional).max_leverage - 1' can be zero" in out


def test_the_shipped_divisions_pass(spec_copy):
    # e.g. base_quantity * (1 - direction * tier.maintenance_margin_rate): non-zero by the domains
    from marginspec.divisions import division_problems
    from marginspec.rulebook import load_rulebook

    assert division_problems(load_rulebook(spec_copy.path)) == []


def test_a_guarded_division_passes_and_the_unguarded_one_fails(spec_copy):
    old = 'expr: "entry_price - direction * isolated_margin / base_quantity"'
    spec_copy.edit("derived.yaml", old, 'expr: "entry_price * isolated_margin / isolated_margin"')
    code, out = run("check", str(spec_copy.path))
    assert code == 1
    assert "derived value bankruptcy_root: the divisor 'isolated_margin' can be zero" in out
    spec_copy.edit("derived.yaml", 'expr: "entry_price * isolated_margin / isolated_margin"',
                   'expr: "if isolated_margin != 0 then entry_price * isolated_margin / isolated_margin '
                   'else entry_price"')
    code, out = run("check", str(spec_copy.path))
    assert code == 0, out

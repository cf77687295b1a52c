"""Bad rulebooks: each rejected with file:line:col and the exact message; every error, not just the first."""

import subprocess
import sys

import pytest

from marginspec.diagnostics import SpecError
from marginspec.rulebook import load_rulebook


def errors_of(path) -> list[str]:
    with pytest.raises(SpecError) as ei:
        load_rulebook(path)
    return [f"{d.mark.file.rsplit('/', 1)[-1]}:{d.mark.line}:{d.mark.col}: {d.message}" for d in ei.value.diagnostics]


def test_malformed_yaml(spec_copy):
    spec_copy.edit("derived.yaml", "  notional:\n    unit: money", "  notional:\n    unit: [money")
    assert errors_of(spec_copy.path) == ["derived.yaml:16:9: malformed YAML: expected ',' or ']', but got ':'"]


def test_duplicate_key(spec_copy):
    spec_copy.edit("derived.yaml", '    expr: "size * contract_multiplier"',
                   '    expr: "size * contract_multiplier"\n    expr: "size"')
    assert errors_of(spec_copy.path) == ["derived.yaml:13:5: duplicate key 'expr' (first defined at line 12)"]


def test_a_duplicate_key_does_not_hide_the_other_errors_of_its_file(spec_copy):
    """The loader keeps the first value of a duplicate key and goes on, so the file's other errors
    come with it, in line order."""
    spec_copy.edit("derived.yaml", '    expr: "size * contract_multiplier"',
                   '    expr: "size * contract_multiplier"\n    expr: "size"')
    spec_copy.edit("derived.yaml", 'expr: "base_quantity * mark_price"', 'expr: "base_quantity * mark_prise"')
    assert errors_of(spec_copy.path) == [
        "derived.yaml:13:5: duplicate key 'expr' (first defined at line 12)",
        "derived.yaml:17:28: derived value 'notional': unknown name 'mark_prise' (did you mean 'mark_price'?)"]


def test_unknown_name_with_suggestion(spec_copy):
    spec_copy.edit("derived.yaml", 'expr: "base_quantity * mark_price"', 'expr: "base_quantity * mark_prise"')
    assert errors_of(spec_copy.path) == [
        "derived.yaml:16:28: derived value 'notional': unknown name 'mark_prise' (did you mean 'mark_price'?)"]


def test_unit_mismatch_price_plus_money(spec_copy):
    spec_copy.edit("derived.yaml", 'expr: "isolated_margin + unrealized_pnl"', 'expr: "isolated_margin + mark_price"')
    assert errors_of(spec_copy.path) == [
        "derived.yaml:26:28: derived value 'equity': adding: unit mismatch, money and price"]


def test_declared_unit_differs_from_formula(spec_copy):
    spec_copy.edit("derived.yaml", 'expr: "base_quantity * mark_price"', 'expr: "base_quantity * contract_multiplier"')
    (msg,) = errors_of(spec_copy.path)
    assert msg.startswith("derived.yaml:16:11: derived value 'notional' is declared money but its formula gives ")


def test_wrong_type(spec_copy):
    spec_copy.edit("actions.yaml", 'checks: []\n    effects:\n      - set: {mark_price: "arg.price"}',
                   'checks: 5\n    effects:\n      - set: {mark_price: "arg.price"}')
    assert errors_of(spec_copy.path) == ["actions.yaml:22:5: actions.set_mark_price.checks: '5' is not of type 'array'"]


def test_missing_section(spec_copy):
    spec_copy.edit("rulebook.yaml", "files: [parameters.yaml, state.yaml, derived.yaml,", "files: [parameters.yaml, state.yaml,")
    assert errors_of(spec_copy.path) == [
        "rulebook.yaml:3:1: the rulebook: missing section: 'derived' is a required property",
        "rulebook.yaml:3:1: the rulebook: missing section: 'position_view' is a required property",
    ]


def test_cycle_among_derived_values(spec_copy):
    spec_copy.edit("derived.yaml", 'expr: "size * contract_multiplier"', 'expr: "notional / mark_price"')
    assert errors_of(spec_copy.path) == [
        "derived.yaml:12:11: a cycle among derived values: base_quantity -> notional -> base_quantity"]


def test_syntax_error_points_at_the_token(spec_copy):
    spec_copy.edit("derived.yaml", 'expr: "isolated_margin + unrealized_pnl"', 'expr: "isolated_margin + * unrealized_pnl"')
    assert errors_of(spec_copy.path) == [
        "derived.yaml:26:30: syntax error in 'isolated_margin + * unrealized_pnl': expected a value but found '*'"]


def test_enum_literal_misspelt(spec_copy):
    spec_copy.edit("derived.yaml", "expr: \"if side == 'long' then 1 else -1\"", "expr: \"if side == 'lung' then 1 else -1\"")
    assert errors_of(spec_copy.path) == [
        "derived.yaml:7:23: derived value 'direction': 'lung' is not a side (did you mean 'long'?); "
        "a side is one of long, short"]


def test_unknown_error_code(spec_copy):
    spec_copy.edit("actions.yaml", "error: MODE_LOCKED", "error: MODE_LOCK")
    assert errors_of(spec_copy.path) == ["actions.yaml:39:16: unknown error code 'MODE_LOCK' (did you mean 'MODE_LOCKED'?)"]


def test_every_error_is_reported_not_just_the_first(spec_copy):
    spec_copy.edit("derived.yaml", 'expr: "base_quantity * mark_price"', 'expr: "base_quantity * mark_prise"')
    spec_copy.edit("actions.yaml", "error: MODE_LOCKED", "error: MODE_LOCK")
    spec_copy.edit("derived.yaml", 'expr: "isolated_margin + unrealized_pnl"', 'expr: "isolated_margin + mark_price"')
    msgs = errors_of(spec_copy.path)
    assert len(msgs) == 3
    assert any("mark_prise" in m for m in msgs) and any("MODE_LOCK'" in m for m in msgs)
    assert any("unit mismatch" in m for m in msgs)


def test_check_command_exit_codes(spec_copy, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "marginspec", "check"], capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: marginspec-isolated-margin")
    spec_copy.edit("actions.yaml", "error: MODE_LOCKED", "error: MODE_LOCK")
    spec_copy.edit("derived.yaml", 'expr: "base_quantity * mark_price"', 'expr: "base_quantity * mark_prise"')
    bad = subprocess.run([sys.executable, "-m", "marginspec", "check", str(spec_copy.path)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1
    assert "unknown error code 'MODE_LOCK'" in bad.stderr and "unknown name 'mark_prise'" in bad.stderr
    assert bad.stderr.strip().endswith("2 error(s)")
    js = subprocess.run([sys.executable, "-m", "marginspec", "check", "--format", "json", str(spec_copy.path)],
                        capture_output=True, text=True, cwd=tmp_path)
    import json
    doc = json.loads(js.stdout)
    assert js.returncode == 1 and doc["ok"] is False and len(doc["errors"]) == 2
    assert {e["line"] for e in doc["errors"]} == {16, 39}


def test_a_number_in_the_rulebook_must_be_a_plain_decimal(spec_copy):
    spec_copy.edit("state.yaml", 'initial: "0"', 'initial: "1/3"')
    assert errors_of(spec_copy.path) == ["state.yaml:8:14: '1/3' is not a plain decimal number"]


def test_an_unrounded_value_gets_an_internal_error_and_the_engine_keeps_serving(spec_copy):
    """A rulebook bug (leverage left unrounded: 50000/3000 has no decimal form) must not kill the engine."""
    from marginspec.engine import ReferenceEngine
    from tests.support import Client, contract_json

    spec_copy.edit("derived.yaml", "round(notional / isolated_margin, 0.01, half_away)", "notional / isolated_margin")
    rb = load_rulebook(spec_copy.path)
    c = Client(ReferenceEngine(rb))
    c.ok("reset", contracts={"BTCUSDT": contract_json(rb, "BTCUSDT")}, available_balance="10000")
    c.ok("set_mark_price", symbol="BTCUSDT", price="50000")
    c.ok("open_position", symbol="BTCUSDT", side="long", size="1000", margin="3000")
    reply = c.call("query", symbol="BTCUSDT")
    assert reply["ok"] is False and reply["error"]["code"] == "INTERNAL"
    assert "no finite decimal expansion" in reply["error"]["message"]
    assert c.ok("set_mark_price", symbol="BTCUSDT", price="50001") == {"liquidated": False}


def test_check_rejects_a_broken_invariant_formula(spec_copy, tmp_path):
    """Invariant formulas are read by the prover; `check` runs that reading too, with file:line:col."""
    text = (spec_copy.path / "invariants.yaml").read_text()
    assert "equity > maintenance_margin" in text
    (spec_copy.path / "invariants.yaml").write_text(
        text.replace("equity > maintenance_margin", "equity > maintenance_margn", 1))
    line = spec_copy.line_of("invariants.yaml", "maintenance_margn")
    r = subprocess.run([sys.executable, "-m", "marginspec", "check", str(spec_copy.path)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1
    assert f"invariants.yaml:{line}:" in r.stderr
    assert "unknown name 'maintenance_margn' (did you mean 'maintenance_margin'?)" in r.stderr

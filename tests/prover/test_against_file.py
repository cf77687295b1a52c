"""`prove --against FILE` refuses a bad file as bad input (exit 2), every problem at its
file:line:col at once, before anything is proved: a misspelled key of an entry must not drop
its assumption silently (the proof would then come out VIOLATED for the wrong reason)."""

from __future__ import annotations

import pytest

from prover_support import run_prove

from marginspec.diagnostics import SpecError
from marginspec.prover import load_against
from marginspec.rulebook import load_rulebook

GOOD_EXPR = ("(base_quantity * entry_price - isolated_margin - first_tier.maintenance_amount)"
             " / (base_quantity * (1 - first_tier.maintenance_margin_rate))")


@pytest.fixture(scope="module")
def rb():
    return load_rulebook()


def problems(rb, tmp_path, text: str) -> list[str]:
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as e:
        load_against(rb, path)
    return [str(d).replace(str(path), "FILE") for d in e.value.diagnostics]


def test_a_misspelled_key_of_an_entry_is_an_error_at_its_place(rb, tmp_path):
    text = f"liquidation_root:\n  expr: \"{GOOD_EXPR}\"\n  asume: \"side == 'long'\"\n"
    assert problems(rb, tmp_path, text) == ["FILE:3:3: unknown key 'asume' (did you mean 'assume'?)"]


def test_a_misspelled_derived_value_names_its_place_and_the_close_name(rb, tmp_path):
    text = f"liquidaton_root:\n  expr: \"{GOOD_EXPR}\"\n"
    assert problems(rb, tmp_path, text) == [
        "FILE:1:1: --against: 'liquidaton_root' is not a derived value of the rulebook "
        "(did you mean 'liquidation_root'?)"]


def test_every_problem_of_the_file_at_once_in_file_order(rb, tmp_path):
    text = (f"liquidaton_root: \"{GOOD_EXPR}\"\n"
            "liquidation_root:\n"
            "  expr: \"base_quantity +\"\n"
            "  assume: \"side == 'long'\"\n"
            "  frobnicate: 1\n"
            "liquidation_price:\n"
            "  asume: \"side == 'long'\"\n")
    found = problems(rb, tmp_path, text)
    assert [p.split(": ", 1)[0] for p in found] == ["FILE:1:1", "FILE:3:9", "FILE:5:3", "FILE:6:1", "FILE:7:3"]
    assert "syntax error in 'base_quantity +'" in found[1]
    assert found[2] == "FILE:5:3: unknown key 'frobnicate' (an entry has expr, assume and invariants)"
    assert found[3] == "FILE:6:1: --against liquidation_price: no expr (the formula to prove equal)"
    assert found[4] == "FILE:7:3: unknown key 'asume' (did you mean 'assume'?)"


def test_an_entry_or_a_file_of_the_wrong_shape(rb, tmp_path):
    assert problems(rb, tmp_path, "liquidation_root: [1, 2]\n") == [
        "FILE:1:19: --against liquidation_root: expected the formula, or a mapping with expr: "
        "(and assume:, invariants:), got a list"]
    assert problems(rb, tmp_path, "- liquidation_root\n") == [
        "FILE:1:1: --against: expected a mapping of derived values to formulas (NAME: {expr: ..., assume: ...}), "
        "got a list"]
    assert problems(rb, tmp_path, "# nothing\n") == [
        "FILE:1:1: --against: expected a mapping of derived values to formulas (NAME: {expr: ..., assume: ...}), "
        "got nothing"]


def test_the_command_exits_2_with_each_problem_on_its_own_error_line(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(f"liquidaton_root: \"{GOOD_EXPR}\"\nliquidation_root:\n  expr: \"{GOOD_EXPR}\"\n"
                    "  asume: \"side == 'long'\"\n")
    code, out, err = run_prove("--against", str(path))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"error: {path}:1:1: --against: 'liquidaton_root' is not a derived value of the rulebook "
        "(did you mean 'liquidation_root'?)",
        f"error: {path}:4:3: unknown key 'asume' (did you mean 'assume'?)"]

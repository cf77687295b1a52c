"""The venue parameters taker_fee_rate and maintenance_basis (protocol v1 additions): the rulebook's
formulas, the reference engine and the Node example engine agree on them, exactly."""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction as F
from pathlib import Path

import pytest

from marginspec.engine import ReferenceEngine, contract_json
from marginspec.rulebook import Contract, load_rulebook

NODE_ENGINE = Path(__file__).resolve().parents[1] / "conformance" / "examples" / "node-engine" / "engine.js"


def one_tier(**extra) -> dict:
    """The issue's known-answer contract: one tier, mmr 0.4%, no maintenance amount, multiplier 1."""
    return {"contract_multiplier": "1", "tick_size": "0.1", "lot_size": "0.001", "money_step": "0.0001",
            "liquidation_buffer_rate": "0.005", **extra,
            "tiers": [{"max_notional": "1000000", "maintenance_margin_rate": "0.004", "max_leverage": "100",
                       "maintenance_amount": "0"}]}


def script(contract: dict, side: str, size: str = "1", margin: str = "5000", mark: str = "50000",
           later_mark: str | None = None) -> list[dict]:
    reqs = [{"op": "reset", "args": {"contracts": {"X": contract}, "available_balance": "100000"}},
            {"op": "set_mark_price", "args": {"symbol": "X", "price": mark}},
            {"op": "open_position", "args": {"symbol": "X", "side": side, "size": size, "margin": margin}}]
    if later_mark is not None:
        reqs.append({"op": "set_mark_price", "args": {"symbol": "X", "price": later_mark}})
    reqs.append({"op": "query", "args": {"symbol": "X"}})
    return [{"id": i, **r} for i, r in enumerate(reqs, 1)]


def run_reference(reqs: list[dict]) -> tuple[list[dict], ReferenceEngine]:
    e = ReferenceEngine()
    return [e.handle(r) for r in reqs], e


def run_node(reqs: list[dict]) -> list[dict]:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    lines = "".join(json.dumps(r) + "\n" for r in reqs) + json.dumps({"id": 99, "op": "shutdown"}) + "\n"
    out = subprocess.run(["node", str(NODE_ENGINE)], input=lines, capture_output=True, text=True, timeout=30)
    return [json.loads(x) for x in out.stdout.splitlines()][:-1]


def derived(engine: ReferenceEngine, symbol: str = "X") -> dict:
    w = engine.world
    return engine.interp.derived_values({**w.contract_values[symbol], **w.account, **w.symbols[symbol]})


def test_fee_long_root_is_45000_over_0_9954_exactly():
    replies, e = run_reference(script(one_tier(taker_fee_rate="0.0006"), "long"))
    assert all(r["ok"] for r in replies), replies
    root = derived(e)["liquidation_root"]
    assert isinstance(root, F) and root == F(45000) / F("0.9954")
    assert replies[-1]["result"]["position"]["liquidation_price"] == "45208"  # 45207.956… rounded up to the tick
    assert replies[-1]["result"]["position"]["maintenance_margin"] == "230"  # 50000 * (0.004 + 0.0006)


def test_fee_short_root_matches_the_short_formula():
    replies, e = run_reference(script(one_tier(taker_fee_rate="0.0006"), "short"))
    q, E, M, mmr, f = F(1), F(50000), F(5000), F("0.004"), F("0.0006")
    assert derived(e)["liquidation_root"] == (q * E + M) / (q * (1 + mmr + f))
    assert replies[-1]["result"]["position"]["liquidation_price"] == "54748.1"  # 55000 / 1.0046 = 54748.16… rounded down


def test_fee_free_root_is_unchanged():
    _, e = run_reference(script(one_tier(), "long"))
    assert derived(e)["liquidation_root"] == F(45000) / F("0.996")


def test_entry_basis_root_and_a_mark_that_does_not_move_maintenance():
    c = one_tier(taker_fee_rate="0.0006", maintenance_basis="entry")
    replies, e = run_reference(script(c, "long", later_mark="47000"))
    assert all(r["ok"] for r in replies), replies
    pos = replies[-1]["result"]["position"]
    # maintenance on the entry notional 50000: 50000 * 0.0046 = 230, at any mark
    assert pos["maintenance_margin"] == "230" and pos["notional"] == "47000"
    assert derived(e)["liquidation_root"] == F(50000) - (F(5000) - 230)  # E - d (M - MM) / N, N = 1
    assert pos["liquidation_price"] == "45230"
    # the mark basis at the same mark: 47000 * 0.0046 = 216.2
    replies, _ = run_reference(script(one_tier(taker_fee_rate="0.0006"), "long", later_mark="47000"))
    assert replies[-1]["result"]["position"]["maintenance_margin"] == "216.2"


@pytest.mark.parametrize("side", ["long", "short"])
@pytest.mark.parametrize("extra", [{"taker_fee_rate": "0.0006"}, {"maintenance_basis": "entry"},
                                   {"taker_fee_rate": "0.00055", "maintenance_basis": "entry"}, {}])
def test_node_engine_agrees_with_the_reference(side, extra):
    reqs = script(one_tier(**extra), side, size="1.5", margin="4000", later_mark="48000" if side == "long" else "52000")
    ref, _ = run_reference(reqs)
    node = run_node(reqs)
    assert [r["ok"] for r in node] == [r["ok"] for r in ref]
    assert node[-1]["result"]["position"] == ref[-1]["result"]["position"]


def test_node_engine_refuses_unknown_contract_fields_and_bad_values():
    bad = [one_tier(insurance_fee_rate="0.001"), one_tier(maintenance_basis="index"), one_tier(taker_fee_rate="1")]
    replies = run_node([{"id": i, "op": "reset", "args": {"contracts": {"X": c}, "available_balance": "1"}}
                        for i, c in enumerate(bad, 1)])
    assert [r["error"]["code"] for r in replies] == ["INVALID_ARGUMENT"] * 3
    assert "insurance_fee_rate" in replies[0]["error"]["message"]
    assert "maintenance_basis" in replies[1]["error"]["message"]


def test_reference_refuses_a_basis_that_is_not_one():
    replies, _ = run_reference(script(one_tier(maintenance_basis="index"), "long")[:1])
    assert replies[0]["error"]["code"] == "INVALID_ARGUMENT"
    assert "maintenance_basis" in replies[0]["error"]["message"] and "mark, entry" in replies[0]["error"]["message"]


def test_contract_json_leaves_optional_parameters_out_at_their_default():
    rb = load_rulebook()
    c = rb.contracts["BTCUSDT"]
    assert c.params["taker_fee_rate"] == 0 and c.params["maintenance_basis"] == "mark"
    out = contract_json(c, rb)
    assert "taker_fee_rate" not in out and "maintenance_basis" not in out
    assert out["liquidation_buffer_rate"] == "0.005"  # not optional: always written
    fee = Contract("X", {**c.params, "taker_fee_rate": F("0.0006"), "maintenance_basis": "entry"}, c.tiers)
    out = contract_json(fee, rb)
    assert out["taker_fee_rate"] == "0.0006" and out["maintenance_basis"] == "entry"


def test_parameters_are_declared_with_defaults():
    rb = load_rulebook()
    by = {p.name: p for p in rb.params}
    assert by["taker_fee_rate"].default == 0 and by["taker_fee_rate"].unit == "rate" and by["taker_fee_rate"].optional
    assert by["maintenance_basis"].enum == "maintenance_basis" and by["maintenance_basis"].default == "mark"
    assert rb.enums["maintenance_basis"] == ("mark", "entry")


def test_a_contract_profile_with_a_wrong_basis_is_an_error_at_its_place(tmp_path):
    from marginspec.rulebook import default_spec_dir
    from marginspec.diagnostics import SpecError
    spec = tmp_path / "spec"
    shutil.copytree(default_spec_dir(), spec)
    text = (spec / "contracts.yaml").read_text()
    (spec / "contracts.yaml").write_text(text.replace('    money_step: "0.0001"\n', '    money_step: "0.0001"\n    maintenance_basis: entyr\n', 1))
    with pytest.raises(SpecError) as ei:
        load_rulebook(spec)
    msg = str(ei.value)
    assert "contracts.yaml:" in msg and "'entyr' is not a maintenance_basis" in msg and "did you mean 'entry'" in msg

"""`marginspec engine` over stdin/stdout: bad input gets the right error and the engine keeps serving."""

import json
from fractions import Fraction
import subprocess
import sys

from tests.support import contract_json


def run_engine(lines: list[str], cwd) -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "marginspec", "engine"], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=60, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_bad_input_gets_an_error_and_the_engine_keeps_serving(rulebook, tmp_path):
    reset = {"id": 1, "op": "reset", "args": {"contracts": {"BTCUSDT": contract_json(rulebook, "BTCUSDT")},
                                               "available_balance": "10000"}}
    lines = [
        json.dumps(reset),
        "this is not json",
        json.dumps({"id": 2, "op": "transmogrify", "args": {}}),
        json.dumps({"id": 3, "op": "set_mark_price", "args": {"symbol": "BTCUSDT"}}),
        json.dumps({"id": 4, "op": "set_mark_price", "args": {"symbol": "BTCUSDT", "price": 50000.5}}),
        json.dumps({"id": 5, "op": "set_mark_price", "args": {"symbol": "BTCUSDT", "price": "5e4"}}),
        "[1, 2, 3]",
        json.dumps({"id": 6, "op": "set_mark_price", "args": {"symbol": "BTCUSDT", "price": "50000"}}),
        json.dumps({"id": 7, "op": "query", "args": {"symbol": "BTCUSDT"}}),
        json.dumps({"id": 8, "op": "shutdown", "args": {}}),
        json.dumps({"id": 9, "op": "query", "args": {"symbol": "BTCUSDT"}}),  # after shutdown: not answered
    ]
    replies = run_engine(lines, tmp_path)
    assert [r["id"] for r in replies] == [1, None, 2, 3, 4, 5, None, 6, 7, 8]
    assert replies[0] == {"id": 1, "ok": True, "result": {}}
    assert replies[1]["ok"] is False and replies[1]["error"]["code"] == "INVALID_ARGUMENT"
    assert replies[1]["error"]["message"].startswith("not JSON")
    assert replies[2]["error"]["code"] == "UNSUPPORTED"
    assert replies[3]["error"] == {"code": "INVALID_ARGUMENT", "message": "missing argument price"}
    assert replies[4]["error"] == {"code": "INVALID_ARGUMENT", "message": "price: 50000.5 is not a decimal string"}
    assert replies[5]["error"] == {"code": "INVALID_ARGUMENT", "message": "price: '5e4' is not a decimal string"}
    assert replies[6]["error"]["code"] == "INVALID_ARGUMENT"
    assert replies[7] == {"id": 6, "ok": True, "result": {"liquidated": False}}
    assert replies[8]["result"]["mark_price"] == "50000"
    assert replies[9] == {"id": 8, "ok": True, "result": {}}


def test_hello_lists_protocol_and_ops(tmp_path):
    (hello,) = run_engine([json.dumps({"id": "h", "op": "hello", "args": {}})], tmp_path)
    assert hello["id"] == "h" and hello["result"]["protocol"] == 1
    assert hello["result"]["engine"] == "marginspec-reference"
    assert set(hello["result"]["ops"]) == {"hello", "reset", "set_mark_price", "set_margin_mode", "set_leverage",
                                           "open_position", "add_margin", "reduce_margin", "apply_funding",
                                           "close_position", "query", "shutdown"}


def test_reset_refuses_a_malformed_contract_and_keeps_the_old_state(rulebook, tmp_path):
    good = contract_json(rulebook, "BTCUSDT")
    bad = dict(good, tick_size="0")
    unordered = dict(good, tiers=[good["tiers"][1], good["tiers"][0]])
    lines = [json.dumps({"id": i, "op": op, "args": a}) for i, (op, a) in enumerate([
        ("reset", {"contracts": {"BTCUSDT": good}, "available_balance": "10000"}),
        ("set_mark_price", {"symbol": "BTCUSDT", "price": "50000"}),
        ("reset", {"contracts": {"BTCUSDT": bad}, "available_balance": "10000"}),
        ("reset", {"contracts": {"BTCUSDT": unordered}, "available_balance": "10000"}),
        ("reset", {"contracts": {"BTCUSDT": good}, "available_balance": "-1"}),
        ("query", {"symbol": "BTCUSDT"}),
    ])]
    r = run_engine(lines, tmp_path)
    assert r[2]["error"]["code"] == "INVALID_ARGUMENT" and "tick_size" in r[2]["error"]["message"]
    assert r[3]["error"]["code"] == "INVALID_ARGUMENT" and "increase" in r[3]["error"]["message"]
    assert r[4]["error"]["code"] == "INVALID_ARGUMENT"
    assert r[5]["result"]["mark_price"] == "50000"


def test_reset_validates_each_distinct_contract_once_and_still_resets_state(rulebook):
    from marginspec.engine import ReferenceEngine
    from tests.support import Client

    c = Client(ReferenceEngine(rulebook))
    good = contract_json(rulebook, "BTCUSDT")
    c.ok("reset", contracts={"BTCUSDT": good}, available_balance="10000")
    first = c.engine.world.contracts["BTCUSDT"]
    c.ok("set_mark_price", symbol="BTCUSDT", price="50000")
    c.ok("reset", contracts={"BTCUSDT": dict(good)}, available_balance="500")
    assert c.engine.world.contracts["BTCUSDT"] is first  # parsed once
    q = c.query()
    assert q["mark_price"] is None and q["available_balance"] == "500"  # but the state is new
    assert c.err("reset", contracts={"BTCUSDT": dict(good, lot_size="-1")}, available_balance="1") == "INVALID_ARGUMENT"
    changed = dict(good, tick_size="0.5")
    c.ok("reset", contracts={"BTCUSDT": changed}, available_balance="1")
    assert c.engine.world.contracts["BTCUSDT"].params["tick_size"] == Fraction("0.5")

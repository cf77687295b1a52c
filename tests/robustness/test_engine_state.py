"""Catalogue (issue 10): memory follows the state, and an INTERNAL answer never follows a change of
state (tested with a rulebook made to fail)."""

from __future__ import annotations

import io
import json

from marginspec.engine import ReferenceEngine, contract_json, serve
from marginspec.rulebook import load_rulebook


def test_contract_cache_holds_only_the_current_reset(rulebook):
    engine = ReferenceEngine(rulebook)
    base = contract_json(rulebook.contracts["BTCUSDT"])
    for k in range(300):  # 300 distinct contracts over the session
        c = dict(base, money_step=f"0.0{k % 9 + 1}", lot_size=str(k + 1))
        reply = engine.handle({"id": k, "op": "reset", "args": {"contracts": {"BTCUSDT": c}, "available_balance": "1"}})
        assert reply["ok"] is True, reply
    assert len(engine._contracts) == 1
    # the same contracts again hit the cache (a conformance run resets before every case)
    engine.handle({"id": 1, "op": "reset", "args": {"contracts": {"BTCUSDT": c}, "available_balance": "1"}})
    assert len(engine._contracts) == 1


def test_internal_error_leaves_the_state_untouched(spec_copy):
    # A rulebook bug: close_position reports its return divided by 3, which has no decimal form.
    spec_copy.edit("actions.yaml", "returned: {expr: returned}", 'returned: {expr: "returned / 3"}')
    rb = load_rulebook(spec_copy.path)
    engine = ReferenceEngine(rb)
    sym = "BTCUSDT"
    steps = [
        {"op": "reset", "args": {"contracts": {sym: contract_json(rb.contracts[sym])}, "available_balance": "10000"}},
        {"op": "set_mark_price", "args": {"symbol": sym, "price": "50000"}},
        {"op": "open_position", "args": {"symbol": sym, "side": "long", "size": "1000", "margin": "5000"}},
    ]
    for i, s in enumerate(steps):
        assert engine.handle({"id": i, **s})["ok"] is True
    before = engine.handle({"id": 10, "op": "query", "args": {"symbol": sym}})["result"]
    reply = engine.handle({"id": 11, "op": "close_position", "args": {"symbol": sym}})
    assert reply["ok"] is False and reply["error"]["code"] == "INTERNAL", reply
    assert "no finite decimal expansion" in reply["error"]["message"]
    after = engine.handle({"id": 12, "op": "query", "args": {"symbol": sym}})["result"]
    assert after == before and after["position"] is not None


def test_an_engine_exception_is_internal_and_serving_goes_on():
    class Broken(ReferenceEngine):
        def dispatch(self, op, args):
            if op == "query":
                raise RecursionError("maximum recursion depth exceeded")
            return super().dispatch(op, args)

    out = io.BytesIO()
    lines = b'{"id":1,"op":"query","args":{}}\n{"id":2,"op":"hello","args":{}}\n'
    serve(io.BytesIO(lines), out, Broken(load_rulebook()))
    replies = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["id"] for r in replies] == [1, 2]
    assert replies[0]["error"]["code"] == "INTERNAL" and "RecursionError" in replies[0]["error"]["message"]
    assert replies[1]["ok"] is True

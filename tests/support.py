"""Helpers shared by the tests (imported as tests.support)."""

from __future__ import annotations

from marginspec.engine import ReferenceEngine
from marginspec.engine import contract_json as engine_contract_json


def contract_json(rb, symbol: str) -> dict:
    return engine_contract_json(rb.contracts[symbol])


class Client:
    """A ReferenceEngine with short helpers: `ok(op, **args)` asserts success, `err(...)` returns the code."""

    def __init__(self, engine: ReferenceEngine):
        self.engine = engine
        self.n = 0

    def call(self, op: str, **args) -> dict:
        self.n += 1
        reply = self.engine.handle({"id": self.n, "op": op, "args": args})
        assert reply["id"] == self.n
        return reply

    def ok(self, op: str, **args) -> dict:
        reply = self.call(op, **args)
        assert reply["ok"], reply
        return reply["result"]

    def err(self, op: str, **args) -> str:
        reply = self.call(op, **args)
        assert not reply["ok"], reply
        assert reply["error"]["message"]
        return reply["error"]["code"]

    def query(self, symbol: str = "BTCUSDT") -> dict:
        return self.ok("query", symbol=symbol)

    def position(self, symbol: str = "BTCUSDT") -> dict | None:
        return self.query(symbol)["position"]

"""A fuzz trace: a reset and a list of requests, each followed by a query of its symbol.

`expected` runs a trace on the reference engine for the replies every step must get; `to_case`
turns it into a conformance `Case` (the runner's unit), so the engine under test is driven and
judged exactly as `marginspec conform` drives and judges it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

from ..conformance.loader import Case, Step
from ..engine import ReferenceEngine

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


@dataclass(frozen=True)
class Trace:
    contracts: dict  # SYMBOL -> CONTRACT object (the reset's)
    balance: str
    requests: tuple[dict, ...]  # {"op", "args"}; the queries are added by `steps`

    def with_requests(self, requests: Sequence[dict]) -> "Trace":
        return Trace(self.contracts, self.balance, tuple(requests))

    @property
    def reset(self) -> dict:
        return {"op": "reset", "args": {"contracts": self.contracts, "available_balance": self.balance}}

    def query_for(self, request: dict) -> dict:
        """The query that follows a request: of its symbol, or of the first symbol when it names none
        the reset knows."""
        symbol = request.get("args", {}).get("symbol")
        if not isinstance(symbol, str) or symbol not in self.contracts:
            symbol = next(iter(self.contracts))
        return {"op": "query", "args": {"symbol": symbol}}

    def steps(self) -> list[dict]:
        out: list[dict] = []
        for r in self.requests:
            out += [r, self.query_for(r)]
        return out


def expected(ref: ReferenceEngine, trace: Trace) -> list[dict]:
    """The reference's reply to every step of the trace (requests and queries, in order)."""
    reply = ref.handle({"id": 0, **trace.reset})
    if not reply.get("ok"):
        raise ValueError(f"the reference refused the reset: {reply.get('error')}")
    return [ref.handle({"id": i, **s}) for i, s in enumerate(trace.steps(), 1)]


def make_step(index: int, request: dict, reply: dict) -> Step:
    tail = _encode({"op": request["op"], "args": request.get("args", {})})[1:] + "\n"
    ok = reply.get("ok") is True
    return Step(index, request["op"], request.get("args", {}), tail, tail.encode("utf-8"), ok,
                None if ok else reply["error"]["code"], reply.get("result") if ok else None)


def to_case(trace: Trace, replies: Sequence[dict], case_id: str, title: str = "fuzz trace") -> Case:
    """The trace as a conformance case whose expectations are the reference's replies."""
    steps = trace.steps()
    reset_tail = _encode(trace.reset)[1:] + "\n"
    built = tuple(make_step(i, s, r) for i, (s, r) in enumerate(zip(steps, replies)))
    return Case(id=case_id, title=title, rules=(), flags=(), level="MUST", source="trace", steps=built,
                file="fuzz", path="<fuzz>", group_title="fuzz", contracts=trace.contracts,
                available_balance=trace.balance, reset_tail=reset_tail, reset_tail_bytes=reset_tail.encode("utf-8"),
                ops=frozenset(s["op"] for s in steps))

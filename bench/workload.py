"""A deterministic mix of protocol requests, shaped like a conformance run: a reset, a handful of
actions across both profiles and both sides, and a query after each action (the vectors pin the
state that way)."""

from __future__ import annotations

import random

from marginspec.engine import to_json_value
from marginspec.rulebook import load_rulebook


def contracts() -> dict:
    rb = load_rulebook()
    return {s: {**to_json_value(dict(c.params)), "tiers": [to_json_value(dict(t)) for t in c.tiers]}
            for s, c in rb.contracts.items()}


def requests(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    out: list[dict] = []
    cs = contracts()
    marks = {"BTCUSDT": 50000, "ETHUSDT": 3000}
    while len(out) < n:
        out.append({"op": "reset", "args": {"contracts": cs, "available_balance": "100000"}})
        for sym, mark in marks.items():
            out.append({"op": "set_mark_price", "args": {"symbol": sym, "price": str(mark)}})
            side = rng.choice(["long", "short"])
            size = rng.choice([100, 1000, 3000]) if sym == "BTCUSDT" else rng.choice([10, 300, 2000])
            out.append({"op": "open_position", "args": {"symbol": sym, "side": side, "size": str(size),
                                                          "margin": str(rng.choice([2000, 5000, 9000]))}})
            out.append({"op": "query", "args": {"symbol": sym}})
            for _ in range(4):
                op = rng.choice(["add_margin", "reduce_margin", "apply_funding", "set_mark_price", "set_leverage"])
                if op in ("add_margin", "reduce_margin"):
                    args = {"amount": str(rng.choice([10, 100, 500]))}
                elif op == "apply_funding":
                    args = {"rate": rng.choice(["0.0001", "-0.0003", "0.002"])}
                elif op == "set_leverage":
                    args = {"leverage": str(rng.choice([2, 5, 10, 20]))}
                else:
                    args = {"price": str(int(mark * rng.uniform(0.9, 1.1)))}
                out.append({"op": op, "args": {"symbol": sym, **args}})
                out.append({"op": "query", "args": {"symbol": sym}})
            out.append({"op": "close_position", "args": {"symbol": sym}})
    out = out[:n]
    for i, r in enumerate(out, 1):
        r["id"] = i
    return out

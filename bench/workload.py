"""A deterministic mix of protocol requests, shaped like a conformance run: a reset, a handful of
actions on every contract of the rulebook and both sides, and a query after each action (the
vectors pin the state that way).

Marks, sizes and margins come from each contract's own tiers (the vectors' `Market` closed forms),
never from a symbol's name, and every number is exact (`Fraction`, seeded `random`)."""

from __future__ import annotations

import random
from fractions import Fraction

from marginspec.engine import to_json_value
from marginspec.numbers import format_decimal, round_to
from marginspec.rulebook import load_rulebook
from marginspec.vectors.market import Market, markets as rulebook_markets


def contracts() -> dict:
    rb = load_rulebook()
    return {s: {**to_json_value(dict(c.params)), "tiers": [to_json_value(dict(t)) for t in c.tiers]}
            for s, c in rb.contracts.items()}


def markets() -> list[Market]:
    return rulebook_markets(load_rulebook())


def balance() -> str:
    """A balance no scenario runs out of: the largest contract's never-binding funds."""
    return format_decimal(max(m.big for m in markets()))


def moved(m: Market, rng: random.Random, basis_points: int = 1000) -> str:
    """The mark moved by up to `basis_points` either way, on the tick grid."""
    k = rng.randint(-basis_points, basis_points)
    return format_decimal(max(m.tick, m.tick_align(m.mark * (1 + Fraction(k, 10000)))))


def position(m: Market, rng: random.Random, leverages=(2, 5, 10, 20)) -> tuple[str, str]:
    """(size, margin): a size in tier 1 or 2 (or tier 1's bound), at a chosen leverage."""
    size = rng.choice([m.mid_size(1), m.round_size] + ([m.mid_size(2)] if len(m.tiers) > 1 else []))
    margin = round_to(m.notional(size) / rng.choice(leverages), m.money, "up")
    return format_decimal(size), format_decimal(margin)


def requests(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    out: list[dict] = []
    cs, ms, funds = contracts(), markets(), balance()
    while len(out) < n:
        out.append({"op": "reset", "args": {"contracts": cs, "available_balance": funds}})
        for m in ms:
            sym = m.symbol
            out.append({"op": "set_mark_price", "args": {"symbol": sym, "price": format_decimal(m.mark)}})
            size, margin = position(m, rng)
            out.append({"op": "open_position", "args": {"symbol": sym, "side": rng.choice(["long", "short"]),
                                                        "size": size, "margin": margin}})
            out.append({"op": "query", "args": {"symbol": sym}})
            for _ in range(4):
                op = rng.choice(["add_margin", "reduce_margin", "apply_funding", "set_mark_price", "set_leverage"])
                if op in ("add_margin", "reduce_margin"):
                    args = {"amount": format_decimal(round_to(Fraction(margin) / rng.choice([100, 20, 5]), m.money, "up"))}
                elif op == "apply_funding":
                    args = {"rate": rng.choice(["0.0001", "-0.0003", "0.002"])}
                elif op == "set_leverage":
                    args = {"leverage": str(rng.choice([2, 5, 10, 20]))}
                else:
                    args = {"price": moved(m, rng)}
                out.append({"op": op, "args": {"symbol": sym, **args}})
                out.append({"op": "query", "args": {"symbol": sym}})
            out.append({"op": "close_position", "args": {"symbol": sym}})
    out = out[:n]
    for i, r in enumerate(out, 1):
        r["id"] = i
    return out

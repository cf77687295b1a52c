"""Multi-step traces, built constructively, each reaching a goal.

Every goal (a liquidation after margin changes, funding that liquidates, two symbols where one dies
and one survives, ...) has a script: abstract moves (open in the middle of tier 1 at leverage 10,
move the mark one tick past the liquidation price, pay the funding that takes the margin to zero,
...) compiled into protocol requests against the reference engine's state as it goes, so every
amount is a closed form of the contract and the state. A short tail of moves drawn from
`random.Random(seed)` (only its `random()`, whose sequence Python keeps stable) follows the script.
The goal is then checked on the recorded trace: a script that misses its goal stops generation. No
search, no Hypothesis: the same rulebook gives the same traces from any install. A query after
every step pins the state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterator

from ..engine import ReferenceEngine
from ..numbers import round_to
from ..rulebook import Rulebook
from .cases import CaseSpec, dec, profile_contracts, req
from .market import Market, pairs
from .recorder import StepTrace, open_positions, replay

SEED = 20240601
TAIL = 3  # random moves after each script
LEV_STEP = Fraction(1, 100)


def balance(ms: list[Market]) -> Fraction:
    """Ten times the larger modest balance of the markets (market.funds)."""
    return max(m.funds for m in ms) * 10


def leverage(m: Market) -> Fraction:
    """Leverage 10, or half tier 1's max leverage when that is lower (at least 1)."""
    return max(Fraction(1), min(Fraction(10), round_to(m.tiers[0]["max_leverage"] / 2, LEV_STEP, "down")))


# -- moves ---------------------------------------------------------------------------------------
# A move is a tuple (kind, market index, ...): ("open", i, side, size, leverage or None, margin or
# None), ("mark", i, factor), ("beyond", i, ticks), ("bust", i), ("drain", i), ("kill", i),
# ("funding", i, rate), ("add", i, fraction of the margin), ("reduce", i, fraction of the margin),
# ("leverage", i, value), ("close", i), ("mode", i, mode).

def _position(engine: ReferenceEngine, m: Market):
    st = engine.world.symbols[m.symbol]
    if not st.get("has_position"):
        return None
    w = engine.world
    return engine.interp.derived_values({**w.contract_values[m.symbol], **w.account, **st})


def _request(engine: ReferenceEngine, m: Market, mv: tuple) -> dict:
    s = m.symbol
    st = engine.world.symbols[s]
    acct = engine.world.account
    kind = mv[0]
    mark = st["mark_price"] or m.mark
    env = _position(engine, m)
    side = st.get("side")
    sign = 1 if side == "long" else -1
    if kind == "open":
        _, _, side_, size, lev, margin = mv
        if margin is None and lev is not None:
            margin = round_to(m.notional(size, mark) / lev, m.money, "up")
        return req("open_position", symbol=s, side=side_, size=size, margin=margin)
    if kind == "mark":
        return req("set_mark_price", symbol=s, price=m.tick_align(mark * mv[2]))
    if kind == "beyond" and env is not None and env["liquidation_price"] is not None:
        return req("set_mark_price", symbol=s, price=env["liquidation_price"] - sign * mv[2] * m.tick)
    if kind == "bust" and env is not None and env["bankruptcy_price"] is not None:
        return req("set_mark_price", symbol=s, price=m.tick_align(env["bankruptcy_price"] * (1 - sign * Fraction(3, 100))))
    if kind in ("drain", "kill") and env is not None:
        # drain: the fee is the margin and one money step; kill: twice what separates equity from mm
        fee = st["isolated_margin"] + m.money if kind == "drain" else 2 * (env["equity"] - env["maintenance_margin"]) + m.money
        rate = round_to(fee / env["notional"], Fraction(1, 10 ** 8), "up")
        return req("apply_funding", symbol=s, rate=sign * min(rate, Fraction(9999, 10000)))
    if kind == "funding":
        return req("apply_funding", symbol=s, rate=mv[2])
    if kind == "add":
        base = abs(st["isolated_margin"] or 0) or acct["available_balance"]
        return req("add_margin", symbol=s, amount=max(m.money, round_to(base * mv[2], m.money, "down")))
    if kind == "reduce":
        margin = st["isolated_margin"] or Fraction(1)
        return req("reduce_margin", symbol=s, amount=max(m.money, round_to(abs(margin) * mv[2], m.money, "down")))
    if kind == "leverage":
        return req("set_leverage", symbol=s, leverage=mv[2])
    if kind == "close":
        return req("close_position", symbol=s)
    if kind == "mode":
        return req("set_margin_mode", symbol=s, mode=mv[2])
    return req("set_mark_price", symbol=s, price=mark)  # a move that needs a position, without one


def compile_moves(rb: Rulebook, ms: list[Market], moves, engine: ReferenceEngine | None = None,
                  traces: list[StepTrace] | None = None) -> list[dict]:
    """Protocol requests for abstract moves, sized from the engine's state as it goes (the steps'
    traces are appended to `traces` when given), a query after each."""
    engine = engine or ReferenceEngine(rb)
    contracts = dict(profile_contracts(rb, [m.symbol for m in ms]))
    out: list[dict] = [req("set_mark_price", symbol=m.symbol, price=m.mark) for m in ms]
    got = replay(engine, contracts, dec(balance(ms)), out)
    if traces is not None:
        traces.extend(got)
    for mv in moves:
        m = ms[mv[1] % len(ms)]
        r = _request(engine, m, mv)
        for x in (r, req("query", symbol=m.symbol)):
            engine.last_outcome = None
            reply = engine.handle({"id": len(out) + 1, **x})
            out.append(x)
            if traces is not None:
                oc = engine.last_outcome
                traces.append(StepTrace(x, reply, oc and oc.checks, bool(oc and oc.liquidated), open_positions(engine)))
    return out + [req("query", symbol=m.symbol) for m in ms]


def random_tail(ms: list[Market], seed: int, n: int = TAIL) -> list[tuple]:
    """`n` moves from `random.Random(seed).random()` (stable across Python versions)."""
    r = random.Random(seed)

    def pick(options):
        return options[int(r.random() * len(options))]

    out = []
    for _ in range(n):
        i = pick(range(len(ms)))
        m = ms[i]
        kind = pick(("mark", "funding", "add", "reduce", "leverage", "close", "open"))
        if kind == "mark":
            out.append(("mark", i, 1 + Fraction(pick(range(-10, 11)), 200)))
        elif kind == "funding":
            out.append(("funding", i, Fraction(pick(range(-20, 21)), 10000)))
        elif kind == "add":
            out.append(("add", i, Fraction(pick((1, 2, 3)), 10)))
        elif kind == "reduce":
            out.append(("reduce", i, Fraction(pick((1, 2, 3)), 10)))
        elif kind == "leverage":
            out.append(("leverage", i, pick((Fraction(2), leverage(m), m.tiers[0]["max_leverage"]))))
        elif kind == "close":
            out.append(("close", i))
        else:
            out.append(("open", i, pick(("long", "short")), pick((m.lot, m.mid_size(1))), pick((Fraction(5), leverage(m))),
                        None))
    return out


# -- goals ---------------------------------------------------------------------------------------
def _ok(t: StepTrace, op: str) -> bool:
    return t.request["op"] == op and t.reply.get("ok") is True


def _liq(t: StepTrace) -> bool:
    return t.reply.get("ok") is True and (t.reply.get("result") or {}).get("liquidated") is True


def _codes(ts):
    return {t.reply["error"]["code"] for t in ts if t.reply.get("ok") is False}


def _queried(ts, pred):
    return any(t.request["op"] == "query" and t.reply.get("ok") and t.reply["result"].get("position")
               and pred(t.reply["result"]["position"]) for t in ts)


def _index(ts, pred) -> int:
    return next((i for i, t in enumerate(ts) if pred(t)), -1)


def _after(ts, first, then) -> bool:
    i = _index(ts, first)
    return i >= 0 and any(then(t) for t in ts[i + 1:])


def _lev_moves(ts) -> bool:
    margins = [Fraction(t.reply["result"]["position"]["isolated_margin"]) for t in ts
               if t.request["op"] == "query" and t.reply.get("ok") and t.reply["result"].get("position")]
    ups = any(b > a for a, b in zip(margins, margins[1:]))
    downs = any(b < a for a, b in zip(margins, margins[1:]))
    return ups and downs


def _opened(ts) -> set[tuple[str, str]]:
    return {(t.request["args"]["symbol"], t.request["args"]["side"]) for t in ts if _ok(t, "open_position")}


def _fee_signs(ts) -> set[bool]:
    return {Fraction(t.reply["result"]["fee"]) > 0 for t in ts if _ok(t, "apply_funding") and t.reply["result"]["fee"] != "0"}


@dataclass(frozen=True)
class Goal:
    title: str
    flags: tuple[str, ...]
    script: Callable[[Market, Market | None], list[tuple]]  # the moves (index 0: m, 1: the other market)
    reached: Callable[[list[StepTrace], list[Market]], bool]
    symbols: int = 1  # markets the goal needs
    tiers: int = 1  # tiers the first market needs


def _open(m: Market, i: int = 0, side: str = "long", size=None, lev=None, margin=None) -> tuple:
    return ("open", i, side, m.mid_size(1) if size is None else size, leverage(m) if lev is None and margin is None else lev,
            margin)


GOALS: tuple[Goal, ...] = (
    Goal("a position liquidated by the mark after its margin was adjusted", ("MissedLiquidation", "Balance"),
         lambda m, o: [_open(m), ("add", 0, Fraction(1, 5)), ("reduce", 0, Fraction(1, 20)), ("beyond", 0, 1)],
         lambda ts, ms: _after(ts, lambda t: _ok(t, "add_margin") or _ok(t, "reduce_margin"),
                               lambda t: t.request["op"] == "set_mark_price" and _liq(t))),
    Goal("funding liquidates a position", ("MissedLiquidation", "FundingDirection"),
         lambda m, o: [_open(m), ("kill", 0)],
         lambda ts, ms: any(t.request["op"] == "apply_funding" and _liq(t) for t in ts)),
    Goal("two symbols: one position liquidated, the other closed in profit", ("Isolation", "MissedLiquidation"),
         lambda m, o: [_open(m), _open(o, 1), ("beyond", 0, 1), ("mark", 1, Fraction(102, 100)), ("close", 1)],
         lambda ts, ms: any(_liq(t) for t in ts) and any(_ok(t, "close_position") and Fraction(t.reply["result"]["returned"]) > 0
                                                        for t in ts) and len({s for s, _ in _opened(ts)}) == 2,
         symbols=2),
    Goal("a liquidation past the bankruptcy price: the insurance fund pays", ("LiquidationFill",),
         lambda m, o: [_open(m), ("bust", 0)],
         lambda ts, ms: any(t.request["op"] == "query" and t.reply.get("ok") and Fraction(t.reply["result"]["insurance_fund"]) < 0
                            for t in ts)),
    Goal("set_leverage moves margin in and then out of an open position", ("DefaultLeverage", "Balance"),
         lambda m, o: [_open(m), ("leverage", 0, max(Fraction(1), round_to(leverage(m) / 2, LEV_STEP, "down"))),
                       ("leverage", 0, leverage(m))],
         lambda ts, ms: len([t for t in ts if _ok(t, "set_leverage")]) >= 2 and any(_ok(t, "open_position") for t in ts)
         and _lev_moves(ts)),
    Goal("a symbol reopened after its position was liquidated", ("WholeLiquidation", "MissedLiquidation"),
         lambda m, o: [_open(m), ("beyond", 0, 1), _open(m)],
         lambda ts, ms: _after(ts, _liq, lambda t: _ok(t, "open_position"))),
    Goal("funding takes the margin to zero or below while profit keeps the position alive", ("FundingDirection", "DerivedValues"),
         lambda m, o: [_open(m), ("mark", 0, Fraction(5, 4)), ("drain", 0)],
         lambda ts, ms: _queried(ts, lambda p: p["leverage"] is None)),
    Goal("a position changes risk tier as the mark moves", ("TierBoundary",),
         lambda m, o: [_open(m, size=m.max_size(1)), ("mark", 0, Fraction(11, 10))],
         lambda ts, ms: len({(s, k) for t in ts for (s, k, side) in t.positions})
         > len({s for t in ts for (s, k, side) in t.positions}), tiers=2),
    Goal("refusals of three kinds interleaved with successful actions", ("StateAfterRefusal", "ErrorCode"),
         lambda m, o: [("add", 0, Fraction(1, 5)), _open(m, margin=m.money), _open(m), ("leverage", 0, m.tiers[0]["max_leverage"] + 1),
                       ("add", 0, Fraction(1, 5)), ("close", 0)],
         lambda ts, ms: len(_codes(ts)) >= 3 and sum(1 for t in ts if t.reply.get("ok") and t.request["op"] != "query") >= 3),
    Goal("margin mode switched to cross and back between positions", ("ModeLock", "CrossMode"),
         lambda m, o: [_open(m), ("close", 0), ("mode", 0, "cross"), ("mode", 0, "isolated"), _open(m, side="short")],
         lambda ts, ms: _after(ts, lambda t: _ok(t, "set_margin_mode") and t.request["args"]["mode"] == "cross",
                               lambda t: _ok(t, "set_margin_mode") and t.request["args"]["mode"] == "isolated")
         and len([t for t in ts if _ok(t, "open_position")]) >= 2),
    Goal("every action succeeds at least once in one trace", ("Sequence",),
         lambda m, o: [("mode", 0, "isolated"), ("leverage", 0, leverage(m)), ("open", 0, "long", m.mid_size(1), None, None),
                       ("add", 0, Fraction(1, 5)), ("reduce", 0, Fraction(1, 20)), ("funding", 0, Fraction(1, 10000)),
                       ("mark", 0, Fraction(101, 100)), ("close", 0), ("mode", 0, "cross")],
         lambda ts, ms: all(any(_ok(t, op) for t in ts) for op in ("set_mark_price", "open_position", "add_margin", "reduce_margin",
                                                                 "apply_funding", "set_leverage", "close_position",
                                                                 "set_margin_mode"))),
    Goal("long and short positions, funding paid and received", ("FundingDirection", "Isolation"),
         lambda m, o: ([_open(m), _open(o, 1, "short"), ("funding", 0, Fraction(1, 10000)), ("funding", 1, Fraction(-1, 10000))]
                       if o is not None else
                       [_open(m), ("funding", 0, Fraction(1, 10000)), ("close", 0), _open(m, side="short"),
                        ("funding", 0, Fraction(-1, 10000))]),
         lambda ts, ms: _opened(ts) >= {(ms[0].symbol, "long"), (ms[-1].symbol, "short")} and len(_fee_signs(ts)) == 2),
)


def build(rb: Rulebook, goal: Goal, m: Market, o: Market | None, seed: int) -> list[dict]:
    """The goal's script for market `m` (and `o`), a random tail; ValueError if the goal is missed."""
    ms = [m] if goal.symbols == 1 or o is None else [m, o]
    moves = goal.script(m, o if len(ms) > 1 else None) + random_tail(ms, seed)
    traces: list[StepTrace] = []
    steps = compile_moves(rb, ms, moves, ReferenceEngine(rb), traces)
    if not goal.reached(traces, ms):
        raise ValueError(f"the trace for {m.symbol} does not reach the goal {goal.title!r} (seed {seed})")
    return steps


def generate(rb: Rulebook) -> Iterator[CaseSpec]:
    for n, (m, o) in enumerate(pairs(rb)):
        for i, goal in enumerate(GOALS):
            if goal.symbols > 1 and o is None or goal.tiers > len(m.tiers):
                continue  # the contract set cannot express this goal (one contract; one tier)
            seed = SEED + 100 * n + i
            steps = build(rb, goal, m, o, seed)
            ms = [m] if goal.symbols == 1 or o is None else [m, o]
            yield CaseSpec(title=f"trace: {goal.title} ({', '.join(x.symbol for x in ms)})", steps=tuple(steps),
                           source="trace", flags=("Sequence", *goal.flags),
                           rules=("INV-conservation", "INV-covered", "INV-state-domain", "INV-balance-moves"),
                           balance=dec(balance(ms)),
                           comment=f"built by a script of moves from the contract and the state, then {TAIL} moves from "
                                   f"random.Random({seed})")

"""Seeded random multi-step traces, found and shrunk by Hypothesis.

A trace is drawn as abstract moves (move the mark by so many half-percent, open at such a leverage,
add or reduce such a tenth of what is there, pay funding at so many basis points, ...), compiled
into protocol requests against the reference engine's state as it goes, and judged by a goal: a
sequence the vectors should contain (a liquidation after margin changes, funding that liquidates,
two symbols where one dies and one survives, ...). `hypothesis.find` returns the smallest trace
that reaches each goal (shrunk), with a fixed seed, derandomized and without a database, so the
same rulebook gives the same traces. A query after every step pins the state.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Callable, Iterator

from ..engine import ReferenceEngine
from ..numbers import round_to
from ..rulebook import Rulebook
from .cases import CaseSpec, profile_contracts, req
from .market import Market, markets
from .recorder import StepTrace, open_positions, replay

SEED = 20240601
BALANCE = "100000"
LEVERAGES = (0, 1, 2, 5, 10, 20, 50, 100)  # 0: no margin given (the default leverage decides)
SIZES = (1, 10, 100, 1000, 5000)


def _move_strategies():
    from hypothesis import strategies as st

    sym = st.integers(0, 1)
    return {
        "mark": st.tuples(st.just("mark"), sym, st.integers(-30, 30)),
        "open": st.tuples(st.just("open"), sym, st.integers(0, 1), st.integers(0, len(SIZES) - 1),
                          st.integers(0, len(LEVERAGES) - 1)),
        "add": st.tuples(st.just("add"), sym, st.integers(1, 10)),
        "reduce": st.tuples(st.just("reduce"), sym, st.integers(1, 10)),
        "funding": st.tuples(st.just("funding"), sym, st.integers(-2000, 2000)),
        "leverage": st.tuples(st.just("leverage"), sym, st.integers(1, len(LEVERAGES) - 1)),
        "close": st.tuples(st.just("close"), sym),
        "mode": st.tuples(st.just("mode"), sym, st.integers(0, 1)),
    }


def _moves(skeleton: tuple[str, ...] = ()):
    """Moves of the given kinds in order (random parameters), then a random tail; all of it shrinks."""
    from hypothesis import strategies as st

    kinds = _move_strategies()
    tail = st.lists(st.one_of(*kinds.values()), min_size=0 if skeleton else 1, max_size=12)
    if not skeleton:
        return tail
    return st.builds(lambda pre, rest: list(pre) + rest, st.tuples(*(kinds[k] for k in skeleton)), tail)


def compile_moves(rb: Rulebook, ms: list[Market], moves, engine: ReferenceEngine | None = None,
                  traces: list[StepTrace] | None = None) -> list[dict]:
    """Protocol requests for abstract moves, sized from the engine's state as it goes (the steps'
    traces are appended to `traces` when given)."""
    engine = engine or ReferenceEngine(rb)
    contracts = dict(profile_contracts(rb, [m.symbol for m in ms]))
    out: list[dict] = [req("set_mark_price", symbol=m.symbol, price=m.mark) for m in ms]
    got = replay(engine, contracts, BALANCE, out)
    if traces is not None:
        traces.extend(got)
    for mv in moves:
        m = ms[mv[1] % len(ms)]
        s = m.symbol
        st = engine.world.symbols[s]
        acct = engine.world.account
        kind = mv[0]
        if kind == "mark":
            r = m.tick_align(m.mark * (1 + Fraction(mv[2], 200)))
        elif kind == "open":
            size = SIZES[mv[3]] * m.lot
            lev = LEVERAGES[mv[4]]
            mark = st["mark_price"] or m.mark
            margin = round_to(m.notional(size, mark) / lev, m.money, "up") if lev else None
            r = req("open_position", symbol=s, side=("long", "short")[mv[2]], size=size, margin=margin)
        elif kind == "add":
            amount = max(m.money, round_to(acct["available_balance"] * mv[2] / 10, m.money, "down"))
            r = req("add_margin", symbol=s, amount=amount)
        elif kind == "reduce":
            margin = st["isolated_margin"] or Fraction(1)
            amount = max(m.money, round_to(abs(margin) * mv[2] / 10, m.money, "down"))
            r = req("reduce_margin", symbol=s, amount=amount)
        elif kind == "funding":
            r = req("apply_funding", symbol=s, rate=Fraction(mv[2], 10000))
        elif kind == "leverage":
            r = req("set_leverage", symbol=s, leverage=LEVERAGES[mv[2]])
        elif kind == "close":
            r = req("close_position", symbol=s)
        else:
            r = req("set_margin_mode", symbol=s, mode=("isolated", "cross")[mv[2]])
        if kind == "mark":
            r = req("set_mark_price", symbol=s, price=r)
        for x in (r, req("query", symbol=s)):
            engine.last_outcome = None
            reply = engine.handle({"id": len(out) + 1, **x})
            out.append(x)
            if traces is not None:
                oc = engine.last_outcome
                traces.append(StepTrace(x, reply, oc and oc.checks, bool(oc and oc.liquidated), open_positions(engine)))
    return out + [req("query", symbol=m.symbol) for m in ms]


# -- goals -------------------------------------------------------------------------------------
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


GOALS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], Callable[[list[StepTrace]], bool]], ...] = (
    ("a position liquidated by the mark after its margin was adjusted",
     ("MissedLiquidation", "Balance"), ("open",),
     lambda ts: _after(ts, lambda t: _ok(t, "add_margin") or _ok(t, "reduce_margin"),
                       lambda t: t.request["op"] == "set_mark_price" and _liq(t))),
    ("funding liquidates a position", ("MissedLiquidation", "FundingDirection"), ("open",),
     lambda ts: any(t.request["op"] == "apply_funding" and _liq(t) for t in ts)),
    ("two symbols: one position liquidated, the other closed in profit", ("Isolation", "MissedLiquidation"), ("open", "open", "mark", "mark", "close"),
     lambda ts: any(_liq(t) for t in ts) and any(_ok(t, "close_position") and Fraction(t.reply["result"]["returned"]) > 0
                                                for t in ts)
     and len({t.request["args"].get("symbol") for t in ts if _ok(t, "open_position")}) == 2),
    ("a liquidation past the bankruptcy price: the insurance fund pays", ("LiquidationFill",), ("open",),
     lambda ts: any(t.request["op"] == "query" and t.reply.get("ok") and Fraction(t.reply["result"]["insurance_fund"]) < 0
                    for t in ts)),
    ("set_leverage moves margin in and then out of an open position", ("DefaultLeverage", "Balance"), ("open", "leverage", "leverage"),
     lambda ts: len([t for t in ts if _ok(t, "set_leverage")]) >= 2 and any(_ok(t, "open_position") for t in ts)
     and _lev_moves(ts)),
    ("a symbol reopened after its position was liquidated", ("WholeLiquidation", "MissedLiquidation"), ("open", "mark", "open"),
     lambda ts: _after(ts, _liq, lambda t: _ok(t, "open_position"))),
    ("funding takes the margin to zero or below while profit keeps the position alive", ("FundingDirection", "DerivedValues"), ("open", "mark", "funding"),
     lambda ts: _queried(ts, lambda p: p["leverage"] is None)),
    ("a position changes risk tier as the mark moves", ("TierBoundary",), ("open", "mark"),
     lambda ts: any(len({k for (s, k, side) in t.positions}) > 0 for t in ts)
     and len({(s, k) for t in ts for (s, k, side) in t.positions}) > len({s for t in ts for (s, k, side) in t.positions})),
    ("refusals of three kinds interleaved with successful actions", ("StateAfterRefusal", "ErrorCode"), (),
     lambda ts: len(_codes(ts)) >= 3 and sum(1 for t in ts if t.reply.get("ok") and t.request["op"] != "query") >= 3),
    ("margin mode switched to cross and back between positions", ("ModeLock", "CrossMode"), ("open", "close", "mode", "mode", "open"),
     lambda ts: _after(ts, lambda t: _ok(t, "set_margin_mode") and t.request["args"]["mode"] == "cross",
                       lambda t: _ok(t, "set_margin_mode") and t.request["args"]["mode"] == "isolated")
     and len([t for t in ts if _ok(t, "open_position")]) >= 2),
    ("every action succeeds at least once in one trace", ("Sequence",), ("mode", "leverage", "open", "add", "reduce", "funding", "mark", "close", "mode"),
     lambda ts: all(any(_ok(t, op) for t in ts) for op in ("set_mark_price", "open_position", "add_margin", "reduce_margin",
                                                             "apply_funding", "set_leverage", "close_position",
                                                             "set_margin_mode"))),
    ("long and short positions on both symbols, funding paid and received", ("FundingDirection", "Isolation"), ("open", "open", "funding", "funding"),
     lambda ts: {(t.request["args"]["symbol"], t.request["args"]["side"]) for t in ts if _ok(t, "open_position")} >=
     {("BTCUSDT", "long"), ("ETHUSDT", "short")} and len({Fraction(t.reply["result"]["fee"]) > 0 for t in ts
                                                          if _ok(t, "apply_funding") and t.reply["result"]["fee"] != "0"}) == 2),
)


def _lev_moves(ts) -> bool:
    margins = [Fraction(t.reply["result"]["position"]["isolated_margin"]) for t in ts
               if t.request["op"] == "query" and t.reply.get("ok") and t.reply["result"].get("position")]
    ups = any(b > a for a, b in zip(margins, margins[1:]))
    downs = any(b < a for a, b in zip(margins, margins[1:]))
    return ups and downs


def find_trace(rb: Rulebook, ms: list[Market], goal, seed: int, skeleton: tuple[str, ...] = (),
               max_examples: int = 1000) -> list[dict] | None:
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    engine = ReferenceEngine(rb)

    def reached(moves) -> bool:
        traces: list[StepTrace] = []
        compile_moves(rb, ms, moves, engine, traces)
        return goal(traces)

    cfg = settings(database=None, derandomize=True, max_examples=max_examples, deadline=None,
                   suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink])
    try:
        moves = find(_moves(skeleton), reached, settings=cfg, random=random.Random(seed))
    except NoSuchExample:
        return None
    return compile_moves(rb, ms, moves)


def generate(rb: Rulebook) -> Iterator[CaseSpec]:
    ms = markets(rb)
    for i, (title, flags, skeleton, goal) in enumerate(GOALS):
        steps = find_trace(rb, ms, goal, SEED + i, skeleton)
        if steps is None:
            raise ValueError(f"no trace reaches the goal {title!r} (seed {SEED + i})")
        yield CaseSpec(title=f"trace: {title}", steps=tuple(steps), source="trace", flags=("Sequence", *flags),
                       rules=("INV-conservation", "INV-covered", "INV-state-domain", "INV-balance-moves"), balance=BALANCE,
                       comment=f"found and shrunk by Hypothesis (seed {SEED + i})")

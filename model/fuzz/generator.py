"""Seeded protocol requests aimed at the rulebook's thresholds.

A `Generator` is driven step by step next to a live reference engine: before each request it reads
the reference's state (and, when it aims at a threshold, the rulebook's own derived values of the
position through the interpreter), so it can put a mark exactly at the liquidation price or one tick
around it, a notional exactly on a tier's max_notional, a reduce_margin that leaves equity exactly
at maintenance margin (closed form: equity - maintenance_margin) or one money step above, a funding
rate whose fee brings equity exactly to maintenance margin, or a margin whose liquidation root lies
exactly on a tick (thresholds.Derive.liquidation_margin). Between these it walks the mark at random,
and now and then sends a request the protocol refuses (unknown symbol, missing or malformed
argument, out-of-range value). Every choice comes from the `random.Random` it is given, so one seed
gives one sequence.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

from ..engine import ReferenceEngine
from ..numbers import format_decimal, round_to
from ..vectors.thresholds import Derive, around

SIDES = ("long", "short")
#: How many lots fill the first tier at a trace's base mark (one is drawn per trace).
LOTS_IN_FIRST_TIER = (100, 1000, 5000)


@dataclass(frozen=True)
class Market:
    """A symbol's grid and tiers, read from its CONTRACT object, and the mark traces start near."""

    symbol: str
    multiplier: Fraction
    tick: Fraction
    lot: Fraction
    money: Fraction
    tiers: tuple[tuple[Fraction, Fraction, Fraction, Fraction], ...]  # max_notional, mmr, max_leverage, amount
    base_mark: Fraction

    def notional(self, size: Fraction, mark: Fraction) -> Fraction:
        return size * self.multiplier * mark


def market_of(symbol: str, contract: dict, lots_in_first_tier: int = 1000) -> Market:
    """The market of a CONTRACT object. The base mark is derived from the contract alone (never from
    the symbol's name): the round, tick-aligned price at which `lots_in_first_tier` lots fill the
    first tier."""
    f = Fraction
    tiers = tuple((f(t["max_notional"]), f(t["maintenance_margin_rate"]), f(t["max_leverage"]),
                   f(t["maintenance_amount"])) for t in contract["tiers"])
    mult, tick, lot = f(contract["contract_multiplier"]), f(contract["tick_size"]), f(contract["lot_size"])
    raw = tiers[0][0] / (mult * lot * lots_in_first_tier)
    unit = tick
    while unit * 10 * 100 <= raw:  # keep about three significant digits: a "round" price
        unit *= 10
    base = max(tick, round_to(raw, unit, "down"))
    return Market(symbol, mult, tick, lot, f(contract["money_step"]), tiers, base)


def dec(x: Fraction) -> str:
    return format_decimal(x)


def decimal_rate(fee: Fraction, notional: Fraction, step: Fraction) -> Fraction | None:
    """The decimal rate with the fewest digits whose fee, round(notional * rate, step, half_away),
    is exactly `fee`; None when it would not be inside (-1, 1)."""
    if notional <= 0:
        return None
    lo, hi = (fee - step / 2) / notional, (fee + step / 2) / notional
    for k in range(1, 24):
        r = round_to(fee / notional, Fraction(1, 10 ** k), "half_away")
        if lo < r < hi and round_to(notional * r, step, "half_away") == fee:
            return r if -1 < r < 1 else None
    return None


class Generator:
    """Chooses the next request from the reference engine's current state."""

    def __init__(self, ref: ReferenceEngine, contracts: dict[str, dict], rng: random.Random,
                 derive: Derive | None = None, markets: dict[int, dict[str, Market]] | None = None) -> None:
        self.ref = ref
        self.rng = rng
        lots = rng.choice(LOTS_IN_FIRST_TIER)
        cached = markets.get(lots) if markets is not None else None
        if cached is None:
            cached = {s: market_of(s, c, lots) for s, c in contracts.items()}
            if markets is not None:
                markets[lots] = cached
        self.markets = cached
        self.symbols = tuple(self.markets)
        self.derive = derive or Derive(ref.rb)

    # -- reading the reference ---------------------------------------------------------------------
    def state(self, symbol: str) -> dict:
        return self.ref.world.symbols[symbol]

    def derived(self, symbol: str) -> dict:
        """The rulebook's derived values of the symbol's position (exact Fractions)."""
        w = self.ref.world
        return self.ref.interp.derived_values({**w.contract_values[symbol], **w.account, **w.symbols[symbol]})

    def balance(self) -> Fraction:
        return self.ref.world.account["available_balance"]

    # -- the next request --------------------------------------------------------------------------
    def next_request(self) -> dict:
        rng = self.rng
        if rng.random() < 0.06:
            return self.bad_request()
        with_pos = [s for s in self.symbols if self.state(s).get("has_position")]
        if with_pos and rng.random() < 0.7:
            symbol = rng.choice(with_pos)
        else:
            symbol = rng.choice(self.symbols)
        st = self.state(symbol)
        m = self.markets[symbol]
        if st.get("mark_price") is None:
            if rng.random() < 0.8:
                return _req("set_mark_price", symbol=symbol, price=dec(self.walk(m, m.base_mark, Fraction(1, 20))))
            return self.any_action(symbol)
        if not st.get("has_position"):
            return self.pick(symbol, ((0.55, self.open_position), (0.12, self.set_leverage), (0.15, self.mark_walk),
                                      (0.06, self.set_margin_mode), (0.12, self.any_action)))
        return self.pick(symbol, ((0.32, self.mark_boundary), (0.16, self.funding), (0.16, self.reduce_margin),
                                  (0.08, self.add_margin), (0.09, self.set_leverage), (0.06, self.close_position),
                                  (0.05, self.open_position), (0.04, self.set_margin_mode), (0.04, self.any_action)))

    def pick(self, symbol: str, choices: tuple[tuple[float, Callable[[str], dict]], ...]) -> dict:
        x = self.rng.random() * sum(w for w, _ in choices)
        for w, fn in choices:
            x -= w
            if x < 0:
                return fn(symbol)
        return choices[-1][1](symbol)

    # -- marks -------------------------------------------------------------------------------------
    def walk(self, m: Market, mark: Fraction, spread: Fraction) -> Fraction:
        k = Fraction(self.rng.randint(-1000, 1000), 1000) * spread
        return max(m.tick, round_to(mark * (1 + k), m.tick, self.rng.choice(("down", "up"))))

    def mark_walk(self, symbol: str) -> dict:
        m = self.markets[symbol]
        mark = self.state(symbol)["mark_price"] or m.base_mark
        return _req("set_mark_price", symbol=symbol, price=dec(self.walk(m, mark, Fraction(3, 100))))

    def mark_boundary(self, symbol: str) -> dict:
        """A mark at or one tick around the liquidation price, the bankruptcy price or the mark that
        puts the notional on a tier bound; else a random walk."""
        rng, m = self.rng, self.markets[symbol]
        env = self.derived(symbol)
        x = rng.random()
        if x < 0.45 and env.get("liquidation_price") is not None:
            target = env["liquidation_price"]
        elif x < 0.55 and env.get("bankruptcy_price") is not None:
            target = env["bankruptcy_price"]
        elif x < 0.75:
            n = env["base_quantity"]
            target = rng.choice(m.tiers)[0] / n
        else:
            return self.mark_walk(symbol)
        prices = [p for p in around(target, m.tick) if p > 0]
        return _req("set_mark_price", symbol=symbol, price=dec(rng.choice(prices) if prices else m.tick))

    # -- opening -----------------------------------------------------------------------------------
    def open_position(self, symbol: str) -> dict:
        rng, m = self.rng, self.markets[symbol]
        mark = self.state(symbol)["mark_price"] or m.base_mark
        side = rng.choice(SIDES)
        per_lot = m.multiplier * mark * m.lot
        x = rng.random()
        if x < 0.35:  # on a tier bound, or one lot around it
            k = rng.randrange(len(m.tiers))
            exact = m.tiers[k][0] / per_lot
            lo, hi = round_to(exact, 1, "down"), round_to(exact, 1, "up")
            lots = [n for n in (lo - 1, lo, hi, hi + 1) if n > 0]
            size = rng.choice(lots) * m.lot
        elif x < 0.7:
            size = rng.randint(1, 50) * m.lot
        else:
            k = rng.randrange(len(m.tiers))
            lo = m.tiers[k - 1][0] if k else Fraction(0)
            size = max(m.lot, round_to((lo + (m.tiers[k][0] - lo) * Fraction(rng.randint(1, 99), 100)) / per_lot,
                                       1, "down") * m.lot)
        notional = m.notional(size, mark)
        tier = next((t for t in m.tiers if notional <= t[0]), m.tiers[-1])
        minimum = notional / tier[2]
        y = rng.random()
        if y < 0.15 and self.state(symbol).get("default_leverage") is not None:
            margin = None
        elif y < 0.35:  # at the minimum margin (BELOW_MIN_MARGIN's threshold) or one step below
            margin = round_to(minimum, m.money, "up") - rng.choice((0, 0, m.money))
        elif y < 0.55:
            margin = self.margin_on_tick(m, side, size, mark, minimum)
        else:
            margin = round_to(notional / rng.choice((2, 3, 5, 10, 20, 50, 100, tier[2])), m.money, "up")
        if margin is not None and rng.random() < 0.3:
            margin = min(margin, round_to(self.balance(), m.money, "down")) or margin
        return _req("open_position", symbol=symbol, side=side, size=dec(size),
                    **({} if margin is None else {"margin": dec(margin)}))

    def margin_on_tick(self, m: Market, side: str, size: Fraction, mark: Fraction, minimum: Fraction) -> Fraction:
        """A margin on the money grid whose liquidation root is exactly a tick (so a mark there puts
        equity exactly at maintenance margin), searched from a root a few percent away from the mark.
        Within the root's tier the margin is linear in the root (thresholds.Derive.liquidation_margin),
        so two evaluations give the line and the search is plain arithmetic."""
        c = self.ref.world.contracts[m.symbol]
        away = Fraction(self.rng.randint(1, 30), 100)
        r = round_to(mark * (1 - away if side == "long" else 1 + away), m.tick, "down")
        step = -m.tick if side == "long" else m.tick
        if r <= 0 or r + step <= 0:
            return round_to(minimum, m.money, "up")
        m0 = self.derive.liquidation_margin(c, side, size, mark, r)
        slope = self.derive.liquidation_margin(c, side, size, mark, r + step) - m0
        j = _first_on_grid(m0 / m.money, slope / m.money)
        if j is not None and slope > 0:
            period = _period(m0 / m.money, slope / m.money)
            if m0 + slope * j < minimum:
                j += -(-(minimum - m0 - slope * j) // (slope * period)) * period
            root = r + step * j
            margin = m0 + slope * j
            if root > 0 and self.derive.liquidation_margin(c, side, size, mark, root) == margin:
                return margin  # else the root left the tier: the line no longer holds
        return round_to(minimum, m.money, "up")


    # -- actions on a position ---------------------------------------------------------------------
    def reduce_margin(self, symbol: str) -> dict:
        """An amount that leaves equity exactly at maintenance margin or one money step around it
        (the closed form equity - maintenance_margin), or the margin exactly at the minimum margin."""
        rng, m = self.rng, self.markets[symbol]
        env = self.derived(symbol)
        x = rng.random()
        if x < 0.6:
            target = env["equity"] - env["maintenance_margin"]
        elif x < 0.85:
            target = env["isolated_margin"] - env["minimum_margin"]
        else:
            target = env["isolated_margin"] * Fraction(rng.randint(1, 100), 100)
        amounts = [a for a in around(target, m.money) if a > 0] or [m.money]
        return _req("reduce_margin", symbol=symbol, amount=dec(rng.choice(amounts)))

    def add_margin(self, symbol: str) -> dict:
        rng, m = self.rng, self.markets[symbol]
        bal = self.balance()
        if rng.random() < 0.2 and bal > 0:
            amount = round_to(bal, m.money, "down") + rng.choice((0, m.money))
        else:
            env = self.derived(symbol)
            amount = round_to(env["isolated_margin"] * Fraction(rng.randint(1, 50), 100), m.money, "up")
        return _req("add_margin", symbol=symbol, amount=dec(max(amount, m.money)))

    def funding(self, symbol: str) -> dict:
        """A rate whose fee brings equity exactly to maintenance margin (or one money step short of
        it), else a small random rate of either sign."""
        rng, m = self.rng, self.markets[symbol]
        env = self.derived(symbol)
        if rng.random() < 0.65:
            d = env["direction"]
            fee = d * (env["equity"] - env["maintenance_margin"])  # the payer's fee to reach the threshold
            fee = round_to(fee, m.money, "down" if d > 0 else "up") - rng.choice((0, 0, d * m.money))
            rate = decimal_rate(fee, env["notional"], m.money)
            if rate is not None and rate != 0:
                return _req("apply_funding", symbol=symbol, rate=dec(rate))
        rate = Fraction(rng.randint(-3000, 3000), 10 ** rng.choice((5, 6, 7)))
        return _req("apply_funding", symbol=symbol, rate=dec(rate))

    def set_leverage(self, symbol: str) -> dict:
        rng, m = self.rng, self.markets[symbol]
        st = self.state(symbol)
        if st.get("has_position"):
            env = self.derived(symbol)
            cap = next((t[2] for t in m.tiers if env["notional"] <= t[0]), m.tiers[-1][2])
        else:
            cap = m.tiers[0][2]
        x = rng.random()
        if x < 0.3:
            lev = cap + rng.choice((0, 0, Fraction(1, 100), 1))
        elif x < 0.5:
            lev = Fraction(rng.randint(100, 999), 100)
        else:
            lev = Fraction(rng.randint(1, int(cap)))
        return _req("set_leverage", symbol=symbol, leverage=dec(lev))

    def close_position(self, symbol: str) -> dict:
        return _req("close_position", symbol=symbol)

    def set_margin_mode(self, symbol: str) -> dict:
        mode = "isolated" if self.state(symbol).get("margin_mode") == "cross" or self.rng.random() < 0.4 else "cross"
        return _req("set_margin_mode", symbol=symbol, mode=mode)

    def any_action(self, symbol: str) -> dict:
        """Any action with plausible arguments, whatever the state (NO_POSITION, NO_MARK_PRICE, ...)."""
        m = self.markets[symbol]
        op = self.rng.choice(("add_margin", "reduce_margin", "apply_funding", "close_position", "open_position",
                              "set_leverage"))
        if op == "open_position":
            return _req(op, symbol=symbol, side=self.rng.choice(SIDES), size=dec(m.lot * self.rng.randint(1, 20)))
        if op == "set_leverage":
            return _req(op, symbol=symbol, leverage=str(self.rng.randint(1, 20)))
        if op == "apply_funding":
            return _req(op, symbol=symbol, rate="0.0001")
        if op == "close_position":
            return _req(op, symbol=symbol)
        return _req(op, symbol=symbol, amount=dec(m.money * self.rng.randint(1, 10 ** 6)))

    # -- refused arguments -------------------------------------------------------------------------
    def bad_request(self) -> dict:
        """A request the protocol refuses: unknown or missing symbol, a missing argument, a number
        sent as a JSON number, a value out of range or off its grid, an unknown enum value."""
        rng = self.rng
        symbol = rng.choice(self.symbols)
        m = self.markets[symbol]
        bad: tuple[tuple[str, dict], ...] = (
            ("set_mark_price", {"symbol": "NO" + symbol, "price": dec(m.base_mark)}),
            ("close_position", {}),
            ("set_mark_price", {"symbol": symbol}),
            ("set_mark_price", {"symbol": symbol, "price": rng.choice(("0", "-" + dec(m.tick)))}),
            ("set_mark_price", {"symbol": symbol, "price": int(m.base_mark)}),
            ("open_position", {"symbol": symbol, "side": rng.choice(("up", "LONG", "")), "size": dec(m.lot)}),
            ("open_position", {"symbol": symbol, "side": "long", "size": dec(m.lot / 2)}),
            ("open_position", {"symbol": symbol, "side": "short", "size": "0"}),
            ("open_position", {"symbol": symbol, "side": "long", "size": dec(m.lot), "margin": dec(m.money / 10)}),
            ("add_margin", {"symbol": symbol, "amount": rng.choice(("0", "-1", dec(m.money / 2)))}),
            ("reduce_margin", {"symbol": symbol}),
            ("apply_funding", {"symbol": symbol, "rate": rng.choice(("1", "-1", "1.5", "-2"))}),
            ("set_leverage", {"symbol": symbol, "leverage": rng.choice(("0", "0.5", "-3"))}),
            ("set_margin_mode", {"symbol": symbol, "mode": rng.choice(("portfolio", "ISOLATED"))}),
        )
        op, args = rng.choice(bad)
        return {"op": op, "args": args}


def _req(op: str, **args: Any) -> dict:
    return {"op": op, "args": args}


def _first_on_grid(b: Fraction, a: Fraction) -> int | None:
    """The least j >= 0 with b + a*j an integer (a linear congruence), or None."""
    d = math.lcm(a.denominator, b.denominator)
    A, B = int(a * d), int(b * d)
    g = math.gcd(A, d)
    if B % g:
        return None
    mod = d // g
    if mod == 1:
        return 0
    return (-B // g) * pow(A // g, -1, mod) % mod


def _period(b: Fraction, a: Fraction) -> int:
    d = math.lcm(a.denominator, b.denominator)
    return d // math.gcd(int(a * d), d)

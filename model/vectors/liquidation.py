"""Liquidation boundaries: the mark exactly at the rounded liquidation price and one tick either
side, with the exact root on a tick (equity = maintenance margin exactly) and off it (the rounding
direction decides), in every tier, on both sides, with the root inside a tier, on a tier boundary
and in another tier than the entry; funding that lands exactly on the threshold; half-way rounding
of funding fees, leverage, derived margins, bankruptcy and fill prices.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterator

from ..numbers import round_to
from ..rulebook import Rulebook
from .boundaries import SIDES, opened, q, spec
from .cases import CaseSpec, dec, req
from .market import Market, markets, pairs
from .thresholds import Derive, on_grid

LIQ_FLAGS = ("PrematureLiquidation", "MissedLiquidation", "LiquidationPrice", "LiquidationFill", "WholeLiquidation")
LIQ_RULES = ("INV-liq-root", "INV-liq-beyond", "INV-liq-safe", "N-liquidation-price", "N-liquidation-trigger",
             "N-liquidation-fill", "INV-no-partial", "INV-balance-moves", "INV-liq-fill", "INV-liq-fund",
             "INV-reported-rounding")


def _mult(m: Market) -> Fraction:
    return m.contract.params["contract_multiplier"]


def _exact_root(m: Market, d: Derive, side: str, size, entry, root) -> tuple[Fraction, Fraction] | None:
    """(root, margin) near `root` (searching tick by tick away from the entry) such that the margin
    making it the exact liquidation root is on the money grid and the root lands in its own tier."""
    step = -m.tick if side == "long" else m.tick
    r = m.tick_align(root)
    for _ in range(400):
        margin = d.liquidation_margin(m.contract, side, size, entry, r)
        if margin > 0 and on_grid(margin, m.money):
            env = d.at(m.contract, side, size, entry, margin, entry)
            if env["liquidation_root"] == r:
                return r, margin
        r += step
    return None


def _marks_case(m: Market, d: Derive, side: str, size, entry, margin, what: str, extra_flags=(), extra_rules=()):
    env = d.at(m.contract, side, size, entry, margin, entry)
    lp = env["liquidation_price"]
    safe = m.tick if side == "long" else -m.tick
    for mark, where in ((lp + safe, "one tick on the safe side of"), (lp, "exactly at"), (lp - safe, "one tick beyond")):
        yield spec(f"liquidation: {m.symbol} {side} {what}; mark {where} the liquidation price {dec(lp)}",
                   [*opened(m, side, size, margin, entry), q(m), req("set_mark_price", symbol=m.symbol, price=mark), q(m)],
                   LIQ_FLAGS + tuple(extra_flags), LIQ_RULES + tuple(extra_rules))


def marks(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """set_mark_price against the liquidation price, every tier (of the root) and side."""
    for m in markets(rb):
        for k in range(1, len(m.tiers) + 1):
            for side in SIDES:
                f = Fraction(9, 10) if side == "long" else Fraction(11, 10)
                mid = (m.lower(k) + m.tiers[k - 1]["max_notional"]) / 2
                size = m.size_for(mid / f)
                found = _exact_root(m, d, side, size, m.mark, m.mark * f)
                if found is None:
                    continue
                root, margin = found
                tier = f"tier {k}"
                yield from _marks_case(m, d, side, size, m.mark, margin, f"root {dec(root)} exactly on a tick in {tier}")
                # the same position with one money step more (long) / less (short) margin: root off the tick
                off = margin + m.money
                yield from _marks_case(m, d, side, size, m.mark, off, f"root just off the tick in {tier}",
                                       ["WrongRounding"])
            if k < len(m.tiers):
                yield from _straddle(m, d, k)
                yield from _root_on_boundary(m, d, k)


def _straddle(m: Market, d: Derive, k: int) -> Iterator[CaseSpec]:
    """Entry notional in one tier, liquidation root in the neighbouring one (solve_tier)."""
    cap = m.tiers[k - 1]["max_notional"]
    for side in SIDES:
        f, at = (Fraction(9, 10), Fraction(105, 100)) if side == "long" else (Fraction(11, 10), Fraction(95, 100))
        size = m.size_for(cap * at)
        found = _exact_root(m, d, side, size, m.mark, m.mark * f)
        if found is None:
            continue
        root, margin = found
        yield from _marks_case(m, d, side, size, m.mark, margin,
                               f"entry notional {dec(m.notional(size))}, root {dec(root)} across the tier {k} boundary",
                               ["TierBoundary"], ["N-tier-boundary", "INV-mm-continuous"])


def _root_on_boundary(m: Market, d: Derive, k: int) -> Iterator[CaseSpec]:
    """The liquidation root exactly at a tier's max_notional."""
    cap = m.tiers[k - 1]["max_notional"]
    for side in SIDES:
        for f in ((Fraction(8, 10), Fraction(3, 4), Fraction(9, 10)) if side == "long"
                  else (Fraction(5, 4), Fraction(6, 5), Fraction(11, 10))):
            root = m.mark * f
            if not on_grid(root, m.tick):
                continue
            size = cap / (_mult(m) * root)
            if not on_grid(size, m.lot):
                continue
            margin = d.liquidation_margin(m.contract, side, size, m.mark, root)
            if margin <= 0 or not on_grid(margin, m.money):
                continue
            yield from _marks_case(m, d, side, size, m.mark, margin,
                                   f"root {dec(root)} puts the notional exactly at tier {k}'s max_notional {dec(cap)}",
                                   ["TierBoundary"], ["N-tier-boundary", "INV-mm-continuous"])
            break


def funding(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """apply_funding: the fee that lands equity exactly on maintenance margin, one money step either
    side, every tier and side (longs pay a positive rate, shorts a negative one)."""
    for m in markets(rb):
        for k in range(1, len(m.tiers) + 1):
            size = m.nice_size(k)
            x = m.notional(size)
            margin = round_to(x * 4 / m.tiers[k - 1]["max_leverage"], m.money, "up")
            for side in SIDES:
                fee0 = d.funding_fee_to_threshold(m.contract, side, size, m.mark, margin, m.mark)
                sign = 1 if side == "long" else -1
                for fee in (fee0 - m.money, fee0, fee0 + m.money):
                    rate = sign * fee / x
                    yield spec(f"apply_funding: {m.symbol} {side} tier {k}, rate {dec(rate)} takes {dec(fee)} "
                               f"(equity - maintenance margin = {dec(fee0)})",
                               [*opened(m, side, size, margin), q(m), req("apply_funding", symbol=m.symbol, rate=rate), q(m)],
                               ("FundingDirection", "MissedLiquidation", "PrematureLiquidation", "LiquidationFill"),
                               ("N-funding", "N-liquidation-trigger", "INV-covered", "INV-conservation", "INV-liq-fill",
                                "INV-liq-fund", "INV-fee-rounded"))
        # both directions of payment, on both sides
        size = m.nice_size(1)
        margin = round_to(m.notional(size) * 4 / m.tiers[0]["max_leverage"], m.money, "up")
        for side in SIDES:
            for rate in (Fraction(1, 10000), Fraction(-1, 10000), Fraction(0)):
                yield spec(f"apply_funding: {m.symbol} {side} at rate {dec(rate)} (positive: longs pay, shorts receive)",
                           [*opened(m, side, size, margin), req("apply_funding", symbol=m.symbol, rate=rate), q(m)],
                           ["FundingDirection"], ["N-funding", "INV-conservation", "INV-fee-rounded"])


def rounding(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """Half-way and between-steps values of every rounded quantity."""
    for m in markets(rb):
        size = m.nice_size(1)
        x = m.notional(size)
        margin = round_to(x * 4 / m.tiers[0]["max_leverage"], m.money, "up")
        s = m.symbol
        for side in SIDES:
            for halves in (Fraction(1, 2), Fraction(-1, 2), Fraction(3, 2), Fraction(-3, 2), Fraction(29, 20), Fraction(31, 20)):
                rate = halves * m.money / x
                yield spec(f"rounding: {s} {side} funding fee {dec(halves)} money steps before rounding (half away from zero)",
                           [*opened(m, side, size, margin), req("apply_funding", symbol=s, rate=rate), q(m)],
                           ["WrongRounding", "FundingDirection"], ["N-funding"])
        # leverage k.005 exactly, and just under
        base = size * _mult(m)
        for lev in (Fraction(10005, 1000), Fraction(10015, 1000), Fraction(10004, 1000), Fraction(10006, 1000)):
            mark = lev * margin / base
            if not on_grid(mark, m.tick):
                continue
            for side in SIDES:
                yield spec(f"rounding: {s} {side} leverage {dec(lev)} before rounding to 0.01",
                           [*opened(m, side, size, margin, mark), q(m)], ["WrongRounding", "DerivedValues"])
        # a margin from a leverage that does not divide the notional: rounded up
        for lev in (Fraction(7), Fraction(3), Fraction(333, 100)):
            for side in SIDES:
                yield spec(f"rounding: {s} {side} margin from default leverage {dec(lev)} = {dec(x / lev)} rounded up",
                           [req("set_leverage", symbol=s, leverage=lev), *opened(m, side, size, None), q(m)],
                           ["WrongRounding", "DefaultLeverage"], ["N-default-leverage"])
                yield spec(f"rounding: {s} {side} set_leverage {dec(lev)} on a position: target {dec(x / lev)} rounded up",
                           [*opened(m, side, size, margin), req("set_leverage", symbol=s, leverage=lev), q(m)],
                           ["WrongRounding", "DefaultLeverage"], ["N-set-leverage"])
        # bankruptcy price off the tick: long rounds up, short down
        for side in SIDES:
            off = margin + m.tick * base / 2
            off = round_to(off, m.money, "up")
            yield spec(f"rounding: {s} {side} bankruptcy price half a tick off the grid",
                       [*opened(m, side, size, off), q(m)], ["WrongRounding", "BankruptcyPrice"], ["N-bankruptcy-price", "INV-bankruptcy-price"])
        # fill prices off the tick
        for side in SIDES:
            env = d.at(m.contract, side, size, m.mark, margin, m.mark)
            lp = env["liquidation_price"]
            beyond = lp - 7 * m.tick if side == "long" else lp + 7 * m.tick
            for extra in (Fraction(0), m.tick / 2, m.tick / 10):
                mark = beyond - extra if side == "long" else beyond + extra
                yield spec(f"rounding: {s} {side} liquidated at mark {dec(mark)}: fill price rounded "
                           f"{'down' if side == 'long' else 'up'} to the tick",
                           [*opened(m, side, size, margin), req("set_mark_price", symbol=s, price=mark), q(m)],
                           ["WrongRounding", "LiquidationFill"], ["N-liquidation-fill", "N-mark-precision"])


def edges(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """Null prices, fills past bankruptcy, funding that drains the margin, isolation between symbols."""
    for m, o in pairs(rb):
        yield from _edges(m, o, d)


def _edges(m: Market, o: Market | None, d: Derive) -> Iterator[CaseSpec]:
    s = m.symbol
    size = m.mid_size(1)
    x = m.notional(size)
    base = size * _mult(m)
    for margin, what in ((x - m.money, "just below the notional"), (x, "equal to the notional"),
                         (x + m.money, "above the notional")):
        yield spec(f"liquidation price and bankruptcy price of a long with margin {what}: null when not positive",
                   [*opened(m, "long", size, margin), q(m), req("set_mark_price", symbol=s, price=m.tick), q(m),
                    req("set_mark_price", symbol=s, price=m.money), q(m)],
                   ["LiquidationPrice", "BankruptcyPrice", "MissedLiquidation", "PrematureLiquidation"],
                   ["N-liquidation-price", "N-bankruptcy-price", "INV-bankruptcy-price"])
    margin = round_to(x * 10 / m.tiers[0]["max_leverage"], m.money, "up")
    for side in SIDES:
        gap = m.tick_align(m.mark * Fraction(3, 10))
        mark = m.mark - gap if side == "long" else m.mark + gap
        yield spec(f"liquidation past the bankruptcy price: {s} {side}, the insurance fund pays the shortfall",
                   [*opened(m, side, size, margin), req("set_mark_price", symbol=s, price=mark), q(m)],
                   ["LiquidationFill", "MissedLiquidation"], ["N-liquidation-fill", "INV-loss-cap", "INV-conservation"])
        # funding takes the margin below zero while the profit keeps the position alive
        up = m.tick_align(m.mark * Fraction(5, 4)) if side == "long" else m.tick_align(m.mark * Fraction(4, 5))
        small = round_to(d.minimum_margin(m.contract, size, m.mark), m.money, "up")
        notional_up = base * up
        for fee in (small, small + m.money, small * 2):
            rate = fee / notional_up * (1 if side == "long" else -1)
            yield spec(f"funding drains the margin to {dec(small - fee)} while profit keeps the {side} alive: leverage null",
                       [*opened(m, side, size, small), req("set_mark_price", symbol=s, price=up), q(m),
                        req("apply_funding", symbol=s, rate=rate), q(m), req("reduce_margin", symbol=s, amount=m.money), q(m),
                        req("add_margin", symbol=s, amount=small), q(m)],
                       ["FundingDirection", "InsufficientCoverage", "DerivedValues"], ["N-funding", "INV-covered"])
    if o is not None:
        osize = o.mid_size(1)
        omargin = round_to(o.notional(osize) * 4 / o.tiers[0]["max_leverage"], o.money, "up")
        for side in SIDES:
            lp = d.at(m.contract, side, size, m.mark, margin, m.mark)["liquidation_price"]
            yield spec(f"isolation: liquidating the {s} {side} leaves the {o.symbol} position and the balance untouched",
                       [*opened(o, "long", osize, omargin), *opened(m, side, size, margin), q(o),
                        req("set_mark_price", symbol=s, price=lp - (m.tick if side == "long" else -m.tick)), q(m), q(o),
                        req("apply_funding", symbol=s, rate=Fraction(1, 1000)), q(o)],
                       ["Isolation", "MissedLiquidation"], ["INV-isolation-frame", "INV-balance-moves"])
    yield spec("set_mark_price without a position only records the mark",
               [req("set_mark_price", symbol=s, price=m.mark), q(m), req("set_mark_price", symbol=s, price=m.tick), q(m)],
               ["MissedLiquidation"], ["N-mark-without-position"])


GENERATORS = (marks, funding, rounding, edges)


def generate(rb: Rulebook) -> Iterator[CaseSpec]:
    d = Derive(rb)
    for g in GENERATORS:
        yield from g(rb, d)

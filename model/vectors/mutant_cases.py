"""Cases written to catch mutants that the other sources missed (source "mutant", flag MutantKiller).

Without them, `marginspec vectors --mutants` leaves two non-equivalent mutants alive (Z3 gives a
distinguishing state for each), both visible only with amounts below one unit of money:
set_leverage's inlined coverage check `isolated_margin > 0` -> `isolated_margin > 1`, and
close_position's `max(0, equity)` -> `max(1, equity)`. (Before the Z3 boundary cases existed they
also caught `> 0` -> `> 1` / `> -1` in set_leverage's `increase > 0` and `decrease > 0`,
reduce_margin's `isolated_margin > 0` -> `>= 0` / `> 1`, and `isolated_margin - decrease` -> `*`.)
These cases put such amounts on the wire: a one-lot position (margin, equity and target margin
under 1, at a mark low enough for that, see `small_mark`), set_leverage moving the margin by a fraction of a unit (in and out, with and without the
balance for it), and the whole margin taken out of a position in profit. Their replies come from the
reference engine like every other case.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterator

from ..numbers import round_to
from ..rulebook import Rulebook
from .boundaries import LEV_STEP, SIDES, opened, q
from .cases import CaseSpec, dec, req
from .market import Market, markets
from .thresholds import Derive

WRITTEN_FOR = ("set_leverage.reduce.coverage.require: isolated_margin > 0 -> isolated_margin > 1",
               "close_position.let.returned: max(0, equity) -> max(1, equity)",
               "and, before the Z3 boundary cases, > 0 -> > 1 / > -1 / >= 0 in set_leverage's increase and decrease "
               "conditions and reduce_margin's coverage, isolated_margin - decrease -> * in set_leverage.reduce.max_leverage")


def spec(title, steps, flags, rules=(), balance="10000000") -> CaseSpec:
    return CaseSpec(title=title, steps=tuple(steps), source="mutant", flags=("MutantKiller", *flags), rules=tuple(rules),
                    balance=balance, comment="written for the mutants: " + "; ".join(WRITTEN_FOR))


def small_mark(m: Market) -> Fraction:
    """The mark of the one-lot cases: the reference mark, lowered where one lot needs a margin of
    1/2 or more there. Closed form from tier 1: one lot's notional at most X = min(2/5 * max_leverage_1,
    max_notional_1), so it is in tier 1, its minimum margin is at most 2/5 and 5/4 of that (rounded
    up to the money step) is under 1; the mark is the largest tick at or below X / (multiplier * lot),
    and at least one tick. (A contract whose one lot at one tick already needs a margin of 1/2, or
    whose money step is 1/2 or more, misses "under 1"; the titles say so.)"""
    t1 = m.tiers[0]
    x = min(Fraction(2, 5) * t1["max_leverage"], t1["max_notional"])
    low = max(m.tick, m.tick_align(x / (m.multiplier * m.lot)))
    return min(m.mark, low)


def small_values(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """Amounts below one unit of money: a one-lot position at `small_mark` (margin, equity and
    target margin under 1), set_leverage moving the margin by a fraction of a unit (in and out, with
    and without the balance for it), and the whole margin taken out of a position in profit."""
    for m in markets(rb):
        s = m.symbol
        lot = m.lot
        low = small_mark(m)
        floor_ = d.minimum_margin(m.contract, lot, low)
        small = round_to(floor_ * Fraction(5, 4), m.money, "up")
        big = round_to(floor_ * 5, m.money, "up")
        for side in SIDES:
            yield spec(f"small values: {s} {side} one lot at mark {dec(low)} with margin {dec(small)}, closed "
                       f"({'returns less than 1' if small < 1 else 'margin not under 1 at any mark'})",
                       [*opened(m, side, lot, small, low), q(m), req("close_position", symbol=s), q(m)],
                       ["Balance", "DerivedValues"])
            lev = round_to(m.notional(lot, low) / small, LEV_STEP, "down")
            yield spec(f"small values: {s} {side} one lot at mark {dec(low)}, set_leverage {dec(lev)} takes the margin "
                       f"down to about {dec(small)}",
                       [*opened(m, side, lot, big, low), req("set_leverage", symbol=s, leverage=lev), q(m)],
                       ["DefaultLeverage", "InsufficientCoverage"], ["N-set-leverage"])
            yield spec(f"small values: {s} {side} one lot at mark {dec(low)}, reduce_margin leaves {dec(small)}",
                       [*opened(m, side, lot, big, low), req("reduce_margin", symbol=s, amount=big - small), q(m)],
                       ["InsufficientCoverage", "LeverageCap"], ["INV-reduce-safe"])
        size = m.mid_size(1)
        x = m.notional(size)
        lev0 = Fraction(20)
        margin = round_to(x / lev0, m.money, "up")
        for side in SIDES:
            for lev in (lev0 + Fraction(1, 1000), lev0 - Fraction(1, 1000), lev0 + LEV_STEP, lev0 - LEV_STEP):
                target = round_to(x / lev, m.money, "up")
                for spare in (Fraction(10000), (target - margin) / 2):
                    if spare <= 0:
                        continue
                    spare = round_to(spare, m.money, "down")
                    yield spec(f"small values: {s} {side} margin {dec(margin)}, set_leverage {dec(lev)} moves "
                               f"{dec(target - margin)} with {dec(spare)} available",
                               [*opened(m, side, size, margin), req("set_leverage", symbol=s, leverage=lev), q(m)],
                               ["DefaultLeverage", "Balance", "LeverageCap"], ["N-set-leverage"], balance=dec(margin + spare))
            gain = m.tick_align(m.mark * Fraction(6, 5)) if side == "long" else m.tick_align(m.mark * Fraction(4, 5))
            yield spec(f"small values: {s} {side} in profit, reduce_margin of the whole margin (margin 0 is refused "
                       f"for coverage before max leverage)",
                       [*opened(m, side, size, margin), req("set_mark_price", symbol=s, price=gain),
                        req("reduce_margin", symbol=s, amount=margin), q(m)],
                       ["InsufficientCoverage", "CheckOrder"], ["N-reduce-order"])



def generate(rb: Rulebook) -> Iterator[CaseSpec]:
    yield from small_values(rb, Derive(rb))

"""Realistic, tick-aligned scenario values for any contract, derived from its own parameters: a
reference mark price, and the sizes that put a position in the middle of each risk tier, exactly at
each tier's max_notional, or one lot above.

No symbol is named here: the mark is a closed form of the contract's tiers, multiplier, lot and
tick (see `reference_mark`), so a user's contracts get their scenarios the same way as the
rulebook's profiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..numbers import is_terminating, round_to
from ..rulebook import Contract, Rulebook

#: The mark is at most this many ticks (a half-percent move is then still hundreds of ticks ...)
MAX_TICKS = 10 ** 6
#: ... and the narrowest tier holds at least this many lots at the mark.
MIN_LOTS_PER_TIER = 100


def round_lots(c: Contract) -> int:
    """n = 10^j lots: the round size whose notional at the reference mark is tier 1's max_notional."""
    return _mark_and_lots(c)[1]


def reference_mark(c: Contract) -> Fraction:
    """The contract's scenario mark price: mark = max_notional_1 / (multiplier * lot * 10^j), with
    the smallest j >= 0 for which the mark is on the tick grid, at most MAX_TICKS ticks, and one lot
    is at most 1/MIN_LOTS_PER_TIER of the narrowest tier. So 10^j lots reach tier 1's bound exactly,
    every tier holds many lots, and prices keep fine resolution. (Falls back to the smallest
    on-grid candidate when no j satisfies every condition.)"""
    return _mark_and_lots(c)[0]


def _mark_and_lots(c: Contract) -> tuple[Fraction, int]:
    p = c.params
    unit = p["contract_multiplier"] * p["lot_size"]
    tick = p["tick_size"]
    caps = [t["max_notional"] for t in c.tiers]
    narrowest = min(b - a for a, b in zip([Fraction(0)] + caps, caps))
    best = None
    for j in range(0, 40):
        n = 10 ** j
        mark = caps[0] / (unit * n)
        if (mark / tick).denominator != 1 or mark < tick:
            break
        best = (mark, n)
        if mark / tick <= MAX_TICKS and unit * mark * MIN_LOTS_PER_TIER <= narrowest:
            return best
    if best is None:  # even one lot passes tier 1 at a one-tick mark: the smallest price there is
        return tick, 1
    return best


def power_of_ten_at_least(x: Fraction) -> Fraction:
    """The smallest 10^k (k may be negative) that is >= x > 0."""
    k = 0
    while Fraction(10) ** k < x:
        k += 1
    while Fraction(10) ** (k - 1) >= x:
        k -= 1
    return Fraction(10) ** k


def funds(c: Contract) -> Fraction:
    """A modest account balance for the contract: the smallest power of ten >= max_notional_1 / 5
    (a tier-1 position at leverage 5 or more fits in it)."""
    return power_of_ten_at_least(c.tiers[0]["max_notional"] / 5)


def big_funds(c: Contract) -> Fraction:
    """A balance that never binds: the smallest power of ten >= the last tier's max_notional."""
    return power_of_ten_at_least(c.tiers[-1]["max_notional"])


@dataclass(frozen=True)
class Market:
    symbol: str
    contract: Contract
    mark: Fraction

    @property
    def tick(self) -> Fraction:
        return self.contract.params["tick_size"]

    @property
    def lot(self) -> Fraction:
        return self.contract.params["lot_size"]

    @property
    def money(self) -> Fraction:
        return self.contract.params["money_step"]

    @property
    def multiplier(self) -> Fraction:
        return self.contract.params["contract_multiplier"]

    @property
    def tiers(self):
        return self.contract.tiers

    @property
    def funds(self) -> Fraction:
        return funds(self.contract)

    @property
    def big(self) -> Fraction:
        return big_funds(self.contract)

    @property
    def round_size(self) -> Fraction:
        """The round size (10^j lots) whose notional at the mark is exactly tier 1's max_notional."""
        return round_lots(self.contract) * self.lot

    def notional(self, size: Fraction, mark: Fraction | None = None) -> Fraction:
        return size * self.multiplier * (self.mark if mark is None else mark)

    def size_for(self, notional: Fraction, mark: Fraction | None = None) -> Fraction:
        """The largest lot-aligned size whose notional is at most `notional`."""
        per = self.multiplier * (self.mark if mark is None else mark)
        return max(self.lot, round_to(notional / per, self.lot, "down"))

    def lower(self, k: int) -> Fraction:
        return self.tiers[k - 2]["max_notional"] if k > 1 else Fraction(0)

    def mid_size(self, k: int) -> Fraction:
        return self.size_for((self.lower(k) + self.tiers[k - 1]["max_notional"]) / 2)

    def max_size(self, k: int) -> Fraction:
        return self.size_for(self.tiers[k - 1]["max_notional"])

    def nice_size(self, k: int) -> Fraction:
        """A size near the middle of tier k whose notional has a finite reciprocal in decimals (so
        that rate = fee / notional is a decimal): 2^a 5^b times a power of ten."""
        s = self.mid_size(k)
        lo = self.lower(k)
        while s > self.lot and not is_terminating(1 / self.notional(s)):
            s -= self.lot
        if self.notional(s) <= lo:
            return self.mid_size(k)
        return s

    def tick_align(self, price: Fraction, direction: str = "down") -> Fraction:
        return round_to(price, self.tick, direction)


def market(rb: Rulebook, symbol: str) -> Market:
    c = rb.contracts[symbol]
    return Market(symbol, c, reference_mark(c))


def markets(rb: Rulebook) -> list[Market]:
    """A market for every contract of the rulebook, in the rulebook's order."""
    return [market(rb, s) for s in rb.contracts]


def pairs(rb: Rulebook) -> list[tuple[Market, Market | None]]:
    """Every market with its neighbour (the next contract, cyclically) for cases that need two
    symbols; None when the rulebook has a single contract."""
    ms = markets(rb)
    return [(m, ms[(i + 1) % len(ms)] if len(ms) > 1 else None) for i, m in enumerate(ms)]

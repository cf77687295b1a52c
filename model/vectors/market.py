"""Realistic, tick-aligned scenario values for a contract: its mark price and the sizes that put a
position in the middle of each risk tier, exactly at each tier's max_notional, or one lot above.

Only the mark price is chosen here (a plausible price per symbol); every size is derived from the
contract's own tiers, multiplier and lot size.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..numbers import is_terminating, round_to
from ..rulebook import Contract, Rulebook
from .cases import DEFAULT_SYMBOLS

MARKS = {"BTCUSDT": Fraction(50000), "ETHUSDT": Fraction(2000)}


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
    def tiers(self):
        return self.contract.tiers

    def notional(self, size: Fraction, mark: Fraction | None = None) -> Fraction:
        return size * self.contract.params["contract_multiplier"] * (self.mark if mark is None else mark)

    def size_for(self, notional: Fraction, mark: Fraction | None = None) -> Fraction:
        """The largest lot-aligned size whose notional is at most `notional`."""
        per = self.contract.params["contract_multiplier"] * (self.mark if mark is None else mark)
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


def markets(rb: Rulebook, symbols=DEFAULT_SYMBOLS) -> list[Market]:
    out = []
    for s in symbols:
        if s not in rb.contracts:
            continue
        c = rb.contracts[s]
        mark = MARKS.get(s, c.params["tick_size"] * 10000)
        out.append(Market(s, c, mark))
    return out

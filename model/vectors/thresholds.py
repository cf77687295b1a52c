"""Threshold values, solved exactly from the rulebook's own formulas (the interpreter's derived
values over Fractions), and grid helpers (money step, tick, lot).

Every threshold here is linear in the unknown, so two evaluations of a derived value pin it; the
boundary generators then let the reference engine decide every outcome at and around it.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..interpreter import Interpreter
from ..numbers import round_to
from ..rulebook import Contract, Rulebook


class Derive:
    """Derived values of a hypothetical position, computed by the rulebook's interpreter."""

    def __init__(self, rb: Rulebook):
        self.rb = rb
        self.interp = Interpreter(rb)

    def at(self, c: Contract, side: str, size, entry, margin, mark) -> Any:
        values = {**self.interp.contract_values(c), **self.interp.initial_account(Fraction(0)),
                  **self.interp.initial_symbol_state(), "has_position": True, "side": side,
                  "size": Fraction(size), "entry_price": Fraction(entry), "isolated_margin": Fraction(margin),
                  "mark_price": Fraction(mark)}
        return self.interp.derived_values(values)

    def liquidation_margin(self, c: Contract, side: str, size, entry, root) -> Fraction:
        """The margin for which the exact liquidation root is `root`: equity = maintenance margin
        there, i.e. margin = maintenance_margin(root) - unrealized_pnl(root)."""
        env = self.at(c, side, size, entry, 0, root)
        return env["maintenance_margin"] - env["unrealized_pnl"]

    def funding_fee_to_threshold(self, c: Contract, side: str, size, entry, margin, mark) -> Fraction:
        """The fee (as the payer sees it) that brings equity exactly to maintenance margin."""
        env = self.at(c, side, size, entry, margin, mark)
        return env["equity"] - env["maintenance_margin"]

    def coverage_amount(self, c: Contract, side: str, size, entry, margin, mark) -> Fraction:
        """The reduce_margin amount that leaves equity exactly at maintenance margin."""
        env = self.at(c, side, size, entry, margin, mark)
        return env["equity"] - env["maintenance_margin"]

    def minimum_margin(self, c: Contract, size, mark) -> Fraction:
        return self.at(c, "long", size, mark, 1, mark)["minimum_margin"]

    def notional(self, c: Contract, size, mark) -> Fraction:
        return self.at(c, "long", size, mark, 1, mark)["notional"]


def around(value: Fraction, step: Fraction) -> list[Fraction]:
    """Grid points at and next to `value`: value - step, value, value + step when it is on the grid,
    else the two grid points around it and the next one out on each side."""
    if (value / step).denominator == 1:
        return [value - step, value, value + step]
    lo, hi = round_to(value, step, "down"), round_to(value, step, "up")
    return [lo - step, lo, hi, hi + step]


def on_grid(value: Fraction, step: Fraction) -> bool:
    return (value / step).denominator == 1



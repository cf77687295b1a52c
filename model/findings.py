"""Findings: what the proved bounds imply for the rulebook's own contracts, for the docs.

INV-liq-fund proves that at a liquidation whose notional at the mark is n, the insurance fund
receives at most n × (mmr + taker_fee_rate − buffer) − maintenance_amount of the tier of n (on the
mark basis; on the entry basis the bound is read at the entry notional, so no tier-wide finding is
drawn for such a contract). Where that bound is
below zero for every notional of a tier, the fund pays on every liquidation in that tier (and where
it is at most zero, it never gains). The bound is linear in n, so it is read at the tier's ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .numbers import format_decimal
from .rulebook import Rulebook

FUND_BOUND = "INV-liq-fund"
_NEEDS = ("liquidation_buffer_rate", "maintenance_margin_rate", "maintenance_amount", "max_notional")


@dataclass(frozen=True)
class Finding:
    invariant: str  # the proof it rests on
    symbol: str
    tier: int | None  # 1-based; None: the contract as a whole
    text: str


def _pct(x: Fraction) -> str:
    return format_decimal(x * 100) + "%"


def _least(b: Fraction, mmr: Fraction, amt: Fraction) -> str:
    """What the fund pays at least, at notional n: n × (buffer − rate) + amount, in words."""
    amount = format_decimal(amt)
    if b > mmr:
        return f"at least {_pct(b - mmr)} of the notional" + (f" plus {amount}" if amt else "")
    if b == mmr:
        return f"at least {amount}"
    return f"at least {amount} less {_pct(mmr - b)} of the notional"


def fund_findings(rb: Rulebook) -> list[Finding]:
    """Per contract and tier: where INV-liq-fund's bound on the fund's take is never positive."""
    if FUND_BOUND not in {i.id for i in rb.invariants}:
        return []
    out = []
    for sym in sorted(rb.contracts):
        c = rb.contracts[sym]
        if "liquidation_buffer_rate" not in c.params or not all(k in c.tiers[0] for k in _NEEDS[1:]):
            continue
        if c.params.get("maintenance_basis", "mark") != "mark":  # said, so that no finding is not read as none
            out.append(Finding(FUND_BOUND, sym, None,
                               f"{sym}: maintenance is on the {c.params['maintenance_basis']} basis, so the bound on what "
                               "the insurance fund receives is read at each position's entry notional, not at the "
                               "tier's notionals: no tier-wide finding is drawn for it."))
            continue
        b = c.params["liquidation_buffer_rate"]
        fee = c.params.get("taker_fee_rate", Fraction(0))
        lo = Fraction(0)
        for k, t in enumerate(c.tiers, 1):
            # maintenance keeps the tier's rate plus the taker fee reserve
            mmr, amt, hi = t["maintenance_margin_rate"] + fee, t["maintenance_amount"], t["max_notional"]
            at_lo, at_hi = lo * (mmr - b) - amt, hi * (mmr - b) - amt
            rng = f"notional above {format_decimal(lo)} up to {format_decimal(hi)}" if k > 1 else \
                f"notional up to {format_decimal(hi)}"
            if at_hi < 0 and at_lo <= 0:
                least = _least(b, mmr, amt)
                out.append(Finding(FUND_BOUND, sym, k,
                                   f"{sym} tier {k} ({rng}): the liquidation buffer {_pct(b)} exceeds what maintenance "
                                   f"keeps (rate {_pct(mmr)}{' with the taker fee' if fee else ''}, amount {format_decimal(amt)}), so the insurance fund PAYS "
                                   f"on every liquidation in this tier, {least}."))
            elif at_hi <= 0 and at_lo <= 0:
                out.append(Finding(FUND_BOUND, sym, k,
                                   f"{sym} tier {k} ({rng}): the liquidation buffer {_pct(b)} equals the maintenance "
                                   f"rate {_pct(mmr)} (amount {format_decimal(amt)}), so the insurance fund never "
                                   f"gains from a liquidation in this tier."))
            lo = hi
    return out

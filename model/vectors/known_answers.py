"""Known answers worked out by hand from RULES.md's closed forms (arithmetic in the comments).

The expected replies of these cases still come from the reference engine; the hand-worked values
below are checked against them at generation time (a mismatch stops generation) and in
tests/vectors/test_vectors_known_answers.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ..rulebook import Rulebook
from .cases import CaseSpec, req

B, E = "BTCUSDT", "ETHUSDT"


def _open(sym, mark, side, size, margin=None):
    return [req("set_mark_price", symbol=sym, price=mark), req("open_position", symbol=sym, side=side, size=size, margin=margin)]


def _q(sym=B):
    return req("query", symbol=sym)


@dataclass(frozen=True)
class Known:
    title: str
    steps: tuple[dict, ...]
    hand: tuple[tuple[int, str, object], ...]  # (step index, dotted path in the reply's result, value)
    balance: str = "10000"
    rules: tuple[str, ...] = ()
    comment: str | None = None


KNOWN = (
    Known("worked case: BTCUSDT long 1000 at 50000 with margin 5000",
          (*_open(B, "50000", "long", "1000", "5000"), _q()),
          ((2, "available_balance", "5000"), (2, "position.notional", "50000"), (2, "position.equity", "5000"),
           (2, "position.maintenance_margin", "200"), (2, "position.liquidation_price", "45180.8"),
           (2, "position.bankruptcy_price", "45000"), (2, "position.leverage", "10")),
          comment="N = 1000 * 0.001 = 1; notional 50000 (tier 1, at its max_notional); mm = 50000 * 0.004 = 200; "
                  "root = (50000 - 5000) / 0.996 = 45180.72...; rounded up to the tick: 45180.8; "
                  "bankruptcy = 50000 - 5000 = 45000; leverage = 50000 / 5000 = 10"),
    Known("worked case, short: BTCUSDT short 1000 at 50000 with margin 5000",
          (*_open(B, "50000", "short", "1000", "5000"), _q()),
          ((2, "position.maintenance_margin", "200"), (2, "position.liquidation_price", "54776.1"),
           (2, "position.bankruptcy_price", "55000"), (2, "position.leverage", "10"), (2, "position.unrealized_pnl", "0")),
          comment="tier 1 would give (50000 + 5000) / 1.004 = 54780.88, but that notional (54780.88) is past tier 1's "
                  "50000; tier 2: (50000 + 5000 + 50) / 1.005 = 54776.119... (notional 54776, in tier 2); "
                  "rounded down: 54776.1; bankruptcy 55000"),
    Known("worked case: the mark at the liquidation price keeps the long, one tick lower liquidates it",
          (*_open(B, "50000", "long", "1000", "5000"), req("set_mark_price", symbol=B, price="45180.8"), _q(),
           req("set_mark_price", symbol=B, price="45180.7"), _q()),
          ((2, "liquidated", False), (3, "position.equity", "180.8"), (3, "position.maintenance_margin", "180.7232"),
           (4, "liquidated", True), (4, "fill_price", "44954.7"), (5, "position", None),
           (5, "insurance_fund", "-45.3"), (5, "available_balance", "5000")),
          comment="at 45180.8: equity 5000 - 4819.2 = 180.8 > mm 180.7232; at 45180.7: equity 180.7 <= 180.7228; "
                  "fill 45180.7 * 0.995 = 44954.7965 rounded down: 44954.7; fund receives 5000 + (44954.7 - 50000) = -45.3"),
    Known("worked case: funding at rate 0.0001, the long pays and the short receives 5",
          (*_open(B, "50000", "long", "1000", "5000"), req("apply_funding", symbol=B, rate="0.0001"), _q(),
           *_open(E, "2000", "short", "100", "400"), req("apply_funding", symbol=E, rate="0.0001"), _q(E)),
          ((2, "fee", "5"), (3, "position.isolated_margin", "4995"), (6, "fee", "0.2"),
           (7, "position.isolated_margin", "400.2"), (7, "available_balance", "4600")),
          comment="fee = 1 * 50000 * 0.0001 = 5 (long margin 5000 - 5); ETH: N = 1, notional 2000, fee 0.2 (short margin 400 + 0.2)"),
    Known("worked case: ETHUSDT long 3000 at 2000 with margin 6000 sits in tier 2",
          (*_open(E, "2000", "long", "3000", "6000"), _q(E)),
          ((2, "position.notional", "60000"), (2, "position.maintenance_margin", "375"),
           (2, "position.liquidation_price", "1811.28"), (2, "position.bankruptcy_price", "1800"),
           (2, "position.leverage", "10")),
          comment="N = 30; notional 60000 (tier 2: 0.0065, amount 15); mm = 390 - 15 = 375; "
                  "root = (60000 - 6015) / (30 * 0.9935) = 1811.2732...; rounded up: 1811.28 (root notional 54338, tier 2)"),
    Known("worked case: closing a long in profit returns margin plus PnL",
          (*_open(B, "50000", "long", "1000", "5000"), req("set_mark_price", symbol=B, price="51000"),
           req("close_position", symbol=B), _q()),
          ((3, "returned", "6000"), (4, "available_balance", "11000"), (4, "position", None), (4, "insurance_fund", "0")),
          comment="equity at 51000 = 5000 + 1000 = 6000; available 5000 + 6000"),
    Known("worked case: adding 1000 moves the long's liquidation price down and its leverage to 8.33",
          (*_open(B, "50000", "long", "1000", "5000"), req("add_margin", symbol=B, amount="1000"), _q()),
          ((3, "available_balance", "4000"), (3, "position.isolated_margin", "6000"),
           (3, "position.liquidation_price", "44176.8"), (3, "position.leverage", "8.33")),
          comment="root = (50000 - 6000) / 0.996 = 44176.706...; rounded up 44176.8; leverage 50000 / 6000 = 8.333 -> 8.33"),
    Known("worked case: BTCUSDT short 10000 at 50000 with margin 50000 in tier 3",
          (*_open(B, "50000", "short", "10000", "50000"), _q()),
          ((2, "position.maintenance_margin", "3700"), (2, "position.liquidation_price", "54584.1"),
           (2, "position.bankruptcy_price", "55000"), (2, "position.leverage", "10")),
          balance="100000",
          comment="N = 10, notional 500000 (tier 3: 0.01, amount 1300); mm = 5000 - 1300 = 3700; "
                  "root = (500000 + 50000 + 1300) / (10 * 1.01) = 54584.158...; rounded down 54584.1 (root notional 545841, tier 3)"),
    Known("worked case: margin from default leverage 7 is rounded up to the money step",
          (req("set_leverage", symbol=B, leverage="7"), *_open(B, "50000", "long", "1000"), _q()),
          ((3, "position.isolated_margin", "7142.8572"), (3, "available_balance", "2857.1428"), (3, "position.leverage", "7")),
          comment="50000 / 7 = 7142.857142...; rounded up to 0.0001: 7142.8572; leverage 6.99999... -> 7"),
)


def dig(result, path: str):
    v = result
    for part in path.split("."):
        v = v[part] if v is not None else None
    return v


def hand_mismatches(rb: Rulebook, k: Known) -> list[str]:
    """The hand-worked values that the reference engine does not reproduce."""
    from ..engine import ReferenceEngine
    from .cases import profile_contracts
    from .recorder import replay

    trace = replay(ReferenceEngine(rb), dict(profile_contracts(rb)), k.balance, k.steps, positions=False)
    out = []
    for i, path, want in k.hand:
        reply = trace[i].reply
        got = dig(reply.get("result"), path) if reply.get("ok") else reply
        if got != want:
            out.append(f"{k.title}: step {i} {path}: hand-worked {want!r}, engine {got!r}")
    return out


def generate(rb: Rulebook) -> Iterator[CaseSpec]:
    from .venue_cases import non_default

    if any(non_default(rb, c) for c in rb.contracts.values()):
        return  # the hand-worked arithmetic assumes the default venue parameters (venue_cases pins the others)
    for k in KNOWN:
        bad = hand_mismatches(rb, k)
        if bad:
            raise ValueError("known answer disagrees with the reference engine:\n" + "\n".join(bad))
        yield CaseSpec(title=k.title, steps=k.steps, source="known_answer",
                       flags=("WorkedExample", "DerivedValues", "LiquidationPrice"), rules=k.rules,
                       comment=k.comment, balance=k.balance)

"""Known answers for every contract, worked out by closed form (the arithmetic is in each case's
comment).

A recipe ("a long of the round size at leverage 10", "a short in the middle of tier k", "the mark at
the liquidation price and one tick beyond", ...) is applied to each contract's own scenario values
(market.py). The answers come from `Closed`, the closed forms of the rules written out by hand in
Python, independently of the rulebook's expressions and of the interpreter: the tier a notional
falls in, maintenance margin, the liquidation root taken in the first tier that holds it, the
rounding of each price to the tick. The expected replies of the cases still come from the
reference engine; the closed-form values are checked against them at generation time (a mismatch
stops generation) and in tests/vectors/test_vectors_known_answers.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator

from ..numbers import round_to
from ..rulebook import Rulebook
from .cases import CaseSpec, dec, req
from .market import Market, markets, power_of_ten_at_least

LEV_STEP = Fraction(1, 100)
RATE = Fraction(1, 10000)


def _open(m: Market, mark, side, size, margin=None):
    return [req("set_mark_price", symbol=m.symbol, price=mark),
            req("open_position", symbol=m.symbol, side=side, size=size, margin=margin)]


def _q(m: Market):
    return req("query", symbol=m.symbol)


@dataclass(frozen=True)
class Known:
    title: str
    steps: tuple[dict, ...]
    hand: tuple[tuple[int, str, object], ...]  # (step index, dotted path in the reply's result, value)
    balance: str = "10000"
    rules: tuple[str, ...] = ()
    comment: str | None = None


@dataclass(frozen=True)
class Closed:
    """A position's values by closed form: q = size * multiplier, notional = q * mark, tier k = the
    first tier whose max_notional holds the notional, mm = notional * mmr_k - amount_k; the root of
    equity = mm in tier k is (q E - d (M + amount_k)) / (q (1 - d mmr_k)) (d = 1 long, -1 short),
    taken from the first tier whose max_notional holds q * root."""

    m: Market
    side: str
    size: Fraction
    entry: Fraction
    margin: Fraction

    @property
    def d(self) -> int:
        return 1 if self.side == "long" else -1

    @property
    def q(self) -> Fraction:
        return self.size * self.m.multiplier

    def tier(self, notional: Fraction) -> int:
        caps = [t["max_notional"] for t in self.m.tiers]
        return next((k for k, cap in enumerate(caps, 1) if notional <= cap), len(caps))

    def mm(self, mark: Fraction) -> Fraction:
        n = self.q * mark
        t = self.m.tiers[self.tier(n) - 1]
        return n * t["maintenance_margin_rate"] - t["maintenance_amount"]

    def equity(self, mark: Fraction) -> Fraction:
        return self.margin + self.d * self.q * (mark - self.entry)

    def roots(self) -> list[tuple[int, Fraction]]:
        """(tier, root) for every tier up to the one that holds its own root."""
        out = []
        for k, t in enumerate(self.m.tiers, 1):
            r = ((self.q * self.entry - self.d * (self.margin + t["maintenance_amount"]))
                 / (self.q * (1 - self.d * t["maintenance_margin_rate"])))
            out.append((k, r))
            if self.q * r <= t["max_notional"]:
                break
        return out

    def _to_tick(self, x: Fraction) -> Fraction | None:
        return None if x <= 0 else round_to(x, self.m.tick, "up" if self.d == 1 else "down")

    def liquidation_price(self) -> Fraction | None:
        return self._to_tick(self.roots()[-1][1])

    def bankruptcy_price(self) -> Fraction | None:
        return self._to_tick(self.entry - self.d * self.margin / self.q)

    def leverage(self) -> Fraction | None:
        return round_to(self.q * self.entry / self.margin, LEV_STEP, "half_away") if self.margin > 0 else None

    def fill(self, mark: Fraction) -> Fraction:
        buf = self.m.contract.params["liquidation_buffer_rate"]
        return round_to(mark * (1 - self.d * buf), self.m.tick, "down" if self.d == 1 else "up")

    def explain(self) -> str:
        """The arithmetic of notional, mm, the root, the liquidation and bankruptcy prices, leverage."""
        n = self.q * self.entry
        k = self.tier(n)
        t = self.m.tiers[k - 1]
        parts = [f"q = {dec(self.size)} * {dec(self.m.multiplier)} = {dec(self.q)}",
                 f"notional = q * {dec(self.entry)} = {dec(n)} (tier {k}: rate {dec(t['maintenance_margin_rate'])}, "
                 f"amount {dec(t['maintenance_amount'])})",
                 f"mm = {dec(n)} * {dec(t['maintenance_margin_rate'])} - {dec(t['maintenance_amount'])} = {dec(self.mm(self.entry))}"]
        sign = "-" if self.d == 1 else "+"
        for j, r in self.roots():
            tj = self.m.tiers[j - 1]
            held = self.q * r <= tj["max_notional"]
            parts.append(f"tier {j} root = (q E {sign} (M + {dec(tj['maintenance_amount'])})) / (q (1 {sign} "
                         f"{dec(tj['maintenance_margin_rate'])})) = {dec(r)}" +
                         ("" if held else f", but its notional {dec(self.q * r)} is past tier {j}'s {dec(tj['max_notional'])}"))
        lp, bp = self.liquidation_price(), self.bankruptcy_price()
        way = "up" if self.d == 1 else "down"
        parts.append(f"liquidation price: the root rounded {way} to the tick {dec(self.m.tick)}: {dec(lp) if lp else 'null'}")
        parts.append(f"bankruptcy = E {sign} M / q = {dec(self.entry - self.d * self.margin / self.q)}, rounded {way}: "
                     f"{dec(bp) if bp else 'null'}")
        if self.margin > 0:
            parts.append(f"leverage = {dec(n)} / {dec(self.margin)} = {dec(n / self.margin)} -> {dec(self.leverage())}")
        return "; ".join(parts)


def _s(x) -> str | None:
    return None if x is None else dec(x)


def _leverage(m: Market, k: int) -> Fraction:
    """Leverage 10, or half the tier's max leverage when that is lower (at least 1)."""
    return max(Fraction(1), min(Fraction(10), round_to(m.tiers[k - 1]["max_leverage"] / 2, LEV_STEP, "down")))


def _balance(m: Market, margin: Fraction) -> Fraction:
    return max(m.funds, power_of_ten_at_least(2 * margin))


def _position_hand(i: int, c: Closed) -> tuple[tuple[int, str, object], ...]:
    return ((i, "position.notional", dec(c.q * c.entry)), (i, "position.equity", dec(c.margin)),
            (i, "position.maintenance_margin", dec(c.mm(c.entry))),
            (i, "position.liquidation_price", _s(c.liquidation_price())),
            (i, "position.bankruptcy_price", _s(c.bankruptcy_price())), (i, "position.leverage", _s(c.leverage())),
            (i, "position.unrealized_pnl", "0"))


def worked(m: Market) -> Iterator[Known]:
    """The round size (notional exactly tier 1's max_notional) at leverage 10, both sides; the mark
    at the long's liquidation price and one tick beyond; adding margin; closing in profit."""
    size, mark = m.round_size, m.mark
    lev = _leverage(m, 1)
    margin = round_to(size * m.multiplier * mark / lev, m.money, "up")
    bal = _balance(m, margin)
    for side in ("long", "short"):
        c = Closed(m, side, size, mark, margin)
        yield Known(f"worked case: {m.symbol} {side} {dec(size)} at {dec(mark)} with margin {dec(margin)} "
                    f"(notional at tier 1's max_notional, leverage {dec(lev)})",
                    (*_open(m, mark, side, size, margin), _q(m)),
                    ((2, "available_balance", dec(bal - margin)), *_position_hand(2, c)),
                    dec(bal), comment=c.explain())
    c = Closed(m, "long", size, mark, margin)
    lp = c.liquidation_price()
    if lp is not None and lp - m.tick > 0:
        beyond = lp - m.tick
        at_liq, beyond_liq = c.equity(lp) <= c.mm(lp), c.equity(beyond) <= c.mm(beyond)
        fill = c.fill(beyond)
        hand = [(2, "liquidated", at_liq), (4, "liquidated", beyond_liq), (5, "available_balance", dec(bal - margin))]
        if not at_liq:
            hand += [(3, "position.equity", dec(c.equity(lp))), (3, "position.maintenance_margin", dec(c.mm(lp)))]
        if beyond_liq and not at_liq:
            hand += [(4, "fill_price", dec(fill)), (5, "position", None),
                     (5, "insurance_fund", dec(margin + c.q * (fill - mark)))]
        yield Known(f"worked case: {m.symbol} long, the mark at the liquidation price {dec(lp)} "
                    f"{'liquidates' if at_liq else 'keeps'} it, one tick lower "
                    f"{'liquidates' if beyond_liq else 'keeps'} it",
                    (*_open(m, mark, "long", size, margin), req("set_mark_price", symbol=m.symbol, price=lp), _q(m),
                     req("set_mark_price", symbol=m.symbol, price=beyond), _q(m)),
                    tuple(hand), dec(bal),
                    comment=f"at {dec(lp)}: equity {dec(c.equity(lp))} against mm {dec(c.mm(lp))}; at {dec(beyond)}: "
                            f"equity {dec(c.equity(beyond))} against mm {dec(c.mm(beyond))} (liquidated when equity <= mm); "
                            f"fill = {dec(beyond)} * (1 - {dec(m.contract.params['liquidation_buffer_rate'])}) rounded "
                            f"down: {dec(fill)}; the fund receives M + q (fill - E) = {dec(margin + c.q * (fill - mark))}")
    add = round_to(margin / 5, m.money, "down")
    c2 = Closed(m, "long", size, mark, margin + add)
    yield Known(f"worked case: {m.symbol} long, adding {dec(add)} moves the liquidation price to "
                f"{_s(c2.liquidation_price())} and the leverage to {_s(c2.leverage())}",
                (*_open(m, mark, "long", size, margin), req("add_margin", symbol=m.symbol, amount=add), _q(m)),
                ((3, "available_balance", dec(bal - margin - add)), (3, "position.isolated_margin", dec(margin + add)),
                 (3, "position.liquidation_price", _s(c2.liquidation_price())), (3, "position.leverage", _s(c2.leverage()))),
                dec(bal), comment=c2.explain())
    up = m.tick_align(mark * Fraction(102, 100))
    ret = max(Fraction(0), c.equity(up))
    yield Known(f"worked case: {m.symbol} long closed at {dec(up)} returns margin plus PnL",
                (*_open(m, mark, "long", size, margin), req("set_mark_price", symbol=m.symbol, price=up),
                 req("close_position", symbol=m.symbol), _q(m)),
                ((3, "returned", dec(ret)), (4, "available_balance", dec(bal - margin + ret)), (4, "position", None),
                 (4, "insurance_fund", "0")),
                dec(bal), comment=f"equity at {dec(up)} = {dec(margin)} + {dec(c.q)} * ({dec(up)} - {dec(mark)}) = {dec(ret)}; "
                                  f"available {dec(bal - margin)} + {dec(ret)}")


def funding(m: Market) -> Iterator[Known]:
    """Funding at rate 0.0001: the long pays, then (closed, reopened short) the short receives."""
    size, mark = m.round_size, m.mark
    margin = round_to(size * m.multiplier * mark / _leverage(m, 1), m.money, "up")
    bal = _balance(m, margin)
    n = size * m.multiplier * mark
    fee = round_to(n * RATE, m.money, "half_away")
    yield Known(f"worked case: {m.symbol} funding at rate {dec(RATE)}: the long pays and the short receives {dec(fee)}",
                (*_open(m, mark, "long", size, margin), req("apply_funding", symbol=m.symbol, rate=RATE), _q(m),
                 req("close_position", symbol=m.symbol), req("open_position", symbol=m.symbol, side="short", size=size,
                                                             margin=margin),
                 req("apply_funding", symbol=m.symbol, rate=RATE), _q(m)),
                ((2, "fee", dec(fee)), (3, "position.isolated_margin", dec(margin - fee)), (6, "fee", dec(fee)),
                 (7, "position.isolated_margin", dec(margin + fee)),
                 (7, "available_balance", dec(bal - fee - margin))),
                dec(bal), comment=f"fee = round({dec(n)} * {dec(RATE)}, {dec(m.money)}) = {dec(fee)}; the long's margin "
                                  f"{dec(margin)} - {dec(fee)}; closed at the entry it returns {dec(margin - fee)}; the "
                                  f"short's margin {dec(margin)} + {dec(fee)}")


def tiers(m: Market) -> Iterator[Known]:
    """A position in the middle of every tier, both sides, at leverage 10 (or half the tier's max)."""
    for k in range(1, len(m.tiers) + 1):
        size = m.mid_size(k)
        lev = _leverage(m, k)
        margin = round_to(m.notional(size) / lev, m.money, "up")
        bal = _balance(m, margin)
        for side in ("long", "short"):
            c = Closed(m, side, size, m.mark, margin)
            yield Known(f"{m.symbol} {side} {dec(size)} at {dec(m.mark)} in the middle of tier {k} at leverage {dec(lev)}",
                        (*_open(m, m.mark, side, size, margin), _q(m)), _position_hand(2, c), dec(bal),
                        comment=c.explain())


def default_leverage(m: Market) -> Iterator[Known]:
    """The margin from a default leverage that does not divide the notional, rounded up to the money step."""
    lev = next((x for x in (Fraction(7), Fraction(3)) if x <= m.tiers[0]["max_leverage"]), None)
    if lev is None:
        return
    size, mark = m.round_size, m.mark
    n = size * m.multiplier * mark
    margin = round_to(n / lev, m.money, "up")
    bal = _balance(m, margin)
    yield Known(f"worked case: {m.symbol} margin from default leverage {dec(lev)} is rounded up to the money step",
                (req("set_leverage", symbol=m.symbol, leverage=lev), *_open(m, mark, "long", size), _q(m)),
                ((3, "position.isolated_margin", dec(margin)), (3, "available_balance", dec(bal - margin)),
                 (3, "position.leverage", dec(round_to(n / margin, LEV_STEP, "half_away")))),
                dec(bal), comment=f"{dec(n)} / {dec(lev)} = {dec(n / lev)}, rounded up to {dec(m.money)}: {dec(margin)}; "
                                  f"leverage {dec(n)} / {dec(margin)} -> {dec(round_to(n / margin, LEV_STEP, 'half_away'))}")


RECIPES = (worked, funding, tiers, default_leverage)


def known(rb: Rulebook) -> list[Known]:
    """Every recipe applied to every contract of the rulebook."""
    return [k for m in markets(rb) for recipe in RECIPES for k in recipe(m)]


def dig(result, path: str):
    v = result
    for part in path.split("."):
        v = v[part] if v is not None else None
    return v


def hand_mismatches(rb: Rulebook, k: Known) -> list[str]:
    """The closed-form values that the reference engine does not reproduce."""
    from ..engine import ReferenceEngine
    from .cases import contracts_for
    from .recorder import replay

    trace = replay(ReferenceEngine(rb), dict(contracts_for(rb, k.steps)), k.balance, k.steps, positions=False)
    out = []
    for i, path, want in k.hand:
        reply = trace[i].reply
        got = dig(reply.get("result"), path) if reply.get("ok") else reply
        if got != want:
            out.append(f"{k.title}: step {i} {path}: closed form {want!r}, engine {got!r}")
    return out


def generate(rb: Rulebook) -> Iterator[CaseSpec]:
    from .venue_cases import non_default

    if any(non_default(rb, c) for c in rb.contracts.values()):
        return  # the hand-worked arithmetic assumes the default venue parameters (venue_cases pins the others)
    for k in known(rb):
        bad = hand_mismatches(rb, k)
        if bad:
            raise ValueError("known answer disagrees with the reference engine:\n" + "\n".join(bad))
        yield CaseSpec(title=k.title, steps=k.steps, source="known_answer",
                       flags=("WorkedExample", "DerivedValues", "LiquidationPrice"), rules=k.rules,
                       comment=k.comment, balance=k.balance)

"""Boundary cases for every check of every action: exactly at the threshold and one money step,
tick, lot or 0.01 of leverage on either side, for every tier of every contract profile and both
sides. Thresholds come from the rulebook's formulas (thresholds.Derive); the reference engine
decides every outcome when the cases are recorded.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterator

from ..numbers import round_to
from ..rulebook import Rulebook
from .cases import CaseSpec, dec, req
from .market import Market, markets
from .thresholds import Derive, around, on_grid

SIDES = ("long", "short")
LEV_STEP = Fraction(1, 100)


def q(m: Market) -> dict:
    return req("query", symbol=m.symbol)


def opened(m: Market, side: str, size, margin, mark=None) -> list[dict]:
    return [req("set_mark_price", symbol=m.symbol, price=m.mark if mark is None else mark),
            req("open_position", symbol=m.symbol, side=side, size=size, margin=margin)]


def spec(title, steps, flags, rules=(), balance=None, **kw) -> CaseSpec:
    """A boundary case; balance None: one that never binds for the contracts it names."""
    return CaseSpec(title=title, steps=tuple(steps), source="boundary", flags=tuple(flags), rules=tuple(rules),
                    balance=balance, **kw)


def _where(m: Market, k: int) -> list[tuple[str, Fraction]]:
    out = [("mid", m.mid_size(k)), ("at max_notional", m.max_size(k))]
    if k < len(m.tiers):
        out.append(("one lot above max_notional", m.max_size(k) + m.lot))
    return out


def _positions(m: Market, k: int) -> list[tuple[str, Fraction, int]]:
    """Sizes for the checks that read the position's tier: mid tier k, then at its max_notional
    and one lot above (in tier k + 1), each with the tier it is in; the title suffix is empty for
    mid (the cases' ids from before the boundary sizes were added are kept)."""
    return [("" if where == "mid" else f" ({where})", size, k + 1 if "above" in where else k)
            for where, size in _where(m, k)]


def min_margin(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """open_position.min_margin: margin = notional / max_leverage of the tier, and one step either side."""
    for m in markets(rb):
        for k in range(1, len(m.tiers) + 1):
            for where, size in _where(m, k):
                threshold = d.minimum_margin(m.contract, size, m.mark)
                boundary = "max_notional" in where
                for side in SIDES:
                    for margin in around(threshold, m.money):
                        yield spec(
                            f"open_position.min_margin: {m.symbol} {side} in tier {k} ({where}), "
                            f"margin {dec(margin)} against minimum {dec(threshold)}",
                            [*opened(m, side, size, margin), q(m)],
                            ["MinMargin", "ErrorCode"] + (["TierBoundary"] if boundary else []),
                            ["INV-born-safe", "INV-leverage-cap"] + (["INV-tiers-ordered", "INV-mm-continuous"]
                                                                     if boundary else []))


def notional_limit(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """open_position.notional_limit: notional exactly at the last tier's max_notional, one lot above."""
    for m in markets(rb):
        k = len(m.tiers)
        for size in (m.max_size(k) - m.lot, m.max_size(k), m.max_size(k) + m.lot):
            margin = round_to(d.minimum_margin(m.contract, size, m.mark), m.money, "up")
            for side in SIDES:
                yield spec(f"open_position.notional_limit: {m.symbol} {side} size {dec(size)} "
                           f"(notional {dec(m.notional(size))}, last tier ends at {dec(m.tiers[-1]['max_notional'])})",
                           [*opened(m, side, size, margin), q(m)], ["ErrorCode", "TierBoundary"], ["N-tier-boundary"])


def open_balance(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """open_position.balance: margin equal to the available balance, one money step either side,
    with the margin given and with the margin from the default leverage."""
    for m in markets(rb):
        size = m.mid_size(1)
        need = round_to(d.minimum_margin(m.contract, size, m.mark), m.money, "up") * 4
        for side in SIDES:
            for margin in around(need, m.money):
                yield spec(f"open_position.balance: {m.symbol} {side}, margin {dec(margin)} with {dec(need)} available",
                           [*opened(m, side, size, margin), q(m)], ["Balance", "ErrorCode"], balance=dec(need))
        # margin from a default leverage: notional / leverage rounded up, against the balance
        lev = Fraction(5)
        target = round_to(m.notional(size) / lev, m.money, "up")
        for balance in around(target, m.money):
            yield spec(f"open_position.balance: {m.symbol} long with default leverage {dec(lev)} "
                       f"(margin {dec(target)}), {dec(balance)} available",
                       [req("set_leverage", symbol=m.symbol, leverage=lev), *opened(m, "long", size, None), q(m)],
                       ["Balance", "ErrorCode", "DefaultLeverage"], ["N-default-leverage"], balance=dec(balance))


def add_balance(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """add_margin.balance: amount equal to the available balance, one money step either side."""
    for m in markets(rb):
        size = m.mid_size(1)
        margin = round_to(d.minimum_margin(m.contract, size, m.mark), m.money, "up") * 4
        total = margin * 3
        for side in SIDES:
            for amount in around(total - margin, m.money):
                yield spec(f"add_margin.balance: {m.symbol} {side}, add {dec(amount)} with {dec(total - margin)} available",
                           [*opened(m, side, size, margin), req("add_margin", symbol=m.symbol, amount=amount), q(m)],
                           ["Balance", "ErrorCode"], ["INV-add-moves-away", "INV-add-lowers-leverage"],
                           balance=dec(total))


def _loss_mark(m: Market, side: str, size, margin) -> Fraction:
    """A tick-aligned mark against the position that costs about half its margin."""
    base = size * m.contract.params["contract_multiplier"]
    move = margin / 2 / base
    return m.tick_align(m.mark - move, "up") if side == "long" else m.tick_align(m.mark + move, "down")


def reduce_margin(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """reduce_margin.coverage (equity left exactly at maintenance margin) and reduce_margin.max_leverage
    (margin left exactly at notional / max_leverage), every tier and side, one money step either side."""
    for m in markets(rb):
        for k in range(1, len(m.tiers) + 1):
            for where, size, t in _positions(m, k):
                margin = round_to(m.notional(size) * 4 / m.tiers[t - 1]["max_leverage"], m.money, "up")
                # max_leverage binds at the entry mark (minimum margin > maintenance margin), from
                # the tier of the notional: at max_notional tier k's, one lot above the next one's
                floor_ = d.minimum_margin(m.contract, size, m.mark)
                for side in SIDES:
                    for amount in around(margin - floor_, m.money):
                        yield spec(f"reduce_margin.max_leverage: {m.symbol} {side} tier {k}{where}, reduce {dec(amount)} "
                                   f"from {dec(margin)} (minimum margin {dec(floor_)})",
                                   [*opened(m, side, size, margin), req("reduce_margin", symbol=m.symbol, amount=amount), q(m)],
                                   ["LeverageCap", "ErrorCode"] + (["TierBoundary"] if where else []),
                                   ["INV-leverage-cap", "N-reduce-order"])
            size = m.mid_size(k)
            maxlev = m.tiers[k - 1]["max_leverage"]
            margin = round_to(m.notional(size) * 4 / maxlev, m.money, "up")
            for side in SIDES:
                # coverage binds after a loss of about half the margin
                mark = _loss_mark(m, side, size, margin)
                amount0 = d.coverage_amount(m.contract, side, size, m.mark, margin, mark)
                for amount in around(amount0, m.money):
                    yield spec(f"reduce_margin.coverage: {m.symbol} {side} tier {k} at mark {dec(mark)}, reduce "
                               f"{dec(amount)} (equity - maintenance margin = {dec(amount0)})",
                               [*opened(m, side, size, margin), req("set_mark_price", symbol=m.symbol, price=mark),
                                req("reduce_margin", symbol=m.symbol, amount=amount), q(m)],
                               ["InsufficientCoverage", "ErrorCode", "PrematureLiquidation"],
                               ["INV-reduce-safe", "INV-covered", "N-reduce-order"])


def set_leverage(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """set_leverage.max_leverage without a position (first tier) and with one (its tier), at the
    maximum and 0.01 either side; set_leverage.add.balance; set_leverage.reduce.coverage."""
    for m in markets(rb):
        first = m.tiers[0]["max_leverage"]
        for lev in (first - LEV_STEP, first, first + LEV_STEP):
            yield spec(f"set_leverage.max_leverage: {m.symbol} without a position, leverage {dec(lev)} "
                       f"(first tier allows {dec(first)})",
                       [req("set_leverage", symbol=m.symbol, leverage=lev), req("set_mark_price", symbol=m.symbol, price=m.mark),
                        req("open_position", symbol=m.symbol, side="long", size=m.mid_size(1)), q(m)],
                       ["LeverageCap", "ErrorCode", "DefaultLeverage"], ["N-leverage-argument", "N-default-leverage"])
        for k in range(1, len(m.tiers) + 1):
            for where, size, t in _positions(m, k):
                maxlev = m.tiers[t - 1]["max_leverage"]  # the tier of the notional
                margin = round_to(m.notional(size) * 2 / maxlev, m.money, "up")
                for side in SIDES:
                    for lev in (maxlev - LEV_STEP, maxlev, maxlev + LEV_STEP):
                        yield spec(f"set_leverage.max_leverage: {m.symbol} {side} in tier {k}{where}, leverage {dec(lev)} "
                                   f"(tier {'' if t == k else f'{t} '}allows {dec(maxlev)})",
                                   [*opened(m, side, size, margin), req("set_leverage", symbol=m.symbol, leverage=lev), q(m)],
                                   ["LeverageCap", "ErrorCode", "DefaultLeverage"] + (["TierBoundary"] if where else []),
                                   ["N-set-leverage", "INV-leverage-cap"])
        # add: target margin = notional / leverage against margin + available balance
        size = m.mid_size(1)
        lev = Fraction(5)
        target = round_to(m.notional(size) / lev, m.money, "up")
        margin = round_to(d.minimum_margin(m.contract, size, m.mark), m.money, "up") * 2
        for side in SIDES:
            for total in around(target, m.money):
                yield spec(f"set_leverage.add.balance: {m.symbol} {side}, leverage {dec(lev)} needs margin "
                           f"{dec(target)}, margin {dec(margin)} + available {dec(total - margin)}",
                           [*opened(m, side, size, margin), req("set_leverage", symbol=m.symbol, leverage=lev), q(m)],
                           ["Balance", "ErrorCode", "DefaultLeverage"], ["N-set-leverage"], balance=dec(total))
        # reduce: equity after the reduction exactly at maintenance margin at leverage 10
        yield from _set_leverage_coverage(m, d)


def _set_leverage_coverage(m: Market, d: Derive) -> Iterator[CaseSpec]:
    """The margin set_leverage leaves exactly at maintenance margin, after a large reduction (the
    margin was twice the target) and after one of half a unit of money."""
    lev = Fraction(10)
    size = m.mid_size(1)
    base = size * m.contract.params["contract_multiplier"]
    mark = m.tick_align(m.mark * Fraction(92, 100))
    for side in SIDES:
        p = mark if side == "long" else m.tick_align(m.mark * Fraction(108, 100))
        target = round_to(m.notional(size, p) / lev, m.money, "up")
        mm = d.at(m.contract, side, size, p, 1, p)["maintenance_margin"]
        # the entry that makes target + unrealized PnL at p equal maintenance margin
        entry = p + (target - mm) / base if side == "long" else p + (mm - target) / base
        if not on_grid(entry, m.tick):
            entry = m.tick_align(entry, "up" if side == "long" else "down")
        for margin in (round_to(target * 2, m.money, "up"), target + Fraction(1, 2)):
            for lv in (lev - LEV_STEP, lev, lev + LEV_STEP):
                yield spec(f"set_leverage.reduce.coverage: {m.symbol} {side} opened at {dec(entry)} with margin {dec(margin)}, "
                           f"mark {dec(p)}, leverage {dec(lv)} (at 10 the margin left equals maintenance margin)",
                           [*opened(m, side, size, margin, entry), req("set_mark_price", symbol=m.symbol, price=p),
                            req("set_leverage", symbol=m.symbol, leverage=lv), q(m)],
                           ["InsufficientCoverage", "ErrorCode", "DefaultLeverage"], ["N-set-leverage", "INV-reduce-safe"])


def arguments(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """The valid conditions of the arguments at their edges: size one lot / half a lot / zero, money
    one step / a tenth of a step / zero, price just above zero, leverage 1 / 0.99, funding rate just
    inside and at -1 and 1."""
    for m in markets(rb):
        yield from _arguments(m, d)


def _arguments(m: Market, d: Derive) -> Iterator[CaseSpec]:
    s = m.symbol
    size = m.mid_size(1)
    margin = round_to(d.minimum_margin(m.contract, size, m.mark), m.money, "up") * 4
    pos = opened(m, "long", size, margin)
    cases = [
        ("open_position size", [req("set_mark_price", symbol=s, price=m.mark)],
         [req("open_position", symbol=s, side="long", size=v, margin=margin) for v in (m.lot, m.lot / 2, 0, -m.lot)]),
        ("open_position margin", [req("set_mark_price", symbol=s, price=m.mark)],
         [req("open_position", symbol=s, side="long", size=m.lot, margin=v) for v in (m.money, m.money / 10, 0, -m.money)]),
        ("add_margin amount", pos, [req("add_margin", symbol=s, amount=v) for v in (m.money, m.money / 10, 0, -m.money)]),
        ("reduce_margin amount", pos, [req("reduce_margin", symbol=s, amount=v) for v in (m.money, m.money / 10, 0, -m.money)]),
        ("set_mark_price price", [], [req("set_mark_price", symbol=s, price=v) for v in (m.money, 0, -m.tick)]),
        ("set_leverage leverage", [], [req("set_leverage", symbol=s, leverage=v) for v in (1, 1 - LEV_STEP, 0, -1)]),
        ("apply_funding rate", pos, [req("apply_funding", symbol=s, rate=v) for v in
                                     (Fraction(-9999, 10000), Fraction(-1), Fraction(-10001, 10000), 0, Fraction(9999, 10000),
                                      Fraction(1), Fraction(10001, 10000))]),
    ]
    for what, setup, probes in cases:
        name = what.split()[-1]
        for p in probes:
            yield spec(f"common.arguments: {m.symbol} {what} = {p['args'].get(name, '(none)')}", [*setup, p, q(m)],
                       ["InvalidArgument", "StateAfterRefusal"], ["N-numbers"])


def tier_moves(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """A position whose notional reaches a tier's max_notional exactly by a mark move, then one tick
    past it: maintenance margin, liquidation price and leverage from the right tier. A contract with
    no boundary on its tick grid (one tier, say) still shows maintenance margin at two notionals."""
    for m in markets(rb):
        boundaries = 0
        for k in range(1, len(m.tiers)):
            cap = m.tiers[k - 1]["max_notional"]
            size = m.max_size(k) // 2 if m.max_size(k) >= 2 * m.lot else m.max_size(k)
            size = round_to(size, m.lot, "down")
            per = size * m.contract.params["contract_multiplier"]
            at = cap / per
            if not on_grid(at, m.tick):
                continue
            boundaries += 1
            margin = round_to(m.notional(size, at * 2) / m.tiers[k]["max_leverage"] * 4, m.money, "up")
            for side in SIDES:
                for mark in (at - m.tick, at, at + m.tick):
                    yield spec(f"tier boundary: {m.symbol} {side} size {dec(size)}, mark {dec(mark)} puts the "
                               f"notional at {dec(mark * per)} (tier {k} ends at {dec(cap)})",
                               [*opened(m, side, size, margin), req("set_mark_price", symbol=m.symbol, price=mark), q(m)],
                               ["TierBoundary", "DerivedValues"], ["N-tier-boundary", "INV-mm-continuous", "INV-mm-monotone"])
        if not boundaries:
            yield from _within_tier(m)


def _within_tier(m: Market) -> Iterator[CaseSpec]:
    """A position in tier 1 at a quarter of its max_notional, queried before and after a mark move
    in its favour (the long's notional doubles, the short's halves): maintenance margin at two
    notionals of one tier, for a contract whose tier boundaries no mark move reaches exactly."""
    size = m.size_for(m.tiers[0]["max_notional"] / 4)
    margin = round_to(m.notional(size, 2 * m.mark) / m.tiers[0]["max_leverage"] * 4, m.money, "up")
    for side, mark in (("long", 2 * m.mark), ("short", max(m.tick, round_to(m.mark / 2, m.tick, "down")))):
        yield spec(f"within tier 1: {m.symbol} {side} size {dec(size)}, mark {dec(m.mark)} then {dec(mark)} "
                   f"(notional {dec(m.notional(size))} then {dec(m.notional(size, mark))})",
                   [*opened(m, side, size, margin), q(m), req("set_mark_price", symbol=m.symbol, price=mark), q(m)],
                   ["DerivedValues"], ["INV-mm-monotone"])


def mode(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """set_margin_mode.no_position on both outcomes, and open_position.isolated_mode."""
    m = markets(rb)[0]
    s = m.symbol
    size = m.mid_size(1)
    margin = round_to(d.minimum_margin(m.contract, size, m.mark), m.money, "up") * 4
    pos = opened(m, "long", size, margin)
    for target in ("isolated", "cross"):
        yield spec(f"set_margin_mode.no_position: {target} with a position open", [*pos, req("set_margin_mode", symbol=s, mode=target), q(m)],
                   ["ModeLock", "StateAfterRefusal"], ["INV-mode-lock", "N-mode-lock"])
        yield spec(f"set_margin_mode.no_position: {target} without a position", [req("set_margin_mode", symbol=s, mode=target), q(m)],
                   ["ModeLock"], ["N-mode-lock"])
        yield spec(f"set_margin_mode.no_position: {target} after the position closed",
                   [*pos, req("close_position", symbol=s), req("set_margin_mode", symbol=s, mode=target), q(m)], ["ModeLock"],
                   ["INV-mode-lock"])
    yield spec("open_position.isolated_mode: cross refuses the open, isolated again allows it",
               [req("set_margin_mode", symbol=s, mode="cross"), req("set_mark_price", symbol=s, price=m.mark),
                req("open_position", symbol=s, side="long", size=size, margin=margin), q(m),
                req("set_margin_mode", symbol=s, mode="isolated"),
                req("open_position", symbol=s, side="long", size=size, margin=margin), q(m)],
               ["CrossMode", "ErrorCode"], ["N-cross-mode"])


GENERATORS = (min_margin, notional_limit, open_balance, add_balance, reduce_margin, set_leverage, arguments,
              tier_moves, mode)


def generate(rb: Rulebook) -> Iterator[CaseSpec]:
    d = Derive(rb)
    for g in GENERATORS:
        yield from g(rb, d)

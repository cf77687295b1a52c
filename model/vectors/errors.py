"""Every error code, from every action that can return it, and requests that break two checks at
once (the first check in the rulebook's order decides the code). Each refusal is followed by a
query: a refused request changes nothing.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterator

from ..numbers import round_to
from ..rulebook import Rulebook
from .cases import CaseSpec, contract_json, dec, req
from .market import Market, markets, pairs
from .thresholds import Derive

UNKNOWN = "NOSUCHUSDT"


def spec(m: Market, title, steps, flags, rules=(), level="MUST") -> CaseSpec:
    """An error case on market `m` (its modest balance, market.funds)."""
    return CaseSpec(title=title, steps=tuple(steps), source="error", flags=tuple(flags), rules=tuple(rules),
                    level=level, balance=dec(m.funds))


def _valid_args(rb: Rulebook, m: Market, d: Derive, action: str) -> dict:
    """A valid value for every argument of `action`, chosen by the argument's unit or enum."""
    size = m.mid_size(1)
    by_unit = {"price": m.mark, "leverage": Fraction(10), "size": size, "rate": Fraction(1, 10000),
               "money": round_to(d.minimum_margin(m.contract, size, m.mark), m.money, "up") * 4}
    out = {}
    for a in rb.actions[action].args:
        if a.ty.kind == "enum":
            out[a.name] = rb.enums[a.ty.enum][0]
        else:
            out[a.name] = dec(by_unit[a.type_name])
    return out


def _setup(m: Market, d: Derive, with_position: bool) -> list[dict]:
    size = m.mid_size(1)
    margin = round_to(d.minimum_margin(m.contract, size, m.mark), m.money, "up") * 4
    steps = [req("set_mark_price", symbol=m.symbol, price=m.mark)]
    if with_position:
        steps.append(req("open_position", symbol=m.symbol, side="long", size=size, margin=margin))
    return steps


def common(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """common.symbol and common.arguments for every action and argument."""
    m = markets(rb)[0]
    q = req("query", symbol=m.symbol)
    for action in rb.actions:
        args = _valid_args(rb, m, d, action)
        setup = _setup(m, d, True)
        yield spec(m, f"{action}: unknown symbol", [*setup, {"op": action, "args": {**args, "symbol": UNKNOWN}}, q],
                   ["InvalidArgument", "ErrorCode", "StateAfterRefusal"], ["N-arguments"])
        yield spec(m, f"{action}: symbol missing", [*setup, {"op": action, "args": dict(args)}, q],
                   ["InvalidArgument", "StateAfterRefusal"], ["N-arguments"])
        yield spec(m, f"{action}: symbol not a string", [*setup, {"op": action, "args": {**args, "symbol": 7}}, q],
                   ["InvalidArgument"], ["N-arguments"], level="SHOULD")
        for a in rb.actions[action].args:
            base = {**args, "symbol": m.symbol}
            bad_values = (["Long", "", "up"] if a.ty.kind == "enum" else ["abc", "", "1e3", "NaN", " 1", "1.", ".5"])
            if not a.optional:
                rest = {k: v for k, v in base.items() if k != a.name}
                yield spec(m, f"{action}: argument {a.name} missing", [*setup, {"op": action, "args": rest}, q],
                           ["InvalidArgument", "StateAfterRefusal"], ["N-arguments"])
            for bad in bad_values:
                yield spec(m, f"{action}: argument {a.name} = {bad!r} is malformed",
                           [*setup, {"op": action, "args": {**base, a.name: bad}}, q],
                           ["InvalidArgument", "StateAfterRefusal"], ["N-numbers", "N-arguments"])
            if a.ty.kind == "num":
                yield spec(m, f"{action}: argument {a.name} sent as a JSON number",
                           [*setup, {"op": action, "args": {**base, a.name: 5}}, q],
                           ["InvalidArgument"], ["N-numbers"], level="SHOULD")
            # two at once: an unknown symbol and a malformed argument -> the symbol check comes first
            yield spec(m, f"{action}: unknown symbol and malformed {a.name}: UNKNOWN_SYMBOL comes first",
                       [*setup, {"op": action, "args": {**base, "symbol": UNKNOWN, a.name: bad_values[0]}}, q],
                       ["CheckOrder", "InvalidArgument"], ["N-arguments"])
        # (Arguments an action does not take are ignored, N-arguments; the vector schema does not let a
        # step that must succeed carry them, so no case sends one.)


def states(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """Each state check failing alone, and pairs of checks failing together."""
    for m, o in pairs(rb):
        yield from _states(m, o, d)


def _states(m: Market, o: Market | None, d: Derive) -> Iterator[CaseSpec]:
    s = m.symbol
    q = req("query", symbol=s)
    size = m.mid_size(1)
    margin = round_to(d.minimum_margin(m.contract, size, m.mark), m.money, "up") * 4
    mark = req("set_mark_price", symbol=s, price=m.mark)
    pos = [mark, req("open_position", symbol=s, side="long", size=size, margin=margin)]
    last = len(m.tiers)
    huge = m.max_size(last) + m.lot
    bal = m.funds
    mid = min(3, last)

    def open_(side="long", sz=size, mg=margin):
        return req("open_position", symbol=s, side=side, size=sz, margin=mg)

    cases = [
        # open_position, in check order
        ("open_position: cross mode", [req("set_margin_mode", symbol=s, mode="cross"), mark, open_()], ["CrossMode"]),
        ("open_position: cross mode and no mark price -> INVALID_ARGUMENT first",
         [req("set_margin_mode", symbol=s, mode="cross"), open_()], ["CrossMode", "CheckOrder"]),
        ("open_position: no mark price", [open_()], ["ErrorCode"]),
        ("open_position: no mark price and no margin -> NO_MARK_PRICE first",
         [req("open_position", symbol=s, side="long", size=size)], ["CheckOrder"]),
        ("open_position: malformed size and no mark price -> INVALID_ARGUMENT first",
         [req("open_position", symbol=s, side="long", size="-1", margin=margin)], ["CheckOrder", "InvalidArgument"]),
        ("open_position: a position exists (same side)", [*pos, open_()], ["ErrorCode"]),
        ("open_position: a position exists (other side)", [*pos, open_("short")], ["ErrorCode"]),
        ("open_position: a position exists and no margin -> POSITION_EXISTS first",
         [*pos, req("open_position", symbol=s, side="long", size=size)], ["CheckOrder"]),
        ("open_position: a position exists and notional too large -> POSITION_EXISTS first",
         [*pos, open_(sz=huge, mg=bal)], ["CheckOrder"]),
        ("open_position: no margin and no default leverage", [mark, req("open_position", symbol=s, side="long", size=size)],
         ["ErrorCode", "DefaultLeverage"]),
        ("open_position: no margin, no default leverage and notional too large -> INVALID_ARGUMENT first",
         [mark, req("open_position", symbol=s, side="long", size=huge)], ["CheckOrder", "DefaultLeverage"]),
        ("open_position: notional too large", [mark, open_(sz=huge, mg=bal)], ["ErrorCode", "TierBoundary"]),
        ("open_position: notional too large and margin below minimum -> NOTIONAL_TOO_LARGE first",
         [mark, open_(sz=huge, mg=m.money)], ["CheckOrder"]),
        ("open_position: notional too large and balance short -> NOTIONAL_TOO_LARGE first",
         [mark, open_(sz=huge, mg=bal * 1000)], ["CheckOrder"]),
        ("open_position: margin below minimum", [mark, open_(mg=m.money)], ["ErrorCode", "MinMargin"]),
        ("open_position: margin below minimum and balance short -> BELOW_MIN_MARGIN first",
         [mark, open_(sz=m.max_size(mid), mg=bal + m.money)], ["CheckOrder", "MinMargin"]),
        ("open_position: default leverage above the tier's max leverage -> BELOW_MIN_MARGIN",
         [req("set_leverage", symbol=s, leverage=m.tiers[0]["max_leverage"]), mark,
          req("open_position", symbol=s, side="long", size=m.mid_size(min(2, last)))], ["MinMargin", "DefaultLeverage", "TierBoundary"])
        if last > 1 else None,
        ("open_position: balance short", [mark, open_(mg=bal + m.money)], ["ErrorCode", "Balance"]),
        ("open_position: after a close the symbol opens again", [*pos, req("close_position", symbol=s), open_("short")],
         ["ErrorCode"]),
        # add_margin
        ("add_margin: no position", [mark, req("add_margin", symbol=s, amount=1)], ["ErrorCode"]),
        ("add_margin: no position and amount above balance -> NO_POSITION first",
         [mark, req("add_margin", symbol=s, amount=bal * 2)], ["CheckOrder"]),
        ("add_margin: malformed amount and no position -> INVALID_ARGUMENT first",
         [req("add_margin", symbol=s, amount="0")], ["CheckOrder", "InvalidArgument"]),
        ("add_margin: amount above balance", [*pos, req("add_margin", symbol=s, amount=bal)], ["ErrorCode", "Balance"]),
        # reduce_margin
        ("reduce_margin: no position", [mark, req("reduce_margin", symbol=s, amount=1)], ["ErrorCode"]),
        ("reduce_margin: no position and amount above margin -> NO_POSITION first",
         [mark, req("reduce_margin", symbol=s, amount=bal * 2)], ["CheckOrder"]),
        ("reduce_margin: the whole margin breaks coverage and max leverage -> INSUFFICIENT_COVERAGE first",
         [*pos, req("reduce_margin", symbol=s, amount=margin)], ["CheckOrder", "InsufficientCoverage"]),
        ("reduce_margin: more than the margin -> INSUFFICIENT_COVERAGE",
         [*pos, req("reduce_margin", symbol=s, amount=margin + 1)], ["InsufficientCoverage"]),
        ("reduce_margin: margin left below notional / max leverage", [*pos, req("reduce_margin", symbol=s, amount=margin - d.minimum_margin(m.contract, size, m.mark) + m.money)],
         ["LeverageCap"]),
        # set_leverage
        ("set_leverage: above the first tier's max leverage without a position",
         [req("set_leverage", symbol=s, leverage=m.tiers[0]["max_leverage"] + 1)], ["LeverageCap"]),
        ("set_leverage: above the position's tier max leverage",
         [*pos, req("set_leverage", symbol=s, leverage=m.tiers[0]["max_leverage"] + 1)], ["LeverageCap"]),
        ("set_leverage: leverage 1 needs more than the balance",
         [mark, req("open_position", symbol=s, side="long", size=m.mid_size(min(2, last)), margin=bal / 2),
          req("set_leverage", symbol=s, leverage=1)], ["Balance", "DefaultLeverage"]),
        ("set_leverage: above max and the reduction would break coverage -> LEVERAGE_TOO_HIGH first",
         [*pos, req("set_mark_price", symbol=s, price=m.tick_align(m.mark * Fraction(98, 100))),
          req("set_leverage", symbol=s, leverage=m.tiers[0]["max_leverage"] + 1)], ["CheckOrder", "LeverageCap"]),
        ("set_leverage: the reduction would break coverage",
         [*pos, req("set_mark_price", symbol=s, price=m.tick_align(m.mark * Fraction(98, 100))),
          req("set_leverage", symbol=s, leverage=m.tiers[0]["max_leverage"])], ["InsufficientCoverage", "DefaultLeverage"]),
        ("set_leverage: malformed leverage with a position -> INVALID_ARGUMENT, nothing moves",
         [*pos, req("set_leverage", symbol=s, leverage="0.5")], ["InvalidArgument"]),
        # set_margin_mode
        ("set_margin_mode: a position is open", [*pos, req("set_margin_mode", symbol=s, mode="cross")], ["ModeLock"]),
        ("set_margin_mode: unknown mode with a position open -> INVALID_ARGUMENT first",
         [*pos, req("set_margin_mode", symbol=s, mode="portfolio")], ["CheckOrder", "InvalidArgument"]),
        # apply_funding, close_position
        ("apply_funding: no position", [mark, req("apply_funding", symbol=s, rate=Fraction(1, 10000))], ["ErrorCode"]),
        ("apply_funding: rate out of range and no position -> INVALID_ARGUMENT first",
         [mark, req("apply_funding", symbol=s, rate=1)], ["CheckOrder", "InvalidArgument"]),
        ("close_position: no position", [mark, req("close_position", symbol=s)], ["ErrorCode"]),
        ("close_position: twice", [*pos, req("close_position", symbol=s), req("close_position", symbol=s)], ["ErrorCode"]),
        ("close_position: after a liquidation",
         [*pos, req("set_mark_price", symbol=s, price=m.tick_align(m.mark / 2)), req("close_position", symbol=s)],
         ["ErrorCode", "WholeLiquidation"]),
    ]
    if o is not None:
        omargin = round_to(d.minimum_margin(o.contract, o.mid_size(1), o.mark), o.money, "up") * 4
        cases.append(
            (f"errors on one symbol leave the other ({o.symbol}) untouched",
             [*pos, req("set_mark_price", symbol=o.symbol, price=o.mark),
              req("open_position", symbol=o.symbol, side="short", size=o.mid_size(1), margin=omargin),
              req("reduce_margin", symbol=s, amount=margin), req("add_margin", symbol=o.symbol, amount=bal),
              req("query", symbol=o.symbol)], ["Isolation", "StateAfterRefusal"]))
    for title, steps, flags in filter(None, cases):
        yield spec(m, f"{title} ({s})", [*steps, q], ["StateAfterRefusal", *flags], ("INV-state-domain",))


def resets(rb: Rulebook, d: Derive) -> Iterator[CaseSpec]:
    """reset refuses malformed contracts (N-reset) and keeps the state it had."""
    m = markets(rb)[0]
    good = contract_json(m.contract, rb)
    size = m.mid_size(1)
    margin = round_to(d.minimum_margin(m.contract, size, m.mark), m.money, "up") * 4
    pos = [req("set_mark_price", symbol=m.symbol, price=m.mark),
           req("open_position", symbol=m.symbol, side="long", size=size, margin=margin)]
    tiers = good["tiers"]
    bad = {
        "tiers out of order": {**good, "tiers": [tiers[1], tiers[0], *tiers[2:]]} if len(tiers) > 1 else
        {**good, "tiers": [tiers[0], tiers[0]]},
        "no tiers": {**good, "tiers": []},
        "zero tick size": {**good, "tick_size": "0"},
        "buffer rate of 1": {**good, "liquidation_buffer_rate": "1"},
        "maintenance rate of 1": {**good, "tiers": [{**tiers[0], "maintenance_margin_rate": "1"}, *tiers[1:]]},
        "max leverage below 1": {**good, "tiers": [{**tiers[0], "max_leverage": "0.5"}, *tiers[1:]]},
        "negative maintenance amount": {**good, "tiers": [{**tiers[0], "maintenance_amount": "-1"}, *tiers[1:]]},
    }
    for what, contract in bad.items():
        yield spec(m, f"reset: a contract with {what} is refused and the state is kept",
                   [*pos, {"op": "reset", "args": {"contracts": {m.symbol: contract}, "available_balance": "5"}},
                    req("query", symbol=m.symbol)], ["InvalidArgument", "StateAfterRefusal"],
                   ["N-reset", "INV-tiers-ordered"])


GENERATORS = (common, states, resets)


def generate(rb: Rulebook) -> Iterator[CaseSpec]:
    d = Derive(rb)
    for g in GENERATORS:
        yield from g(rb, d)

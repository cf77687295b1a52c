"""Vectors that pin the venue parameters (taker_fee_rate, maintenance_basis).

Three sources, all recorded on the reference engine like every other case:

* the venues' published worked examples (spec/venues.yaml), with the venue's printed value and the
  tolerance its rounding allows written into the step;
* the rulebook's own known answers for the parameters (a 1 BTC long at 50,000 with margin 5,000,
  mmr 0.4% and fee 0.06% has root 45,000 / 0.9954), on a contract of their own;
* for every contract in force that carries a non-default fee or basis (e.g. after `--venue` or
  from a contracts file): per tier and side, a position, a query, the mark at its liquidation price
  and one tick beyond. Each case is kept only if its expected replies differ from those of the same
  contract with the default parameters, checked here with the reference engine, so an engine that
  ignores the fee or keys maintenance on the mark fails it.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterator

from ..engine import ReferenceEngine, contract_json
from ..numbers import format_decimal, round_to
from ..rulebook import Contract, Rulebook
from .cases import CaseSpec, req
from .market import Market, market
from .recorder import replay

FLAGS = ("VenueParameters", "LiquidationPrice", "DerivedValues")
NOTES = {"taker_fee_rate": "N-taker-fee-reserve", "maintenance_basis": "N-maintenance-basis"}


def generate(rb: Rulebook) -> Iterator[CaseSpec]:
    yield from published(rb)
    yield from rulebook_answers(rb)
    for sym in rb.contracts:
        yield from pinning(rb, sym)


# -- parameters ---------------------------------------------------------------------------------
def venue_params(rb: Rulebook) -> tuple[str, ...]:
    """The optional (protocol-addition) parameters this generator pins."""
    return tuple(p.name for p in rb.params if p.optional)


def non_default(rb: Rulebook, c: Contract) -> dict:
    return {p.name: c.params[p.name] for p in rb.params if p.optional and c.params.get(p.name) != p.default}


def with_defaults(rb: Rulebook, c: Contract) -> Contract:
    """The same contract with every venue parameter at its default."""
    return Contract(c.symbol, {**c.params, **{p.name: p.default for p in rb.params if p.optional}}, c.tiers)


def _rules(params) -> tuple[str, ...]:
    return tuple(sorted({*params, *(NOTES[p] for p in params if p in NOTES)}))


def _contract(rb: Rulebook, symbol: str, spec: dict) -> dict:
    """A CONTRACT object validated and written in canonical form (defaults of optional fields left out)."""
    return contract_json(ReferenceEngine(rb).parse_contract(symbol, spec), rb)


# -- published examples -------------------------------------------------------------------------
def published(rb: Rulebook) -> Iterator[CaseSpec]:
    from ..venues import load_venues

    venues = load_venues(rb)
    for venue in venues.venues.values():
        params = {k: (format_decimal(v) if isinstance(v, Fraction) else v) for k, v in venue.parameters.items()}
        for ex in venue.examples:
            sym = ex.id.upper()
            contract = _contract(rb, sym, {**ex.contract, **params})
            steps = (req("set_mark_price", symbol=sym, price=ex.entry_price),
                     req("open_position", symbol=sym, side=ex.side, size=ex.size, margin=ex.margin),
                     req("query", symbol=sym))
            set_params = [k for k, v in venue.parameters.items()
                          if v != next(p.default for p in rb.params if p.name == k)]
            yield CaseSpec(title=f"{venue.title}: the venue's published example {ex.id}", steps=steps,
                           source="venue", flags=("PublishedExample", "WorkedExample", "LiquidationPrice",
                                                         *(("VenueParameters",) if set_params else ())),
                           rules=_rules(set_params), balance=ex.balance, contracts=((sym, contract),),
                           group=f"{venue.title}: published example {ex.id}",
                           comment=f"{ex.url} (read {venues.read}): {' / '.join(ex.text.splitlines())}. "
                                   f"{ex.rounding}",
                           published=((2, ex.field, ex.value, ex.tolerance),))


# -- the rulebook's own known answers -----------------------------------------------------------
KA_CONTRACT = {"contract_multiplier": "1", "tick_size": "0.1", "lot_size": "0.001", "money_step": "0.0001",
               "liquidation_buffer_rate": "0.005",
               "tiers": [{"max_notional": "1000000", "maintenance_margin_rate": "0.004", "max_leverage": "100",
                          "maintenance_amount": "0"}]}

# (title, extra CONTRACT fields, side, later mark or None, hand-worked (step, path, value), comment)
KNOWN = (
    ("fee reserve: a 1 BTC long at 50000 with margin 5000, mmr 0.4%, taker fee 0.06%",
     {"taker_fee_rate": "0.0006"}, "long", None,
     ((2, "position.maintenance_margin", "230"), (2, "position.liquidation_price", "45208")),
     "mm = 50000 * (0.004 + 0.0006) = 230; root = (50000 - 5000) / (1 - 0.0046) = 45000 / 0.9954 = 45207.956...; "
     "rounded up: 45208 (without the fee: 45180.8)"),
    ("fee reserve: a 1 BTC short at 50000 with margin 5000, mmr 0.4%, taker fee 0.06%",
     {"taker_fee_rate": "0.0006"}, "short", None,
     ((2, "position.maintenance_margin", "230"), (2, "position.liquidation_price", "54748.1")),
     "root = (50000 + 5000) / (1 + 0.0046) = 55000 / 1.0046 = 54748.158...; rounded down: 54748.1 "
     "(without the fee: 54780.8)"),
    ("entry basis: the long's maintenance margin stays on the entry notional when the mark falls to 47000",
     {"taker_fee_rate": "0.0006", "maintenance_basis": "entry"}, "long", "47000",
     ((3, "position.notional", "47000"), (3, "position.maintenance_margin", "230"),
      (3, "position.liquidation_price", "45230")),
     "mm = 1 * 50000 * 0.0046 = 230 at any mark (on the mark basis 47000 * 0.0046 = 216.2); "
     "root = 50000 - (5000 - 230) / 1 = 45230"),
)


def rulebook_answers(rb: Rulebook) -> Iterator[CaseSpec]:
    optional = set(venue_params(rb))
    for title, extra, side, later, hand, comment in KNOWN:
        if not set(extra) <= optional:
            continue
        sym = "VENUEKA"
        contract = _contract(rb, sym, {**KA_CONTRACT, **extra})
        steps = [req("set_mark_price", symbol=sym, price="50000"),
                 req("open_position", symbol=sym, side=side, size="1", margin="5000")]
        if later:
            steps.append(req("set_mark_price", symbol=sym, price=later))
        steps.append(req("query", symbol=sym))
        trace = replay(ReferenceEngine(rb), {sym: contract}, "100000", steps, positions=False)
        for i, path, want in hand:
            got = _dig(trace[i].reply.get("result"), path)
            if got != want:
                raise ValueError(f"known answer disagrees with the reference engine: {title}: {path} "
                                 f"hand-worked {want}, engine {got}")
        yield CaseSpec(title=title, steps=tuple(steps), source="venue", flags=(*FLAGS, "WorkedExample"),
                       rules=_rules(extra), balance="100000", contracts=((sym, contract),),
                       group=f"venue parameters, known answers: {', '.join(f'{k} {v}' for k, v in extra.items())}",
                       comment=comment)


def _dig(result, path: str):
    v = result
    for part in path.split("."):
        v = v[part] if isinstance(v, dict) else None
    return v


# -- pinning cases for contracts that carry the parameters ----------------------------------------
def pinning(rb: Rulebook, sym: str) -> Iterator[CaseSpec]:
    c = rb.contracts[sym]
    changed = non_default(rb, c)
    if not changed:
        return
    m = market(rb, sym)
    contract = contract_json(c, rb)
    plain = contract_json(with_defaults(rb, c), rb)
    for k in range(1, len(c.tiers) + 1):
        for side in rb.enums["side"]:
            steps = _steps(rb, m, k, side)
            if steps is None:
                continue
            if _replies(rb, sym, contract, steps) == _replies(rb, sym, plain, steps):
                continue  # the parameters change nothing here: no case (it would not pin them)
            yield CaseSpec(title=f"{sym} {side} in tier {k} with {_describe(changed)}: the liquidation price and "
                                 f"the mark at it and one tick beyond", steps=steps, source="venue",
                           flags=(*FLAGS, "MissedLiquidation", "PrematureLiquidation"), rules=_rules(changed),
                           balance=_balance(m, k))


def _describe(changed: dict) -> str:
    return ", ".join(f"{k} {format_decimal(v) if isinstance(v, Fraction) else v}" for k, v in changed.items())


def _balance(m: Market, k: int) -> str:
    return format_decimal(round_to(m.notional(m.mid_size(k)) * 2 + 1000, Fraction(1), "up"))


def _steps(rb: Rulebook, m: Market, k: int, side: str) -> tuple[dict, ...] | None:
    """Open a mid-tier position at a quarter of the tier's max leverage, move the mark half way
    towards its liquidation price (the entry basis shows there), query, then put the mark at the
    liquidation price (kept) and one tick beyond (liquidated)."""
    sym = m.symbol
    size = m.mid_size(k)
    notional = m.notional(size)
    lev = max(Fraction(1), m.tiers[k - 1]["max_leverage"] / 4)
    margin = round_to(notional / lev, m.money, "up")
    head = [req("set_mark_price", symbol=sym, price=m.mark),
            req("open_position", symbol=sym, side=side, size=size, margin=margin), req("query", symbol=sym)]
    engine = ReferenceEngine(rb)
    contract = contract_json(m.contract, rb)
    trace = replay(engine, {sym: contract}, _balance(m, k), head, positions=False)
    pos = trace[-1].reply.get("result", {}).get("position") if trace[-1].reply.get("ok") else None
    if not pos or pos.get("liquidation_price") is None:
        return None
    lp = Fraction(pos["liquidation_price"])
    half = m.tick_align((m.mark + lp) / 2, "down" if side == "short" else "up")
    beyond = lp - m.tick if side == "long" else lp + m.tick
    if beyond <= 0:
        return None
    tail = [req("set_mark_price", symbol=sym, price=half), req("query", symbol=sym)]
    trace = replay(engine, {sym: contract}, _balance(m, k), head + tail, positions=False)
    pos = trace[-1].reply.get("result", {}).get("position") if trace[-1].reply.get("ok") else None
    if not pos or pos.get("liquidation_price") is None:
        return None
    lp = Fraction(pos["liquidation_price"])  # the threshold at the current mark
    beyond = lp - m.tick if side == "long" else lp + m.tick
    if beyond <= 0:
        return None
    tail += [req("set_mark_price", symbol=sym, price=lp), req("query", symbol=sym),
             req("set_mark_price", symbol=sym, price=beyond), req("query", symbol=sym)]
    return tuple(head + tail)


def _replies(rb: Rulebook, sym: str, contract: dict, steps) -> list[dict]:
    trace = replay(ReferenceEngine(rb), {sym: contract}, "100000000000", steps, positions=False)
    return [t.reply for t in trace]

"""The worked examples of the generated rulebook: short stories (a long opened, adjusted, funded and
liquidated; a short in the second risk tier) played on the reference engine, each step with its
request, reply, what it changed and, on opening, every derived value worked out with its numbers.

The stories run on contracts of the rulebook in force (never one named here) and every amount in
them is a closed form of the contract, so a change of a rate or a tier changes the examples and
`--contracts` gets examples of its own contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping

from . import ast
from .docs_values import fmt, fmt_json, instantiate, solved_tier_number, tier_number
from .docs_view import View
from .engine import ReferenceEngine, contract_json
from .interpreter import compile_expr
from .mathml import Formula, MathRenderer, symbol_box
from .numbers import format_decimal, parse_decimal, round_to
from .printer import to_text
from .rulebook import Rulebook
from .vectors.market import Market, market, power_of_ten_at_least


@dataclass(frozen=True)
class StoryStep:
    op: str
    args: Mapping[str, Any]  # values: strings, or functions of the query result before the step
    say: str
    derive: bool = False


@dataclass(frozen=True)
class Story:
    anchor: str
    title: str
    symbol: str
    balance: str
    intro: str
    steps: tuple[StoryStep, ...]


def _stories(rb: Rulebook) -> tuple[Story, ...]:
    """The engine-computed stories, on contracts of the rulebook in force (never one named here):
    the long on its first contract, the tier-2 short on its first contract with two tiers or more.
    Every number is a closed form of the contract (see `_long_story`, `_short_story`)."""
    first = next(iter(rb.contracts), None)
    tiered = next((s for s, c in rb.contracts.items() if len(c.tiers) > 1), None)
    long_story = _long_story(market(rb, first)) if first else None
    short_story = _short_story(market(rb, tiered)) if tiered else None
    return tuple(st for st in (long_story, short_story) if st is not None)


def _long_story(m: Market) -> Story:
    """A round position at the contract's reference mark (10^j lots, notional = tier 1's bound) at
    leverage min(10, tier 1's max), a balance of twice its margin (the next power of ten), margin
    added (notional / 50) and taken out, a take-out that would leave notional / (4 max leverage),
    leverage doubled, funding, and the mark one tick either side of the liquidation price. On the
    shipped BTCUSDT profile: the brief's worked case (1000 at 50000, margin 5000, balance 10000)."""
    sym, tick, size = m.symbol, m.tick, m.round_size
    notional, top = m.notional(size), m.tiers[0]["max_leverage"]
    lev = min(Fraction(10), top)
    lev2 = min(2 * lev, top)
    margin = round_to(notional / lev, m.money, "up")
    added = round_to(notional / 50, m.money, "up")
    left = round_to(notional / (4 * top), m.money, "up")
    d = format_decimal
    balance = d(power_of_ten_at_least(2 * margin))

    def shifted(ticks: int):
        def fn(q: dict) -> str | None:
            pos = q.get("position")
            if not pos or pos.get("liquidation_price") is None:
                return None
            sign = 1 if pos.get("side") == "long" else -1
            return d(parse_decimal(pos["liquidation_price"]) + sign * ticks * tick)
        return fn

    return Story(
        anchor="example-long", title=f"A long position on {sym}, step by step", symbol=sym, balance=balance,
        intro=f"An account with {balance} available opens a long of {d(size)} contracts at a mark of {d(m.mark)} "
              f"with {d(margin)} of margin, then adjusts it, pays funding and is finally liquidated. Every number "
              f"below is computed by the reference engine from this rulebook and the {sym} profile.",
        steps=(
            StoryStep("set_mark_price", {"price": d(m.mark)}, "Set the mark price."),
            StoryStep("open_position", {"side": "long", "size": d(size), "margin": d(margin)},
                      f"Open a long of {d(size)} contracts with {d(margin)} of isolated margin.", derive=True),
            StoryStep("add_margin", {"amount": d(added)},
                      f"Add {d(added)} of margin: the liquidation price moves away (S10)."),
            StoryStep("reduce_margin", {"amount": d(margin + added - left)},
                      f"Try to take {d(margin + added - left)} out, leaving {d(left)} of margin (S11, S13)."),
            StoryStep("reduce_margin", {"amount": d(added)}, f"Take {d(added)} back out."),
            StoryStep("set_leverage", {"leverage": d(lev2)},
                      f"Set the leverage to {d(lev2)}: the margin moves to notional / {d(lev2)} (S5)."),
            StoryStep("apply_funding", {"rate": "0.0001"}, "Settle funding at a rate of 0.0001: a long pays (S15)."),
            StoryStep("set_mark_price", {"price": shifted(1)},
                      "Move the mark to one tick above the liquidation price: the position survives."),
            StoryStep("set_mark_price", {"price": shifted(-1)},
                      "Move the mark to one tick below it: the position is liquidated whole (S17, S18)."),
        ))


def _short_story(m: Market) -> Story:
    """A short in tier 2 at the reference mark: twice the round size (notional twice tier 1's bound),
    or the middle of tier 2 when that is not in tier 2, at half tier 2's max leverage; then closed."""
    d = format_decimal
    twice = 2 * m.round_size
    size = twice if m.lower(2) < m.notional(twice) <= m.tiers[1]["max_notional"] else m.mid_size(2)
    notional = m.notional(size)
    margin = round_to(2 * notional / m.tiers[1]["max_leverage"], m.money, "up")
    return Story(
        anchor="example-short-tier2", title="A short in the second risk tier", symbol=m.symbol,
        balance=d(power_of_ten_at_least(2 * margin)),
        intro=f"A short of {d(size)} contracts at a mark of {d(m.mark)} has a notional of {d(notional)}, beyond "
              f"the first tier; the liquidation price is solved tier by tier.",
        steps=(
            StoryStep("set_mark_price", {"price": d(m.mark)}, "Set the mark price."),
            StoryStep("open_position", {"side": "short", "size": d(size), "margin": d(margin)},
                      f"Open a short of {d(size)} contracts with {d(margin)} of margin.", derive=True),
            StoryStep("close_position", {}, "Close it at the mark: the equity returns to the available balance."),
        ))


class StorySections(View):
    """The "Worked examples" section: the stories of `_stories`, played on the reference engine."""

    def stories(self) -> list[dict]:
        return [s for s in (self.story(spec) for spec in _stories(self.rb)) if s is not None]

    def story(self, spec: Story) -> dict | None:
        rb = self.rb
        if spec.symbol not in rb.contracts:
            return None
        engine = ReferenceEngine(rb)
        c = rb.contracts[spec.symbol]
        contract = contract_json(c, rb)
        reply = engine.handle({"id": 0, "op": "reset", "args": {"contracts": {spec.symbol: contract},
                                                                 "available_balance": spec.balance}})
        if not reply["ok"]:
            return None
        steps, n = [], 0
        for st in spec.steps:
            before = engine.handle({"id": 0, "op": "query", "args": {"symbol": spec.symbol}})["result"]
            args = {"symbol": spec.symbol}
            skipped = False
            for k, v in st.args.items():
                val = v(before) if callable(v) else v
                if val is None:
                    skipped = True
                args[k] = val
            if skipped:
                continue
            n += 1
            reply = engine.handle({"id": n, "op": st.op, "args": args})
            after = engine.handle({"id": 0, "op": "query", "args": {"symbol": spec.symbol}})["result"]
            step = {"n": n, "op": st.op, "args": [(k, v) for k, v in args.items() if k != "symbol"],
                    "say": self.prose(st.say), "ok": reply["ok"],
                    "result": [(k, fmt_json(v)) for k, v in (reply.get("result") or {}).items()],
                    "error": (reply.get("error") or {}).get("code"), "message": (reply.get("error") or {}).get("message"),
                    "changes": self.changes(before, after), "derivation": None}
            if st.derive and reply["ok"] and after.get("position"):
                step["derivation"] = self.derivation(engine, spec.symbol)
            steps.append(step)
        return {"anchor": spec.anchor, "title": spec.title, "symbol": spec.symbol, "balance": spec.balance,
                "intro": self.prose(spec.intro), "steps": steps,
                "profile_anchor": f"profile-{spec.symbol}"}

    @staticmethod
    def changes(before: dict, after: dict) -> list[tuple[str, str, str]]:
        """What a step changed, as (field, before, after); a position that appears or disappears is
        one entry, not one per field."""
        opened = not before.get("position") and after.get("position")
        closed = before.get("position") and not after.get("position")
        if opened or closed:
            before = {k: v for k, v in before.items() if k != "position"}
            after = {k: v for k, v in after.items() if k != "position"}
        flat_b, flat_a = _flatten(before), _flatten(after)
        keys = [k for k in flat_a if k in flat_b] + [k for k in flat_b if k not in flat_a] + \
               [k for k in flat_a if k not in flat_b]
        out = []
        for k in keys:
            b, a = flat_b.get(k, "—"), flat_a.get(k, "—")
            if _dec(b) != _dec(a):
                out.append((k, b, a))
        if opened:
            out.append(("position", "none", "opened"))
        if closed:
            out.append(("position", "open", "removed"))
        return out

    def derivation(self, engine: ReferenceEngine, symbol: str) -> dict:
        w = engine.world
        values = {**w.contract_values[symbol], **w.account, **w.symbols[symbol]}
        env = engine.interp.derived_values(values)
        given = []
        names_used = set()
        for d in self.rb.derived:
            names_used |= ast.names(d.expr)
        for s in self.rb.state:
            if s.scope == "position" or s.name in names_used:
                given.append((s.name, fmt(values.get(s.name))))
        for p in self.rb.params:
            if p.name in names_used:
                given.append((p.name, fmt(values.get(p.name))))
        rows = []
        for d in self.rb.derived:
            inst = instantiate(d.expr, env)
            k = solved_tier_number(d.expr, env)
            tier = None
            for node in ast.walk(d.expr):
                if isinstance(node, ast.TierField):
                    tier = tier_number(values["__tiers__"], compile_expr(node.notional)(env))
                    break
            rows.append({"name": d.name,
                         "lhs": self.fbox(symbol_box(d.symbol), d.symbol) if d.symbol else None,
                         "numbers": Formula.of(MathRenderer(self.symbols).formula(inst), to_text(inst)),
                         "value": fmt(env[d.name]), "tier": k or tier, "solved": k is not None})
        return {"given": given, "rows": rows}


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A query result as dotted field names to printed values (an absent position is no field)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{prefix}{k}."))
        elif v is None and k == "position":
            continue
        else:
            out[f"{prefix}{k}"] = fmt_json(v)
    return out


def _dec(v: Any) -> Any:
    """Protocol values compared as decimals ("1.50" equals "1.5")."""
    if isinstance(v, str):
        try:
            return parse_decimal(v)
        except ValueError:
            return v
    return v

"""Hypothesis properties of the reference model on random positions and action sequences."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marginspec.engine import ReferenceEngine
from marginspec.interpreter import Interpreter
from marginspec.numbers import format_decimal, parse_decimal
from tests.support import Client, contract_json

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def positions(draw, rb):
    """An open position on a shipped profile: symbol, side, size, mark and a valid margin."""
    symbol = draw(st.sampled_from(sorted(rb.contracts)))
    c = rb.contracts[symbol]
    tick, mult = c.params["tick_size"], c.params["contract_multiplier"]
    side = draw(st.sampled_from(["long", "short"]))
    mark = tick * draw(st.integers(1000, 10_000_000))
    max_size = int(c.tiers[-1]["max_notional"] / (mark * mult))
    if max_size < 1:
        mark = tick * 1000
        max_size = int(c.tiers[-1]["max_notional"] / (mark * mult))
    size = draw(st.integers(1, max(1, max_size)))
    notional = size * mult * mark
    lev = next((t for t in c.tiers if notional <= t["max_notional"]), c.tiers[-1])["max_leverage"]
    step = c.params["money_step"]
    minimum = -((-notional / lev) // step) * step  # the minimum margin rounded up to the step
    margin = minimum + step * draw(st.integers(0, 10**7))
    return symbol, side, size, mark, margin


def fresh(rb, balance="100000000"):
    client = Client(ReferenceEngine(rb))
    client.ok("reset", contracts={s: contract_json(rb, s) for s in rb.contracts}, available_balance=balance)
    return client


def open_it(client, symbol, side, size, mark, margin):
    client.ok("set_mark_price", symbol=symbol, price=format_decimal(mark))
    client.ok("open_position", symbol=symbol, side=side, size=str(size), margin=format_decimal(margin))


def values_at(client, symbol, mark):
    """The interpreter's Env for the symbol's position at another mark price (derived values exact)."""
    eng = client.engine
    w = eng.world
    vals = {**w.contract_values[symbol], **w.account, **w.symbols[symbol], "mark_price": mark}
    return Interpreter(eng.rb).derived_values(vals)


@given(data=st.data())
@SETTINGS
def test_equity_equals_maintenance_at_the_exact_root(rulebook, data):
    symbol, side, size, mark, margin = data.draw(positions(rulebook))
    client = fresh(rulebook)
    open_it(client, symbol, side, size, mark, margin)
    root = values_at(client, symbol, mark)["liquidation_root"]
    at_root = values_at(client, symbol, root)
    assert at_root["equity"] == at_root["maintenance_margin"]
    assert at_root["liquidatable"] is True


@given(data=st.data(), ticks=st.integers(1, 50))
@SETTINGS
def test_a_mark_on_the_safe_side_of_the_rounded_price_never_liquidates(rulebook, data, ticks):
    symbol, side, size, mark, margin = data.draw(positions(rulebook))
    client = fresh(rulebook)
    open_it(client, symbol, side, size, mark, margin)
    p = client.position(symbol)
    tick = rulebook.contracts[symbol].params["tick_size"]
    if p["liquidation_price"] is None:
        assert side == "long" and parse_decimal(p["equity"]) >= parse_decimal(p["notional"])
        return
    liq = parse_decimal(p["liquidation_price"])
    safe = liq + ticks * tick if side == "long" else liq - ticks * tick
    if safe > 0:
        assert values_at(client, symbol, safe)["liquidatable"] is False
    # and the rounded price is within one tick of the root, on the liquidating side of it
    root = values_at(client, symbol, mark)["liquidation_root"]
    assert 0 <= (liq - root if side == "long" else root - liq) < tick
    # one tick past the rounded price (towards the root) is beyond the root, so it liquidates
    beyond = liq - tick if side == "long" else liq + tick
    if beyond > 0:
        assert values_at(client, symbol, beyond)["liquidatable"] is True


OPS = st.sampled_from(["set_mark_price", "set_margin_mode", "set_leverage", "open_position", "add_margin",
                       "reduce_margin", "apply_funding", "close_position"])


@st.composite
def requests(draw, rb):
    op = draw(OPS)
    symbol = draw(st.sampled_from(sorted(rb.contracts) + ["XRPUSDT"]))
    c = rb.contracts.get(symbol, rb.contracts["BTCUSDT"])
    tick, step = c.params["tick_size"], c.params["money_step"]
    money = lambda: format_decimal(step * draw(st.integers(-10, 5 * 10**7)))  # noqa: E731
    args = {"symbol": symbol}
    if op == "set_mark_price":
        args["price"] = format_decimal(tick * draw(st.integers(-1, 2_000_000)))
    elif op == "set_margin_mode":
        args["mode"] = draw(st.sampled_from(["isolated", "cross"]))
    elif op == "set_leverage":
        args["leverage"] = str(draw(st.integers(0, 130)))
    elif op == "open_position":
        args["side"] = draw(st.sampled_from(["long", "short"]))
        args["size"] = str(draw(st.integers(0, 3000)))
        if draw(st.booleans()):
            args["margin"] = money()
    elif op in ("add_margin", "reduce_margin"):
        args["amount"] = money()
    elif op == "apply_funding":
        args["rate"] = format_decimal(Fraction(draw(st.integers(-2000, 2000)), 10000))
    return {"op": op, "args": args}


def snapshot(client, rb):
    return json.dumps({s: client.query(s) for s in rb.contracts}, sort_keys=True)


@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_refused_actions_change_nothing_and_losses_never_reach_the_balance(rulebook, data):
    client = fresh(rulebook, balance="20000")
    for _ in range(data.draw(st.integers(1, 25))):
        req = data.draw(requests(rulebook))
        world_before = client.engine.world
        before = snapshot(client, rulebook)
        bal_before = parse_decimal(json.loads(before)["BTCUSDT"]["available_balance"])
        reply = client.call(req["op"], **req["args"])
        after = snapshot(client, rulebook)
        bal_after = parse_decimal(json.loads(after)["BTCUSDT"]["available_balance"])
        if not reply["ok"]:
            assert after == before, (req, reply)
            assert client.engine.world == world_before, (req, reply)  # the whole state, default_leverage too
            continue
        if bal_after < bal_before:
            # only money moved into a position lowers the balance: open, add, or set_leverage adding margin
            assert req["op"] in ("open_position", "add_margin", "set_leverage"), req
        if bal_after != bal_before:
            assert req["op"] in ("open_position", "add_margin", "reduce_margin", "set_leverage", "close_position"), req
        # every position left open is covered (invariant 5)
        for s in rulebook.contracts:
            p = json.loads(after)[s]["position"]
            if p is not None:
                assert parse_decimal(p["equity"]) > parse_decimal(p["maintenance_margin"])


def _walk(value, path=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, value


@given(data=st.data())
@settings(max_examples=40, deadline=None)
def test_no_float_anywhere_every_number_is_an_exact_decimal_string(rulebook, data):
    engine = ReferenceEngine(rulebook)
    client = Client(engine)
    client.ok("reset", contracts={s: contract_json(rulebook, s) for s in rulebook.contracts}, available_balance="20000")
    for _ in range(data.draw(st.integers(1, 20))):
        req = data.draw(requests(rulebook))
        replies = [client.call(req["op"], **req["args"])] + [client.call("query", symbol=s) for s in rulebook.contracts]
        line = json.dumps(replies)
        decoded = json.loads(line, parse_float=lambda s: (_ for _ in ()).throw(AssertionError(f"float {s}")))
        for path, v in _walk(decoded):
            assert not isinstance(v, float), path
            if isinstance(v, str) and path.split(".")[-1] not in ("code", "message", "side", "margin_mode"):
                assert Decimal(v) == parse_decimal(v), (path, v)  # a plain exact decimal
        # inside the engine too: every state value is a Fraction, a str, a bool or None
        for sym in engine.world.symbols.values():
            for k, v in sym.items():
                assert v is None or isinstance(v, (Fraction, str, bool)), (k, type(v))
        for k, v in engine.world.account.items():
            assert isinstance(v, Fraction), (k, type(v))

"""Hypothesis (issue 10): arbitrary bytes and arbitrary JSON never stop the reference engine: one
valid UTF-8 JSON reply per line, never INTERNAL, and the engine serves on."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robust_support import strict_json

from marginspec.engine import ReferenceEngine, contract_json
from marginspec.protocol_io import answer_line

OPS = ["hello", "reset", "query", "shutdown", "set_mark_price", "set_margin_mode", "set_leverage",
       "open_position", "add_margin", "reduce_margin", "apply_funding", "close_position", "transmogrify"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)
decimals = st.from_regex(r"-?[0-9]{1,8}(\.[0-9]{1,6})?", fullmatch=True)
arg_values = st.one_of(decimals, st.sampled_from(["BTCUSDT", "ETHUSDT", "long", "short", "isolated", "cross"]),
                       json_values)
requests = st.fixed_dictionaries(
    {"id": st.one_of(st.integers(), st.text(max_size=5), st.none()), "op": st.sampled_from(OPS),
     "args": st.dictionaries(st.sampled_from(["symbol", "price", "side", "size", "margin", "amount", "rate",
                                              "leverage", "mode", "contracts", "available_balance"]),
                             arg_values, max_size=5)})


@pytest.fixture(scope="module")
def engine(rulebook):
    e = ReferenceEngine(rulebook)
    contracts = {s: contract_json(c) for s, c in rulebook.contracts.items()}
    e.handle({"id": 0, "op": "reset", "args": {"contracts": contracts, "available_balance": "100000"}})
    return e


def check_reply(line: bytes, engine) -> dict:
    out = answer_line(line, engine.handle)
    assert out.endswith(b"\n") and out.count(b"\n") == 1
    reply = strict_json(out[:-1])
    assert reply["ok"] in (True, False)
    if reply["ok"] is False:
        assert reply["error"]["code"] != "INTERNAL", reply
    engine.stopped = False  # a random shutdown must not end the in-process session
    return reply


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_arbitrary_bytes(engine, data):
    for line in data.split(b"\n"):
        if line.strip():
            check_reply(line, engine)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(json_values)
def test_arbitrary_json(engine, value):
    check_reply(json.dumps(value).encode(), engine)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests)
def test_arbitrary_requests(engine, request):
    text = json.dumps(request, ensure_ascii=False)
    try:
        line = text.encode("utf-8")
        readable = True
    except UnicodeEncodeError:  # a lone surrogate: sent as the bytes a careless encoder would write
        line, readable = text.encode("utf-8", "surrogatepass"), False
    reply = check_reply(line, engine)
    if readable and request["id"] is not None:
        assert reply["id"] == request["id"], (request, reply)


@settings(max_examples=5, deadline=None)
@given(st.lists(st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" ")), min_size=1, max_size=40))
def test_one_reply_per_line_over_pipes(lines):
    nonblank = [ln for ln in lines if ln.strip()]
    data = b"\n".join(lines) + b'\n{"id":"end","op":"hello","args":{}}\n'
    out = subprocess.run([sys.executable, "-m", "marginspec", "engine"], input=data, capture_output=True,
                         timeout=60).stdout
    replies = [strict_json(x) for x in out.splitlines()]
    assert len(replies) == len(nonblank) + 1
    assert replies[-1]["id"] == "end" and replies[-1]["ok"] is True
    assert all(r["ok"] or r["error"]["code"] != "INTERNAL" for r in replies)

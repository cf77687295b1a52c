"""Catalogue (issue 10): every hostile line gets one valid JSON reply with the right error, and the
reference engine keeps serving. Each test sends one bad input to `marginspec engine` on pipes."""

from __future__ import annotations

import json

import pytest

from robust_support import EngineProc, strict_json

from marginspec.protocol_io import LIMITS


@pytest.fixture(scope="module")
def engine():
    """One engine for the whole catalogue: each test also shows that it still serves after the
    previous test's bad input."""
    e = EngineProc()
    yield e
    e.close()


def reset_line(rid, contracts, balance="10000") -> bytes:
    return json.dumps({"id": rid, "op": "reset", "args": {"contracts": contracts, "available_balance": balance}}).encode()


def contract(rulebook, symbol="BTCUSDT", **over):
    from marginspec.engine import contract_json

    c = contract_json(rulebook.contracts[symbol])
    c.update(over)
    return c


def refused(reply, rid, *fragments):
    assert reply["id"] == rid, reply
    assert reply["ok"] is False and reply["error"]["code"] == "INVALID_ARGUMENT", reply
    for f in fragments:
        assert f in reply["error"]["message"], reply


def test_deep_nesting_is_refused(engine):
    refused(engine.ask(b"[" * 1000 + b"]" * 1000), None, f"the limit is {LIMITS.depth} levels")
    refused(engine.ask(b'{"id":3,"op":"hello","args":' + b"[" * 100_000 + b"}"), None, "nests more than 32 levels")
    engine.still_serving()


def test_lone_surrogate_id_gets_null_id(engine):
    refused(engine.ask(b'{"id":"\\ud800","op":"hello","args":{}}'), None, "id must be an integer, a string")
    engine.still_serving()


def test_lone_surrogate_in_args_is_refused_with_the_id(engine):
    refused(engine.ask(b'{"id":4,"op":"query","args":{"symbol":"\\udc00"}}'), 4, "lone surrogate")
    engine.still_serving()


def test_surrogate_pairs_are_text(engine):
    reply = engine.ask(b'{"id":"\\ud83d\\ude00","op":"hello","args":{}}')
    assert reply["id"] == "\U0001F600" and reply["ok"] is True


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00garbage", b'{"id":5,"op":"hello","args":{"x":"caf\xe9"}}',
                                 b"\xed\xa0\x80", b"\xc0\xaf"])
def test_non_utf8_bytes_are_refused(engine, raw):
    refused(engine.ask(raw), None, "the line is not UTF-8")
    engine.still_serving()


@pytest.mark.parametrize("rid", [b"NaN", b"Infinity", b"-Infinity", b"1e999999"])
def test_unrepresentable_ids_get_null(engine, rid):
    engine.send(b'{"id":' + rid + b',"op":"hello","args":{}}\n')
    line = engine.reply()
    assert line.startswith(b'{"id":null,')
    reply = strict_json(line)  # no bare NaN/Infinity anywhere
    assert reply["id"] is None and reply["error"]["code"] == "INVALID_ARGUMENT"
    engine.still_serving()


def test_finite_number_and_string_ids_are_echoed(engine):
    assert engine.ask(b'{"id":1.5,"op":"hello","args":{}}')["id"] == 1.5
    assert engine.ask(b'{"id":"abc","op":"hello","args":{}}')["id"] == "abc"


def test_a_line_past_the_length_limit_is_dropped_and_answered(engine):
    engine.send(b'{"id":6,"op":"hello","args":{"x":"' + b"x" * (50 * 1024 * 1024) + b'"}}\n')
    reply = json.loads(engine.reply(timeout=60))
    refused(reply, None, f"longer than {LIMITS.line_bytes} bytes")
    engine.still_serving()


def test_too_many_digits_are_refused_at_the_door(engine, rulebook):
    big = "1" * 2500
    refused(engine.ask(reset_line(7, {"BTCUSDT": contract(rulebook)}, balance=big)), 7,
            f"the limit is {LIMITS.digits} digits per number")
    assert engine.ask(reset_line(8, {"BTCUSDT": contract(rulebook)}))["ok"] is True
    mark = json.dumps({"id": 9, "op": "set_mark_price", "args": {"symbol": "BTCUSDT", "price": "5" + "0" * 2499}})
    refused(engine.ask(mark.encode()), 9, "digits per number")
    refused(engine.ask(b'{"id":10,"op":"hello","args":{"n":' + b"1" * 4301 + b"}}"), None, "4301 digits")
    q = engine.ask(b'{"id":11,"op":"query","args":{"symbol":"BTCUSDT"}}')
    assert q["ok"] is True and q["result"]["mark_price"] is None  # nothing was changed


def test_too_many_tiers_are_refused(engine, rulebook):
    c = contract(rulebook)
    c["tiers"] = [dict(c["tiers"][0], max_notional=str(1000 * (k + 1))) for k in range(LIMITS.tiers + 1)]
    refused(engine.ask(reset_line(12, {"BTCUSDT": c})), 12, f"{LIMITS.tiers} tiers per contract")
    engine.still_serving()


def test_too_many_contracts_are_refused(engine, rulebook):
    c = contract(rulebook)
    many = {f"S{k}": c for k in range(LIMITS.contracts + 1)}
    refused(engine.ask(reset_line(13, many)), 13, f"{LIMITS.contracts} contracts per reset")
    engine.still_serving()


def test_not_json_and_not_an_object(engine):
    refused(engine.ask(b"this is not json"), None, "not JSON")
    refused(engine.ask(b"[1,2,3]"), None, "a request is a JSON object")
    engine.still_serving()

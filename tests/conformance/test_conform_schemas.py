"""The two JSON Schemas (vectors, protocol), and the quick schema check that must agree with
jsonschema."""

from __future__ import annotations

import copy
import json
import random

import jsonschema
import pytest

from conform_support import BASIC, MORE
from marginspec.conformance.fastschema import UnsupportedSchema, compile_schema
from marginspec.conformance.loader import protocol_schema, protocol_validator, vectors_schema


def test_schemas_are_valid_draft_2020_12():
    for schema in (vectors_schema(), protocol_schema()):
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)


def test_fixture_vectors_are_valid():
    validator = jsonschema.Draft202012Validator(vectors_schema())
    for path in (BASIC, MORE):
        validator.validate(json.loads(path.read_text()))


def _leaves(node, path=()):
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(node, list):
        yield path, node
        for i, v in enumerate(node):
            yield from _leaves(v, path + (i,))
    else:
        yield path, node


_REPLACEMENTS = [None, True, 0, 7, "x", "1.5", "-2", "1e5", "", [], {}, ["a"], {"k": "v"}, "long", "MUST",
                 "UNSUPPORTED", "query", "marginspec-vectors/1"]


def _mutate(doc, rng):
    doc = copy.deepcopy(doc)
    spots = list(_leaves(doc))
    path, _ = rng.choice(spots)
    if not path:
        return doc
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    key = path[-1]
    action = rng.random()
    if action < 0.25 and isinstance(parent, dict):
        del parent[key]
    elif action < 0.35 and isinstance(parent, dict):
        parent["unexpected_" + str(rng.randint(0, 9))] = rng.choice(_REPLACEMENTS)
    elif action < 0.45 and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))
    else:
        parent[key] = copy.deepcopy(rng.choice(_REPLACEMENTS))
    return doc


def test_quick_check_agrees_with_jsonschema():
    schema = vectors_schema()
    quick = compile_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    rng = random.Random(20240601)
    docs = [json.loads(p.read_text()) for p in (BASIC, MORE)]
    outcomes = {True: 0, False: 0}
    for i in range(600):
        doc = _mutate(docs[i % 2], rng)
        if rng.random() < 0.3:
            doc = _mutate(doc, rng)
        expected = validator.is_valid(doc)
        assert quick(doc) == expected, json.dumps(doc)[:2000]
        outcomes[expected] += 1
    assert outcomes[True] > 30 and outcomes[False] > 300  # both sides were exercised


def test_quick_check_agrees_on_the_protocol_schema():
    schema = protocol_schema()
    quick = compile_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    samples = [
        {"id": 1, "op": "hello", "args": {}},
        {"id": 1, "op": "set_mark_price", "args": {"symbol": "BTCUSDT", "price": "1"}},
        {"id": 1, "op": "set_mark_price", "args": {"symbol": "BTCUSDT", "price": 1}},
        {"id": 1, "ok": True, "result": {}},
        {"id": 1, "ok": False, "error": {"code": "NO_POSITION", "message": ""}},
        {"id": 1, "ok": False, "error": {"code": "NOPE", "message": ""}},
        {"id": "1", "ok": True, "result": {}},
        {"ok": True},
    ]
    for s in samples:
        assert quick(s) == validator.is_valid(s), s


def test_quick_check_refuses_unknown_keywords():
    with pytest.raises(UnsupportedSchema):
        compile_schema({"type": "object", "dependentRequired": {"a": ["b"]}})


# --------------------------------------------------------------------------- protocol schema


def _engine():
    """An engine object to take real replies from: the reference engine, or the canned one."""
    try:
        from marginspec.engine import ReferenceEngine

        return ReferenceEngine()
    except ImportError:  # pragma: no cover - while the reference engine does not exist
        from conform_support import load_canned_module

        return load_canned_module().CannedEngine([BASIC, MORE])


def test_replies_of_a_real_engine_match_the_protocol_schema(cases):
    engine = _engine()
    request_v = protocol_validator("request")
    rid = 0

    def send(op, args):
        nonlocal rid
        rid += 1
        request = {"id": rid, "op": op, "args": args}
        request_v.validate(request)
        reply = engine.handle(request)
        protocol_validator(f"reply_to_{op}").validate(reply)
        return reply

    hello = send("hello", {})
    assert hello["ok"] and hello["result"]["protocol"] == 1
    seen_ops = set()
    for case in cases:
        send("reset", {"contracts": case.contracts, "available_balance": case.available_balance})
        for step in case.steps:
            if step.op in {"frobnicate"}:
                continue
            reply = send(step.op, step.args)
            seen_ops.add(step.op)
            assert reply["id"] == rid
    assert {"query", "set_mark_price", "apply_funding", "close_position"} <= seen_ops


@pytest.mark.parametrize("definition,message", [
    ("request", {"id": 1, "op": "set_mark_price", "args": {"symbol": "BTCUSDT", "price": 50000}}),
    ("request", {"id": 1, "op": "open_position", "args": {"symbol": "BTCUSDT", "side": "up", "size": "1"}}),
    ("request", {"op": "query", "args": {"symbol": "BTCUSDT"}}),
    ("reply_to_set_mark_price", {"id": 1, "ok": True, "result": {"liquidated": True}}),
    ("reply_to_apply_funding", {"id": 1, "ok": True, "result": {"fee": 0.5, "liquidated": False}}),
    ("reply_to_query", {"id": 1, "ok": True, "result": {"available_balance": "1", "insurance_fund": "0",
                                                        "margin_mode": "isolated", "mark_price": None}}),
    ("reply_to_query", {"id": 1, "ok": True, "result": {
        "available_balance": "1", "insurance_fund": "0", "margin_mode": "isolated", "mark_price": "1",
        "position": {"side": "long"}}}),
    ("reply", {"id": 1, "ok": False, "error": {"code": "OOPS", "message": "x"}}),
    ("reply", {"id": 1, "ok": "yes", "result": {}}),
    ("reply_to_hello", {"id": 1, "ok": True, "result": {"protocol": 2, "engine": "e", "version": "1"}}),
])
def test_protocol_schema_rejects(definition, message):
    assert not protocol_validator(definition).is_valid(message)


@pytest.mark.parametrize("definition,message", [
    ("request", {"id": 1, "op": "frobnicate", "args": {}}),  # unknown ops are answered UNSUPPORTED
    ("request", {"id": 3, "op": "open_position", "args": {"symbol": "B", "side": "short", "size": "2", "margin": "1.5"}}),
    ("reply_to_set_mark_price", {"id": 1, "ok": True, "result": {"liquidated": True, "fill_price": "48950.7"}}),
    ("reply_to_query", {"id": 1, "ok": True, "result": {"available_balance": "1", "insurance_fund": "-4.93",
                                                        "margin_mode": "isolated", "mark_price": None,
                                                        "position": None, "extra": "ignored"}}),
    ("reply_to_close_position", {"id": 1, "ok": False, "error": {"code": "NO_POSITION", "message": "none"}}),
    ("reply_to_hello", {"id": 1, "ok": True, "result": {"protocol": 1, "engine": "e", "version": "1", "ops": ["query"]}}),
])
def test_protocol_schema_accepts(definition, message):
    protocol_validator(definition).validate(message)

#!/usr/bin/env python3
"""Self-check: pipe the same requests through the Node example engine and the Python baseline.

Both engines are started as processes speaking the engine protocol (PROTOCOL.md). Every reply
must be identical between them (error messages aside), and the hand-computed expectations of
the scripted scenario must hold in both. A seeded random walk then compares the two engines on
a few thousand more requests, querying the full state after each one. The scenario runs on its
own two contracts (the hand-computed numbers are about them); the random walk takes its symbols,
prices, sizes and amounts from the contracts it is given (--contracts: a contracts file, or a
vector file whose groups' contracts are used), else from the scenario's.

    python3 conformance/examples/node-engine/selftest.py [--steps N] [--seed S] [--contracts FILE]
    python3 "$(marginspec conform --example-path node-engine)/selftest.py"   # from an install

Stdlib only (a YAML contracts file needs PyYAML, which marginspec installs; JSON needs nothing).
Needs `node` (20+) on PATH; exits 0 when everything agrees. The hand-written baseline does not
implement the venue parameters (taker_fee_rate, maintenance_basis): for contracts that set them,
compare with the reference engine (SELFTEST_OTHER="python3 -m marginspec engine").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import select
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
NODE_CMD = ["node", str(HERE / "engine.js")]
# The engine compared with: $SELFTEST_OTHER, else the hand-written baseline of a checkout, else (from an
# installed package, where bench/ is absent) the reference engine `python -m marginspec engine`.
_BASELINE = REPO / "bench" / "baseline_engine.py"
BASELINE_CMD = os.environ.get("SELFTEST_OTHER", "").split() or (
    [sys.executable, str(_BASELINE)] if _BASELINE.is_file() else [sys.executable, "-m", "marginspec", "engine"])
TIMEOUT = 10.0

_DECIMAL = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


class Failure(AssertionError):
    pass


class EngineProcess:
    """One engine process; send() writes one request line and reads one reply line."""

    def __init__(self, name: str, cmd: list[str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self.buffer = b""
        self.next_id = 0

    def _readline(self) -> bytes:
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
            if not ready:
                raise Failure(f"{self.name}: no reply within {TIMEOUT}s")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise Failure(f"{self.name}: engine exited (code {self.proc.poll()})")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def send_raw(self, line: str) -> dict:
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        return json.loads(self._readline())

    def send(self, op: str, args: dict | None = None) -> dict:
        self.next_id += 1
        request = {"id": self.next_id, "op": op}
        if args is not None:
            request["args"] = args
        reply = self.send_raw(json.dumps(request))
        if reply.get("id") != self.next_id:
            raise Failure(f"{self.name}: reply id {reply.get('id')!r} for request {self.next_id}")
        return reply

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("shutdown", {})
                self.proc.wait(timeout=TIMEOUT)
            except Exception:
                self.proc.kill()
                self.proc.wait()


def comparable(reply: dict) -> dict:
    """A reply without the parts engines may word differently (the error message)."""
    out = dict(reply)
    if "error" in out and isinstance(out["error"], dict):
        out["error"] = {"code": out["error"].get("code")}
    return out


def same_value(expected, actual) -> bool:
    """Subset match; decimal strings compare as decimals ("1.50" equals "1.5")."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and same_value(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, str) and isinstance(actual, str) and _DECIMAL.fullmatch(expected) \
            and _DECIMAL.fullmatch(actual):
        return Fraction(expected) == Fraction(actual)
    return expected == actual


class Pair:
    """Both engines, driven in lock step."""

    def __init__(self) -> None:
        self.node = EngineProcess("node", NODE_CMD)
        self.base = EngineProcess("baseline", BASELINE_CMD)
        self.steps = 0

    def both(self, op: str, args: dict | None = None) -> dict:
        a = self.node.send(op, args)
        b = self.base.send(op, args)
        self.steps += 1
        if comparable(a) != comparable(b):
            raise Failure(f"engines disagree on {op} {json.dumps(args)}:\n  node:     {json.dumps(a)}\n"
                          f"  baseline: {json.dumps(b)}")
        return a

    def raw(self, line: str) -> dict:
        a = self.node.send_raw(line)
        b = self.base.send_raw(line)
        self.steps += 1
        if comparable(a) != comparable(b):
            raise Failure(f"engines disagree on raw line {line!r}:\n  node:     {a}\n  baseline: {b}")
        return a

    def ok(self, op: str, args: dict | None = None, expect: dict | None = None) -> dict:
        reply = self.both(op, args)
        if not reply.get("ok"):
            raise Failure(f"{op} {json.dumps(args)}: expected ok, got {json.dumps(reply)}")
        if expect is not None and not same_value(expect, reply["result"]):
            raise Failure(f"{op} {json.dumps(args)}: expected {json.dumps(expect)}, got {json.dumps(reply['result'])}")
        return reply["result"]

    def err(self, code: str, op: str, args: dict | None = None) -> None:
        reply = self.both(op, args)
        got = None if reply.get("ok") else reply.get("error", {}).get("code")
        if got != code:
            raise Failure(f"{op} {json.dumps(args)}: expected {code}, got {json.dumps(reply)}")

    def close(self) -> None:
        self.node.close()
        self.base.close()


# --------------------------------------------------------------------------- contracts

def tier(max_notional, mmr, max_leverage, amount):
    return {"max_notional": max_notional, "maintenance_margin_rate": mmr,
            "max_leverage": max_leverage, "maintenance_amount": amount}


# The scenario's own contracts: its hand-computed expectations are about these two. The random walk
# uses them too unless --contracts gives others.
BTC = {
    "contract_multiplier": "0.001", "tick_size": "0.1", "lot_size": "1", "money_step": "0.0001",
    "liquidation_buffer_rate": "0.005",
    "tiers": [tier("50000", "0.004", "125", "0"), tier("250000", "0.005", "100", "50"),
              tier("1000000", "0.01", "50", "1300"), tier("10000000", "0.025", "20", "16300")],
}
ETH = {
    "contract_multiplier": "0.01", "tick_size": "0.01", "lot_size": "1", "money_step": "0.01",
    "liquidation_buffer_rate": "0.005",
    "tiers": [tier("100000", "0.01", "50", "0")],
}
CONTRACTS = {"BTCUSDT": BTC, "ETHUSDT": ETH}


def position(**fields):
    return {"position": fields}


# --------------------------------------------------------------------------- the scenario

def scenario(p: Pair) -> None:
    seen_codes: set[str] = set()
    original_err = p.err

    def err(code, op, args=None):
        original_err(code, op, args)
        seen_codes.add(code)

    hello_node = p.node.send("hello", {})
    hello_base = p.base.send("hello", {})
    assert hello_node["result"] == {"protocol": 1, "engine": "marginspec-node-example", "version": "1.0.0"}, hello_node
    assert hello_base["ok"] and hello_base["result"]["protocol"] == 1, hello_base

    p.ok("reset", {"contracts": CONTRACTS, "available_balance": "10000"}, {})
    B, E = {"symbol": "BTCUSDT"}, {"symbol": "ETHUSDT"}
    p.ok("query", B, {"available_balance": "10000", "insurance_fund": "0", "margin_mode": "isolated",
                      "mark_price": None, "position": None})

    # -- the worked case
    err("NO_MARK_PRICE", "open_position", {**B, "side": "long", "size": "1000", "margin": "5000"})
    p.ok("set_mark_price", {**B, "price": "50000"}, {"liquidated": False})
    p.ok("open_position", {**B, "side": "long", "size": "1000", "margin": "5000"}, {})
    p.ok("query", B, {"available_balance": "5000", "mark_price": "50000", **position(
        side="long", size="1000", entry_price="50000", isolated_margin="5000", notional="50000",
        unrealized_pnl="0", equity="5000", maintenance_margin="200", leverage="10",
        liquidation_price="45180.8", bankruptcy_price="45000")})

    # -- refusals on an open position
    err("POSITION_EXISTS", "open_position", {**B, "side": "short", "size": "1", "margin": "100"})
    err("MODE_LOCKED", "set_margin_mode", {**B, "mode": "isolated"})
    err("MODE_LOCKED", "set_margin_mode", {**B, "mode": "cross"})
    err("LEVERAGE_TOO_HIGH", "reduce_margin", {**B, "amount": "4790"})      # 210 covers 200, not 400
    err("INSUFFICIENT_COVERAGE", "reduce_margin", {**B, "amount": "4800"})  # equity 200 = mm
    err("INSUFFICIENT_COVERAGE", "reduce_margin", {**B, "amount": "5000"})  # margin 0
    err("INSUFFICIENT_BALANCE", "add_margin", {**B, "amount": "5000.0001"})
    p.ok("add_margin", {**B, "amount": "1000"}, {})
    p.ok("query", B, {"available_balance": "4000", **position(
        isolated_margin="6000", leverage="8.33", liquidation_price="44176.8", bankruptcy_price="44000")})
    p.ok("reduce_margin", {**B, "amount": "1000"}, {})

    # -- set_leverage down (margin released) and up (margin added)
    p.ok("set_leverage", {**B, "leverage": "20"}, {})
    p.ok("query", B, {"available_balance": "7500", **position(isolated_margin="2500", leverage="20")})
    p.ok("set_leverage", {**B, "leverage": "5"}, {})
    p.ok("query", B, {"available_balance": "0", **position(
        isolated_margin="10000", leverage="5", liquidation_price="40160.7", bankruptcy_price="40000")})
    err("INSUFFICIENT_BALANCE", "set_leverage", {**B, "leverage": "4"})
    err("LEVERAGE_TOO_HIGH", "set_leverage", {**B, "leverage": "126"})
    err("INVALID_ARGUMENT", "set_leverage", {**B, "leverage": "0.5"})
    p.ok("query", B, {"available_balance": "0", **position(isolated_margin="10000")})  # refusals changed nothing
    p.ok("set_leverage", {**B, "leverage": "7"}, {})  # 50000 / 7 rounded up to money_step
    p.ok("query", B, {"available_balance": "2857.1428", **position(
        isolated_margin="7142.8572", leverage="7", liquidation_price="43029.3", bankruptcy_price="42857.2")})
    p.ok("set_leverage", {**B, "leverage": "10"}, {})
    p.ok("query", B, {"available_balance": "5000", **position(isolated_margin="5000")})

    # -- funding, both signs; half away from zero
    p.ok("apply_funding", {**B, "rate": "0.0001"}, {"fee": "5", "liquidated": False})
    p.ok("apply_funding", {**B, "rate": "-0.000000001"}, {"fee": "-0.0001", "liquidated": False})
    p.ok("apply_funding", {**B, "rate": "0.000000001"}, {"fee": "0.0001", "liquidated": False})
    p.ok("apply_funding", {**B, "rate": "-0.0002"}, {"fee": "-10", "liquidated": False})
    p.ok("apply_funding", {**B, "rate": "0"}, {"fee": "0", "liquidated": False})
    p.ok("query", B, {"available_balance": "5000", **position(isolated_margin="5005")})

    # -- close with a profit
    p.ok("set_mark_price", {**B, "price": "51000"}, {"liquidated": False})
    p.ok("close_position", B, {"returned": "6005"})
    p.ok("query", B, {"available_balance": "11005", "insurance_fund": "0", "position": None})
    err("NO_POSITION", "close_position", B)
    err("NO_POSITION", "add_margin", {**B, "amount": "1"})
    err("NO_POSITION", "reduce_margin", {**B, "amount": "1"})
    err("NO_POSITION", "apply_funding", {**B, "rate": "0.0001"})

    # -- liquidation by the mark price
    p.ok("set_mark_price", {**B, "price": "50000"}, {"liquidated": False})
    p.ok("open_position", {**B, "side": "long", "size": "1000", "margin": "5000"}, {})
    p.ok("set_mark_price", {**B, "price": "45180.8"}, {"liquidated": False})
    p.ok("set_mark_price", {**B, "price": "45180.7"}, {"liquidated": True, "fill_price": "44954.7"})
    p.ok("query", B, {"available_balance": "6005", "insurance_fund": "-45.3", "position": None})

    # -- liquidation by funding (a short pays on a negative rate)
    p.ok("set_mark_price", {**B, "price": "50000"}, {"liquidated": False})
    p.ok("open_position", {**B, "side": "short", "size": "1000", "margin": "400"}, {})
    p.ok("query", B, {"available_balance": "5605", **position(
        side="short", maintenance_margin="200", leverage="125", liquidation_price="50199",  # root in tier 2: 50450 / 1.005
        bankruptcy_price="50400")})
    p.ok("apply_funding", {**B, "rate": "0.003"}, {"fee": "150", "liquidated": False})
    p.ok("query", B, position(isolated_margin="550"))
    reply = p.ok("apply_funding", {**B, "rate": "-0.007"}, {"fee": "-350", "liquidated": True, "fill_price": "50250"})
    assert reply["liquidated"] is True
    p.ok("query", B, {"available_balance": "5605", "insurance_fund": "-95.3", "position": None})

    # -- tier 2: minimum margin, liquidation price solved in tier 2, tier max leverage
    err("BELOW_MIN_MARGIN", "open_position", {**B, "side": "long", "size": "2000", "margin": "999.9999"})
    p.ok("open_position", {**B, "side": "long", "size": "2000", "margin": "1000"}, {})
    p.ok("query", B, {"available_balance": "4605", **position(
        notional="100000", maintenance_margin="450", leverage="100", liquidation_price="49723.7",
        bankruptcy_price="49500")})
    err("LEVERAGE_TOO_HIGH", "set_leverage", {**B, "leverage": "101"})
    p.ok("set_mark_price", {**B, "price": "49800"}, {"liquidated": False})
    p.ok("set_leverage", {**B, "leverage": "100"}, {})  # target 996: releases 4
    p.ok("query", B, {"available_balance": "4609", **position(
        isolated_margin="996", equity="596", maintenance_margin="448")})
    p.ok("close_position", B, {"returned": "596"})
    err("NOTIONAL_TOO_LARGE", "open_position", {**B, "side": "long", "size": "300000", "margin": "1"})
    err("INSUFFICIENT_BALANCE", "open_position", {**B, "side": "long", "size": "1000", "margin": "6000"})

    # -- margin from the default leverage, at a mark that is not tick-aligned
    p.ok("set_leverage", {**B, "leverage": "3"}, {})
    p.ok("set_mark_price", {**B, "price": "50000.3"}, {"liquidated": False})
    p.ok("open_position", {**B, "side": "short", "size": "100"}, {})
    p.ok("query", B, {"available_balance": "3538.3233", **position(
        entry_price="50000.3", isolated_margin="1666.6767", notional="5000.03", leverage="3",
        liquidation_price="66401.4", bankruptcy_price="66667")})
    p.ok("close_position", B, {"returned": "1666.6767"})

    # -- cross mode, argument checks (ETHUSDT, single tier)
    p.ok("set_margin_mode", {**E, "mode": "cross"}, {})
    p.ok("query", E, {"margin_mode": "cross", "mark_price": None})
    err("INVALID_ARGUMENT", "open_position", {**E, "side": "long", "size": "100", "margin": "100"})
    p.ok("set_margin_mode", {**E, "mode": "isolated"}, {})
    err("NO_MARK_PRICE", "open_position", {**E, "side": "long", "size": "100", "margin": "100"})
    err("INVALID_ARGUMENT", "query", {})
    err("INVALID_ARGUMENT", "query", {"symbol": 5})
    err("UNKNOWN_SYMBOL", "query", {"symbol": "DOGEUSDT"})
    err("UNKNOWN_SYMBOL", "set_mark_price", {"symbol": "DOGEUSDT", "price": "abc"})
    for bad in (50000, "1e3", "0", "-5", "", ".5", "5.", "NaN", "Infinity", " 5", "5 ", "0x10", None, True):
        err("INVALID_ARGUMENT", "set_mark_price", {**E, "price": bad})
    err("INVALID_ARGUMENT", "set_mark_price", E)
    p.ok("set_mark_price", {**E, "price": "+2000.000"}, {"liquidated": False})
    p.ok("query", E, {"mark_price": "2000"})
    err("INVALID_ARGUMENT", "open_position", {**E, "side": "short", "size": "100"})  # no margin, no default leverage
    err("INVALID_ARGUMENT", "open_position", {**E, "side": "up", "size": "100", "margin": "100"})
    err("INVALID_ARGUMENT", "open_position", {**E, "size": "100", "margin": "100"})
    err("INVALID_ARGUMENT", "open_position", {**E, "side": "long", "size": "1.5", "margin": "100"})
    err("INVALID_ARGUMENT", "open_position", {**E, "side": "long", "size": "0", "margin": "100"})
    err("INVALID_ARGUMENT", "open_position", {**E, "side": "long", "size": "100", "margin": "0.001"})
    err("INVALID_ARGUMENT", "open_position", {**E, "side": "long", "size": "100", "margin": "0"})
    err("INVALID_ARGUMENT", "open_position", {**E, "side": "long", "size": "100", "margin": None})
    err("INVALID_ARGUMENT", "open_position", {**E, "side": "long", "size": 100, "margin": "100"})
    err("INVALID_ARGUMENT", "add_margin", {**E, "amount": "0.001"})  # argument check before NO_POSITION
    err("INVALID_ARGUMENT", "reduce_margin", {**E, "amount": "-1"})
    err("INVALID_ARGUMENT", "apply_funding", {**E, "rate": "1"})
    err("INVALID_ARGUMENT", "apply_funding", {**E, "rate": "-1"})
    err("NO_POSITION", "apply_funding", {**E, "rate": "-0.99"})
    err("INVALID_ARGUMENT", "set_margin_mode", {**E, "mode": "portfolio"})
    err("INVALID_ARGUMENT", "set_leverage", {**E, "leverage": "0.99"})
    err("LEVERAGE_TOO_HIGH", "set_leverage", {**E, "leverage": "50.01"})
    err("UNSUPPORTED", "frobnicate", {**E})
    p.ok("query", {**E, "extra": "ignored", "price": 12}, {"position": None})

    # -- leverage 1: no liquidation price, no bankruptcy price
    p.ok("open_position", {**E, "side": "long", "size": "100", "margin": "2000", "extra": 1}, {})
    p.ok("query", E, position(leverage="1", liquidation_price=None, bankruptcy_price=None,
                              maintenance_margin="20"))
    # -- set_leverage refused for coverage after a fall; then up to leverage 1 again
    p.ok("set_leverage", {**E, "leverage": "2"}, {})
    p.ok("set_mark_price", {**E, "price": "1100"}, {"liquidated": False})
    err("INSUFFICIENT_COVERAGE", "set_leverage", {**E, "leverage": "50"})
    p.ok("set_leverage", {**E, "leverage": "1"}, {})
    p.ok("query", E, position(isolated_margin="1100", equity="200", leverage="1", liquidation_price="909.1",
                              bankruptcy_price="900"))
    p.ok("close_position", E, {"returned": "200"})

    # -- a short whose margin funding drains below zero while profit keeps it alive
    p.ok("set_mark_price", {**E, "price": "2000"}, {"liquidated": False})
    p.ok("open_position", {**E, "side": "short", "size": "100", "margin": "40"}, {})
    p.ok("set_mark_price", {**E, "price": "1000"}, {"liquidated": False})
    p.ok("apply_funding", {**E, "rate": "-0.05"}, {"fee": "-50", "liquidated": False})
    p.ok("query", E, position(isolated_margin="-10", equity="990", leverage=None, liquidation_price="1970.29",
                              bankruptcy_price="1990"))
    p.ok("close_position", E, {"returned": "990"})

    # -- reset: a bad contract is refused and the previous state kept
    before = p.ok("query", B)
    bad_tick = {**ETH, "tick_size": "0"}
    err("INVALID_ARGUMENT", "reset", {"contracts": {"ETHUSDT": bad_tick}, "available_balance": "1"})
    bad_tiers = {**ETH, "tiers": [tier("100", "0.01", "50", "0"), tier("100", "0.02", "25", "1")]}
    err("INVALID_ARGUMENT", "reset", {"contracts": {"ETHUSDT": bad_tiers}, "available_balance": "1"})
    err("INVALID_ARGUMENT", "reset", {"contracts": {"ETHUSDT": {**ETH, "tiers": []}}, "available_balance": "1"})
    err("INVALID_ARGUMENT", "reset", {"contracts": {"ETHUSDT": {**ETH, "liquidation_buffer_rate": "1"}},
                                      "available_balance": "1"})
    err("INVALID_ARGUMENT", "reset", {"contracts": CONTRACTS, "available_balance": 1})
    p.ok("query", B, before)

    # -- lines that are not requests
    reply = p.raw("this is not json")
    assert reply["ok"] is False and reply["error"]["code"] == "INVALID_ARGUMENT", reply
    reply = p.raw('{"id": 99, "op": "query", "args": {"symbol": "BTCUSDT", "x": 1e400}}')
    assert reply["id"] == 99 and reply["ok"], reply

    everything = {"UNKNOWN_SYMBOL", "INVALID_ARGUMENT", "NO_MARK_PRICE", "POSITION_EXISTS", "NO_POSITION",
                  "NOTIONAL_TOO_LARGE", "BELOW_MIN_MARGIN", "INSUFFICIENT_BALANCE", "INSUFFICIENT_COVERAGE",
                  "LEVERAGE_TOO_HIGH", "MODE_LOCKED", "UNSUPPORTED"}
    missing = everything - seen_codes
    assert not missing, f"error codes not exercised: {sorted(missing)}"



# --------------------------------------------------------------------------- independent checks

def _F(x: str) -> Fraction:
    return Fraction(x)


def _slack(contract: dict, pos: dict, price: Fraction) -> Fraction:
    """equity - maintenance margin at a mark price, computed directly (not from the closed form)."""
    d = 1 if pos["side"] == "long" else -1
    n = _F(pos["size"]) * _F(contract["contract_multiplier"])
    # maintenance on the mark (or, with maintenance_basis entry, the entry) notional, the fee reserved on top
    basis = n * (_F(pos["entry_price"]) if contract.get("maintenance_basis") == "entry" else price)
    tiers = contract["tiers"]
    t = next((t for t in tiers if basis <= _F(t["max_notional"])), tiers[-1])
    fee = _F(contract.get("taker_fee_rate", "0"))
    mm = basis * (_F(t["maintenance_margin_rate"]) + fee) - _F(t["maintenance_amount"])
    return _F(pos["isolated_margin"]) + d * n * (price - _F(pos["entry_price"])) - mm


def check_liquidation_price(contract: dict, pos: dict, mark: str) -> None:
    """A live position is safe at its mark; every mark strictly on the safe side of the rounded
    liquidation price is safe; one tick past it is not."""
    tick = _F(contract["tick_size"])
    tiny = tick / 1000
    if _slack(contract, pos, _F(mark)) <= 0:
        raise Failure(f"a live position is liquidatable: {pos}")
    lp = pos["liquidation_price"]
    if lp is None:
        if pos["side"] == "long" and _slack(contract, pos, tiny) <= 0:
            raise Failure(f"null liquidation price, yet a tiny mark liquidates: {pos}")
        return
    L = _F(lp)
    if L % tick != 0:
        raise Failure(f"liquidation price not on the tick: {pos}")
    safe, unsafe = (L + tiny, L - tick) if pos["side"] == "long" else (L - tiny, L + tick)
    if safe > 0 and _slack(contract, pos, safe) <= 0:
        raise Failure(f"a mark on the safe side of the liquidation price liquidates: {pos}")
    if unsafe > 0 and _slack(contract, pos, unsafe) > 0:
        raise Failure(f"the liquidation price is more than a tick from the root: {pos}")


def _total(states: dict) -> Fraction:
    any_state = next(iter(states.values()))
    total = _F(any_state["available_balance"]) + _F(any_state["insurance_fund"])
    for st in states.values():
        if st["position"] is not None:
            total += _F(st["position"]["isolated_margin"])
    return total


def expected_flow(op: str, reply: dict, contract: dict, before: dict | None) -> Fraction:
    """Conservation (invariant 6): the change of available + margins + fund an action must cause."""
    if not reply["ok"] or before is None:
        return Fraction(0)
    result = reply["result"]
    d = 1 if before["side"] == "long" else -1
    n = _F(before["size"]) * _F(contract["contract_multiplier"])
    flow = Fraction(0)
    if op == "close_position":
        flow += _F(before["unrealized_pnl"])
    if op == "apply_funding":
        flow += -d * _F(result["fee"])
    if result.get("liquidated"):
        flow += d * n * (_F(result["fill_price"]) - _F(before["entry_price"]))
    return flow

# --------------------------------------------------------------------------- random walk

def _places(step: str) -> int:
    """Decimal places of a step written as a decimal string ("0.0001" -> 4, "1" -> 0)."""
    return len(step.partition(".")[2].rstrip("0"))


class Walk:
    """The random walk's scale for one contract, from its own parameters: the mark at which 1000
    lots reach tier 1's max_notional, sizes from one lot to past the last tier, amounts as fractions
    of tier 1's max_notional, leverage up to a little above tier 1's max, decimals of its steps."""

    def __init__(self, contract: dict) -> None:
        self.multiplier = float(contract["contract_multiplier"])
        self.lot = _F(contract["lot_size"])
        tick = _F(contract["tick_size"])
        self.tick = float(tick)
        self.tick_places = _places(contract["tick_size"])
        self.money_places = _places(contract["money_step"])
        first, last = _F(contract["tiers"][0]["max_notional"]), _F(contract["tiers"][-1]["max_notional"])
        self.tier1 = float(first)
        self.max_leverage = float(contract["tiers"][0]["max_leverage"])
        unit = _F(contract["contract_multiplier"]) * self.lot
        base = max(tick, (first / (unit * 1000)) // tick * tick)
        self.base_price = float(base)
        self.lots = []  # 1, 2, 5, 10, ... lots until one size is past the last tier at the base price
        k = 1
        while True:
            self.lots += [k, 2 * k, 5 * k]
            if unit * base * k > last or k > 10 ** 15:
                break
            k *= 10

    def size(self, rng: random.Random) -> str:
        lots = rng.choice(self.lots) * rng.randint(1, 3)
        return _decimal_text(lots * self.lot)

    def money(self, rng: random.Random) -> str:
        scale = rng.choice([2e-7, 2e-5, 2e-4, 1e-3, 4e-3, 0.02, 0.08]) * self.tier1
        return f"{scale * rng.uniform(0.1, 2):.{self.money_places}f}"


def _decimal_text(x: Fraction) -> str:
    """A Fraction with a terminating decimal expansion as plain decimal text."""
    sign, x = ("-" if x < 0 else ""), abs(x)
    whole, rest = divmod(x, 1)
    digits = ""
    while rest and len(digits) < 40:
        rest *= 10
        d, rest = divmod(rest, 1)
        digits += str(d)
    return sign + str(whole) + ("." + digits if digits else "")


def random_walk(p: Pair, steps: int, seed: int, contracts: dict | None = None) -> dict[str, int]:
    contracts = CONTRACTS if contracts is None else contracts
    rng = random.Random(seed)
    symbols = list(contracts)
    walk = {s: Walk(c) for s, c in contracts.items()}
    funds = 0.4 * max(w.tier1 for w in walk.values())
    marks: dict[str, float] = {}
    outcomes: dict[str, int] = {}

    def dec(x: float, places: int) -> str:
        return f"{x:.{places}f}"

    def price(sym: str) -> str:
        w = walk[sym]
        centre = marks.get(sym, w.base_price)
        x = max(centre * rng.uniform(0.9, 1.1), w.tick)
        if rng.random() < 0.05:
            x = w.base_price * rng.uniform(0.5, 1.5)
        return dec(x, max(0, w.tick_places + rng.choice([-1, 0, 1, 2])))

    def junk():
        return rng.choice(["", "abc", "1e2", 5, None, "-1", "0", "0.00001", "1.5"])

    p.ok("reset", {"contracts": contracts, "available_balance": dec(funds, 2)}, {})
    marks.clear()
    states: dict = {}
    for _ in range(steps):
        sym = rng.choice(symbols)
        w = walk[sym]
        places = w.money_places
        roll = rng.random()
        if roll < 0.01:
            p.ok("reset", {"contracts": contracts, "available_balance": dec(rng.uniform(funds / 200, funds * 2.5), 2)}, {})
            marks.clear()
            states = {}
            continue
        if roll < 0.25:
            op, args = "set_mark_price", {"price": price(sym)}
        elif roll < 0.45:
            op, args = "open_position", {"side": rng.choice(["long", "short"]), "size": w.size(rng)}
            if rng.random() < 0.8:
                notional = float(args["size"]) * w.multiplier * marks.get(sym, w.base_price)
                args["margin"] = dec(notional / rng.uniform(1, w.max_leverage * 1.04), places) if rng.random() < 0.8 \
                    else w.money(rng)
        elif roll < 0.50:
            op, args = "add_margin", {"amount": w.money(rng)}
        elif roll < 0.62:
            op, args = "reduce_margin", {"amount": w.money(rng)}
        elif roll < 0.74:
            op, args = "set_leverage", {"leverage": dec(rng.uniform(1, w.max_leverage * 1.04), rng.choice([0, 0, 1, 2]))}
        elif roll < 0.86:
            bound = 0.02 if rng.random() < 0.8 else 0.6
            op, args = "apply_funding", {"rate": dec(rng.uniform(-bound, bound), rng.choice([4, 6, 9]))}
        elif roll < 0.91:
            op, args = "close_position", {}
        elif roll < 0.95:
            op, args = "set_margin_mode", {"mode": "cross" if rng.random() < 0.2 else "isolated"}
        else:
            op, args = "query", {}
        if rng.random() < 0.03 and args:
            args[rng.choice(list(args))] = junk()
        reply = p.both(op, {"symbol": sym, **args})
        key = f"{op}:" + ("ok" if reply["ok"] else reply["error"]["code"])
        if reply["ok"] and reply["result"].get("liquidated"):
            key += ":liquidated"
        outcomes[key] = outcomes.get(key, 0) + 1
        if op == "set_mark_price" and reply["ok"]:
            marks[sym] = float(args["price"])
        before = states[sym]["position"] if states else None
        after = {s: p.both("query", {"symbol": s})["result"] for s in symbols}
        if states and op != "reset":
            flow = expected_flow(op, reply, contracts[sym], before)
            if _total(after) - _total(states) != flow:
                raise Failure(f"conservation broken by {op} {args}: total moved by "
                              f"{_total(after) - _total(states)}, expected {flow}")
        for s in symbols:
            if after[s]["position"] is not None:
                check_liquidation_price(contracts[s], after[s]["position"], after[s]["mark_price"])
            if states and s != sym:  # isolation (invariant 2): other symbols are untouched
                own = ("margin_mode", "mark_price", "position")
                if any(after[s][k] != states[s][k] for k in own):
                    raise Failure(f"{op} on {sym} changed {s}")
        states = after
    return outcomes


def load_contracts(path: str) -> dict:
    """SYMBOL -> CONTRACT from a contracts file (JSON, or YAML with PyYAML; a top-level `contracts:`
    key is accepted), or from a vector file: the contracts of its groups, in order of appearance."""
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise Failure(f"{path}: reading YAML needs PyYAML; give a JSON contracts file") from None
        doc = yaml.safe_load(text)
    else:
        doc = json.loads(text)
    if isinstance(doc, dict) and isinstance(doc.get("groups"), list):
        out: dict = {}
        for g in doc["groups"]:
            for sym, c in g.get("contracts", {}).items():
                if out.setdefault(sym, c) != c:
                    raise Failure(f"{path}: {sym} has different contracts in different groups; give a contracts file")
        doc = out
    elif isinstance(doc, dict) and list(doc) == ["contracts"]:
        doc = doc["contracts"]
    if not isinstance(doc, dict) or not doc or not all(isinstance(c, dict) and c.get("tiers") for c in doc.values()):
        raise Failure(f"{path}: not a contracts file (SYMBOL -> CONTRACT) nor a vector file")
    # YAML may read an unquoted decimal as a number: the protocol wants decimal strings
    return {str(s): {k: (v if isinstance(v, (str, list)) else str(v)) for k, v in c.items()} for s, c in doc.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="random-walk steps (default 3000)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--contracts", metavar="FILE",
                        help="the random walk's contracts: a contracts file (SYMBOL -> CONTRACT, JSON or YAML) or a "
                             "vector file (the contracts of its groups); default: the scenario's two")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the random-walk outcome counts")
    opts = parser.parse_args(argv)
    try:
        contracts = load_contracts(opts.contracts) if opts.contracts else None
    except (Failure, OSError, ValueError) as failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        return 2
    p = Pair()
    try:
        scenario(p)
        print(f"scenario: ok ({p.steps} requests, identical replies, expectations met)")
        before = p.steps
        outcomes = random_walk(p, opts.steps, opts.seed, contracts)
        print(f"random walk: ok ({p.steps - before} requests, seed {opts.seed}, "
              f"{len(contracts or CONTRACTS)} contract(s), identical replies)")
        if opts.verbose:
            for key in sorted(outcomes):
                print(f"  {key}: {outcomes[key]}")
    except Failure as failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        return 1
    finally:
        p.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

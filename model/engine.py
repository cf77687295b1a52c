"""The reference engine: PROTOCOL.md version 1 served by the exact interpreter.

`ReferenceEngine.handle(request) -> reply` works in-process; `serve(stdin, stdout)` speaks JSON
lines. Bad input never stops the engine: it gets an error reply and the next line is read.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping

from . import __version__
from .interpreter import EvalError, Interpreter
from .numbers import format_decimal, parse_decimal
from .rulebook import Contract, Rulebook, load_rulebook

PROTOCOL_VERSION = 1
ENGINE_NAME = "marginspec-reference"
SESSION_OPS = ("hello", "reset", "query", "shutdown")


class Refusal(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class World:
    """The whole state: contracts, the account and each symbol's flat state (replaced, never mutated)."""

    contracts: Mapping[str, Contract] = field(default_factory=dict)
    contract_values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    account: Mapping[str, Any] = field(default_factory=dict)
    symbols: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def to_json_value(v: Any) -> Any:
    """Interpreter values as protocol JSON: numbers as decimal strings, records recursively."""
    if isinstance(v, Fraction):
        return format_decimal(v)
    if isinstance(v, dict):
        return {k: to_json_value(x) for k, x in v.items()}
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v


def contract_json(c: Contract, rb: Rulebook | None = None) -> dict:
    """A contract as the protocol's CONTRACT object (the `reset` argument). Parameters the
    protocol added as optional are left out at their default, so an engine that predates them
    reads every contract that does not use them."""
    omit = {p.name for p in (rb or _shipped()).params if p.optional and c.params.get(p.name) == p.default}
    params = {k: v for k, v in c.params.items() if k not in omit}
    return {**to_json_value(params), "tiers": [to_json_value(dict(t)) for t in c.tiers]}


def _shipped() -> Rulebook:
    global _SHIPPED
    if _SHIPPED is None:
        _SHIPPED = load_rulebook()
    return _SHIPPED


_SHIPPED: Rulebook | None = None


class ReferenceEngine:
    def __init__(self, rulebook: Rulebook | None = None):
        self.rb = rulebook or load_rulebook()
        self.interp = Interpreter(self.rb)
        self.world = World()
        self.account_fields = tuple(f.name for f in self.rb.state if f.scope == "account")
        self.stopped = False
        self.last_outcome = None  # the interpreter's Outcome of the last action (for coverage)
        self._contracts: dict = {}  # (symbol, canonical JSON) -> (Contract, its formula values)

    # -- protocol ------------------------------------------------------------------------------
    def ops(self) -> list[str]:
        return list(SESSION_OPS[:2]) + [a for a in self.rb.actions] + ["shutdown"]

    def handle(self, request: Any) -> dict:
        rid = request.get("id") if isinstance(request, dict) else None
        try:
            if not isinstance(request, dict):
                raise Refusal("INVALID_ARGUMENT", "a request is a JSON object")
            op = request.get("op")
            args = request.get("args", {})
            if not isinstance(op, str):
                raise Refusal("UNSUPPORTED", "the request has no op string")
            if args is None:
                args = {}
            if not isinstance(args, dict):
                raise Refusal("INVALID_ARGUMENT", "args must be an object")
            result = self.dispatch(op, args)
        except Refusal as r:
            return {"id": rid, "ok": False, "error": {"code": r.code, "message": r.message}}
        except EvalError as e:  # a formula of the rulebook could not be evaluated: answer, keep serving
            return {"id": rid, "ok": False, "error": {"code": "INTERNAL", "message": f"rulebook error: {e}"}}
        return {"id": rid, "ok": True, "result": result}

    def dispatch(self, op: str, args: dict) -> dict:
        if op == "hello":
            return {"protocol": PROTOCOL_VERSION, "engine": ENGINE_NAME, "version": __version__, "ops": self.ops()}
        if op == "reset":
            self.reset(args)
            return {}
        if op == "shutdown":
            self.stopped = True
            return {}
        if op not in self.rb.actions:
            raise Refusal("UNSUPPORTED", f"unknown op {op!r}")
        return self.act(op, args)

    def reset(self, args: dict) -> None:
        contracts = args.get("contracts")
        if not isinstance(contracts, dict):
            raise Refusal("INVALID_ARGUMENT", "reset needs contracts: {SYMBOL: CONTRACT}")
        parsed = {sym: self.contract(sym, spec) for sym, spec in contracts.items()}
        balance = self.decimal(args, "available_balance")
        if balance < 0:
            raise Refusal("INVALID_ARGUMENT", "available_balance must be >= 0")
        init = self.interp.initial_symbol_state()
        self.world = World(
            contracts={s: c for s, (c, _) in parsed.items()},
            contract_values={s: v for s, (_, v) in parsed.items()},
            account=self.interp.initial_account(balance),
            symbols={s: dict(init) for s in parsed},
        )

    def contract(self, symbol: str, spec: Any) -> tuple[Contract, Mapping[str, Any]]:
        """A validated contract and the values it gives formulas. A conformance run resets with the
        same contracts before every case, so each distinct one is parsed and validated once."""
        try:
            key = (symbol, json.dumps(spec, sort_keys=True))
        except (TypeError, ValueError):
            key = None
        hit = self._contracts.get(key)
        if hit is None:
            c = self.parse_contract(symbol, spec)
            hit = (c, self.interp.contract_values(c))
            if key is not None:
                self._contracts[key] = hit
        return hit

    def parse_contract(self, symbol: str, spec: Any) -> Contract:
        if not isinstance(spec, dict):
            raise Refusal("INVALID_ARGUMENT", f"contract {symbol} must be an object")
        params = {}
        for p in self.rb.params:
            if p.name in spec and p.enum:
                values = self.rb.enums[p.enum]
                if spec[p.name] not in values:
                    raise Refusal("INVALID_ARGUMENT", f"contract {symbol}: {p.name}: {spec[p.name]!r} is not one of "
                                                      f"{', '.join(values)}")
                params[p.name] = spec[p.name]
            elif p.name in spec:
                params[p.name] = self.decimal(spec, p.name, f"contract {symbol}: ")
            elif p.default is not None:
                params[p.name] = p.default
            else:
                raise Refusal("INVALID_ARGUMENT", f"contract {symbol}: missing {p.name}")
        tiers = spec.get("tiers")
        if not isinstance(tiers, list) or not tiers:
            raise Refusal("INVALID_ARGUMENT", f"contract {symbol}: tiers must be a non-empty list")
        rows = []
        for i, t in enumerate(tiers, 1):
            if not isinstance(t, dict):
                raise Refusal("INVALID_ARGUMENT", f"contract {symbol}: tier {i} must be an object")
            rows.append({f.name: self.decimal(t, f.name, f"contract {symbol} tier {i}: ") for f in self.rb.tier_fields})
        c = Contract(symbol, params, tuple(rows))
        problems = self.interp.contract_problems(c)
        if any(a["max_notional"] >= b["max_notional"] for a, b in zip(rows, rows[1:])):
            problems.append("tier max_notional must increase")
        if problems:
            raise Refusal("INVALID_ARGUMENT", f"contract {symbol}: " + "; ".join(problems))
        return c

    @staticmethod
    def decimal(obj: dict, key: str, where: str = "") -> Fraction:
        if key not in obj:
            raise Refusal("INVALID_ARGUMENT", f"{where}missing {key}")
        try:
            return parse_decimal(obj[key])
        except ValueError:
            raise Refusal("INVALID_ARGUMENT", f"{where}{key}: {obj[key]!r} is not a decimal string") from None

    def act(self, op: str, args: dict) -> dict:
        w = self.world
        symbol = args.get("symbol")
        if not isinstance(symbol, str):
            raise Refusal("INVALID_ARGUMENT", "missing symbol")
        if symbol not in w.contracts:
            raise Refusal("UNKNOWN_SYMBOL", f"unknown symbol {symbol!r}")
        action = self.rb.actions[op]
        parsed: dict[str, Any] = {}
        for a in action.args:
            if a.name not in args:
                if a.optional:
                    parsed[a.name] = None
                    continue
                raise Refusal("INVALID_ARGUMENT", f"missing argument {a.name}")
            raw = args[a.name]
            if a.ty.kind == "num":
                try:
                    parsed[a.name] = parse_decimal(raw)
                except ValueError:
                    raise Refusal("INVALID_ARGUMENT", f"{a.name}: {raw!r} is not a decimal string") from None
            elif a.ty.kind == "enum":
                values = self.rb.enums[a.ty.enum]
                if raw not in values:
                    raise Refusal("INVALID_ARGUMENT", f"{a.name}: {raw!r} is not one of {', '.join(values)}")
                parsed[a.name] = raw
        cvals = w.contract_values[symbol]
        bad = self.interp.invalid_argument(op, cvals, parsed)
        if bad is not None:
            valid = next(x.valid for x in action.args if x.name == bad)
            from .printer import to_text
            raise Refusal("INVALID_ARGUMENT", f"{bad}: {args[bad]} does not satisfy {to_text(valid)}")
        values = {**cvals, **w.account, **w.symbols[symbol]}
        out = self.interp.run(op, values, parsed)
        self.last_outcome = out
        if not out.ok:
            raise Refusal(out.error, out.message)
        new = out.values
        account = {k: new[k] for k in self.account_fields}
        sym = {k: new[k] for k in w.symbols[symbol]}
        if account != w.account or sym != w.symbols[symbol]:
            self.world = World(w.contracts, w.contract_values, account, {**w.symbols, symbol: sym})
        try:
            return to_json_value(out.result)
        except ValueError as e:  # a value the rulebook left unrounded has no decimal form
            raise EvalError(f"{op}: {e}") from None


def serve(stdin=None, stdout=None, engine: ReferenceEngine | None = None) -> int:
    """Serve the protocol on JSON lines until `shutdown` or end of input."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    engine = engine or ReferenceEngine()
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    for line in stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError as e:
            reply = {"id": None, "ok": False, "error": {"code": "INVALID_ARGUMENT", "message": f"not JSON: {e}"}}
        else:
            reply = engine.handle(request)
        stdout.write(dumps(reply) + "\n")
        stdout.flush()
        if engine.stopped:
            break
    return 0

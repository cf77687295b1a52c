#!/usr/bin/env python3
"""A hand-written baseline engine for the isolated-margin rulebook.

This is the speed baseline the reference engine is measured against: a straightforward
implementation of /work/shared/RULES.md and spec/notes.yaml with exact ``fractions.Fraction``
arithmetic, written directly (no rulebook interpreter). Stdlib only.

Use it as a library::

    engine = BaselineEngine()
    reply = engine.handle({"id": 1, "op": "hello", "args": {}})

or as a process speaking the engine protocol (PROTOCOL.md, JSON lines over stdin/stdout)::

    python bench/baseline_engine.py
"""

from __future__ import annotations

import json
import math
import re
import sys
from fractions import Fraction

ENGINE_NAME = "marginspec-baseline"
ENGINE_VERSION = "1.0.0"

_DECIMAL = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_ZERO = Fraction(0)
_ONE = Fraction(1)
_HALF = Fraction(1, 2)
_CENT = Fraction(1, 100)
_DEFAULT_BUFFER = Fraction(5, 1000)


class EngineError(Exception):
    """A refused request: an error code of the protocol and a message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _invalid(message: str) -> EngineError:
    return EngineError("INVALID_ARGUMENT", message)


# --------------------------------------------------------------------------- numbers


def parse_decimal(value: object, name: str) -> Fraction:
    """A plain decimal string ("50000", "-0.0001") as an exact Fraction (N-numbers)."""
    if not isinstance(value, str) or _DECIMAL.fullmatch(value) is None:
        raise _invalid(f"{name} must be a plain decimal string")
    sign = -1 if value[0] == "-" else 1
    body = value.lstrip("+-")
    whole, _, frac = body.partition(".")
    return Fraction(sign * int(whole + frac), 10 ** len(frac))


def format_decimal(x: Fraction) -> str:
    """An exact decimal string with no exponent and no trailing zeros."""
    num, den = x.numerator, x.denominator
    rest, twos, fives = den, 0, 0
    while rest % 2 == 0:
        rest //= 2
        twos += 1
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    if rest != 1:
        raise ValueError(f"{x} has no finite decimal expansion")
    places = max(twos, fives)
    scaled = num * 10**places // den
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled))
    if places == 0:
        return sign + digits
    digits = digits.rjust(places + 1, "0")
    whole, frac = digits[:-places], digits[-places:].rstrip("0")
    return sign + whole + ("." + frac if frac else "")


def floor_to(x: Fraction, step: Fraction) -> Fraction:
    return math.floor(x / step) * step


def ceil_to(x: Fraction, step: Fraction) -> Fraction:
    return math.ceil(x / step) * step


def round_half_away(x: Fraction, step: Fraction) -> Fraction:
    q = x / step
    r = math.floor(abs(q) + _HALF)
    return (r if q >= 0 else -r) * step


def _is_multiple(x: Fraction, step: Fraction) -> bool:
    return (x / step).denominator == 1


def _fmt_opt(x: Fraction | None) -> str | None:
    return None if x is None else format_decimal(x)


# --------------------------------------------------------------------------- state


class Tier:
    __slots__ = ("max_notional", "mmr", "max_leverage", "amount")

    def __init__(self, max_notional: Fraction, mmr: Fraction, max_leverage: Fraction, amount: Fraction):
        self.max_notional = max_notional
        self.mmr = mmr
        self.max_leverage = max_leverage
        self.amount = amount


class Contract:
    __slots__ = ("multiplier", "tick", "lot", "money_step", "buffer", "tiers")

    def __init__(self, multiplier, tick, lot, money_step, buffer, tiers):
        self.multiplier = multiplier
        self.tick = tick
        self.lot = lot
        self.money_step = money_step
        self.buffer = buffer
        self.tiers = tiers

    def tier_for(self, notional: Fraction) -> Tier:
        """The first tier whose max_notional is >= notional, else the last (N-tier-boundary)."""
        for tier in self.tiers:
            if notional <= tier.max_notional:
                return tier
        return self.tiers[-1]

    @classmethod
    def from_json(cls, symbol: str, raw: object) -> "Contract":
        """Parse and validate one contract of a reset (N-reset)."""
        if not isinstance(raw, dict):
            raise _invalid(f"contract {symbol} must be an object")

        def field(obj: dict, key: str, where: str) -> Fraction:
            if key not in obj:
                raise _invalid(f"{where}: {key} is missing")
            return parse_decimal(obj[key], f"{where}: {key}")

        where = f"contract {symbol}"
        # Protocol v1 additions this engine does not implement: refused when set, never ignored.
        if "taker_fee_rate" in raw and parse_decimal(raw["taker_fee_rate"], f"{where}: taker_fee_rate") != 0:
            raise _invalid(f"{where}: taker_fee_rate is not implemented by this engine")
        if raw.get("maintenance_basis", "mark") != "mark":
            raise _invalid(f"{where}: maintenance_basis {raw['maintenance_basis']!r} is not implemented by this engine")
        multiplier = field(raw, "contract_multiplier", where)
        tick = field(raw, "tick_size", where)
        lot = field(raw, "lot_size", where)
        money_step = field(raw, "money_step", where)
        if "liquidation_buffer_rate" in raw:
            buffer = field(raw, "liquidation_buffer_rate", where)
        else:
            buffer = _DEFAULT_BUFFER
        for name, value in (("contract_multiplier", multiplier), ("tick_size", tick),
                            ("lot_size", lot), ("money_step", money_step)):
            if value <= 0:
                raise _invalid(f"{where}: {name} must be > 0")
        if not _ZERO <= buffer < _ONE:
            raise _invalid(f"{where}: liquidation_buffer_rate must be in [0, 1)")
        raw_tiers = raw.get("tiers")
        if not isinstance(raw_tiers, list) or not raw_tiers:
            raise _invalid(f"{where}: tiers must be a non-empty list")
        tiers: list[Tier] = []
        previous = _ZERO
        for i, raw_tier in enumerate(raw_tiers, start=1):
            tw = f"{where} tier {i}"
            if not isinstance(raw_tier, dict):
                raise _invalid(f"{tw} must be an object")
            tier = Tier(
                field(raw_tier, "max_notional", tw),
                field(raw_tier, "maintenance_margin_rate", tw),
                field(raw_tier, "max_leverage", tw),
                field(raw_tier, "maintenance_amount", tw),
            )
            if tier.max_notional <= previous:
                raise _invalid(f"{tw}: max_notional must be positive and increasing")
            if not _ZERO <= tier.mmr < _ONE:
                raise _invalid(f"{tw}: maintenance_margin_rate must be in [0, 1)")
            if tier.max_leverage < 1:
                raise _invalid(f"{tw}: max_leverage must be >= 1")
            if tier.amount < 0:
                raise _invalid(f"{tw}: maintenance_amount must be >= 0")
            previous = tier.max_notional
            tiers.append(tier)
        return cls(multiplier, tick, lot, money_step, buffer, tiers)


class Position:
    __slots__ = ("side", "size", "entry", "margin")

    def __init__(self, side: str, size: Fraction, entry: Fraction, margin: Fraction):
        self.side = side
        self.size = size
        self.entry = entry
        self.margin = margin


class SymbolState:
    __slots__ = ("mode", "mark", "default_leverage", "position")

    def __init__(self) -> None:
        self.mode = "isolated"
        self.mark: Fraction | None = None
        self.default_leverage: Fraction | None = None
        self.position: Position | None = None


class Figures:
    """The derived values of a position at its symbol's mark price."""

    __slots__ = ("d", "n", "notional", "upnl", "equity", "tier", "mm")

    def __init__(self, contract: Contract, pos: Position, mark: Fraction, margin: Fraction | None = None):
        if margin is None:
            margin = pos.margin
        self.d = 1 if pos.side == "long" else -1
        self.n = pos.size * contract.multiplier
        self.notional = self.n * mark
        self.upnl = self.d * self.n * (mark - pos.entry)
        self.equity = margin + self.upnl
        self.tier = contract.tier_for(self.notional)
        self.mm = self.notional * self.tier.mmr - self.tier.amount


# --------------------------------------------------------------------------- the engine


class BaselineEngine:
    """One account: contracts, per-symbol state, available balance and insurance fund."""

    def __init__(self) -> None:
        self.contracts: dict[str, Contract] = {}
        self.symbols: dict[str, SymbolState] = {}
        self.available = _ZERO
        self.insurance = _ZERO

    # -- dispatch

    def handle(self, request: dict) -> dict:
        rid = request.get("id") if isinstance(request, dict) else None
        try:
            if not isinstance(request, dict):
                raise _invalid("a request must be a JSON object")
            op = request.get("op")
            handler = self._HANDLERS.get(op) if isinstance(op, str) else None
            if handler is None:
                raise EngineError("UNSUPPORTED", f"unsupported op {op!r}")
            args = request.get("args")
            if args is None:
                args = {}
            if not isinstance(args, dict):
                raise _invalid("args must be a JSON object")
            result = handler(self, args)
        except EngineError as err:
            return {"id": rid, "ok": False, "error": {"code": err.code, "message": err.message}}
        return {"id": rid, "ok": True, "result": result}

    # -- common checks

    def _symbol(self, args: dict) -> tuple[Contract, SymbolState]:
        symbol = args.get("symbol")
        if not isinstance(symbol, str):
            raise _invalid("symbol must be a string")
        contract = self.contracts.get(symbol)
        if contract is None:
            raise EngineError("UNKNOWN_SYMBOL", f"unknown symbol {symbol!r}")
        return contract, self.symbols[symbol]

    @staticmethod
    def _arg(args: dict, name: str) -> Fraction:
        if name not in args:
            raise _invalid(f"{name} is missing")
        return parse_decimal(args[name], name)

    def _positive(self, args: dict, name: str) -> Fraction:
        value = self._arg(args, name)
        if value <= 0:
            raise _invalid(f"{name} must be > 0")
        return value

    def _money(self, args: dict, name: str, contract: Contract) -> Fraction:
        value = self._positive(args, name)
        if not _is_multiple(value, contract.money_step):
            raise _invalid(f"{name} must be a multiple of money_step")
        return value

    @staticmethod
    def _choice(args: dict, name: str, allowed: tuple[str, ...]) -> str:
        value = args.get(name)
        if not isinstance(value, str) or value not in allowed:
            raise _invalid(f"{name} must be one of {', '.join(allowed)}")
        return value

    # -- derived values and liquidation

    @staticmethod
    def _liquidation_price(contract: Contract, pos: Position, f: Figures) -> Fraction | None:
        d, n = f.d, f.n
        root = None
        for tier in contract.tiers:
            root = (n * pos.entry - d * (pos.margin + tier.amount)) / (n * (1 - d * tier.mmr))
            if n * root <= tier.max_notional:
                break
        if root <= 0:
            return None
        return ceil_to(root, contract.tick) if d == 1 else floor_to(root, contract.tick)

    @staticmethod
    def _bankruptcy_price(contract: Contract, pos: Position, f: Figures) -> Fraction | None:
        if f.d == 1:
            price = ceil_to(pos.entry - pos.margin / f.n, contract.tick)
        else:
            price = floor_to(pos.entry + pos.margin / f.n, contract.tick)
        return price if price > 0 else None

    def _liquidate_if_needed(self, contract: Contract, state: SymbolState) -> Fraction | None:
        """Liquidate the whole position when equity <= maintenance margin; the fill price or None."""
        pos = state.position
        if pos is None:
            return None
        mark = state.mark
        f = Figures(contract, pos, mark)
        if f.equity > f.mm:
            return None
        if f.d == 1:
            fill = floor_to(mark * (1 - contract.buffer), contract.tick)
        else:
            fill = ceil_to(mark * (1 + contract.buffer), contract.tick)
        self.insurance += pos.margin + f.d * f.n * (fill - pos.entry)
        state.position = None
        return fill

    # -- margin moves shared by add/reduce_margin and set_leverage

    def _check_add(self, amount: Fraction) -> None:
        if amount > self.available:
            raise EngineError("INSUFFICIENT_BALANCE", "amount exceeds the available balance")

    def _check_reduce(self, contract: Contract, state: SymbolState, amount: Fraction) -> None:
        pos = state.position
        new_margin = pos.margin - amount
        f = Figures(contract, pos, state.mark, new_margin)
        if not (new_margin > 0 and f.equity > f.mm):
            raise EngineError("INSUFFICIENT_COVERAGE", "the remaining margin would not cover maintenance")
        if new_margin < f.notional / f.tier.max_leverage:
            raise EngineError("LEVERAGE_TOO_HIGH", "the remaining margin is below notional / max_leverage")

    def _move(self, state: SymbolState, amount: Fraction) -> None:
        """Move amount from the available balance into the position's margin (negative: back)."""
        self.available -= amount
        state.position.margin += amount

    # -- ops

    def op_hello(self, args: dict) -> dict:
        return {"protocol": 1, "engine": ENGINE_NAME, "version": ENGINE_VERSION}

    def op_shutdown(self, args: dict) -> dict:
        return {}

    def op_reset(self, args: dict) -> dict:
        raw_contracts = args.get("contracts")
        if not isinstance(raw_contracts, dict):
            raise _invalid("contracts must be an object")
        contracts = {symbol: Contract.from_json(symbol, raw) for symbol, raw in raw_contracts.items()}
        available = self._arg(args, "available_balance")
        if available < 0:
            raise _invalid("available_balance must be >= 0")
        self.contracts = contracts
        self.symbols = {symbol: SymbolState() for symbol in contracts}
        self.available = available
        self.insurance = _ZERO
        return {}

    def op_set_mark_price(self, args: dict) -> dict:
        contract, state = self._symbol(args)
        price = self._positive(args, "price")
        state.mark = price
        fill = self._liquidate_if_needed(contract, state)
        if fill is None:
            return {"liquidated": False}
        return {"liquidated": True, "fill_price": format_decimal(fill)}

    def op_set_margin_mode(self, args: dict) -> dict:
        _, state = self._symbol(args)
        mode = self._choice(args, "mode", ("isolated", "cross"))
        if state.position is not None:
            raise EngineError("MODE_LOCKED", "the margin mode cannot change while a position is open")
        state.mode = mode
        return {}

    def op_set_leverage(self, args: dict) -> dict:
        contract, state = self._symbol(args)
        leverage = self._arg(args, "leverage")
        if leverage < 1:
            raise _invalid("leverage must be >= 1")
        pos = state.position
        if pos is None:
            if leverage > contract.tiers[0].max_leverage:
                raise EngineError("LEVERAGE_TOO_HIGH", "leverage exceeds the max leverage of tier 1")
            state.default_leverage = leverage
            return {}
        f = Figures(contract, pos, state.mark)
        if leverage > f.tier.max_leverage:
            raise EngineError("LEVERAGE_TOO_HIGH", "leverage exceeds the max leverage of the position's tier")
        target = ceil_to(f.notional / leverage, contract.money_step)
        if target > pos.margin:
            self._check_add(target - pos.margin)
        elif target < pos.margin:
            self._check_reduce(contract, state, pos.margin - target)
        self._move(state, target - pos.margin)
        state.default_leverage = leverage
        return {}

    def op_open_position(self, args: dict) -> dict:
        contract, state = self._symbol(args)
        side = self._choice(args, "side", ("long", "short"))
        size = self._positive(args, "size")
        if not _is_multiple(size, contract.lot):
            raise _invalid("size must be a multiple of lot_size")
        margin = self._money(args, "margin", contract) if "margin" in args else None
        if state.mode == "cross":
            raise _invalid("cross margin is outside this rulebook")
        if state.mark is None:
            raise EngineError("NO_MARK_PRICE", "no mark price has been set")
        if state.position is not None:
            raise EngineError("POSITION_EXISTS", "a position is already open")
        notional = size * contract.multiplier * state.mark
        if margin is None:
            if state.default_leverage is None:
                raise _invalid("no margin given and no default leverage set")
            margin = ceil_to(notional / state.default_leverage, contract.money_step)
        if notional > contract.tiers[-1].max_notional:
            raise EngineError("NOTIONAL_TOO_LARGE", "notional exceeds the last tier")
        if margin < notional / contract.tier_for(notional).max_leverage:
            raise EngineError("BELOW_MIN_MARGIN", "margin is below notional / max_leverage")
        if margin > self.available:
            raise EngineError("INSUFFICIENT_BALANCE", "margin exceeds the available balance")
        self.available -= margin
        state.position = Position(side, size, state.mark, margin)
        return {}

    def op_add_margin(self, args: dict) -> dict:
        contract, state = self._symbol(args)
        amount = self._money(args, "amount", contract)
        if state.position is None:
            raise EngineError("NO_POSITION", "no open position")
        self._check_add(amount)
        self._move(state, amount)
        return {}

    def op_reduce_margin(self, args: dict) -> dict:
        contract, state = self._symbol(args)
        amount = self._money(args, "amount", contract)
        if state.position is None:
            raise EngineError("NO_POSITION", "no open position")
        self._check_reduce(contract, state, amount)
        self._move(state, -amount)
        return {}

    def op_apply_funding(self, args: dict) -> dict:
        contract, state = self._symbol(args)
        rate = self._arg(args, "rate")
        if not -1 < rate < 1:
            raise _invalid("rate must be in (-1, 1)")
        pos = state.position
        if pos is None:
            raise EngineError("NO_POSITION", "no open position")
        fee = round_half_away(pos.size * contract.multiplier * state.mark * rate, contract.money_step)
        if pos.side == "long":
            pos.margin -= fee
        else:
            pos.margin += fee
        fill = self._liquidate_if_needed(contract, state)
        result = {"fee": format_decimal(fee), "liquidated": fill is not None}
        if fill is not None:
            result["fill_price"] = format_decimal(fill)
        return result

    def op_close_position(self, args: dict) -> dict:
        contract, state = self._symbol(args)
        pos = state.position
        if pos is None:
            raise EngineError("NO_POSITION", "no open position")
        equity = Figures(contract, pos, state.mark).equity
        returned = max(_ZERO, equity)
        self.available += returned
        self.insurance += min(_ZERO, equity)
        state.position = None
        return {"returned": format_decimal(returned)}

    def op_query(self, args: dict) -> dict:
        contract, state = self._symbol(args)
        pos = state.position
        position = None
        if pos is not None:
            f = Figures(contract, pos, state.mark)
            leverage = round_half_away(f.notional / pos.margin, _CENT) if pos.margin > 0 else None
            position = {
                "side": pos.side,
                "size": format_decimal(pos.size),
                "entry_price": format_decimal(pos.entry),
                "isolated_margin": format_decimal(pos.margin),
                "notional": format_decimal(f.notional),
                "unrealized_pnl": format_decimal(f.upnl),
                "equity": format_decimal(f.equity),
                "maintenance_margin": format_decimal(f.mm),
                "leverage": _fmt_opt(leverage),
                "liquidation_price": _fmt_opt(self._liquidation_price(contract, pos, f)),
                "bankruptcy_price": _fmt_opt(self._bankruptcy_price(contract, pos, f)),
            }
        return {
            "available_balance": format_decimal(self.available),
            "insurance_fund": format_decimal(self.insurance),
            "margin_mode": state.mode,
            "mark_price": _fmt_opt(state.mark),
            "position": position,
        }

    _HANDLERS = {
        "hello": op_hello,
        "reset": op_reset,
        "set_mark_price": op_set_mark_price,
        "set_margin_mode": op_set_margin_mode,
        "set_leverage": op_set_leverage,
        "open_position": op_open_position,
        "add_margin": op_add_margin,
        "reduce_margin": op_reduce_margin,
        "apply_funding": op_apply_funding,
        "close_position": op_close_position,
        "query": op_query,
        "shutdown": op_shutdown,
    }


# --------------------------------------------------------------------------- the process


def serve(stdin=None, stdout=None) -> int:
    """Answer protocol requests line by line until shutdown or end of input."""
    stdin = stdin if stdin is not None else sys.stdin.buffer
    stdout = stdout if stdout is not None else sys.stdout
    engine = BaselineEngine()
    while True:
        line = stdin.readline()
        if not line:
            return 0
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError:  # includes UnicodeDecodeError
            request = None
            reply = {"id": None, "ok": False,
                     "error": {"code": "INVALID_ARGUMENT", "message": "a request must be one JSON object"}}
        else:
            reply = engine.handle(request)
        stdout.write(json.dumps(reply, separators=(",", ":")) + "\n")
        stdout.flush()
        if isinstance(request, dict) and request.get("op") == "shutdown" and reply["ok"]:
            return 0


if __name__ == "__main__":
    sys.exit(serve())

"""Types and units of the expression language, and the checker that runs before anything else.

A number's unit is a vector of exponents over the rulebook's base dimensions (quote, base,
contract), so `price * quantity` is money and `price + money` is refused. The literal 0 fits any
unit; every other literal is a pure number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from . import ast
from .diagnostics import did_you_mean
from .parser import ParseError

Dims = tuple[int, ...]


@dataclass(frozen=True)
class Ty:
    kind: str  # 'num' | 'bool' | 'enum' | 'null'
    dims: Dims | None = None  # for 'num'; None for the unit-free literal 0
    enum: str | None = None
    nullable: bool = False

    def but_nullable(self, nullable: bool = True) -> "Ty":
        return Ty(self.kind, self.dims, self.enum, nullable)


BOOL = Ty("bool")
NULL = Ty("null", nullable=True)


@dataclass(frozen=True)
class UnitSystem:
    """The rulebook's units: names for dimension vectors, used in types and in messages."""

    dimensions: tuple[str, ...]
    units: Mapping[str, Dims]

    def num(self, unit: str, nullable: bool = False) -> Ty:
        return Ty("num", self.units[unit], nullable=nullable)

    def describe(self, ty: Ty) -> str:
        if ty.kind == "enum":
            return f"a {ty.enum}"
        if ty.kind == "bool":
            return "a condition"
        if ty.kind == "null":
            return "null"
        if ty.dims is None:
            return "the number 0"
        named = [u for u, d in self.units.items() if d == ty.dims]
        if named:
            return " or ".join(named) if len(named) < 3 else "a pure number"
        parts = [f"{n}^{e}" if e != 1 else n for n, e in zip(self.dimensions, ty.dims) if e]
        return "·".join(parts) if parts else "a pure number"

    def zero(self) -> Dims:
        return tuple(0 for _ in self.dimensions)


class TypeErr(Exception):
    def __init__(self, message: str, pos: int):
        super().__init__(message)
        self.message = message
        self.pos = pos


@dataclass
class Scope:
    """The names visible to an expression and their types."""

    names: dict[str, Ty]
    enums: Mapping[str, tuple[str, ...]]
    tier_fields: Mapping[str, Ty]
    in_solve: bool = False
    extra: dict[str, Ty] = field(default_factory=dict)

    def lookup(self, name: str, pos: int) -> Ty:
        if name in self.extra:
            return self.extra[name]
        if name in self.names:
            return self.names[name]
        prefix, _, fld = name.partition(".")
        if prefix in ("tier", "first_tier", "last_tier") and fld:
            if prefix == "tier" and not self.in_solve:
                raise TypeErr(f"'{name}' is only defined inside solve_tier(...); use tier(notional).{fld}", pos)
            if fld in self.tier_fields:
                return self.tier_fields[fld]
            raise TypeErr(f"unknown tier field '{fld}'{did_you_mean(fld, self.tier_fields)}", pos)
        visible = list(self.names) + list(self.extra)
        raise TypeErr(f"unknown name '{name}'{did_you_mean(name, visible)}", pos)


class Checker:
    def __init__(self, units: UnitSystem):
        self.units = units

    def _same(self, a: Ty, b: Ty, what: str, pos: int) -> Ty:
        """The common type of two operands that must agree (sum, comparison, branches)."""
        if a.kind == "null":
            return b.but_nullable()
        if b.kind == "null":
            return a.but_nullable()
        if a.kind != b.kind or a.enum != b.enum:
            raise TypeErr(f"{what}: {self.units.describe(a)} and {self.units.describe(b)} do not mix", pos)
        if a.kind == "num":
            if a.dims is None:
                return b.but_nullable(a.nullable or b.nullable)
            if b.dims is not None and a.dims != b.dims:
                raise TypeErr(f"{what}: unit mismatch, {self.units.describe(a)} and {self.units.describe(b)}", pos)
        return a.but_nullable(a.nullable or b.nullable)

    def _num(self, t: Ty, what: str, pos: int) -> Ty:
        if t.kind != "num":
            raise TypeErr(f"{what} needs a number, not {self.units.describe(t)}", pos)
        return t

    def _bool(self, t: Ty, what: str, pos: int) -> Ty:
        if t.kind != "bool":
            raise TypeErr(f"{what} needs a condition, not {self.units.describe(t)}", pos)
        return t

    def check(self, e: ast.Expr, scope: Scope) -> Ty:
        m = getattr(self, "_" + type(e).__name__)
        return m(e, scope)

    def _Num(self, e, s):
        return Ty("num", None if e.value == 0 else self.units.zero())

    def _Str(self, e, s):
        return Ty("enum", enum="?literal")

    def _Null(self, e, s):
        return NULL

    def _Bool(self, e, s):
        return BOOL

    def _Name(self, e, s):
        return s.lookup(e.name, e.pos)

    def _Unary(self, e, s):
        t = self.check(e.operand, s)
        if e.op == "not":
            return self._bool(t, "'not'", e.pos)
        return self._num(t, "'-'", e.pos)

    def _Binary(self, e, s):
        a = self._num(self.check(e.left, s), f"'{e.op}'", e.pos)
        b = self._num(self.check(e.right, s), f"'{e.op}'", e.pos)
        nullable = a.nullable or b.nullable
        if e.op in "+-":
            verb = "adding" if e.op == "+" else "subtracting"
            return self._same(a, b, verb, e.pos)
        da = a.dims if a.dims is not None else self.units.zero()
        db = b.dims if b.dims is not None else self.units.zero()
        sign = 1 if e.op == "*" else -1
        return Ty("num", tuple(x + sign * y for x, y in zip(da, db)), nullable=nullable)

    def _enum_literal(self, enum_ty: Ty, lit: ast.Expr, s: Scope):
        if isinstance(lit, ast.Str):
            values = s.enums[enum_ty.enum]
            if lit.value not in values:
                raise TypeErr(f"'{lit.value}' is not a {enum_ty.enum}{did_you_mean(lit.value, values)}; "
                              f"a {enum_ty.enum} is one of {', '.join(values)}", lit.pos)

    def _Compare(self, e, s):
        a, b = self.check(e.left, s), self.check(e.right, s)
        if "?literal" in (a.enum, b.enum):
            if e.op not in ("==", "!="):
                raise TypeErr(f"'{e.op}' does not order names; use == or !=", e.pos)
            enum_ty, lit = (a, e.right) if b.enum == "?literal" else (b, e.left)
            if enum_ty.kind != "enum" or enum_ty.enum == "?literal":
                raise TypeErr(f"a quoted name compares only with a {' or '.join(s.enums)}, "
                              f"not {self.units.describe(enum_ty)}", e.pos)
            self._enum_literal(enum_ty, lit, s)
            return BOOL
        if a.kind == "null" or b.kind == "null":
            if e.op not in ("==", "!="):
                raise TypeErr("null is not ordered; only '== null' and '!= null' test it", e.pos)
            other = b if a.kind == "null" else a
            if not other.nullable:
                raise TypeErr("comparing with null a value that is never null", e.pos)
            return BOOL
        t = self._same(a, b, f"comparison '{e.op}'", e.pos)
        if e.op not in ("==", "!=") and t.kind != "num":
            raise TypeErr(f"'{e.op}' needs numbers, not {self.units.describe(t)}", e.pos)
        return BOOL

    def _Logic(self, e, s):
        self._bool(self.check(e.left, s), f"'{e.op}'", e.pos)
        self._bool(self.check(e.right, s), f"'{e.op}'", e.pos)
        return BOOL

    def _If(self, e, s):
        self._bool(self.check(e.cond, s), "'if'", e.pos)
        return self._same(self.check(e.then, s), self.check(e.otherwise, s), "the two branches of 'if'", e.pos)

    def _Call(self, e, s):
        ts = [self._num(self.check(a, s), f"{e.func}()", e.pos) for a in e.args]
        if e.func == "multiple_of":
            self._same(ts[0], ts[1], "multiple_of()", e.pos)
            return BOOL
        t = ts[0]
        for other in ts[1:]:
            t = self._same(t, other, f"{e.func}()", e.pos)
        return t

    def _Round(self, e, s):
        v = self._num(self.check(e.value, s), "round()", e.pos)
        st = self._num(self.check(e.step, s), "the step of round()", e.pos)
        return self._same(v, st, "round(value, step)", e.pos)

    def _TierField(self, e, s):
        t = self._num(self.check(e.notional, s), "tier()", e.pos)
        money = self.units.units["money"]
        if t.dims is not None and t.dims != money:
            raise TypeErr(f"tier() looks up a notional (money), not {self.units.describe(t)}", e.pos)
        if e.field not in s.tier_fields:
            raise TypeErr(f"unknown tier field '{e.field}'{did_you_mean(e.field, s.tier_fields)}", e.pos)
        return s.tier_fields[e.field]

    def _SolveTier(self, e, s):
        if s.in_solve:
            raise TypeErr("solve_tier() does not nest", e.pos)
        inner = Scope(s.names, s.enums, s.tier_fields, True, dict(s.extra))
        v = self._num(self.check(e.value, inner), "solve_tier()", e.pos)
        inner.extra["value"] = v
        self._bool(self.check(e.cond, inner), "the condition of solve_tier()", e.pos)
        return v


__all__ = ["Ty", "BOOL", "NULL", "UnitSystem", "Scope", "Checker", "TypeErr", "ParseError"]

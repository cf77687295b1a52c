"""Symbolic values and the term layer of the Z3 backend: what every goal is built from.

`SV` is a value that may be null (a Z3 term and a Boolean null flag); `b_and` / `b_or` / `b_not`,
`ite`, `merge`, `arith` build terms folding Python constants (null flags are often the constant
False) and, for terms of Z3's main context, through Z3's C API directly: the very terms the Python
API builds, without its coercions and checks (goal building is mostly these calls; the fast paths
are tested in tests/prover/test_backend_fastpaths.py). `q` and `to_fraction` convert exact
rationals both ways. `EXACT` / `RELAXED` name the backend's two encodings (see z3backend.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import z3

EXACT = "exact"
RELAXED = "relaxed"


@dataclass(frozen=True)
class SV:
    """A symbolic value.

    `v`: the Z3 term (Real for numbers, Bool for conditions, Int for enumeration values) or None
    for the literal null; `null`: a Z3 Bool (or Python False) that holds when the value is null;
    `kind`: 'num' | 'bool' | 'enum' | 'null' | 'lit' (an enumeration literal not yet resolved);
    `enum`: the enumeration's name for 'enum' values, the literal text for 'lit'.
    """

    v: Any
    null: Any = False
    kind: str = "num"
    enum: str | None = None

    @property
    def nullable(self) -> bool:
        return self.null is not False


NULL = SV(None, True, "null")


# Fast paths for the terms of Z3's main context, where every backend builds: Z3 shares equal terms,
# so `true` and `false` are single ASTs (compared by address), and And / Or / Not / If are built by
# the C API directly (the same terms as z3.And & co., without the Python API's coercions and checks;
# anything else goes through the Python API as before). Goal building is mostly these calls.
class _Ctx:
    """The current main context with its own `true`/`false` (kept: their addresses stay theirs), so
    constant tests and And/Or/Not/If go through Z3's C API. The vectors build each model in a fresh
    main context (byte-identical models), the prover in the first one; both get the fast paths."""

    __slots__ = ("ctx", "t", "f", "t_ast", "f_ast")

    def __init__(self, ctx: z3.Context):
        self.ctx, self.t, self.f = ctx, z3.BoolVal(True, ctx), z3.BoolVal(False, ctx)
        self.t_ast, self.f_ast = self.t.ast.value, self.f.ast.value


_CUR = [_Ctx(z3.main_ctx())]


def _c() -> _Ctx:
    cur = _CUR[0]
    if z3.z3._main_ctx is not cur.ctx:
        cur = _CUR[0] = _Ctx(z3.main_ctx())
    return cur


def _true() -> z3.BoolRef:
    """`true` of the current main context."""
    return _c().t


def _false() -> z3.BoolRef:
    return _c().f


def _is_false(b) -> bool:
    if b is False:
        return True
    if isinstance(b, z3.BoolRef):
        c = _c()
        return b.ast.value == c.f_ast if b.ctx is c.ctx else z3.is_false(b)
    return False


def _is_true(b) -> bool:
    if b is True:
        return True
    if isinstance(b, z3.BoolRef):
        c = _c()
        return b.ast.value == c.t_ast if b.ctx is c.ctx else z3.is_true(b)
    return False


def _same(a, b) -> bool:
    """The same term (Z3 shares equal terms: one address)."""
    ctx = _c().ctx
    return a.ast.value == b.ast.value if a.ctx is ctx and b.ctx is ctx else a.eq(b)


def _main_bools(xs, ctx) -> bool:
    return all(type(x) is z3.BoolRef and x.ctx is ctx for x in xs)


def _mk_and(ys):
    ctx = _c().ctx
    if _main_bools(ys, ctx):
        return z3.BoolRef(z3.Z3_mk_and(ctx.ref(), len(ys), (z3.Ast * len(ys))(*[y.ast for y in ys])), ctx)
    return z3.And(*ys)


def _mk_or(ys):
    ctx = _c().ctx
    if _main_bools(ys, ctx):
        return z3.BoolRef(z3.Z3_mk_or(ctx.ref(), len(ys), (z3.Ast * len(ys))(*[y.ast for y in ys])), ctx)
    return z3.Or(*ys)


def _nary(f):
    return lambda ref, a, b: f(ref, 2, (z3.Ast * 2)(a, b))


_ARITH = {"+": _nary(z3.Z3_mk_add), "-": _nary(z3.Z3_mk_sub), "*": _nary(z3.Z3_mk_mul), "/": z3.Z3_mk_div}
_COMPARE = {"<": z3.Z3_mk_lt, "<=": z3.Z3_mk_le, ">": z3.Z3_mk_gt, ">=": z3.Z3_mk_ge, "==": z3.Z3_mk_eq}
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}
_PY_OP = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y, "/": lambda x, y: x / y,
          "<": lambda x, y: x < y, "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y,
          "==": lambda x, y: x == y}


def arith(op: str, x, y):
    """`x op y` (+ - * / < <= > >= ==) of two arithmetic terms. For two main-context terms of one
    sort it is built by the C API directly: the very term Z3's Python operators build (they call the
    same functions), without their coercions and checks; anything else goes through the operators."""
    ctx = _c().ctx
    if isinstance(x, z3.ArithRef) and isinstance(y, z3.ArithRef) and x.ctx is ctx and y.ctx is ctx:
        if op in _MIRROR and type(y) is not type(x) and issubclass(type(y), type(x)):
            op, x, y = _MIRROR[op], y, x  # Python asks a right operand of a subclass (a numeral) first
        ref = ctx.ref()
        if z3.Z3_get_sort(ref, x.ast).value == z3.Z3_get_sort(ref, y.ast).value:
            f = _ARITH.get(op)
            if f is not None:
                return z3.ArithRef(f(ref, x.ast, y.ast), ctx)
            return z3.BoolRef(_COMPARE[op](ref, x.ast, y.ast), ctx)
    return _PY_OP[op](x, y)


def b_or(*xs):
    """Disjunction folding Python constants (null flags are often the constant False)."""
    ys = []
    for x in xs:
        if _is_true(x):
            return _true()
        if not _is_false(x):
            ys.append(x)
    if not ys:
        return False
    return ys[0] if len(ys) == 1 else _mk_or(ys)


def b_and(*xs):
    ys = []
    for x in xs:
        if _is_false(x):
            return _false()
        if not _is_true(x):
            ys.append(x)
    if not ys:
        return _true()
    return ys[0] if len(ys) == 1 else _mk_and(ys)


def b_not(x):
    if _is_false(x):
        return _true()
    if _is_true(x):
        return _false()
    ctx = _c().ctx
    if type(x) is z3.BoolRef and x.ctx is ctx:
        return z3.BoolRef(z3.Z3_mk_not(ctx.ref(), x.ast), ctx)
    return z3.Not(x)


def as_bool(x) -> z3.BoolRef:
    """A null flag or condition as a Z3 Bool (Python False becomes BoolVal(False))."""
    if x is False or x is None:
        return _false()
    if x is True:
        return _true()
    return x


def sv_equal(a: "SV", b: "SV") -> z3.BoolRef:
    """Null-aware equality of two symbolic values: both null, or both not null and equal."""
    an = as_bool(a.null) if a.v is not None else z3.BoolVal(True)
    bn = as_bool(b.null) if b.v is not None else z3.BoolVal(True)
    if a.v is None or b.v is None:
        return z3.And(an, bn)
    return z3.Or(z3.And(an, bn), z3.And(z3.Not(an), z3.Not(bn), a.v == b.v))


def ite(c, a, b):
    """If-then-else on raw terms or null flags (Python booleans allowed)."""
    if _is_true(c):
        return a
    if _is_false(c):
        return b
    if a is b or (isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef) and _same(a, b)):
        return a
    if isinstance(a, bool) or isinstance(b, bool):
        a, b = as_bool(a), as_bool(b)
        if a.eq(b):
            return a
    ctx = _c().ctx
    if type(c) is z3.BoolRef and c.ctx is ctx and a.ctx is ctx and b.ctx is ctx:
        cls = z3.BoolRef if isinstance(a, z3.BoolRef) else z3.ArithRef if isinstance(a, z3.ArithRef) else None
        ref = ctx.ref()
        if cls is not None and z3.Z3_get_sort(ref, a.ast).value == z3.Z3_get_sort(ref, b.ast).value:
            return cls(z3.Z3_mk_ite(ref, c.ast, a.ast, b.ast), ctx)
    return z3.If(c, a, b)


def merge(c, a: SV, b: SV) -> SV:
    """`if c then a else b` on symbolic values (null flags merged too)."""
    if _is_true(c):
        return a
    if _is_false(c):
        return b
    if a.v is None:
        return SV(b.v, ite(c, True, b.null), b.kind if b.kind != "null" else "null", b.enum)
    if b.v is None:
        return SV(a.v, ite(c, a.null, True), a.kind, a.enum)
    return SV(ite(c, a.v, b.v), ite(c, a.null, b.null), a.kind, a.enum or b.enum)


def q(x: Fraction | int | str) -> z3.RatNumRef:
    """An exact Z3 rational."""
    f = Fraction(x)
    return z3.RealVal(f"{f.numerator}/{f.denominator}") if f.denominator != 1 else z3.RealVal(f.numerator)


def to_fraction(term) -> Fraction | None:
    """A Z3 numeral (rational, integer or algebraic, approximated) as a Fraction; None if not a numeral."""
    if isinstance(term, z3.IntNumRef):
        return Fraction(term.as_long())
    if isinstance(term, z3.RatNumRef):
        return Fraction(term.numerator_as_long(), term.denominator_as_long())
    if isinstance(term, z3.AlgebraicNumRef):
        a = term.approx(30)
        return Fraction(a.numerator_as_long(), a.denominator_as_long())
    return None


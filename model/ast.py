"""The expression AST shared by every backend (interpreter, Z3, docs).

Nodes are frozen dataclasses; `pos` (offset in the source text) is kept for error messages and is
left out of equality, so two parses of the same text are equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from typing import Callable

ROUND_DIRECTIONS = ("up", "down", "half_away")
FUNCTIONS = ("min", "max", "abs", "round", "multiple_of", "tier", "solve_tier")
TIER_FIELD_PREFIXES = ("tier.", "first_tier.", "last_tier.")


@dataclass(frozen=True)
class Expr:
    def children(self) -> tuple["Expr", ...]:
        out = []
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Expr):
                out.append(v)
            elif isinstance(v, tuple):
                out.extend(x for x in v if isinstance(x, Expr))
        return tuple(out)


@dataclass(frozen=True)
class Num(Expr):
    value: Fraction
    text: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Str(Expr):
    """An enumeration literal such as 'long'."""

    value: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Null(Expr):
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Bool(Expr):
    value: bool
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Name(Expr):
    """A name: state, parameter, derived value, let, `arg.X`, `tier.X`, `first_tier.X`, `last_tier.X`, `value`."""

    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # '-' or 'not'
    operand: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Binary(Expr):
    op: str  # + - * /
    left: Expr
    right: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Compare(Expr):
    op: str  # == != < <= > >=
    left: Expr
    right: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Logic(Expr):
    op: str  # and, or
    left: Expr
    right: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class If(Expr):
    cond: Expr
    then: Expr
    otherwise: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Call(Expr):
    """min, max, abs, multiple_of."""

    func: str
    args: tuple[Expr, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Round(Expr):
    """`round(value, step, direction)`: the multiple of `step` next to `value` in `direction`."""

    value: Expr
    step: Expr
    direction: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class TierField(Expr):
    """`tier(notional).field`: a field of the first tier whose max_notional >= notional (else the last)."""

    notional: Expr
    field: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class SolveTier(Expr):
    """`solve_tier(value, cond)`: `value` computed with `tier.*` bound to each tier in turn; the first
    whose `cond` holds (with `value` bound to it) wins, else the last tier's."""

    value: Expr
    cond: Expr
    pos: int = field(default=0, compare=False)


def walk(e: Expr):
    """Every node of `e`, parents before children."""
    yield e
    for c in e.children():
        yield from walk(c)


def names(e: Expr) -> set[str]:
    return {n.name for n in walk(e) if isinstance(n, Name)}


def transform(e: Expr, fn: Callable[[Expr], Expr | None]) -> Expr:
    """Rebuild `e` bottom-up; `fn` may return a replacement for a node (or None to keep it)."""
    changes = {}
    for f in fields(e):
        v = getattr(e, f.name)
        if isinstance(v, Expr):
            changes[f.name] = transform(v, fn)
        elif isinstance(v, tuple) and v and isinstance(v[0], Expr):
            changes[f.name] = tuple(transform(x, fn) for x in v)
    rebuilt = replace(e, **changes) if changes else e
    out = fn(rebuilt)
    return rebuilt if out is None else out


def substitute(e: Expr, mapping: dict[str, Expr]) -> Expr:
    """Replace names by expressions (used to inline an action called from another)."""
    return transform(e, lambda n: mapping.get(n.name) if isinstance(n, Name) else None)

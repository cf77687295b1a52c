"""Values as the generated rulebook prints them, and formulas with their values filled in.

`fmt` prints an engine value (exact decimals, else 12 significant digits and an ellipsis),
`fmt_json` a protocol value; `instantiate` turns a derived formula into the same formula over
numbers (branches not taken dropped, tiers resolved), which the worked examples show line by line.
Shared by the sections of the docs (model/docs.py and its docs_*.py sections).
"""

from __future__ import annotations

import json
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from . import ast
from .interpreter import Env, compile_expr, solve_tier, tier_index
from .numbers import format_decimal


def fmt(v: Any) -> str:
    """A value as the docs show it: exact decimals, else 12 significant digits and an ellipsis."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Fraction):
        try:
            return format_decimal(v)
        except ValueError:
            with localcontext() as ctx:
                ctx.prec = 12
                d = Decimal(v.numerator) / Decimal(v.denominator)
            return f"{d:f}" + "…"
    if isinstance(v, int):
        return str(v)
    return str(v)


def _value_node(v: Any) -> ast.Expr:
    if v is None:
        return ast.Null()
    if isinstance(v, bool):
        return ast.Bool(v)
    if isinstance(v, Fraction):
        return ast.Num(v, fmt(v))
    if isinstance(v, int):
        return ast.Num(Fraction(v), str(v))
    return ast.Str(str(v))


def instantiate(e: ast.Expr, env: Env) -> ast.Expr:
    """`e` with every name replaced by its value in `env`, the branches not taken dropped, tier
    lookups resolved and solve_tier replaced by the formula of the tier it settles on."""
    if isinstance(e, (ast.Num, ast.Str, ast.Null, ast.Bool)):
        return e
    if isinstance(e, ast.Name):
        return _value_node(env[e.name])
    if isinstance(e, ast.If):
        return instantiate(e.then if compile_expr(e.cond)(env) else e.otherwise, env)
    if isinstance(e, ast.TierField):
        return _value_node(compile_expr(e)(env))
    if isinstance(e, ast.SolveTier):
        _, chosen = solve_tier(compile_expr(e.value), compile_expr(e.cond), env)
        return instantiate(e.value, chosen)
    if isinstance(e, ast.Unary):
        return ast.Unary(e.op, instantiate(e.operand, env))
    if isinstance(e, ast.Binary):
        return ast.Binary(e.op, instantiate(e.left, env), instantiate(e.right, env))
    if isinstance(e, ast.Compare):
        return ast.Compare(e.op, instantiate(e.left, env), instantiate(e.right, env))
    if isinstance(e, ast.Logic):
        return ast.Logic(e.op, instantiate(e.left, env), instantiate(e.right, env))
    if isinstance(e, ast.Call):
        return ast.Call(e.func, tuple(instantiate(a, env) for a in e.args))
    if isinstance(e, ast.Round):
        return ast.Round(instantiate(e.value, env), instantiate(e.step, env), e.direction)
    raise TypeError(type(e).__name__)  # pragma: no cover


def solved_tier_number(e: ast.Expr, env: Env) -> int | None:
    """The (1-based) tier a solve_tier in `e` settles on, if `e` has one."""
    for node in ast.walk(e):
        if isinstance(node, ast.SolveTier):
            return solve_tier(compile_expr(node.value), compile_expr(node.cond), env)[0] + 1
    return None


def tier_number(tiers, notional) -> int:
    """The (1-based) tier of `notional` in `tiers`, as the docs number tiers."""
    return tier_index(tiers, notional) + 1


def fmt_json(v: Any) -> str:
    """A protocol value as the docs show it: JSON literals, objects and lists as sorted JSON."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True, ensure_ascii=False)
    return str(v)

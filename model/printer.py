"""The AST printed back as canonical text (for messages, docs and generated formulas)."""

from __future__ import annotations

from . import ast

PREC = {"if": 0, "or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7, "atom": 8}


def precedence(e: ast.Expr) -> int:
    """How tightly `e` binds, on the scale of PREC (higher binds tighter)."""
    if isinstance(e, ast.If):
        return PREC["if"]
    if isinstance(e, ast.Logic):
        return PREC[e.op]
    if isinstance(e, ast.Unary):
        return PREC["not"] if e.op == "not" else PREC["neg"]
    if isinstance(e, ast.Compare):
        return PREC["cmp"]
    if isinstance(e, ast.Binary):
        return PREC[e.op]
    if isinstance(e, ast.Num) and e.value < 0:
        return PREC["neg"]
    return PREC["atom"]


def _wrap(e: ast.Expr, min_prec: int) -> str:
    s = to_text(e)
    return f"({s})" if precedence(e) < min_prec else s


def to_text(e: ast.Expr) -> str:
    if isinstance(e, ast.Num):
        return e.text
    if isinstance(e, ast.Str):
        return f"'{e.value}'"
    if isinstance(e, ast.Null):
        return "null"
    if isinstance(e, ast.Bool):
        return "true" if e.value else "false"
    if isinstance(e, ast.Name):
        return e.name
    if isinstance(e, ast.Unary):
        if e.op == "not":
            return f"not {_wrap(e.operand, PREC['not'])}"
        return f"-{_wrap(e.operand, PREC['neg'])}"
    if isinstance(e, ast.Binary):
        p = PREC[e.op]
        right_min = p + 1 if e.op in "-/" or isinstance(e.right, ast.Binary) and precedence(e.right) == p and e.op in "-/" else p
        return f"{_wrap(e.left, p)} {e.op} {_wrap(e.right, right_min if e.op in '-/' else p)}"
    if isinstance(e, ast.Compare):
        return f"{_wrap(e.left, PREC['cmp'] + 1)} {e.op} {_wrap(e.right, PREC['cmp'] + 1)}"
    if isinstance(e, ast.Logic):
        p = PREC[e.op]
        return f"{_wrap(e.left, p)} {e.op} {_wrap(e.right, p + 1)}"
    if isinstance(e, ast.If):
        return f"if {to_text(e.cond)} then {to_text(e.then)} else {to_text(e.otherwise)}"
    if isinstance(e, ast.Call):
        return f"{e.func}({', '.join(to_text(a) for a in e.args)})"
    if isinstance(e, ast.Round):
        return f"round({to_text(e.value)}, {to_text(e.step)}, {e.direction})"
    if isinstance(e, ast.TierField):
        return f"tier({to_text(e.notional)}).{e.field}"
    if isinstance(e, ast.SolveTier):
        return f"solve_tier({to_text(e.value)}, {to_text(e.cond)})"
    raise TypeError(type(e).__name__)  # pragma: no cover

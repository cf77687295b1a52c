"""Certificates of minimal unsat cores: a core is minimal when the claim fails without any one of
its names, and each such failure has a witness, a model of the other assumptions and the negated
claim. Keeping the witnesses the deletion found (core_cache.py) lets a later run check a stored
core instead of trusting it: one unsat query (the core still proves the claim) and, per name, an
exact evaluation of its witness (the name is still needed), a few milliseconds in all where
finding the witnesses again costs a solver call each.

A canonical core (deletion in sorted name order over every assumption, nlsat_core.py) is checked
as canonical, not merely minimal: the witness of a name n satisfies every core name before n and
every name after n (the attempt deletion made), and those checks pin the deletion's result
(a name outside the core is dropped whatever the order: its attempt contains the core, which
proves the claim). A core minimal within a solver's own core (`solving.minimise_within`) is
checked as minimal: each witness satisfies the core less its name.

Witnesses hold the constants' values, exact integers, rationals and Booleans, those other than
Z3's defaults (0, false), and Z3's table for division by zero (`/0`, which a model may use where an
assumption that a denominator is positive was deleted) as its SMT-LIB text; a model with an
irrational (algebraic) value or another function's table gives no witness, and its core is not
stored. Read from the model's SMT-LIB text and checked through Z3's C API: a few hundred
microseconds a witness.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Mapping, Sequence

import z3

Witness = dict[str, str]  # constant name -> "R:<p/q>" | "I:<n>" | "B:true"; "/0" -> its table's SMT-LIB body
DIV0 = "/0"
_TOKEN = re.compile(r"\|[^|]*\||[()]|[^\s()|]+")


def _parse(text: str) -> list:
    """The s-expressions of SMT-LIB text, as nested lists of tokens."""
    stack: list[list] = [[]]
    for tok in _TOKEN.findall(text):
        if tok == "(":
            stack.append([])
        elif tok == ")":
            if len(stack) < 2:
                raise ValueError("unbalanced")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok)
    if len(stack) != 1:
        raise ValueError("unbalanced")
    return stack[0]


def _text(x) -> str:
    return "(" + " ".join(_text(y) for y in x) + ")" if isinstance(x, list) else x


def _number(x) -> Fraction | None:
    """An SMT-LIB numeral term ("2.0", "(- 4)", "(/ 7.0 3.0)", "(- (/ 7.0 3.0))"), else None."""
    if isinstance(x, str):
        try:
            return Fraction(x)
        except ValueError:
            return None
    if len(x) == 2 and x[0] == "-":
        v = _number(x[1])
        return -v if v is not None else None
    if len(x) == 3 and x[0] == "/":
        a, b = _number(x[1]), _number(x[2])
        return a / b if a is not None and b else None
    return None


def witness_of(model: z3.ModelRef) -> Witness | None:
    """The model's non-default constants and its division-by-zero table as exact text, or None when
    one cannot be written exactly (an irrational value, another function's table). Tracking
    literals (`@name`) are left out."""
    out: Witness = {}
    try:
        forms = _parse(model.sexpr())
    except ValueError:
        return None
    for f in forms:
        if not (isinstance(f, list) and len(f) == 5 and f[0] == "define-fun" and isinstance(f[1], str)):
            return None
        name, args, sort, body = f[1].strip("|"), f[2], f[3], f[4]
        if args:
            table = _table(_text(body))
            if name != DIV0 or args != [["x!0", "Real"], ["x!1", "Real"]] or table is None:
                return None
            out[DIV0] = table
        elif name.startswith("@"):
            continue
        elif sort == "Bool":
            if body == "true":
                out[name] = "B:true"
            elif body != "false":
                return None
        elif sort in ("Real", "Int"):
            v = _number(body)
            if v is None:
                return None
            if v != 0:
                out[name] = f"{sort[0]}:{v}"
        else:
            return None
    return dict(sorted(out.items()))


_TABLE_ATOM = re.compile(r"[0-9]+(\.[0-9]+)?|x![01]|a![0-9]+|true|false")
_TABLE_HEADS = {"ite", "and", "or", "not", "=", "-", "<", "<=", ">", ">=", "/", "let"}


def _table_term(x) -> bool:
    """Is `x` (parsed SMT-LIB) a table Z3 writes for division by zero, and nothing else: one term
    of numerals, the arguments x!0 x!1, let-bound a!N, comparisons and `ite`, dividing numerals
    only (a stored text is parsed by Z3: it must not hold commands nor refer to itself)."""
    if isinstance(x, str):
        return bool(_TABLE_ATOM.fullmatch(x))
    if not x or not isinstance(x[0], str) or x[0] not in _TABLE_HEADS:
        return False
    if x[0] == "/":
        return len(x) == 3 and all(_number(a) is not None for a in x[1:])
    if x[0] == "let":
        return (len(x) == 3 and isinstance(x[1], list) and all(
            isinstance(b, list) and len(b) == 2 and isinstance(b[0], str) and re.fullmatch(r"a![0-9]+", b[0])
            and _table_term(b[1]) for b in x[1]) and _table_term(x[2]))
    return len(x) > 1 and all(_table_term(a) for a in x[1:])


def _table(body: str) -> str | None:
    """The table's text rebuilt from its parse when it is one table term (`_table_term`), else None."""
    if any(c in body for c in '";|\\'):
        return None
    try:
        forms = _parse(body)
    except (ValueError, RecursionError):
        return None
    return _text(forms[0]) if len(forms) == 1 and _table_term(forms[0]) else None


def collecting(model_of) -> tuple[dict[str, Witness], Any]:
    """(the witnesses, `refuted(n)`): the deletion's callback that keeps the model of the attempt
    without n, read by `model_of()`, as n's witness."""
    witnesses: dict[str, Witness] = {}

    def refuted(n: str) -> None:
        w = witness_of(model_of())
        if w is not None:
            witnesses[n] = w

    return witnesses, refuted


def _div0(ctx: z3.Context, body: str):
    """(Z3's division-by-zero function, the table `body` over its arguments x!0 x!1 as de Bruijn
    variables), in `ctx`."""
    table = _table(body)
    if table is None:
        raise z3.Z3Exception("not a division-by-zero table")
    v = z3.parse_smt2_string(f"(declare-const |x!0| Real)(declare-const |x!1| Real)"
                             f"(assert (= (/0 |x!0| |x!1|) {table}))", ctx=ctx)
    eq = v[0]
    app, table = eq.arg(0), eq.arg(1)
    r = z3.RealSort(ctx)
    return app.decl(), z3.substitute(table, (app.arg(0), z3.Var(0, r)), (app.arg(1), z3.Var(1, r)))


_NUMERAL = re.compile(r"-?[0-9]+(/[1-9][0-9]*)?")


def _model(ctx: z3.Context, w: Mapping[str, str]) -> z3.ModelRef | None:
    """The witness as a Z3 model in `ctx` (built through the C API: a witness has a few dozen
    constants, and z3py's wrappers would cost more than the evaluation)."""
    m = z3.Model(ctx)
    ref = ctx.ref()
    sorts = {"R": z3.RealSort(ctx), "I": z3.IntSort(ctx), "B": z3.BoolSort(ctx)}
    true = z3.BoolVal(True, ctx)
    held = []  # Z3 counts references: what the model is given is held until it holds it
    for name, text in w.items():
        if name == DIV0:
            try:
                decl, table = _div0(ctx, str(text))
            except z3.Z3Exception:
                return None
            held.append(z3.FuncInterp(z3.Z3_add_func_interp(ref, m.model, decl.ast, table.as_ast()), ctx))
            continue
        kind, _, val = str(text).partition(":")
        sort = sorts.get(kind)
        if sort is None:
            return None
        if kind == "B":
            if val != "true":
                return None
            value = true
        else:
            if not _NUMERAL.fullmatch(val) or (kind == "I" and "/" in val):
                return None
            value = z3.ExprRef(z3.Z3_mk_numeral(ref, val, sort.ast), ctx)
        decl = z3.FuncDeclRef(z3.Z3_mk_func_decl(ref, z3.to_symbol(name, ctx), 0, None, sort.ast), ctx)
        z3.Z3_add_const_interp(ref, m.model, decl.ast, value.as_ast())
        held.append((decl, value))
    return m


def satisfies(ctx: z3.Context, terms: Sequence[Any], w: Mapping[str, str]) -> bool:
    """Does the witness make every term true (the constants it does not name at Z3's defaults)?
    Exact: Z3's model evaluator on rationals."""
    m = _model(ctx, w)
    if m is None:
        return False
    return z3.is_true(m.eval(_conjunction(ctx, terms), model_completion=True))


def _conjunction(ctx: z3.Context, terms: Sequence[Any]) -> z3.BoolRef:
    arr = (z3.Ast * len(terms))(*[t.as_ast() for t in terms])
    return z3.BoolRef(z3.Z3_mk_and(ctx.ref(), len(terms), arr), ctx)


def _trial(hard: Sequence[Any], term_of: Mapping[str, Any], names: Sequence[str], core: Sequence[str], n: str,
           canonical: bool) -> list:
    """The terms a witness for `n` must make true: the hard ones and the names of the attempt
    deletion in sorted order made (the core names before n, every name after it) when
    `canonical`, else the core less n."""
    inside = set(core)
    return list(hard) + [term_of[x] for x in sorted(names)
                         if x != n and (x in inside if (x < n or not canonical) else True)]


def certifies(ctx: z3.Context, hard: Sequence[Any], term_of: Mapping[str, Any], names: Sequence[str],
              core: Sequence[str], witnesses: Mapping[str, Mapping[str, str]], canonical: bool) -> bool:
    """Do the witnesses show that every name of `core` is needed (with the `hard` terms, which
    hold the negated claim)? `canonical`: each as deletion in sorted order over `names` asked it;
    else as a subset of the core (`_trial`). The sufficiency of the core is the caller's unsat
    query."""
    if not set(core) <= set(names):
        return False
    for n in core:
        w = witnesses.get(n)
        if w is None or not satisfies(ctx, _trial(hard, term_of, names, core, n, canonical), w):
            return False
    return True


def certificate(ctx: z3.Context, hard: Sequence[Any], term_of: Mapping[str, Any], names: Sequence[str],
                core: Sequence[str], witnesses: Mapping[str, Mapping[str, str]],
                canonical: bool) -> dict[str, Witness] | None:
    """The witnesses of `core` to store, checked as `certifies` will check them, each without its
    division-by-zero table where it holds without one (most do: the table is read only where a
    denominator is zero); None when one is missing or does not hold."""
    out = {}
    for n in core:
        w = witnesses.get(n)
        if w is None:
            return None
        terms = _trial(hard, term_of, names, core, n, canonical)
        plain = {k: v for k, v in w.items() if k != DIV0}
        if satisfies(ctx, terms, plain):
            out[n] = plain
        elif DIV0 in w and satisfies(ctx, terms, w):
            out[n] = dict(w)
        else:
            return None
    return out

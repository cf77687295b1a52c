"""Proof queries as SMT-LIB 2 text: what `prove --smt2-out DIR` writes and what the second solver
(`prove --cross-check cvc5`) reads. The text is the exact query Z3 found unsatisfiable (the facts,
the lemmas, the assumptions of the canonical core and the negated claim), with the logic it needs
(QF_LRA, QF_NRA, QF_LIRA, QF_NIRA, ...) and names that do not depend on the process's history, so
the same rulebook gives the same files byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import z3

_FRESH = re.compile(r"\b((?:round|multiple_of)!)([0-9a-f_]+)\b")  # Backend.fresh names (hashes, counters)


@dataclass(frozen=True)
class ProofQuery:
    """One unsat query: the case it proves, the procedure that proved it, the assumption names it
    keeps, its logic and its SMT-LIB 2 text."""

    case: str
    engine: str
    names: tuple[str, ...]
    logic: str
    text: str


def logic_of(terms: Sequence[Any]) -> str:
    """The SMT-LIB logic of a query: quantifier-free; linear unless a product or a quotient of two
    non-constants occurs; integers when an Int term (or to_int / to_real) occurs."""
    ints = nonlinear = False
    seen: set[int] = set()
    stack = [t for t in terms if isinstance(t, z3.ExprRef)]
    while stack:
        t = stack.pop()
        i = t.get_id()
        if i in seen:
            continue
        seen.add(i)
        if z3.is_int(t):
            ints = True
        if z3.is_app(t):
            k = t.decl().kind()
            if k in (z3.Z3_OP_TO_INT, z3.Z3_OP_TO_REAL, z3.Z3_OP_IS_INT):
                ints = True
            elif k in (z3.Z3_OP_MUL, z3.Z3_OP_DIV, z3.Z3_OP_IDIV, z3.Z3_OP_MOD, z3.Z3_OP_POWER):
                args = t.children()
                variable = [a for a in args if not _constant(a)]
                if (k == z3.Z3_OP_MUL and len(variable) > 1) or (k != z3.Z3_OP_MUL and not _constant(args[-1])):
                    nonlinear = True
            stack.extend(t.children())
    return "QF_" + ("N" if nonlinear else "L") + ("IRA" if ints else "RA")


def _constant(t) -> bool:
    """A numeral, or an arithmetic expression over numerals only."""
    if z3.is_rational_value(t) or z3.is_int_value(t) or z3.is_algebraic_value(t):
        return True
    if z3.is_app(t) and t.num_args() > 0 and t.decl().kind() in (
            z3.Z3_OP_UMINUS, z3.Z3_OP_MUL, z3.Z3_OP_DIV, z3.Z3_OP_ADD, z3.Z3_OP_SUB, z3.Z3_OP_TO_REAL):
        return all(_constant(a) for a in t.children())
    return False


def render(hard: Sequence[Any], header: Sequence[str] = ()) -> tuple[str, str]:
    """(logic, SMT-LIB 2 text) of the conjunction `hard` (terms of one context): `set-logic`, the
    declarations and assertions as Z3 prints them, `check-sat`; names numbered per process are
    renumbered by first appearance."""
    logic = logic_of(hard)
    ctx = hard[0].ctx if hard else None
    s = z3.Solver(ctx=ctx)
    for h in hard:
        s.add(h)
    body = s.to_smt2()
    lines = [ln for ln in body.splitlines() if not ln.startswith(("; benchmark generated", "(set-info :status"))]
    text = "\n".join(lines)
    numbers: dict[str, str] = {}

    def renumber(m: re.Match) -> str:
        key = m.group(0)
        if key not in numbers:
            numbers[key] = f"{m.group(1)}{len(numbers)}"
        return numbers[key]

    text = _FRESH.sub(renumber, text)
    head = [f"; {h}" for h in header] + ["(set-info :status unsat)", f"(set-logic {logic})"]
    return logic, "\n".join(head) + "\n" + text.rstrip("\n") + "\n"


def file_name(obligation: str, case: str, index: int) -> str:
    """A file name for the index-th proof query of a case of an obligation (deterministic)."""
    clean = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{obligation}.{case}").strip("_")
    return f"{clean}.{index:03d}.smt2"


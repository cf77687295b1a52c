"""The second opinion on an obligation's proofs: its unsat queries re-checked by a second solver
(`prove --cross-check cvc5`) and written as SMT-LIB 2 files (`prove --smt2-out DIR`).

Every kind of obligation is re-checked, the every-contract ones (symbolic tier tables) and the
parametric ones included: each query is quantifier-free, its symbolic parameters and tier slots
are plain variables of the text. How cvc5 is asked (the exact text first, then forms that are
provably no stronger) is secondsolver.py's business; the result names the form per query.
"""

from __future__ import annotations

from pathlib import Path

from ..secondsolver import EXACT, checker
from ..smt2 import file_name
from .results import ERROR, PROVED, Result

# the verdicts of one obligation; --require-agreement accepts AGREE and NOTHING only
AGREE, UNKNOWN, DISAGREE, NOTHING = "agree", "unknown", "disagree", "no unsat query"


class CrossCheckMixin:
    """`cross_check` (a second solver's name) and `smt2_out` (a directory) are set by the command."""

    cross_check: str | None = None
    smt2_out: str | None = None

    def second_opinion(self, res: Result, queries: list) -> None:
        """Write the queries, re-check them, and record the agreement on the result: a query the
        second solver finds satisfiable makes the obligation an ERROR (the solvers disagree)."""
        per_case: dict[str, int] = {}
        named = []
        for qy in queries:
            k = per_case.get(qy.case, 0)
            per_case[qy.case] = k + 1
            named.append((file_name(res.id, qy.case, k), qy))
        if self.smt2_out:
            d = Path(self.smt2_out)
            d.mkdir(parents=True, exist_ok=True)
            for name, qy in named:
                (d / name).write_text(qy.text, encoding="utf-8")
        if not self.cross_check:
            return
        res.cross_check = cross_check(self.cross_check, named)
        disagreements = res.cross_check.get("disagreeing_queries")
        if disagreements and res.status == PROVED:
            res.status = ERROR
            res.message = (res.message + "\n" if res.message else "") + (
                f"{self.cross_check} finds satisfiable what z3 proved unsatisfiable: " + ", ".join(disagreements))


def cross_check(solver: str, named: list) -> dict:
    """The second solver's verdict on an obligation's (file name, ProofQuery) pairs: counts of
    agreeing / unknown / disagreeing queries, the forms the agreeing ones were proved in (`forms`:
    "exact" unless a relaxation or a sub-query was needed), and the names of the others."""
    run = checker(solver)
    agree, forms, unknown, disagree = 0, {}, [], []
    for name, qy in named:
        op = run(qy.text, qy.logic)
        if op.answer == "unsat":
            agree += 1
            kind = op.form.split(",", 1)[0] if not op.form.startswith("sub-query") else "sub-query"
            forms[kind] = forms.get(kind, 0) + 1
        elif op.answer == "sat":
            disagree.append(name)
        else:
            unknown.append(f"{name} ({op.form}: {op.detail})" if op.detail else name)
    verdict = DISAGREE if disagree else UNKNOWN if unknown else AGREE if named else NOTHING
    out = {"solver": solver, "queries": len(named), "agree": agree, "unknown": len(unknown),
           "disagree": len(disagree), "verdict": verdict, "forms": dict(sorted(forms.items()))}
    if unknown:
        out["unknown_queries"] = unknown
    if disagree:
        out["disagreeing_queries"] = disagree
    return out


def exact_only(c: dict) -> bool:
    """Did every agreeing query of this verdict agree on the exact text?"""
    return set(c.get("forms", {})) <= {EXACT}

"""The second opinion on an obligation's proofs: its unsat queries re-checked by a second solver
(`prove --cross-check cvc5`) and written as SMT-LIB 2 files (`prove --smt2-out DIR`).
"""

from __future__ import annotations

from pathlib import Path

from ..secondsolver import checker
from ..smt2 import file_name
from .results import ERROR, PROVED, Result


# Queries over symbolic tier tables (every tier field a variable, products of unknowns) are beyond
# cvc5's nonlinear arithmetic within its work limits (measured: no answer within minutes per query,
# its resource limit not honoured), so those obligations, the parametric ones and the every-contract
# ones alike, are reported as not cross-checked.
PARAMETRIC = "symbolic tier tables: beyond the second solver's nonlinear arithmetic within its work limit"


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
        if res.kind == "parametric" or res.scope == "every-contract":  # both over symbolic tier tables
            res.cross_check = {"solver": self.cross_check, "queries": len(named), "agree": 0, "unknown": 0,
                               "disagree": 0, "verdict": "skipped", "reason": PARAMETRIC}
            return
        run = checker(self.cross_check)
        verdicts = {"unsat": 0, "sat": 0, "unknown": 0}
        disagreements, unknown = [], []
        for name, qy in named:
            v = run(qy.text, qy.logic)
            key = v if v in verdicts else "unknown"
            verdicts[key] += 1
            if key == "sat":
                disagreements.append(name)
            elif key == "unknown":
                unknown.append(name)
        agree = not disagreements and not unknown
        res.cross_check = {"solver": self.cross_check, "queries": len(named), "agree": verdicts["unsat"],
                           "unknown": verdicts["unknown"], "disagree": verdicts["sat"],
                           "verdict": "agree" if agree else ("disagree" if disagreements else "unknown")}
        if unknown:
            res.cross_check["unknown_queries"] = unknown
        if disagreements:
            res.cross_check["disagreeing_queries"] = disagreements
            if res.status == PROVED:
                res.status = ERROR
                res.message = (res.message + "\n" if res.message else "") + (
                    f"{self.cross_check} finds satisfiable what z3 proved unsatisfiable: " + ", ".join(disagreements))

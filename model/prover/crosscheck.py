"""The second opinion on an obligation's proofs: its unsat queries re-checked by a second solver
(`prove --cross-check cvc5`) and written as SMT-LIB 2 files (`prove --smt2-out DIR`).

Every kind of obligation is re-checked, the every-contract ones (symbolic tier tables) and the
parametric ones included: each query is quantifier-free, its symbolic parameters and tier slots
are plain variables of the text. How cvc5 is asked (the exact text first, then forms that are
provably no stronger) is secondsolver.py's business; the result names the form per query.

An obligation agrees only when every query was confirmed AND every proved case rests on at least
one recorded query (a witness case, proved by a model, needs none): a proof path that forgot to
record its query is reported as `not covered`, never counted as agreement.
"""

from __future__ import annotations

from pathlib import Path

from ..secondsolver import checker
from ..smt2 import file_name
from .results import ERROR, PROVED, CaseResult, Result

# the verdicts of one obligation; --require-agreement accepts AGREE and NOTHING only
AGREE, UNKNOWN, DISAGREE, UNCOVERED, NOTHING = "agree", "unknown", "disagree", "not covered", "no unsat query"
CONFIRMED = (AGREE, NOTHING)


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
        res.cross_check = cross_check(self.cross_check, named, uncovered(res.cases, queries))
        disagreements = res.cross_check.get("disagreeing_queries")
        if disagreements and res.status == PROVED:
            res.status = ERROR
            res.message = (res.message + "\n" if res.message else "") + (
                f"{self.cross_check} finds satisfiable what z3 proved unsatisfiable: " + ", ".join(disagreements))


def uncovered(cases: list[CaseResult], queries: list) -> list[str]:
    """The proved cases no recorded query speaks for: a case's queries carry its label (a sequence
    step's carry `step i: goal`); a witness case is proved by a model, not by an unsat query."""
    labels = {qy.case for qy in queries}
    return [c.label for c in cases if c.status == PROVED and c.witness is None
            and c.label not in labels and not any(x.startswith(c.label + ": ") for x in labels)]


def cross_check(solver: str, named: list, missing: list[str] = ()) -> dict:
    """The second solver's verdict on an obligation's (file name, ProofQuery) pairs: counts of
    agreeing / unknown / disagreeing queries, the forms the agreeing ones were proved in (`forms`:
    "exact" unless a relaxation or a sub-query was needed), the names of the others, and the proved
    cases with no query (`missing`: `uncovered_cases`)."""
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
    verdict = (DISAGREE if disagree else UNKNOWN if unknown else UNCOVERED if missing
               else AGREE if named else NOTHING)
    out = {"solver": solver, "queries": len(named), "agree": agree, "unknown": len(unknown),
           "disagree": len(disagree), "verdict": verdict, "forms": dict(sorted(forms.items()))}
    if unknown:
        out["unknown_queries"] = unknown
    if disagree:
        out["disagreeing_queries"] = disagree
    if missing:
        out["uncovered_cases"] = list(missing)
    return out



def unconfirmed(results: list[dict]) -> list[str]:
    """The ids of the obligations (JSON results) the second solver did not confirm: a query unknown
    or satisfiable, or a proved case with no query (`--require-agreement` fails on any)."""
    return [r["id"] for r in results if r.get("cross_check") and r["cross_check"]["verdict"] not in CONFIRMED]


def summary(results: list[dict]) -> dict | None:
    """The cross-check over a run (JSON results): obligations per verdict, queries per outcome, the
    forms the confirmed queries were proved in. None without --cross-check."""
    checked = [r["cross_check"] for r in results if r.get("cross_check")]
    if not checked:
        return None
    forms: dict[str, int] = {}
    for c in checked:
        for k, n in c.get("forms", {}).items():
            forms[k] = forms.get(k, 0) + n
    verdicts = {v: sum(c["verdict"] == v for c in checked) for v in (AGREE, NOTHING, UNKNOWN, DISAGREE, UNCOVERED)}
    return {"solver": checked[0]["solver"], "obligations": len(checked), "verdicts": verdicts,
            "queries": sum(c["queries"] for c in checked), "queries_agree": sum(c["agree"] for c in checked),
            "queries_unknown": sum(c["unknown"] for c in checked),
            "queries_disagree": sum(c["disagree"] for c in checked), "forms": dict(sorted(forms.items()))}


def text_lines(results: list[dict]) -> list[str]:
    """The cross-check in the text report: a summary, then each obligation not confirmed, with its
    queries the second solver did not confirm (and why) or its proved cases without a query."""
    s = summary(results)
    if s is None:
        return []
    v = s["verdicts"]
    asked = s["obligations"] - v[NOTHING]
    forms = ", ".join(f"{n} {k}" for k, n in s["forms"].items())
    lines = ["", f"cross-check with {s['solver']}: {v[AGREE]} of {asked} obligations agree; "
                 f"{s['queries_agree']} of {s['queries']} unsat queries confirmed" + (f" ({forms})" if forms else "")]
    if v[NOTHING]:
        lines.append(f"  {v[NOTHING]} obligations rest on witnesses only (no unsat query to re-check)")
    for r in results:
        c = r.get("cross_check")
        if not c or c["verdict"] in CONFIRMED:
            continue
        lines.append(f"  {r['id']}: {c['verdict']} ({c['agree']} agree, {c['unknown']} unknown, "
                     f"{c['disagree']} disagree)")
        for q in c.get("disagreeing_queries", []):
            lines.append(f"    sat: {q}")
        for q in c.get("unknown_queries", []):
            lines.append(f"    unknown: {q}")
        for case in c.get("uncovered_cases", []):
            lines.append(f"    no query recorded for the proved case {case}")
    return lines

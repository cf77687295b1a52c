"""Mutation adequacy of a set of vectors: every mutant run, the survivors decided with Z3.

`analyse` runs every mutant of the rulebook against the vectors (mutants.run_all), then asks Z3
about each mutant no case caught (equivalence.decide). The vectors are adequate when every
surviving mutant is proved equivalent to the rulebook.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from ..rulebook import Rulebook
from .equivalence import Verdict, decide
from .mutants import Mutant, MutantResult, enumerate_mutants, run_all


@dataclass
class Adequacy:
    results: list[MutantResult]
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # surviving mutant id -> Z3 verdict
    run_seconds: float = 0.0
    z3_seconds: float = 0.0
    jobs: int = 1
    cases: int = 0

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def caught(self) -> list[MutantResult]:
        return [r for r in self.results if r.killed_by is not None]

    @property
    def equivalent(self) -> list[MutantResult]:
        return [r for r in self.results if r.killed_by is None and self.verdicts.get(r.mutant.id, Verdict("", "")).status == "equivalent"]

    @property
    def surviving(self) -> list[MutantResult]:
        """Mutants no case catches and Z3 does not prove equivalent (different or unknown)."""
        return [r for r in self.results if r.killed_by is None and self.verdicts.get(r.mutant.id, Verdict("", "")).status != "equivalent"]

    @property
    def ok(self) -> bool:
        return not self.surviving

    def to_json(self) -> dict:
        by_cat: dict[str, Counter] = {}
        for r in self.results:
            st = "caught" if r.killed_by else ("equivalent" if self.verdicts.get(r.mutant.id) and
                                               self.verdicts[r.mutant.id].status == "equivalent" else "surviving")
            by_cat.setdefault(r.mutant.category, Counter())[st] += 1
        return {
            "total": self.total, "equivalent": len(self.equivalent), "caught": len(self.caught),
            "surviving": len(self.surviving), "non_equivalent": self.total - len(self.equivalent),
            "cases": self.cases, "jobs": self.jobs,
            "seconds": {"vectors": round(self.run_seconds, 2), "z3": round(self.z3_seconds, 2)},
            "categories": {k: dict(sorted(v.items())) for k, v in sorted(by_cat.items())},
            "equivalent_mutants": [_entry(r, self.verdicts[r.mutant.id]) for r in self.equivalent],
            "surviving_mutants": [_entry(r, self.verdicts.get(r.mutant.id)) for r in self.surviving],
        }


def _entry(r: MutantResult, v: Verdict | None) -> dict:
    m = r.mutant
    out = {"id": m.id, "category": m.category, "description": m.description}
    if m.original:
        out["original"] = m.original
        out["mutated"] = m.mutated
    if v is not None:
        out["z3"] = v.status
        out["proof"] = v.detail
        if v.core:
            out["assumptions"] = v.core
    return out


def analyse(rb: Rulebook, documents: Sequence[dict], mutants: list[Mutant] | None = None, jobs: int | None = None,
            timeout: float = 30.0) -> Adequacy:
    mutants = enumerate_mutants(rb) if mutants is None else mutants
    t0 = time.perf_counter()
    results = run_all(rb, documents, mutants, jobs)
    t1 = time.perf_counter()
    verdicts = {r.mutant.id: decide(rb, r.mutant, timeout) for r in results if r.killed_by is None}
    t2 = time.perf_counter()
    import os
    n = sum(len(g["cases"]) for d in documents for g in d["groups"])
    return Adequacy(results, verdicts, t1 - t0, t2 - t1, jobs or min(os.cpu_count() or 1, 8), n)


def text_report(a: Adequacy, verbose: bool = False) -> str:
    j = a.to_json()
    lines = [f"mutants: {j['total']} first-order mutants of the rulebook, {j['equivalent']} equivalent (proved with Z3), "
             f"{j['non_equivalent']} non-equivalent: {j['caught']} caught by the {j['cases']} cases, {j['surviving']} surviving",
             f"time: vectors {j['seconds']['vectors']} s on {j['jobs']} process(es), Z3 {j['seconds']['z3']} s", "",
             "by category:"]
    width = max(len(k) for k in j["categories"])
    for k, v in j["categories"].items():
        lines.append(f"  {k.ljust(width)}  " + ", ".join(f"{n} {s}" for s, n in v.items()))
    if j["surviving_mutants"]:
        lines += ["", "SURVIVING (no case catches them and Z3 does not prove them equivalent):"]
        for e in j["surviving_mutants"]:
            lines.append(f"  {e['id']}  {e['description']}")
            if e.get("original"):
                lines.append(f"      {e['original']}  =>  {e['mutated']}")
            if e.get("proof"):
                lines.append(f"      Z3 {e.get('z3')}: {e['proof']}")
    if verbose or j["equivalent_mutants"]:
        lines += ["", "equivalent (set aside; Z3 proof over every reachable state of the contract profiles):"]
        for e in j["equivalent_mutants"]:
            why = "; ".join(e.get("assumptions", [])) or "no assumption needed"
            lines.append(f"  {e['id']}  {e['description']}  [{why}]")
    lines.append("")
    lines.append("every non-equivalent mutant is caught" if a.ok else f"{len(a.surviving)} non-equivalent mutant(s) survive")
    return "\n".join(lines) + "\n"

"""Coverage of the rulebook by vector cases: how many cases exercise each rule.

Every case is replayed on the reference engine; the interpreter reports the checks it evaluated
with their outcome. Items: every action (done and refused), every check and common check on both
outcomes (pass, fail), every derived value, liquidation, every error code, every tier of every
contract profile on both sides (a position of that side with its notional in that tier after some
step), every invariant and source statement a case cites, every flag. A check outcome that no
reachable state can produce (proved with Z3 over the contract profiles) is listed as unreachable,
not as zero (and so is a flag whose only source produced no case, and a frame invariant when the
cases name a single contract); anything else at zero is a gap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable

from ..engine import ReferenceEngine
from ..rulebook import Rulebook
from .recorder import covered, replay

#: Flags that only cases of one source carry: when that source produced nothing (the prover found
#: no counterexample, no mutant needed a case of its own) the flag is not applicable, not a gap.
SOURCE_FLAGS = {"ProofCounterexample": "counterexample", "MutantKiller": "mutant"}

KINDS = ("action", "check", "common_check", "derived", "liquidation", "error", "tier", "invariant", "source", "flag")


@dataclass
class Coverage:
    counts: dict[str, dict[str, int]]  # kind -> item -> number of cases
    excused: dict[str, str] = field(default_factory=dict)  # kind:item -> why it cannot be covered
    cases: int = 0

    def zeros(self) -> list[str]:
        return [f"{k}:{i}" for k, items in self.counts.items() for i, n in items.items()
                if n == 0 and f"{k}:{i}" not in self.excused]

    def to_json(self) -> dict:
        return {"cases": self.cases, "counts": self.counts, "excused": self.excused, "zeros": self.zeros(),
                "summary": {k: {"items": len(v), "covered": sum(1 for n in v.values() if n),
                                "excused": sum(1 for i in v if f"{k}:{i}" in self.excused)}
                            for k, v in self.counts.items()}}


def _universe(rb: Rulebook, symbols: Iterable[str]) -> dict[str, list[str]]:
    sides = rb.enums["side"]
    u: dict[str, list[str]] = {
        "action": [f"{a}:{o}" for a in rb.actions for o in ("done", "refused")],
        "check": [f"{c.id}:{o}" for c in rb.checks() for o in ("pass", "fail")],
        "common_check": [f"{c.id}:{o}" for c in rb.common_checks for o in ("pass", "fail")],
        "derived": [d.name for d in rb.derived],
        "liquidation": [a.name for a in rb.actions.values() if any(e.kind == "liquidate_if" for e in a.effects)],
        "error": list(rb.errors),
        "tier": [f"{s}:tier{k}:{side}" for s in symbols for k in range(1, len(rb.contracts[s].tiers) + 1) for side in sides],
        "invariant": [i.id for i in rb.invariants],
        "source": [s.id for s in rb.sources],
        "flag": [f.name for f in rb.flags],
    }
    return u


def measure(rb: Rulebook, documents: Iterable[dict], prove_unreachable: bool = True) -> Coverage:
    """Coverage of the cases in `documents` (vector documents as dicts)."""
    docs = list(documents)
    symbols = sorted({s for d in docs for g in d["groups"] for s in g["contracts"] if s in rb.contracts})
    universe = _universe(rb, symbols)
    counts = {k: {i: 0 for i in items} for k, items in universe.items()}
    engine = ReferenceEngine(rb)
    n = 0
    for d in docs:
        for g in d["groups"]:
            for case in g["cases"]:
                n += 1
                hit = _case_items(rb, engine, g, case)
                for kind, item in hit:
                    if item in counts[kind]:
                        counts[kind][item] += 1
    cov = Coverage(counts, {}, n)
    if prove_unreachable:
        zero_checks = [i for i, c in counts["check"].items() if c == 0]
        if zero_checks:
            from .unreachable import unreachable_outcomes

            for item, why in unreachable_outcomes(rb, zero_checks).items():
                cov.excused[f"check:{item}"] = "unreachable: " + why
    if len(symbols) < 2:
        for inv in rb.invariants:
            if inv.extra.get("kind") == "frame" and counts["invariant"].get(inv.id) == 0:
                cov.excused[f"invariant:{inv.id}"] = ("not applicable: the cases name one contract "
                                                      f"({', '.join(symbols) or 'none'}); a frame relates two")
    sources = {c["source"] for d in docs for g in d["groups"] for c in g["cases"]}
    for flag, source in SOURCE_FLAGS.items():
        if source not in sources and counts["flag"].get(flag) == 0:
            cov.excused[f"flag:{flag}"] = f"not applicable: no case comes from source {source!r}"
    return cov


def _case_items(rb: Rulebook, engine: ReferenceEngine, group: dict, case: dict) -> set[tuple[str, str]]:
    trace = replay(engine, group["contracts"], group["available_balance"], [s["request"] for s in case["steps"]])
    out: set[tuple[str, str]] = set()
    ids = covered(rb, trace) | set(case["rules"])
    derived = {d.name for d in rb.derived}
    inv = {i.id for i in rb.invariants}
    for i in ids:
        if i in derived:
            out.add(("derived", i))
        elif i in inv:
            out.add(("invariant", i))
    for s in rb.sources:
        if any(x in ids for x in s.covered_by):
            out.add(("source", s.id))
    for f in case["flags"]:
        out.add(("flag", f))
    common = [c for c in rb.common_checks]
    for st in trace:
        op = st.request["op"]
        ok = st.reply.get("ok")
        if not ok:
            out.add(("error", st.reply["error"]["code"]))
        if op not in rb.actions:
            continue
        out.add(("action", f"{op}:{'done' if ok else 'refused'}"))
        if st.checks is None:
            if not ok:
                code = st.reply["error"]["code"]
                for c in common:
                    if c.error == code:
                        out.add(("common_check", f"{c.id}:fail"))
                        break
                    out.add(("common_check", f"{c.id}:pass"))
        else:
            for c in common:
                out.add(("common_check", f"{c.id}:pass"))
            for cid, verdict in st.checks:
                if verdict != "skip":
                    out.add(("check", f"{cid}:{verdict}"))
        if st.liquidated:
            out.add(("liquidation", op))
        for sym, k, side in st.positions:
            out.add(("tier", f"{sym}:tier{k}:{side}"))
    return out


def text_report(cov: Coverage) -> str:
    lines = [f"coverage of {cov.cases} cases (number of cases covering each item)"]
    for kind, items in cov.counts.items():
        covered_n = sum(1 for v in items.values() if v)
        excused = [i for i in items if f"{kind}:{i}" in cov.excused]
        lines.append("")
        lines.append(f"{kind}: {covered_n}/{len(items)} covered" + (f", {len(excused)} excused" if excused else ""))
        width = max((len(i) for i in items), default=0)
        for item, c in items.items():
            mark = ""
            if c == 0:
                mark = "  " + cov.excused[f"{kind}:{item}"] if f"{kind}:{item}" in cov.excused else "  <-- ZERO"
            lines.append(f"  {item.ljust(width)}  {c:6d}{mark}")
    zeros = cov.zeros()
    lines.append("")
    lines.append("nothing at zero" if not zeros else f"{len(zeros)} item(s) at zero: {', '.join(zeros)}")
    return "\n".join(lines) + "\n"


def dumps(cov: Coverage) -> bytes:
    return (json.dumps(cov.to_json(), indent=1, sort_keys=True) + "\n").encode()

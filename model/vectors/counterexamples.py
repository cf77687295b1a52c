"""The prover's counterexamples as vector cases (source "counterexample").

`marginspec prove --vectors-out DIR` writes DIR/counterexamples.json (format
marginspec-vectors/1) with a case for every violated invariant. `marginspec vectors
--counterexamples FILE` takes that file: each case's requests become a case here (with its own
group's contracts and balance), its replies recorded from the reference engine like every other
case, flagged ProofCounterexample. Without the option this source is empty, as it is for the
shipped rulebook, on which every invariant is proved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from ..rulebook import Rulebook
from .cases import CaseSpec


def from_file(path: str | Path) -> list[CaseSpec]:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for g in doc.get("groups", []):
        contracts = tuple(g["contracts"].items())
        for c in g["cases"]:
            steps = tuple({"op": s["request"]["op"], "args": s["request"].get("args", {})} for s in c["steps"])
            rules = tuple(r for r in c.get("rules", ()) if r)
            out.append(CaseSpec(title=c["title"] if c["title"].startswith("counterexample") else f"counterexample: {c['title']}",
                                steps=steps, source="counterexample", flags=("ProofCounterexample",), rules=rules,
                                balance=g["available_balance"], contracts=contracts, group=g["title"],
                                comment=c.get("comment")))
    return out


def generate(rb: Rulebook, files: tuple[str | Path, ...] = ()) -> Iterator[CaseSpec]:
    for path in files:
        yield from from_file(path)

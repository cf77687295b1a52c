"""What the generated rulebook takes from the conformance vectors: the cases read from
`conformance/vectors/*.json` (or --vectors), the vector count of every rule (the vector column of
each section and of the traceability matrix), and the "From the conformance vectors" examples.

An example is a known-answer case on the contracts in force, replayed on the reference engine so
the docs say whether the rulebook being rendered still agrees with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .conformance.compare import compare_value, within
from .docs_values import fmt_json
from .docs_view import View
from .engine import ReferenceEngine, contract_json

MAX_VECTOR_EXAMPLES = 12


@dataclass(frozen=True)
class VectorCase:
    """One case of a vector file, with what the docs need of its file and group."""
    file: str
    group_title: str
    contracts: Mapping[str, Any]
    available_balance: str
    id: str
    title: str
    rules: tuple[str, ...]
    source: str
    level: str
    steps: tuple[Mapping[str, Any], ...]
    comment: str = ""
    flags: tuple[str, ...] = ()


def load_vectors(directory: Path | None) -> tuple[tuple[VectorCase, ...], tuple[str, ...], tuple[str, ...]]:
    """Every case of every `*.json` vector file in `directory`, in file-name then file order (not the
    coverage report `marginspec vectors --out DIR` writes beside them, as `conform` skips it)."""
    from .conformance.loader import NOT_VECTORS

    if directory is None or not Path(directory).is_dir():
        return (), (), ()
    cases, files, problems = [], [], []
    for path in sorted(Path(directory).glob("*.json"), key=lambda p: p.name):
        if path.name in NOT_VECTORS:
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            groups = doc["groups"]
            files.append(path.name)
            for g in groups:
                for c in g["cases"]:
                    cases.append(VectorCase(
                        file=path.name, group_title=str(g.get("title", "")), contracts=g["contracts"],
                        available_balance=str(g["available_balance"]), id=str(c["id"]), title=str(c["title"]),
                        rules=tuple(str(r) for r in c.get("rules", ())), source=str(c.get("source", "")),
                        level=str(c.get("level", "")), steps=tuple(c["steps"]), comment=str(c.get("comment", "")),
                        flags=tuple(str(f) for f in c.get("flags", ()))))
        except (OSError, ValueError, KeyError, TypeError) as e:
            problems.append(f"{path.name}: not a readable vector file ({type(e).__name__})")
    return tuple(cases), tuple(files), tuple(problems)


class VectorSections(View):
    """The vector count of every rule and the examples taken from the vectors."""

    def canonical(self, rule: str) -> str | None:
        """The rule id a case's rule name stands for: itself, else its longest suffix that is one
        (a check inlined by a call carries the call's name in front)."""
        if rule in self.ids:
            return rule
        parts = rule.split(".")
        for i in range(1, len(parts)):
            cand = ".".join(parts[i:])
            if cand in self.ids:
                return cand
        return None

    def vectors_by_rule(self) -> dict[str, list[str]]:
        """The ids of the cases citing each rule, sorted."""
        out: dict[str, set[str]] = {}
        for c in self.inputs.vectors:
            for r in c.rules:
                cid = self.canonical(r)
                if cid is not None:
                    out.setdefault(cid, set()).add(c.id)
        return {k: sorted(v) for k, v in out.items()}

    def vector_examples(self) -> list[dict]:
        """Known-answer cases on the contracts in force only (vectors written for other contracts,
        e.g. the shipped ones under --contracts, are no example of this rulebook)."""
        in_force = {s: contract_json(c, self.rb) for s, c in self.rb.contracts.items()}
        known = [c for c in self.inputs.vectors if c.source == "known_answer"
                 and all(in_force.get(s) == spec for s, spec in c.contracts.items())]
        if len(known) <= MAX_VECTOR_EXAMPLES:
            return [self.vector_example(c) for c in known]
        chosen, covered = [], set()
        for c in known:  # greedily: each example adds a rule the earlier ones did not show
            rules = {self.canonical(r) or r for r in c.rules}
            if rules - covered:
                chosen.append(c)
                covered |= rules
            if len(chosen) >= MAX_VECTOR_EXAMPLES:
                break
        return [self.vector_example(c) for c in chosen]

    def vector_example(self, c: VectorCase) -> dict:
        engine = ReferenceEngine(self.rb)
        agree, where = True, None
        reply = engine.handle({"id": 0, "op": "reset", "args": {"contracts": c.contracts,
                                                                 "available_balance": c.available_balance}})
        if not reply["ok"]:
            agree, where = False, 0
        steps = []
        for i, st in enumerate(c.steps, 1):
            req, exp = st.get("request", {}), st.get("expect", {})
            if agree:
                try:
                    got = engine.handle({"id": i, "op": req.get("op"), "args": req.get("args", {})})
                except Exception:  # a rulebook the engine cannot run: reported, never fatal for the docs
                    got = {"ok": None}
                same = got.get("ok") is not None and bool(got.get("ok")) == bool(exp.get("ok")) and (
                    (got.get("error") or {}).get("code") == exp.get("error") if not exp.get("ok")
                    else _matches(exp.get("result", {}), got.get("result", {}), st.get("tolerance")))
                if not same:
                    agree, where = False, i
            args = [(k, fmt_json(v)) for k, v in (req.get("args") or {}).items() if k != "symbol"]
            result = exp.get("result") or {}
            position = result.get("position") if isinstance(result, dict) else None
            fields = [(k, fmt_json(v)) for k, v in result.items() if k != "position"] if isinstance(result, dict) else []
            steps.append({"n": i, "op": req.get("op"), "symbol": (req.get("args") or {}).get("symbol"), "args": args,
                          "ok": bool(exp.get("ok")), "error": exp.get("error"), "fields": fields,
                          "position": [(k, fmt_json(v)) for k, v in position.items()] if isinstance(position, dict) else None,
                          "has_position_key": isinstance(result, dict) and "position" in result,
                          "comment": st.get("comment", "")})
        rules = []
        for r in c.rules:
            cid = self.canonical(r)
            rules.append({"text": r, "id": cid})
        return {"id": c.id, "title": c.title, "file": c.file, "group": c.group_title, "balance": c.available_balance,
                "flags": [{"name": f, "id": f"flag-{f}"} for f in c.flags],
                "symbols": sorted(c.contracts), "rules": rules, "steps": steps, "agree": agree, "where": where,
                "comment": c.comment}


def _matches(expected: Any, got: Any, tolerance: Mapping | None = None) -> bool:
    """Whether a reply's result meets a vector's expectation, by the conformance runner's rules
    (a step's tolerances included)."""
    diffs: list = []
    compare_value(expected, got, "result", diffs)
    return not [d for d in diffs if not within(d[1], d[2], (tolerance or {}).get(d[0][len("result."):]))]

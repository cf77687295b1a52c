"""The cross-reference sections of the generated rulebook: the traceability matrix (for every
source statement S1–S21, the rules, notes, proofs and vectors that cover it), the interpretation
notes with the rules citing them, the error codes with the checks raising them, and the
conformance flags with the cases carrying them.

Every list here is an index built from the rulebook's own `sources`, `notes` and `covered_by`
fields and from the vectors and proofs read (docs_vectors, docs_proofs), so it cannot drift from them.
"""

from __future__ import annotations

import re
from typing import Mapping

from .docs_ccxt import CCXT
from .docs_proofs import overall
from .docs_view import View

TRACE_SAMPLE = 4  # vector case ids shown per source statement


class TraceSections(View):
    """Traceability, notes, errors and flags."""

    def cited_sources(self) -> dict[str, set[str]]:
        """For each source statement, the ids whose own `sources` cite it."""
        rb = self.rb
        cites: dict[str, set[str]] = {}

        def add(rid, sources):
            for s in sources:
                cites.setdefault(s, set()).add(rid)
        for d in rb.derived:
            add(d.name, d.sources)
        for a in rb.actions.values():
            add(a.name, a.sources)
            for c in a.checks:
                if not c.origin:
                    add(c.id, c.sources)
        add("liquidation", rb.liquidation.sources)
        for i in rb.invariants:
            add(i.id, i.sources)
        return cites

    def kind_of(self, rid: str) -> str:
        rb = self.rb
        if rid in {i.id for i in rb.invariants}:
            return "invariant"
        if rid in {n.id for n in rb.notes}:
            return "note"
        if rid in rb.errors:
            return "error"
        return "rule"

    def trace(self) -> list[dict]:
        cites = self.cited_sources()
        inv = {i.id: i for i in self.rb.invariants}
        out = []
        for s in self.rb.sources:
            ids = list(dict.fromkeys(list(s.covered_by) + sorted(cites.get(s.id, set()))))
            rules = [r for r in ids if self.kind_of(r) in ("rule", "error")]
            notes = [r for r in ids if self.kind_of(r) == "note"]
            proofs = [{"id": r, "status": overall(self.proof_index.get(r, []))} for r in ids if r in inv]
            vec = set(self.vec_by_rule.get(s.id, ()))
            for r in ids:
                vec |= set(self.vec_by_rule.get(r, ()))
            direct = self.vec_by_rule.get(s.id, [])
            out.append({"id": s.id, "text": self.prose(s.text), "rules": rules, "notes": notes, "proofs": proofs,
                        "vectors": len(vec), "sample": sorted(vec)[:TRACE_SAMPLE], "direct": len(direct)})
        return out

    def notes(self) -> list[dict]:
        cited: dict[str, set[str]] = {}
        rb = self.rb

        def add(rid, notes):
            for n in notes:
                cited.setdefault(n, set()).add(rid)
        for d in rb.derived:
            add(d.name, d.notes)
        for a in rb.actions.values():
            add(a.name, a.notes)
            for c in a.checks:
                if not c.origin:
                    add(c.id, c.notes)
        for c in rb.common_checks:
            add(c.id, c.notes)
        add("liquidation", rb.liquidation.notes)
        for s in rb.sources:
            for r in s.covered_by:
                if r in {n.id for n in rb.notes}:
                    cited.setdefault(r, set()).add(s.id)
        return [{"id": n.id, "title": n.title, "text": self.prose(n.text), "why": self.prose(n.why),
                 "cited_by": sorted(cited.get(n.id, set()), key=_id_order)} for n in rb.notes]

    def errors(self) -> list[dict]:
        rb = self.rb
        out = []
        refusing: dict[str, set[str]] = {}
        for c in self.inputs.vectors:
            for st in c.steps:
                exp = st.get("expect", {}) if isinstance(st, Mapping) else {}
                if exp.get("ok") is False and exp.get("error"):
                    refusing.setdefault(str(exp["error"]), set()).add(c.id)
        for code, desc in rb.errors.items():
            raised = [{"id": c.id, "action": "every action", "message": c.message, "origin": None}
                      for c in rb.common_checks if c.error == code]
            for a in rb.actions.values():
                for c in a.checks:
                    if c.error == code:
                        raised.append({"id": c.id, "action": a.name, "message": c.message, "origin": c.origin})
            out.append({"code": code, "description": self.prose(desc), "raised_by": raised,
                        "vectors": len(refusing.get(code, ())), "ccxt": CCXT.get(code, ("—", "", ""))[0]})
        return out

    def flags(self) -> list[dict]:
        """The conformance flags (spec/flags.yaml) with the number of vector cases carrying each."""
        counts: dict[str, int] = {}
        for c in self.inputs.vectors:
            for f in c.flags:
                counts[f] = counts.get(f, 0) + 1
        return [{"name": f.name, "id": f"flag-{f.name}", "meaning": self.prose(f.meaning),
                 "if_wrong": self.prose(f.if_wrong), "vectors": counts.get(f.name, 0)}
                for f in getattr(self.rb, "flags", ())]


def _id_order(rid: str):
    """S1, S2, ..., S21 in number order, then every other id by name."""
    m = re.fullmatch(r"S(\d+)", rid)
    return (0, int(m.group(1)), "") if m else (1, 0, rid)

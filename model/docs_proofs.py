"""What the generated rulebook takes from the prover's report (`proof-report.json`, written by
`marginspec prove --output`): the status of every invariant with its results, assumptions and
counterexamples (not the seconds: the pages stay byte-identical from run to run and machine to
machine, while the report's timings are the run's own), each invariant's formal content as math, the report's other results (linked to
the rules their ids name), the findings the proved bounds imply, and the summary with the scopes
proved.

Without a report every invariant is shown as NOT YET PROVED; a status is only ever the report's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from .docs_commands import PROOF_REPORT
from .docs_values import fmt_json
from .docs_view import View
from .mathml import Box, Formula, Ident, Literal, Op, row
from .prover.scopes import scope_lines, scopes


def load_proofs(path: Path | None) -> tuple[Mapping[str, Any] | None, str | None]:
    """The report at `path` (None when there is none), or why it cannot be read."""
    if path is None or not Path(path).is_file():
        return None, None
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
            return None, f"{Path(path).name}: no 'results' list"
        return doc, None
    except (OSError, ValueError) as e:
        return None, f"{Path(path).name}: unreadable ({type(e).__name__})"


def other_contracts(doc: Mapping[str, Any] | None, symbols) -> str | None:
    """Why the report `doc` is not about the contracts `symbols` (None when it may be): a report
    names the contracts it proved (`options.contracts`); one naming a contract not in force was
    made for other contracts (e.g. the shipped report read for `--contracts FILE`)."""
    options = doc.get("options") if isinstance(doc, dict) else None
    proved = options.get("contracts") if isinstance(options, dict) else None
    if not isinstance(proved, list) or set(map(str, proved)) <= set(symbols):
        return None
    return (f"{PROOF_REPORT} is for the contracts {', '.join(map(str, proved))}, not these "
            f"({', '.join(sorted(symbols))}): not used")


def overall(results: list[dict]) -> str:
    """An invariant's status from its results (of `ProofSections.proof_result`): a violation or a
    vacuous proof wins, PROVED only when every result is."""
    if not results:
        return "NOT YET PROVED"
    statuses = {r["status"] for r in results}
    for bad in ("VIOLATED", "VACUOUS"):
        if bad in statuses:
            return bad
    if statuses == {"PROVED"}:
        return "PROVED"
    if "ERROR" in statuses:
        return "ERROR"
    return "UNKNOWN"


class ProofSections(View):
    """The "Invariants and proofs" section, the findings, and the proof summary."""

    def proofs(self) -> dict[str, list[dict]]:
        """Proof results by invariant id (a result counts for its id and every id in `invariants`)."""
        out: dict[str, list[dict]] = {}
        doc = self.inputs.proofs
        if not doc:
            return out
        inv_ids = {i.id for i in self.rb.invariants}
        for r in sorted((r for r in doc["results"] if isinstance(r, dict)), key=lambda r: str(r.get("id"))):
            targets = {str(r.get("id"))} | {str(x) for x in (r.get("invariants") or [])}
            for t in sorted(targets & inv_ids):
                out.setdefault(t, []).append(self.proof_result(r))
        return out

    def proof_result(self, r: Mapping[str, Any]) -> dict:
        status = str(r.get("status", "UNKNOWN")).upper()
        assumptions = r.get("assumptions") or []
        if not isinstance(assumptions, list):
            assumptions = [assumptions]
        return {"id": str(r.get("id")), "kind": str(r.get("kind", "")), "scope": str(r.get("scope") or ""),
                "status": status,
                "assumptions": [str(a) if not isinstance(a, (dict, list)) else json.dumps(a, sort_keys=True)
                                for a in assumptions],
                "counterexample": self.counterexample(r.get("counterexample")),
                "message": str(r.get("message") or "")}

    @staticmethod
    def counterexample(cex: Any) -> dict | None:
        """A counterexample as the prover wrote it: its note and readable text, else its values."""
        if cex in (None, "", [], {}):
            return None
        if isinstance(cex, dict):
            text = cex.get("text")
            rows = [] if text else [(str(k), fmt_json(v)) for k, v in sorted(cex.items(), key=lambda kv: str(kv[0]))
                                    if k not in ("trace", "note", "confirmed", "status", "case", "invariant")]
            return {"note": str(cex.get("note") or ""), "text": str(text) if text else "",
                    "confirmed": cex.get("confirmed"), "case": str(cex.get("case") or ""), "rows": rows}
        return {"note": "", "text": cex if isinstance(cex, str) else json.dumps(cex, sort_keys=True),
                "confirmed": None, "case": "", "rows": []}

    KINDS = {
        "state": "holds in every reachable state: after reset and after every action",
        "transition": "relates the state before a successful action (old.x) to the state after it",
        "fact": "holds for every open position of every contract satisfying the family-8 invariants, at any values satisfying the assumption",
        "parameter": "holds for the parameters of each contract (checked per contract: its parameters are well formed)",
        "frame": "an action on one symbol leaves every other symbol's fields and derived values unchanged",
    }
    OVER = {"tiers": "each risk tier k", "tier_pairs": "each pair of consecutive tiers k and k + 1",
            "contract": "the contract as a whole"}

    def parsed(self, text: Any) -> Formula | None:
        from .parser import ParseError, parse
        try:
            return self.f(parse(str(text)))
        except ParseError:
            return None

    def formal_item(self, label: str, v: Any, sign: str = "=") -> dict:
        """One labelled piece of an invariant's formal content: formulas as math, the rest as text."""
        item = {"label": label, "formulas": [], "refs": [], "text": None}
        if isinstance(v, str):
            f = self.parsed(v)
            if f is not None:
                item["formulas"] = [f]
            else:
                item["text"] = v
        elif isinstance(v, Mapping):
            for k, x in v.items():
                f = self.parsed(x) if isinstance(x, str) else None
                item["formulas"].append(self.fbox(row(self.math.name(str(k)), Op(sign), self._box_of(x)), f"{k} {sign} {x}")
                                        if f is not None else self.fbox(row(Ident(str(k)), Op(":"), Literal(str(x)))))
        elif isinstance(v, (list, tuple)):
            if all(isinstance(x, str) and x in self.ids for x in v):
                item["refs"] = list(v)
            else:
                item["text"] = ", ".join(str(x) for x in v)
        else:
            item["text"] = str(v)
        return item

    def _box_of(self, text: Any) -> Box:
        from .parser import parse
        return self.math.formula(parse(str(text)))

    def invariant_formal(self, extra: Mapping[str, Any]) -> tuple[tuple[str | None, str | None], list[dict]]:
        """The invariant's kind (a sentence) and its formal content, known keys first, in reading order."""
        kind = extra.get("kind")
        out: list[dict] = []
        if "over" in extra:
            out.append({"label": "For", "formulas": [], "refs": [], "text": self.OVER.get(str(extra["over"]), str(extra["over"]))})
        if isinstance(extra.get("forall"), Mapping):
            out.append({"label": "For all", "formulas": [], "refs": [],
                        "text": ", ".join(f"{k} ({u})" for k, u in extra["forall"].items())})
        if "actions" in extra:
            out.append({**self.formal_item("After", extra["actions"])})
        if "except_actions" in extra:
            out.append({**self.formal_item("After every action except", extra["except_actions"])})
        labels = {"initial_assume": "Initially assuming", "assume": "Assuming", "with": "In the state where",
                  "define": "Where", "formula": "Formula", "sequence": "Along every sequence from reset"}
        for key in ("initial_assume", "assume", "with", "define"):
            if key in extra:
                out.append(self.formal_item(labels[key], extra[key], ":=" if key == "with" else "="))
        if isinstance(extra.get("define_for"), Mapping):
            for action, defs in extra["define_for"].items():
                out.append(self.formal_item(f"Where, for {action}", defs))
        for key in ("formula", "sequence"):
            if key in extra:
                item = self.formal_item(labels[key], extra[key])
                if item["formulas"] and key == "formula":
                    from .parser import parse
                    b = self.math.formula(parse(str(extra[key])), stacked=True)
                    item["display"] = self.fbox(b, str(extra[key]))
                out.append(item)
        known = {"kind", "over", "forall", "actions", "except_actions", "define_for", *labels}
        for key, v in extra.items():
            if key not in known:
                out.append(self.formal_item(str(key), v))
        for item in out:
            item.setdefault("display", None)
        sentence = self.KINDS.get(str(kind), str(kind)) if kind is not None else None
        return (str(kind) if kind is not None else None, sentence), out

    def invariants(self) -> list[dict]:
        out = []
        for inv in self.rb.invariants:
            results = self.proof_index.get(inv.id, [])
            assumptions = sorted({a for r in results for a in r["assumptions"]})
            (kind, kind_text), formal = self.invariant_formal(inv.extra)
            out.append({"id": inv.id, "family": inv.family, "title": inv.title, "statement": self.prose(inv.statement),
                        "sources": list(inv.sources), "kind": kind, "kind_text": kind_text, "formal": formal,
                        "status": overall(results), "results": results,
                        "assumptions": assumptions,
                        "vectors": len(self.vec_by_rule.get(inv.id, ()))})
        return out

    def findings(self) -> list[dict]:
        """What the proved bounds imply for the shipped contracts (model/findings.py), with the
        status of the proof each rests on."""
        from .findings import fund_findings
        return [{"text": f.text, "invariant": f.invariant, "status": overall(self.proof_index.get(f.invariant, []))}
                for f in fund_findings(self.rb)]

    def other_proofs(self) -> list[dict]:
        doc = self.inputs.proofs
        if not doc:
            return []
        inv_ids = {i.id for i in self.rb.invariants}
        rest = [r for r in doc["results"] if isinstance(r, dict)
                and not ({str(r.get("id"))} | {str(x) for x in (r.get("invariants") or [])}) & inv_ids]
        out = []
        for r in sorted(rest, key=lambda r: str(r.get("id"))):
            res = self.proof_result(r)
            res["rules"] = [seg for seg in str(r.get("id")).split("/") if seg in self.ids]
            out.append(res)
        return out

    def proof_summary(self) -> dict:
        counts: dict[str, int] = {}
        for inv in self.rb.invariants:
            s = overall(self.proof_index.get(inv.id, []))
            counts[s] = counts.get(s, 0) + 1
        doc = self.inputs.proofs
        results = [r for r in doc["results"] if isinstance(r, dict) and "status" in r and "kind" in r] if doc else []
        return {"counts": sorted(counts.items()), "have_report": doc is not None,
                "scopes": scope_lines(scopes(self.rb, results)) if results else []}

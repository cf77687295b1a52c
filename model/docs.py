"""The rulebook rendered for people: generated_docs/rulebook.md and generated_docs/index.html.

This module is the docs' public face: the inputs (`gather_inputs`, `Inputs`), the `Builder` that
assembles the view model from its sections, the Jinja templates with their Markdown and HTML
filters (`render`), and the files (`write_files`, `stale_files`, the default directories). The
sections live in docs_*.py, one concept each: docs_rules (the rulebook's definitions), docs_stories
(worked examples), docs_vectors, docs_proofs, docs_trace (cross-references), docs_venues, docs_ccxt;
docs_view holds what they share and docs_values how values are printed.

Everything comes from the loaded Rulebook; two optional inputs add to it when present:
- the prover's report (`<out>/proof-report.json`, a JSON object with a `results` list of
  {id, kind, status, seconds, assumptions, counterexample, invariants?}): proof status per invariant;
- the conformance vectors (`conformance/vectors/*.json`): worked examples (cases with
  `source: known_answer`) and the vector column of the traceability matrix.
The worked examples of the reference engine are always computed from the rulebook being rendered,
so a change of a rate changes them. Output is byte-identical from run to run: no timestamps, no
absolute paths, every unordered collection sorted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Mapping, Sequence

import jinja2

from . import docs_ccxt, docs_venues
from .docs_commands import PROOF_REPORT, SHIPPED, Commands
from .docs_proofs import ProofSections, load_proofs, other_contracts
from .docs_rules import RuleSections
from .docs_stories import StorySections
from .docs_trace import TraceSections
from .docs_vectors import VectorCase, VectorSections, load_vectors
from .docs_view import Piece
from .rulebook import Rulebook

OUTPUT_FILES = {"rulebook.md": ("md", "rulebook.md.j2"), "index.html": ("html", "index.html.j2")}  # name: (format, template)


# =========================================================================== inputs
@dataclass(frozen=True)
class Inputs:
    """What the docs read besides the rulebook (each part optional; a problem is shown, not raised)."""
    vectors: tuple[VectorCase, ...] = ()
    vector_files: tuple[str, ...] = ()
    vector_problems: tuple[str, ...] = ()
    proofs: Mapping[str, Any] | None = None
    proof_problem: str | None = None
    venue_diff: Mapping[str, Any] | None = None  # generated_docs/venue-diff.json (docs_venues)
    commands: Commands = SHIPPED  # what the docs advise to run to (re)build these inputs


# =========================================================================== the builder
class Builder(RuleSections, StorySections, VectorSections, ProofSections, TraceSections):
    """Builds the view model both templates render, one section method at a time."""

    def build(self) -> dict[str, Any]:
        rb = self.rb
        self.proof_index = self.proofs()
        self.vec_by_rule = self.vectors_by_rule()
        ctx = {
            "title": rb.title, "name": rb.name, "version": rb.version, "summary": self.prose(rb.summary),
            "legend": self.legend(), "units": self.units(), "enums": self.enums(), "state": self.state(),
            "params": self.params(rb.params), "tier_fields": self.params(rb.tier_fields),
            "profiles": self.profiles(), "derived": self.derived(), "common_checks": self.common_checks(),
            "actions": [self.action(a) for a in rb.actions.values()], "liquidation": self.liquidation(),
            "stories": self.stories(), "vector_examples": self.vector_examples(),
            "invariants": self.invariants(), "other_proofs": self.other_proofs(), "trace": self.trace(),
            "notes": self.notes(), "errors": self.errors(), "flags": self.flags(),
            "ccxt": docs_ccxt.table(rb), "ccxt_extra": docs_ccxt.CCXT_EXTRA,
            "inputs": self.input_summary(), "proof_summary": self.proof_summary(),
            "venues": docs_venues.section(self, self.inputs.venue_diff),
            "findings": self.findings(), "commands": self.inputs.commands,
        }
        ctx["toc"] = self.toc(ctx)
        return ctx

    def toc(self, ctx) -> list[dict]:
        def sub(items, code=True):
            return [{"id": i, "title": t, "code": code} for i, t in items]
        return [
            {"id": "sec-reading", "title": "How to read this rulebook", "children": []},
            {"id": "sec-units", "title": "Units", "children": []},
            {"id": "sec-state", "title": "State", "children": []},
            {"id": "sec-parameters", "title": "Parameters and contract profiles",
             "children": sub((f"profile-{p['symbol']}", p["symbol"]) for p in ctx["profiles"])},
            {"id": "sec-derived", "title": "Derived values", "children": sub((d["name"], d["name"]) for d in ctx["derived"])},
            {"id": "sec-actions", "title": "Actions",
             "children": sub([("sec-common-checks", "common checks")] + [(a["name"], a["name"]) for a in ctx["actions"]])},
            {"id": "liquidation", "title": "Liquidation", "children": []},
            {"id": "sec-examples", "title": "Worked examples",
             "children": sub([(s["anchor"], s["title"]) for s in ctx["stories"]]
                             + ([("sec-vector-examples", "From the conformance vectors")] if ctx["vector_examples"] else []),
                             code=False)},
            {"id": "sec-invariants", "title": "Invariants and proofs", "children": []},
            {"id": "sec-trace", "title": "Traceability S1–S21", "children": []},
            {"id": "sec-notes", "title": "Interpretation notes", "children": []},
            {"id": "sec-errors", "title": "Error codes", "children": []},
            *([{"id": "sec-flags", "title": "Conformance flags", "children": []}] if ctx["flags"] else []),
            *([{"id": "sec-venues", "title": "Venues", "children": sub(
                (p["anchor"], p["name"]) for p in ctx["venues"]["presets"])}] if ctx.get("venues") else []),
            {"id": "sec-ccxt", "title": "Protocol names and ccxt", "children": []},
            {"id": "sec-inputs", "title": "About this document", "children": []},
        ]

    def input_summary(self) -> dict:
        inp = self.inputs
        sources: dict[str, int] = {}
        for c in inp.vectors:
            sources[c.source] = sources.get(c.source, 0) + 1
        proofs = inp.proofs or {}
        rb_meta = proofs.get("rulebook") if isinstance(proofs.get("rulebook"), dict) else None
        meta = {}  # no paths, no timestamps: only what identifies the report
        if proofs.get("tool"):
            meta["tool"] = proofs["tool"]
        if rb_meta:
            meta["rulebook"] = {k: rb_meta[k] for k in ("name", "version") if k in rb_meta}
        mismatch = bool(rb_meta) and (rb_meta.get("name"), rb_meta.get("version")) != (self.rb.name, self.rb.version)
        return {"vector_files": list(inp.vector_files), "vector_cases": len(inp.vectors),
                "vector_sources": sorted(sources.items()), "vector_problems": list(inp.vector_problems),
                "proofs": inp.proofs is not None, "proof_results": len(proofs.get("results", [])) if proofs else 0,
                "proof_problem": inp.proof_problem, "proof_meta": json.dumps(meta, sort_keys=True) if meta else "",
                "proof_mismatch": mismatch}


# =========================================================================== rendering
def _ref_md(rid: str, label: str | None = None) -> str:
    return f"[`{label or rid}`](#{rid})"


def _ref_html(rid: str, label: str | None = None) -> str:
    return f'<a class="ref" href="#{escape(rid, quote=True)}"><code>{escape(label or rid)}</code></a>'


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|$~])")


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def md_prose(pieces: Sequence[Piece]) -> str:
    out = []
    for p in pieces:
        if p.kind == "text":
            out.append(md_escape(p.text))
        elif p.kind == "code":
            out.append(f"`{p.text}`")
        else:
            out.append(_ref_md(p.text))
    return "".join(out)


def html_prose(pieces: Sequence[Piece]) -> str:
    out = []
    for p in pieces:
        if p.kind == "text":
            out.append(escape(p.text))
        elif p.kind == "code":
            out.append(f"<code>{escape(p.text)}</code>")
        else:
            out.append(_ref_html(p.text))
    return "".join(out)


def _env(fmt_: str, ids: frozenset[str] = frozenset()) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("marginspec", "templates"),
        autoescape=(fmt_ == "html"), trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined)
    if fmt_ == "html":
        env.filters["prose"] = lambda p: jinja2.utils.markupsafe.Markup(html_prose(p))
        env.filters["ref"] = lambda rid, label=None: jinja2.utils.markupsafe.Markup(_ref_html(rid, label))
        env.filters["m"] = lambda f: jinja2.utils.markupsafe.Markup(f.mml) if f else ""
        env.filters["mb"] = lambda f: jinja2.utils.markupsafe.Markup(f.mml_block) if f else ""
        env.filters["wbr"] = lambda t: jinja2.utils.markupsafe.Markup(
            re.sub(r"([_.])", r"\1<wbr>", escape(str(t))))
    else:
        env.filters["prose"] = md_prose
        env.filters["ref"] = _ref_md
        env.filters["m"] = lambda f: f"${f.tex}$" if f else ""
        env.filters["mb"] = lambda f: f"$$\n{f.tex}\n$$" if f else ""
        env.filters["esc"] = md_escape
    env.filters["status_class"] = lambda s: str(s).lower().replace(" ", "-")
    # a name that may be a rule id (an assumption of a proof): linked when it is one
    def target(t: str) -> str | None:  # "hyp:INV-covered" and "check:add_margin.balance" name rules too
        t = str(t)
        if t in ids:
            return t
        head, _, tail = t.rpartition(":")
        if head == "effect":  # effect:ACTION.FIELD: the action's update of the field
            tail = tail.split(".", 1)[0]
        return tail if tail in ids else None

    if fmt_ == "html":
        env.filters["aref"] = lambda t: jinja2.utils.markupsafe.Markup(
            _ref_html(target(t), str(t)) if target(t) else f"<code>{escape(str(t))}</code>")
    else:
        env.filters["aref"] = lambda t: _ref_md(target(t), str(t)) if target(t) else f"`{t}`"
    return env


def render(rb: Rulebook, inputs: Inputs | None = None) -> dict[str, str]:
    """The generated files by name (rulebook.md, index.html), as text."""
    ctx = Builder(rb, inputs or Inputs()).build()
    out = {}
    for name, (fmt_, template) in OUTPUT_FILES.items():
        env = _env(fmt_, frozenset(rb.rule_ids()))
        css = env.loader.get_source(env, "style.css")[0] if fmt_ == "html" else ""
        text = env.get_template(template).render(css=jinja2.utils.markupsafe.Markup(css), **ctx)
        text = "\n".join(line.rstrip() for line in text.splitlines()).rstrip("\n") + "\n"
        out[name] = re.sub(r"\n{3,}", "\n\n", text) if fmt_ == "md" else text
    return out


# =========================================================================== files and paths
def checkout_root(spec_dir: Path) -> Path | None:
    """The checkout holding `spec_dir`: its parent, when that has pyproject.toml and spec_dir is its spec/."""
    spec_dir = Path(spec_dir).resolve()
    parent = spec_dir.parent
    if spec_dir.name == "spec" and (parent / "pyproject.toml").is_file():
        return parent
    return None


def default_out_dir(spec_dir: Path) -> Path:
    root = checkout_root(spec_dir)
    return (root / "generated_docs") if root else (Path.cwd() / "generated_docs")


def default_vectors_dir(spec_dir: Path) -> Path | None:
    root = checkout_root(spec_dir)
    if root is not None:
        return root / "conformance" / "vectors"
    try:
        import importlib.resources
        return Path(str(importlib.resources.files("marginspec.conformance.vectors")))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover
        return None


def gather_inputs(vectors_dir: Path | None, proofs_path: Path | None, commands: Commands = SHIPPED,
                  in_force: Sequence[str] | None = None) -> Inputs:
    """The docs' inputs; with `in_force` (the contract symbols rendered), a proof report made for
    other contracts is left out, saying so."""
    cases, files, problems = load_vectors(vectors_dir)
    proofs, problem = load_proofs(proofs_path)
    if in_force is not None and (other := other_contracts(proofs, in_force)):
        proofs, problem = None, other
    return docs_venues.with_table(Inputs(cases, files, problems, proofs, problem, commands=commands), proofs_path)


def stale_files(out_dir: Path, files: Mapping[str, str]) -> list[tuple[str, str]]:
    """(name, 'missing' | 'stale') for every generated file that differs from what is on disk."""
    out = []
    for name in sorted(files):
        p = Path(out_dir) / name
        if not p.is_file():
            out.append((name, "missing"))
        elif p.read_bytes() != files[name].encode("utf-8"):
            out.append((name, "stale"))
    return out


def write_files(out_dir: Path, files: Mapping[str, str]) -> list[str]:
    """Write the files that changed; return their names."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    changed = []
    for name in sorted(files):
        p = Path(out_dir) / name
        data = files[name].encode("utf-8")
        if not p.is_file() or p.read_bytes() != data:
            from .atomic import write_atomic
            write_atomic(p, data)  # never a half-written file; nothing else in out_dir is touched
            changed.append(name)
    return changed

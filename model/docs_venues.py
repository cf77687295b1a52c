"""The "Venues" section of the generated rulebook: the presets of spec/venues.yaml with their cited
formulas, the rulebook's derived formulas specialised per preset (printed from the AST), their
published examples reproduced by the reference engine, and the table of `marginspec diff` between
every pair of presets.

The diff table is proved by Z3 and takes a while, so `marginspec diff --all-pairs --output
generated_docs/venue-diff.json` computes it once (like the proof report) and the docs read it; a
table computed from other presets, formulas or contracts is flagged as out of date, never shown as
current (with `--contracts FILE` the table is over those contracts; docs_commands says how to make it).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

from . import ast
from .docs_commands import VENUE_DIFF, Commands
from .numbers import exact_text, format_decimal
from .rulebook import Rulebook

SHOWN = ("maintenance_notional", "maintenance_margin", "liquidation_root")  # the formulas the parameters change


# ----------------------------------------------------------------------------------------- formulas
def specialise(rb: Rulebook, e: ast.Expr, values: Mapping[str, Any]) -> ast.Expr:
    """`e` with the venue parameters replaced by their values and what they decide folded away
    (an `if` on the basis, `+ 0` for a zero fee)."""
    def lit(name):
        v = values[name]
        return ast.Str(v) if isinstance(v, str) else ast.Num(Fraction(v), format_decimal(Fraction(v)))

    def fold(n: ast.Expr):
        if isinstance(n, ast.Name) and n.name in values:
            return lit(n.name)
        if isinstance(n, ast.Compare) and isinstance(n.left, ast.Str) and isinstance(n.right, ast.Str) \
                and n.op in ("==", "!="):
            return ast.Bool((n.left.value == n.right.value) == (n.op == "=="))
        if isinstance(n, ast.If) and isinstance(n.cond, ast.Bool):
            return n.then if n.cond.value else n.otherwise
        if isinstance(n, ast.Binary) and n.op in ("+", "-") and _zero(n.right):
            return n.left
        if isinstance(n, ast.Binary) and n.op == "+" and _zero(n.left):
            return n.right
        return None

    return ast.transform(e, fold)


def _zero(n: ast.Expr) -> bool:
    return isinstance(n, ast.Num) and n.value == 0


def preset_formulas(rb: Rulebook, values: Mapping[str, Any]) -> list[tuple[str, ast.Expr]]:
    """The derived values the venue parameters change, specialised; maintenance_notional is
    inlined into maintenance margin (it is then just a notional)."""
    by = rb.derived_by_name()
    out = []
    basis = specialise(rb, by["maintenance_notional"].expr, values) if "maintenance_notional" in by else None
    for name in SHOWN:
        if name not in by:
            continue
        e = specialise(rb, by[name].expr, values)
        if basis is not None and name != "maintenance_notional":
            e = ast.substitute(e, {"maintenance_notional": basis})
        out.append((name, e))
    return out


# ----------------------------------------------------------------------------------------- examples
def example_results(rb: Rulebook) -> list[dict]:
    """Each published example run on the reference engine: the venue's value, the rulebook's,
    and whether they agree within the venue's stated tolerance."""
    from .engine import ReferenceEngine
    from .venues import load_venues

    out = []
    venues = load_venues(rb)
    for v in venues.venues.values():
        params = {k: (format_decimal(x) if isinstance(x, Fraction) else x) for k, x in v.parameters.items()}
        for ex in v.examples:
            e = ReferenceEngine(rb)
            sym = ex.id.upper()
            steps = [("reset", {"contracts": {sym: {**ex.contract, **params}}, "available_balance": ex.balance}),
                     ("set_mark_price", {"symbol": sym, "price": ex.entry_price}),
                     ("open_position", {"symbol": sym, "side": ex.side, "size": ex.size, "margin": ex.margin}),
                     ("query", {"symbol": sym})]
            reply = None
            for i, (op, args) in enumerate(steps):
                reply = e.handle({"id": i, "op": op, "args": args})
            got = reply.get("result") if reply and reply.get("ok") else None
            for part in ex.field.split("."):
                got = got.get(part) if isinstance(got, dict) else None
            root = None
            if e.world.symbols.get(sym, {}).get("has_position"):
                w = e.world
                root = e.interp.derived_values({**w.contract_values[sym], **w.account, **w.symbols[sym]})["liquidation_root"]
            ok = got is not None and abs(Fraction(got) - Fraction(ex.value)) <= Fraction(ex.tolerance)
            out.append({"venue": v.name, "title": v.title, "id": ex.id, "url": ex.url, "url_bare": bare(ex.url),
                        "text": ex.text,
                        "field": ex.field, "published": ex.value, "tolerance": ex.tolerance, "rulebook": got,
                        "root": _frac(root), "agrees": ok, "rounding": ex.rounding})
    return out


def rulebook_answers(rb: Rulebook) -> list[dict]:
    """The rulebook's own known answers for the parameters (the ones the vectors carry)."""
    from .engine import ReferenceEngine
    from .vectors.venue_cases import KA_CONTRACT, KNOWN

    out = []
    for title, extra, side, later, hand, comment in KNOWN:
        if not set(extra) <= {p.name for p in rb.params}:
            continue
        e = ReferenceEngine(rb)
        reqs = [("reset", {"contracts": {"X": {**KA_CONTRACT, **extra}}, "available_balance": "100000"}),
                ("set_mark_price", {"symbol": "X", "price": "50000"}),
                ("open_position", {"symbol": "X", "side": side, "size": "1", "margin": "5000"})]
        if later:
            reqs.append(("set_mark_price", {"symbol": "X", "price": later}))
        for i, (op, args) in enumerate(reqs):
            e.handle({"id": i, "op": op, "args": args})
        w = e.world
        d = e.interp.derived_values({**w.contract_values["X"], **w.account, **w.symbols["X"]})
        out.append({"title": title, "comment": comment, "root": _frac(d["liquidation_root"]),
                    "price": format_decimal(d["liquidation_price"]), "mm": format_decimal(d["maintenance_margin"])})
    return out


def bare(text: str) -> str:
    """Addresses without their scheme, for the HTML page, which loads and links nothing outside itself."""
    return re.sub(r"https?://", "", text)


def _frac(x) -> str | None:
    return None if x is None else exact_text(Fraction(x), 6)


# ----------------------------------------------------------------------------------------- diff table
def fingerprint(rb: Rulebook) -> str:
    """What the diff table depends on: the presets and the rulebook's formulas and contracts."""
    from .printer import to_text
    from .venues import load_venues

    venues = load_venues(rb)
    body = {"venues": {n: {k: str(x) for k, x in v.parameters.items()} for n, v in venues.venues.items()},
            "derived": {d.name: to_text(d.expr) for d in rb.derived},
            "contracts": {s: [{k: str(x) for k, x in c.params.items()}, [{k: str(x) for k, x in t.items()}
                                                                          for t in c.tiers]]
                          for s, c in sorted(rb.contracts.items())}}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def table_pairs(rb: Rulebook) -> list:
    """Every pair of presets (in file order), each with its contracts: what `diff_table` compares."""
    from .venues import apply_venue, load_venues

    venues = load_venues(rb)
    names = list(venues.venues)
    sides = [(n, apply_venue(rb, n, venues).contracts) for n in names]
    return [(sides[i], b) for i in range(len(sides)) for b in sides[i + 1:]]


def diff_table(rb: Rulebook, jobs: int = 1, done=None) -> list:
    """`marginspec diff` between every pair of presets (in file order), in `jobs` processes (the
    same table for any `jobs`); `done(unit's result)` as each contract of a pair is decided."""
    from .diff import compare_pairs

    return compare_pairs(rb, table_pairs(rb), jobs, done)


def table_json(rb: Rulebook, table) -> dict:
    from .diff import to_json

    return {"fingerprint": fingerprint(rb), "pairs": [to_json(r) for r in table]}


def load_table(path: Path | None) -> Mapping[str, Any] | None:
    if path is None or not Path(path).is_file():
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError:
        return None


def diff_rows(rb: Rulebook, table: Mapping[str, Any] | None,
              commands: Commands) -> tuple[list[dict], str | None]:
    """Rows for the docs' diff table, and why it is not shown when it is not (with the commands
    that make it: `code` spans, rendered as code by the templates' prose filter)."""
    how = f"run `{commands.venues}` and `{commands.docs}`"
    if table is None:
        return [], f"The table has not been computed: {how}."
    if table.get("fingerprint") != fingerprint(rb):
        return [], f"The table on disk was computed from other presets, formulas or contracts: {how}."
    rows = []
    for pair in table.get("pairs", []):
        for c in pair["contracts"]:
            b = c["largest_relative_root_difference"]
            wpos = c.get("distinguishing_position")
            rows.append({"a": pair["a"], "b": pair["b"], "symbol": c["symbol"],
                         "decisions": c["liquidation_decisions"], "roots": c["liquidation_roots"],
                         "bound": _bound_text(b), "position": _position_text(wpos)})
    return rows, None


def _bound_text(b: Mapping[str, Any]) -> str:
    kind = b["kind"]
    if kind == "zero":
        return "0"
    if kind == "exact":
        v = Fraction(b["value_fraction"])
        formula = f"{b['formula']} = " if b.get("formula") else ""
        return f"{formula}{_frac(v)} ({b.get('attained', '')})"
    if kind == "unbounded":
        return "no finite bound (above 10^6)"
    if kind == "enclosed":
        return f"between {b['lower']} and {b['value']}"
    return "unknown (solver work limit)"


def _position_text(w: Mapping[str, Any] | None) -> str:
    if not w:
        return "—"
    a, b = w["a"], w["b"]
    return (f"{w['side']} {w['size']} at {w['entry_price']}, margin {w['isolated_margin']}, mark {w['mark_price']}: "
            f"prices {a['liquidation_price']} / {b['liquidation_price']}, "
            f"{'liquidated' if a['liquidatable'] else 'kept'} / {'liquidated' if b['liquidatable'] else 'kept'}")


# ----------------------------------------------------------------------------------------- the section
def section(builder, table: Mapping[str, Any] | None) -> dict | None:
    """The template context of the Venues section (None when the rulebook has no presets)."""
    from .venues import load_venues, venues_path

    rb = builder.rb
    try:
        venues = load_venues(rb)
    except (OSError, ValueError):
        return None
    presets = []
    for v in venues.venues.values():
        values = {p.name: v.parameters.get(p.name, p.default) for p in rb.params if p.optional}
        presets.append({
            "name": v.name, "title": v.title, "anchor": f"venue-{v.name}",
            "params": [{"name": k, "value": format_decimal(x) if isinstance(x, Fraction) else x} for k, x in values.items()],
            "url": v.formula_url, "text": v.formula_text, "reading": v.reading,
            "url_bare": bare(v.formula_url), "reading_bare": bare(v.reading),
            "formulas": [{"name": n, "formula": builder.assign(n, e, "=")} for n, e in preset_formulas(rb, values)],
            "examples": [e.id for e in v.examples], "no_example": v.no_example})
    rows, missing = diff_rows(rb, table, builder.inputs.commands)
    return {"read": venues.read, "presets": presets, "examples": example_results(rb),
            "answers": rulebook_answers(rb), "diff": rows,
            "diff_missing": builder.prose(missing) if missing else None,
            "file": venues_path().name}


def with_table(inputs, proofs_path: Path | None):
    """Inputs with the diff table next to the proof report (generated_docs/venue-diff.json)."""
    table = load_table(Path(proofs_path).parent / VENUE_DIFF) if proofs_path is not None else None
    return replace(inputs, venue_diff=table)

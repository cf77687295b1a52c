"""Contracts files: the user's own contracts, used instead of the rulebook's profiles.

A contracts file maps SYMBOL to the protocol's CONTRACT object (the shape `reset` takes: decimal
strings, `tiers` a list), in YAML (`.yaml`, `.yml`, anything else) or JSON (`.json`); a single
top-level `contracts:` key around that mapping is accepted too, so the rulebook's own
`contracts.yaml` section can be copied as it is. Which parameters and tier fields exist, their
defaults and their domains are the rulebook's (spec/parameters.yaml), read through the same code
that reads the rulebook's profiles. Every problem is reported as file:line:col, all at once.

`with_contracts(rb, contracts)` is the one way a command puts them in force (`rb.contracts`).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Mapping

from .diagnostics import Diagnostic, Mark, SpecError
from .engine import contract_json
from .jsonmarks import load_json_text
from .rulebook import Contract, Rulebook
from .spec_values import read_contract, schema_diagnostics
from .spec_schema import _DECIMAL, SCHEMA
from .wellformed import ContractChecks, show
from .yamlsafe import Node, load_yaml_text, mark_of


def _text_for_decimals(schema):
    """`schema` with every decimal-string pattern relaxed to a string: `read_contract` then says, at
    the value itself, which text is not a plain decimal (once, not also as a schema error)."""
    if schema == _DECIMAL:
        return {"type": "string"}
    if isinstance(schema, dict):
        out = {k: _text_for_decimals(v) for k, v in schema.items()}
        if {"type": "string"} in out.get("anyOf", []):  # a plain string subsumes the other strings
            out["anyOf"] = [a for a in out["anyOf"] if a == {"type": "string"} or a.get("type") != "string"]
        return out
    if isinstance(schema, list):
        return [_text_for_decimals(v) for v in schema]
    return schema


# one CONTRACT, as each profile of the rulebook's `contracts` section is checked
CONTRACT_SCHEMA = {"$schema": SCHEMA["$schema"],
                   **_text_for_decimals(SCHEMA["properties"]["contracts"]["additionalProperties"])}
# A symbol names obligations, vector cases and solver variables: letters, digits, '_' and '-'.
SYMBOL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def with_contracts(rb: Rulebook, contracts: Mapping[str, Contract]) -> Rulebook:
    """The rulebook with `contracts` in force instead of its own profiles (sorted by symbol)."""
    return replace(rb, contracts={s: contracts[s] for s in sorted(contracts)})


def read_document(path: str | Path, display: str | None = None):
    """A contracts file's marked document (YAML, or JSON for a .json name); SpecError if unreadable."""
    p = Path(path)
    name = display or str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError([Diagnostic(None, f"{name}: cannot read: {e}")]) from None
    return load_json_text(text, name) if format_for(p) == "json" else load_yaml_text(text, name)


def load_contracts(path: str | Path, rb: Rulebook, *, wellformed: bool = True,
                   checks: ContractChecks | None = None) -> dict[str, Contract]:
    """The contracts of a file, checked like the rulebook's profiles (structure, parameters, decimals)
    and against the parameter domains; with `wellformed`, also against the parameter invariants
    (family 8), so that only contracts the proofs speak about come back. SpecError lists every
    problem as file:line:col."""
    doc = read_document(path)
    diags: list[Diagnostic] = []
    if isinstance(doc, dict) and list(doc) == ["contracts"] and isinstance(doc["contracts"], dict):
        doc = doc["contracts"]
    if not isinstance(doc, dict) or not doc:
        raise SpecError([Diagnostic(mark_of(doc), f"{path}: a contracts file maps SYMBOL to a contract "
                                                   "(contract_multiplier, tick_size, ..., tiers)")])
    for sym in doc:
        if not SYMBOL_RE.fullmatch(sym):
            diags.append(Diagnostic(doc.key_marks[sym], f"'{sym}' is not a symbol: use letters, digits, '_' and '-'"))
    out = {}
    for sym, spec in doc.items():
        found = schema_diagnostics(spec, CONTRACT_SCHEMA, sym, f"{sym}.") if isinstance(spec, dict) else \
            [Diagnostic(doc.key_marks[sym], f"{sym}: a contract is a mapping (contract_multiplier, ..., tiers)")]
        if not found:
            c = read_contract(str(sym), spec, rb.params, rb.tier_fields, lambda w, m: found.append(_diag(w, m)),
                              rb.enums)
        diags += found
        if not found:
            out[str(sym)] = c
    checks = checks or ContractChecks(rb)
    for sym, c in out.items():  # domains and invariants only for contracts that read cleanly
        diags += contract_diagnostics(checks, c, doc[sym], doc.key_marks[sym], wellformed)
    if diags:
        raise SpecError(diags)
    return out


def contracts_in_force(rb: Rulebook, contracts_file: str | Path | None = None) -> Rulebook:
    """The rulebook with the contracts `check` judges: the file's (every problem of the file, and
    every parameter invariant each contract breaks), else the rulebook's own profiles (their
    domains and parameter invariants). SpecError lists everything found."""
    if contracts_file:
        return with_contracts(rb, load_contracts(contracts_file, rb, wellformed=True))
    checks = ContractChecks(rb)
    diags = [d for c in rb.contracts.values() for d in contract_diagnostics(checks, c)]
    if diags:
        raise SpecError(diags)
    return rb


def contract_diagnostics(checks: ContractChecks, c: Contract, spec: Node | None = None, mark=None,
                         wellformed: bool = True) -> list[Diagnostic]:
    """A contract's domain problems and (with `wellformed`) parameter-invariant breaches, each at
    the place it concerns: a value outside its domain at the value, a breach at its tier, else at the
    symbol (`spec`/`mark` may be None for contracts that were not read from a file)."""
    tiers = spec.get("tiers") if isinstance(spec, dict) else None
    bad = checks.interp.domain_breaks(c)
    if bad:
        return [_domain_diagnostic(checks, c, tier, name, spec, tiers, mark) for tier, name in bad]
    if not wellformed:
        return []
    out = []
    for b in checks.breaches(c):
        where = mark_of(tiers[b.tier - 1], mark) if tiers is not None and b.tier else mark
        out.append(Diagnostic(where, b.message))
    return out


def _domain_diagnostic(checks: ContractChecks, c: Contract, tier: int | None, name: str, spec, tiers,
                       mark) -> Diagnostic:
    """A value outside its domain, at the value in the file (else at the tier, else at the symbol),
    with the value as written (else as read) and the domain as the rulebook writes it."""
    row = tiers[tier - 1] if tier is not None and isinstance(tiers, list) and len(tiers) >= tier else None
    holder = spec if tier is None else row
    given = holder.get(name) if isinstance(holder, dict) else None
    where = mark_of(given, mark_of(row, mark))
    value = (c.params if tier is None else c.tiers[tier - 1]).get(name)
    shown = json.dumps(str(given)) if isinstance(given, str) else show(value)
    at = "" if tier is None else f"tier {tier}: "
    return Diagnostic(where, f"contract {c.symbol}: {at}{name} is {shown}, outside its domain "
                             f"{checks.interp.domain_text(name, tier is not None)}")


def _diag(where, message: str) -> Diagnostic:
    return Diagnostic(where if where is None or isinstance(where, Mark) else mark_of(where), message)


def contracts_document(contracts: Mapping[str, Contract]) -> dict:
    """Contracts as a contracts file's mapping: SYMBOL -> CONTRACT (decimal strings), sorted."""
    return {s: contract_json(contracts[s]) for s in sorted(contracts)}


def dumps_contracts(contracts: Mapping[str, Contract], fmt: str) -> str:
    """A contracts file's text, byte-identical for the same contracts, symbols sorted, fields in the
    rulebook's order: 'json' (indented) or 'yaml' (every value quoted, one flow mapping per tier)."""
    doc = contracts_document(contracts)
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    lines = []
    for sym, c in doc.items():
        lines.append(f"{sym}:")
        for k, v in c.items():
            if k != "tiers":
                lines.append(f'  {k}: "{v}"')
        lines.append("  tiers:")
        for t in c["tiers"]:
            lines.append("    - {" + ", ".join(f'{k}: "{v}"' for k, v in t.items()) + "}")
    return "\n".join(lines) + "\n"


def format_for(path: str | Path) -> str:
    """'json' for a .json name, else 'yaml' (as `read_document` reads them)."""
    return "json" if Path(path).suffix.lower() == ".json" else "yaml"

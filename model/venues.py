"""Venue presets (spec/venues.yaml): named values of the venue parameters, each with the public
formula it was read from, and their published worked examples.

`apply_venue(rb, name)` sets a preset's parameters on every contract in force (the contracts keep
their tiers), so every command that takes contracts can speak about one venue's rules. Presets are
data: the formulas they cite are documentation; what the rulebook computes comes from its own
derived values with the preset's parameters.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

from .diagnostics import Diagnostic, SpecError, did_you_mean
from .numbers import parse_decimal
from .rulebook import Contract, Rulebook
from .yamlsafe import load_yaml_file, mark_of

VENUES_FILE = "venues.yaml"


@dataclass(frozen=True)
class Example:
    """A venue's published worked example: the position it describes and the value it prints."""

    id: str
    url: str
    text: str
    contract: Mapping[str, Any]  # the protocol CONTRACT the example implies (decimal strings)
    balance: str
    side: str
    size: str
    entry_price: str
    margin: str
    field: str  # a dotted path in the query result, e.g. position.liquidation_price
    value: str
    tolerance: str  # the absolute difference the venue's printed rounding allows ("0": exact)
    rounding: str


@dataclass(frozen=True)
class Venue:
    name: str
    title: str
    parameters: Mapping[str, Fraction | str]  # parsed like a contract's parameters
    formula_url: str
    formula_text: str
    reading: str
    examples: tuple[Example, ...]
    no_example: str | None


@dataclass(frozen=True)
class Venues:
    read: str  # the date the sources were read
    venues: Mapping[str, Venue]

    def get(self, name: str) -> Venue:
        """The preset called `name`; an unknown name is a ValueError with a "did you mean"."""
        if name not in self.venues:
            raise ValueError(f"unknown venue '{name}'{did_you_mean(name, self.venues)}; "
                             f"known venues: {', '.join(self.venues)}")
        return self.venues[name]


def venues_path(spec_dir: str | Path | None = None) -> Path:
    """spec/venues.yaml next to the rulebook (the shipped one by default)."""
    base = Path(spec_dir) if spec_dir is not None else Path(str(importlib.resources.files("marginspec.spec")))
    return base / VENUES_FILE


def load_venues(rb: Rulebook, path: str | Path | None = None) -> Venues:
    """Read and check the presets against the rulebook's parameters (names, enum values, domains);
    every problem is a SpecError naming file:line:col."""
    p = Path(path) if path is not None else venues_path(rb.path if Path(rb.path, VENUES_FILE).exists() else None)
    doc = load_yaml_file(p, str(p))
    errs: list[Diagnostic] = []

    def err(node, message: str) -> None:
        errs.append(Diagnostic(mark_of(node), message))

    if not isinstance(doc, dict) or not isinstance(doc.get("venues"), dict):
        raise SpecError([Diagnostic(mark_of(doc), f"{p}: expected a mapping with 'read' and 'venues'")])
    params = {x.name: x for x in rb.params}
    out = {}
    for name, v in doc["venues"].items():
        if not isinstance(v, dict):
            err(v, f"venue {name}: expected a mapping")
            continue
        for key in ("title", "parameters", "formula", "examples"):
            if key not in v:
                err(v, f"venue {name}: missing '{key}'")
        if any(key not in v for key in ("title", "parameters", "formula", "examples")):
            continue
        values: dict[str, Fraction | str] = {}
        for k, raw in (v["parameters"] or {}).items():
            if k not in params:
                err(k, f"venue {name}: unknown parameter '{k}'{did_you_mean(str(k), params)}")
                continue
            values[str(k)] = _value(params[k], raw, rb, lambda m, n=raw: err(n, f"venue {name}: {m}"))
        examples = tuple(_example(name, e, err) for e in (v["examples"] or []))
        if not examples and not v.get("no_example"):
            err(v, f"venue {name}: no examples and no 'no_example' saying why")
        f = v["formula"]
        out[str(name)] = Venue(str(name), str(v["title"]), values, str(f.get("url", "")), str(f.get("text", "")),
                               " ".join(str(f.get("reading", "")).split()), tuple(e for e in examples if e),
                               " ".join(str(v["no_example"]).split()) if v.get("no_example") else None)
    if errs:
        raise SpecError(errs)
    return Venues(str(doc.get("read", "")), out)


def _value(param, raw, rb: Rulebook, err) -> Fraction | str | None:
    if param.enum:
        if str(raw) not in rb.enums[param.enum]:
            err(f"'{raw}' is not a {param.enum} (one of {', '.join(rb.enums[param.enum])})"
                f"{did_you_mean(str(raw), rb.enums[param.enum])}")
            return None
        return str(raw)
    try:
        return parse_decimal(str(raw))
    except ValueError:
        err(f"{param.name}: '{raw}' is not a plain decimal number")
        return None


def _example(venue: str, e, err) -> Example | None:
    need = ("id", "url", "text", "contract", "balance", "position", "expect")
    missing = [k for k in need if k not in e]
    if missing:
        err(e, f"venue {venue}: example without {', '.join(missing)}")
        return None
    pos, exp = e["position"], e["expect"]
    return Example(str(e["id"]), str(e["url"]), str(e["text"]), _plain(e["contract"]), str(e["balance"]),
                   str(pos["side"]), str(pos["size"]), str(pos["entry_price"]), str(pos["margin"]),
                   str(exp["field"]), str(exp["value"]), str(exp.get("tolerance", "0")),
                   " ".join(str(e.get("rounding", "")).split()))


def _plain(x):
    """Marked YAML values as plain JSON values (str, list, dict)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v) for v in x]
    return None if x is None else str(x)


def with_parameters(rb: Rulebook, values: Mapping[str, Fraction | str], what: str) -> Rulebook:
    """The rulebook with `values` set on every contract in force (tiers kept); a contract whose
    parameter domains the values break is a ValueError naming it."""
    from .interpreter import Interpreter

    interp = Interpreter(rb)
    contracts = {}
    problems = []
    for sym, c in rb.contracts.items():
        nc = Contract(c.symbol, {**c.params, **values}, c.tiers)
        problems += [f"{sym}: {p}" for p in interp.contract_problems(nc)]
        contracts[sym] = nc
    if problems:
        raise ValueError(f"{what}: " + "; ".join(problems))
    return replace(rb, contracts=contracts)


def apply_venue(rb: Rulebook, name: str, venues: Venues | None = None) -> Rulebook:
    """The rulebook with venue `name`'s parameters on every contract in force (contracts keep
    their tiers). Unknown names: ValueError with a "did you mean"."""
    venue = (venues or load_venues(rb)).get(name)
    return with_parameters(rb, venue.parameters, f"venue {name}")

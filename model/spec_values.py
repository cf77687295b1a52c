"""Reading values written in a rulebook or a contracts file: JSON Schema problems at the mark of
the offending key, plain decimals, enumeration values, and a contract's parameters and tiers.
Shared by the rulebook loader and by contracts files, so both say the same thing about a bad value."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

import jsonschema

from .diagnostics import Diagnostic, did_you_mean
from .numbers import parse_decimal
from .rulebook import Contract
from .spec_schema import _DECIMAL
from .yamlsafe import Node, mark_of

_DECIMAL_PATTERN = _DECIMAL["pattern"]


def schema_diagnostics(doc: Node, schema: Mapping[str, Any], top: str, prefix: str = "") -> list[Diagnostic]:
    """Every place where `doc` breaks the JSON Schema `schema`, at the mark of the offending key or
    value (`top` names the document in messages about its top level, `prefix` starts every path).
    Shared by the rulebook and by contracts files."""
    out: list[Diagnostic] = []
    validator = jsonschema.Draft202012Validator(schema)
    for e in sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]):
        node, mark = doc, doc.mark
        path = list(e.absolute_path)
        for i, p in enumerate(path):
            if isinstance(node, dict) and p in node:
                mark = node.key_marks.get(p, mark) if i == len(path) - 1 else mark_of(node[p], mark)
                node = node[p]
            elif isinstance(node, list) and isinstance(p, int) and p < len(node):
                node = node[p]
                mark = mark_of(node, mark)
        where = prefix + ".".join(str(p) for p in path) if path else (prefix.rstrip(".") or top)
        if e.validator == "anyOf" and e.context:  # say what the alternative of the value's own type needs
            e = next((c for c in e.context if c.validator != "type"), e)
        msg = e.message
        if e.validator == "anyOf" and all(c.validator == "type" for c in e.context or ()):
            msg = f"{e.instance!r} is not of type " + " or ".join(repr(c.validator_value) for c in e.context)
        elif e.validator == "pattern" and e.validator_value == _DECIMAL_PATTERN:
            msg = f"'{e.instance}' is not a plain decimal number"
        elif e.validator == "required" and not path:
            msg = f"missing section: {e.message}"
        elif e.validator == "additionalProperties" and not path:
            msg = f"unknown section: {e.message}"
        elif e.validator == "oneOf":
            msg = "must have exactly one of the alternative keys (see the schema): " + ", ".join(
                sorted({r for s in e.validator_value for r in s.get("required", [])}))
        out.append(Diagnostic(mark, f"{where}: {msg}"))
    return out


def written_decimal(text, err) -> Fraction | None:
    """A number written in a file: a plain decimal (N-numbers), else `err(text, message)` and None."""
    try:
        return parse_decimal(str(text))
    except ValueError:
        err(text, f"'{text}' is not a plain decimal number")
        return None


def enum_value(text, enum: str, enums: Mapping[str, tuple[str, ...]], err) -> str | None:
    """An enumeration value given as text, checked against the enumeration's values."""
    values = enums.get(enum, ())
    if str(text) not in values:
        err(text, f"'{text}' is not a {enum} (one of {', '.join(values)}){did_you_mean(str(text), values)}")
        return None
    return str(text)


def read_contract(symbol: str, spec: Node, params, tier_fields, err,
                  enums: Mapping[str, tuple[str, ...]]) -> Contract:
    """A contract's parameters and tiers from a structure-checked mapping: every parameter given or
    defaulted, no unknown key, every value a plain decimal (or an enumeration's value, for an
    enum-valued parameter); each problem goes to `err(where, message)`. Shared by the rulebook's
    profiles and by contracts files."""

    def decimal(text) -> Fraction | None:
        return written_decimal(text, err)

    values = {}
    for p in params:
        if p.name in spec:
            values[p.name] = enum_value(spec[p.name], p.enum, enums, err) if p.enum else decimal(spec[p.name])
        elif p.default is not None:
            values[p.name] = p.default
        else:
            err(spec, f"contract {symbol}: missing parameter '{p.name}'")
    for k in spec:
        if k != "tiers" and k not in {p.name for p in params}:
            err(spec.key_marks[k], f"contract {symbol}: unknown parameter '{k}'"
                                   f"{did_you_mean(k, [p.name for p in params])}")
    tiers = []
    for t in spec["tiers"]:
        row = {}
        for f in tier_fields:
            if f.name not in t:
                err(t, f"contract {symbol}: tier without '{f.name}'")
            else:
                row[f.name] = decimal(t[f.name])
        for k in t:
            if k not in {f.name for f in tier_fields}:
                err(t.key_marks[k], f"contract {symbol}: unknown tier field '{k}'"
                                    f"{did_you_mean(k, [f.name for f in tier_fields])}")
        tiers.append(row)
    return Contract(symbol, values, tuple(tiers))


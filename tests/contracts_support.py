"""A tiny loader of contracts files for tests (the CLI's `--contracts` loader is its own module):
YAML mapping SYMBOL to the protocol's CONTRACT object, read through marginspec.yamlsafe, returned
as a rulebook whose contracts are replaced by them."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

from marginspec.numbers import parse_decimal
from marginspec.rulebook import Contract, Rulebook
from marginspec.yamlsafe import load_yaml_file

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "contracts"


def load_contracts(path: Path) -> dict[str, Contract]:
    doc = load_yaml_file(path)
    out = {}
    for sym, c in doc.items():
        params = {k: parse_decimal(str(v)) for k, v in c.items() if k != "tiers"}
        tiers = tuple({k: parse_decimal(str(v)) for k, v in t.items()} for t in c["tiers"])
        out[str(sym)] = Contract(str(sym), params, tiers)
    return out


def with_contracts(rb: Rulebook, path: Path) -> Rulebook:
    return dataclasses.replace(rb, contracts=load_contracts(path))


def three(rb: Rulebook) -> Rulebook:
    return with_contracts(rb, FIXTURES / "three-variety.yaml")


__all__ = ["FIXTURES", "Fraction", "load_contracts", "three", "with_contracts"]

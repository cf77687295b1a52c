"""A case before it is recorded: its requests, title, flags and where it came from.

Generators (boundaries, errors, traces, known answers, counterexamples, mutants) build `CaseSpec`s;
`recorder.record` runs them on the reference engine to obtain every expected reply. No generator
writes an expected value by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..engine import contract_json
from ..numbers import format_decimal, round_to
from ..rulebook import Contract, Rulebook

DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT")


@dataclass(frozen=True)
class CaseSpec:
    title: str
    steps: tuple[dict, ...]  # protocol requests {"op", "args"} (the reset is the group's)
    source: str  # boundary | error | trace | mutant | counterexample | known_answer
    flags: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()  # rule ids beyond those the replay collects (invariants, notes)
    level: str = "MUST"
    comment: str | None = None
    balance: str = "10000"
    contracts: tuple[tuple[str, Any], ...] | None = None  # (symbol, contract JSON); None: the profiles
    group: str | None = None  # a group title; None: derived from contracts and balance
    # A venue's published values replacing the reference engine's in the expectation: (step index,
    # dotted path under the result, published decimal, absolute tolerance; "0": exact).
    published: tuple[tuple[int, str, str, str], ...] = ()


def req(op: str, **args) -> dict:
    """A request; Fractions become decimal strings, None-valued arguments are left out."""
    return {"op": op, "args": {k: format_decimal(Fraction(v)) if isinstance(v, (Fraction, int)) and not isinstance(v, bool)
                               else v for k, v in args.items() if v is not None}}


def dec(x: Fraction | int | str) -> str:
    """A decimal string; a value without a finite decimal expansion is shown as ~ and 8 places (titles only)."""
    if isinstance(x, str):
        return x
    q = Fraction(x)
    try:
        return format_decimal(q)
    except ValueError:
        return "~" + format_decimal(round_to(q, Fraction(1, 10**8), "half_away"))


def profile_contracts(rb: Rulebook, symbols=DEFAULT_SYMBOLS) -> tuple[tuple[str, Any], ...]:
    return tuple((s, contract_json(rb.contracts[s], rb)) for s in symbols if s in rb.contracts)



"""A case before it is recorded: its requests, title, flags and where it came from.

Generators (boundaries, errors, traces, known answers, counterexamples, mutants) build `CaseSpec`s;
`recorder.record` runs them on the reference engine to obtain every expected reply. No generator
writes an expected value by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..engine import contract_json
from ..numbers import format_decimal, round_to
from ..rulebook import Rulebook

@dataclass(frozen=True)
class CaseSpec:
    title: str
    steps: tuple[dict, ...]  # protocol requests {"op", "args"} (the reset is the group's)
    source: str  # boundary | error | trace | mutant | counterexample | known_answer | venue
    flags: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()  # rule ids beyond those the replay collects (invariants, notes)
    level: str = "MUST"
    comment: str | None = None
    balance: str | None = None  # None: a balance that never binds (recorder.record: market.big_funds)
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


def profile_contracts(rb: Rulebook, symbols=None) -> tuple[tuple[str, Any], ...]:
    """(symbol, contract JSON) of the given symbols (default: every contract), in the rulebook's order."""
    wanted = set(rb.contracts if symbols is None else symbols)
    return tuple((s, contract_json(c, rb)) for s, c in rb.contracts.items() if s in wanted)


def contracts_for(rb: Rulebook, steps) -> tuple[tuple[str, Any], ...]:
    """The contracts a case's reset loads: those its requests name (so a case stays small however
    many contracts the rulebook has), else the first contract."""
    named = {r.get("args", {}).get("symbol") for r in steps if isinstance(r.get("args", {}).get("symbol"), str)}
    return profile_contracts(rb, named & set(rb.contracts)) or profile_contracts(rb, list(rb.contracts)[:1])



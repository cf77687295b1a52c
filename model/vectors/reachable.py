"""What every reachable state satisfies, as named Z3 assumptions over a symbolic state.

Used to decide, with the Z3 backend, which check outcomes can never happen (coverage) and which
mutants are equivalent to the rulebook on every state the actions can reach (mutation adequacy).
The assumptions are the rulebook's own state invariants (INV-state-domain, INV-covered), which
`marginspec prove` proves; nothing here restates them.
"""

from __future__ import annotations

from typing import Any

from ..z3backend import Backend
from ..z3env import SymContract
from ..z3terms import SV, as_bool, b_and, b_not


def position_domain(be: Backend, st: dict[str, SV]) -> list[tuple[str, Any]]:
    """A position's fields in their domains (no claim about its equity): what holds in every state
    a derived value is ever computed in, hypothetical ones included."""
    mark = st["mark_price"]
    return [("a position has a mark > 0, a size > 0 and an entry > 0",
             as_bool(b_and(b_not(mark.null), mark.v > 0, st["size"].v > 0, st["entry_price"].v > 0)))]


def state_assumptions(be: Backend, c: SymContract, st: dict[str, SV]) -> list[tuple[str, Any]]:
    """The rulebook's state invariants (`kind: state` in spec/invariants.yaml, each proved by
    `marginspec prove` to hold after every action) over a symbolic state, named `hyp:INV-x` as in
    the prover's cores."""
    env = be.env(c, st)
    return [(f"hyp:{f.id}", as_bool(be.compile_expr(f.formula, env).v)) for f in be.rb.formals.values() if f.kind == "state"]

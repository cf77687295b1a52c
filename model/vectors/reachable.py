"""What every reachable state satisfies, as named Z3 assumptions over a symbolic state.

Used to decide, with the Z3 backend, which check outcomes can never happen (coverage) and which
mutants are equivalent to the rulebook on every state the actions can reach (mutation adequacy).
Each assumption is an invariant of the rulebook (INV-covered, INV-mode-lock) or a plain fact of
the protocol (balances are never negative, a position has a mark, prices and sizes are positive).
"""

from __future__ import annotations

from typing import Any

import z3

from ..z3backend import SV, Backend, SymContract, as_bool, b_and, b_not, b_or


def position_domain(be: Backend, st: dict[str, SV]) -> list[tuple[str, Any]]:
    """A position's fields in their domains (no claim about its equity): what holds in every state
    a derived value is ever computed in, hypothetical ones included."""
    mark = st["mark_price"]
    return [("a position has a mark > 0, a size > 0 and an entry > 0",
             as_bool(b_and(b_not(mark.null), mark.v > 0, st["size"].v > 0, st["entry_price"].v > 0)))]


def state_assumptions(be: Backend, c: SymContract, st: dict[str, SV]) -> list[tuple[str, Any]]:
    env = be.env(c, st)
    hp = as_bool(st["has_position"].v)
    mark = st["mark_price"]
    lev = st["default_leverage"]
    out = [
        ("available_balance >= 0", st["available_balance"].v >= 0),
        ("mark_price null or > 0", b_or(mark.null, mark.v > 0)),
        ("default_leverage null or >= 1", b_or(lev.null, lev.v >= 1)),
    ]
    pos = [
        b_not(mark.null), st["size"].v > 0, st["entry_price"].v > 0,
        st["margin_mode"].v == z3.IntVal(be.enum_index[be.rb.state_field("margin_mode").ty.enum]["isolated"]),
        env["equity"].v > env["maintenance_margin"].v,
    ]
    out.append(("a position has a mark, positive size and entry, isolated mode, equity > maintenance margin (INV-covered)",
                z3.Implies(hp, as_bool(b_and(*pos)))))
    return out



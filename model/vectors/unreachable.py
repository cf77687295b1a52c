"""Check outcomes that no reachable state can produce, proved with the Z3 backend.

`set_leverage` inlines add_margin's and reduce_margin's checks under `when: has_position and ...`,
so their `position` checks can never fail there, and the margin it reduces to (notional / leverage
rounded up, with leverage at most the tier's maximum) always meets the tier's minimum. Coverage
lists such outcomes as unreachable, with the proof's assumptions, instead of as zero.
"""

from __future__ import annotations

from typing import Iterable

from ..rulebook import Rulebook
from ..solving import satisfiable
from ..z3backend import EXACT, Backend
from ..z3terms import as_bool, b_and
from .reachable import state_assumptions


def unreachable_outcomes(rb: Rulebook, items: Iterable[str], timeout: float = 20.0) -> dict[str, str]:
    """{"check.id:fail|pass": why} for the outcomes proved impossible on every contract profile."""
    out = {}
    by_action = {c.id: a for a in rb.actions.values() for c in a.checks}
    for item in items:
        cid, outcome = item.rsplit(":", 1)
        action = by_action[cid].name
        cores, ok = set(), True
        for symbol in rb.contracts:
            be = Backend(rb, EXACT)
            c = be.concrete_contract(symbol)
            st = be.symbolic_state("s.")
            args = be.symbolic_args(action, "a.")
            run = be.run_action(action, c, st, args)
            cr = next(x for x in run.checks if x.id == cid)
            happens = cr.refuses if outcome == "fail" else b_and(cr.reached, cr.applies, cr.require)
            res = satisfiable(b_and(as_bool(run.valid), happens), state_assumptions(be, c, st), be.take_facts(),
                              timeout=timeout)
            if res.status != "unsat":
                ok = False
                break
            cores.update(res.core)
        if ok:
            out[item] = ("Z3: unsat on every contract profile" +
                         (f" given {'; '.join(sorted(cores))}" if cores else " (no assumption needed)"))
    return out

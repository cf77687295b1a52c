"""The units of `marginspec diff` (one contract symbol of one pair of venues or contracts files),
decided in `jobs` processes and handed back in their own order.

Each unit is `diff.compare_contracts`, whose every Z3 query is copied into a fresh context and
bounded by work (solving.py): its answers depend on the unit alone, not on the process it runs in
or on what ran there before. The units go, the costliest first (most tiers), to processes forked
from this one, one unit per process like prove's obligations (commands/prove.py), and the results
are put back in the units' order: the table is byte-identical for any `jobs`."""

from __future__ import annotations

import multiprocessing
from typing import Any, Callable, Sequence

from .rulebook import Contract, Rulebook

Unit = tuple[str, Contract, Contract]  # (symbol, contract under A, contract under B)

_WORKER: dict[str, Any] = {}


def _decide(i: int):
    from .diff import compare_contracts

    symbol, a, b = _WORKER["units"][i]
    return i, compare_contracts(_WORKER["rb"], symbol, a, b)


def _cost(unit: Unit) -> int:
    """A unit's expected work, for the order the processes take units in: the tiers the solver
    splits on (the 8-tier contract's units take tens of seconds, a 1-tier one's a second)."""
    _, a, b = unit
    return len(a.tiers) + len(b.tiers)


def decide_units(rb: Rulebook, units: Sequence[Unit], jobs: int = 1,
                 done: Callable[[Any], None] | None = None) -> list:
    """`compare_contracts` of every unit (a PairDiff each, in the units' order), in `jobs`
    processes; `done(result)` is called as each unit is decided (in the order they finish)."""
    if jobs <= 1 or len(units) <= 1:
        from .diff import compare_contracts

        out = []
        for symbol, a, b in units:
            out.append(compare_contracts(rb, symbol, a, b))
            if done:
                done(out[-1])
        return out
    order = sorted(range(len(units)), key=lambda i: -_cost(units[i]))  # stable: ties keep their order
    _WORKER.update(rb=rb, units=list(units))
    results: dict[int, Any] = {}
    try:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(min(jobs, len(units)), maxtasksperchild=1) as pool:
            for i, r in pool.imap_unordered(_decide, order):
                results[i] = r
                if done:
                    done(r)
    finally:
        _WORKER.clear()
    return [results[i] for i in range(len(units))]

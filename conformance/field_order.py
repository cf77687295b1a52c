"""The order of a failing case's differences: the most basic one first.

A wrong field usually drags the fields derived from it along (a wrong maintenance margin makes the
liquidation price wrong too), and the one to fix is the basic one. So the differences are put in
this order: the reset, then by step; within a step by the rulebook's dependencies between the
fields: state fields (the inputs of every derived value), then the derived values in the
rulebook's dependency order (``Rulebook.derived``, computed by the loader from the names each
formula reads), then the step's other result fields in the order the action declares them; a field
the rulebook does not name keeps its place after those. The order is the same whatever order the
vector or the reply writes its keys in, so ``conform`` (vector files, keys sorted) and ``fuzz``
(replies as the reference engine writes them) name the same first difference.

The rulebook is the installed one; when it cannot be loaded the differences keep their order.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

from .compare import Diff


@lru_cache(maxsize=1)
def installed_rulebook() -> Any:
    """The installed rulebook, or None when it cannot be loaded (a report must not fail for it)."""
    try:
        from marginspec.rulebook import load_rulebook  # noqa: PLC0415 - only for a failing case

        return load_rulebook()
    except Exception:  # noqa: BLE001
        return None


@lru_cache(maxsize=1)
def _ranks() -> tuple[dict[str, tuple[int, int]], dict[str, dict[str, int]]]:
    """({state or derived name: rank}, {op: {result field: index}}) of the installed rulebook."""
    rb = installed_rulebook()
    if rb is None:
        return {}, {}
    ranks: dict[str, tuple[int, int]] = {f.name: (0, i) for i, f in enumerate(rb.state)}
    ranks.update({d.name: (1, i) for i, d in enumerate(rb.derived)})
    results = {op: {r.name: i for i, r in enumerate(a.result)} for op, a in rb.actions.items()}
    return ranks, results


def leaf(field: str) -> str:
    """The last name of a dotted field path ("result.position.size[0]" -> "size")."""
    return field.rsplit(".", 1)[-1].split("[", 1)[0]


def rank(d: Diff) -> tuple:
    """Where a difference goes among the differences of its step (see the module's docstring)."""
    ranks, results = _ranks()
    name = leaf(d.field)
    if name in ranks:
        return ranks[name]
    index = results.get(d.op, {}).get(name)
    return (2, index) if index is not None else (3, 0)


def ordered(diffs: Sequence[Diff]) -> list[Diff]:
    """The differences, the most basic first (stable: equal ranks keep their order)."""
    if len(diffs) < 2:
        return list(diffs)
    return sorted(diffs, key=lambda d: (-1 if d.step is None else d.step, rank(d)))


__all__ = ["installed_rulebook", "leaf", "rank", "ordered"]

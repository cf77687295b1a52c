"""Roundings in the Z3 backend: their terms and the valid facts (lemmas) about them.

`round(x, step, up|down|half_away)` is built through integers (`ToInt`) in the EXACT mode and as a
fresh real bounded by its defining inequalities in the RELAXED mode (see z3backend.py). Every
rounding built is noted, so that `rounding_lemmas` can state what follows from its definition (one
step from its argument, monotone between two roundings of one rulebook expression) for just the
roundings a query contains (`rounding_ids`, a memoised walk of the query's DAG through Z3's C API).
`Rounding` is a mixin of `Backend`: it uses the backend's `mode`, `facts` and `fresh`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import z3

from .z3terms import RELAXED, _same


class Rounding:
    """The roundings a backend builds, and the lemmas about them."""

    mode: str
    facts: list[Any]

    def _init_rounding(self) -> None:
        self.rounds: dict[int, tuple[Any, Any, str, Any]] = {}  # every rounding built, by term id
        self._relaxed: dict = {}  # RELAXED: one fresh variable per rounded term
        self._rmemo: dict[int, frozenset] = {}  # rounded-term ids in each term walked, by address
        self._rmemo_ctx: dict[int, z3.Context] = {}  # the contexts of the terms walked (kept alive)
        self._lemmas: dict = {}  # the lemmas stated, by the ids of the roundings they are about

    fresh: Callable[..., Any]  # Backend.fresh

    def round_term(self, x, step, direction: str, origin: Any = None):
        """`round(x, step, direction)` as a term (EXACT: through ToInt; RELAXED: a fresh real with its
        defining inequalities added to the facts)."""
        if self.mode == RELAXED:
            key = ("round", x.get_id(), step.get_id(), direction)
            r = self._relaxed.get(key)
            if r is None:
                r = self.fresh("round", of=(x, step, z3.StringVal(direction)))
                self._relaxed[key] = r
                self._note_round(r, (x, step, direction, r, origin))
            self.facts.append(_within_a_step(x, step, direction, r))
            return r
        qq = x / step
        r = self._exact_round(qq, direction) * step
        self._note_round(r, (x, step, direction, r, origin))
        return r

    def _note_round(self, r, entry) -> None:
        k = r.get_id()
        if k not in self.rounds:
            self.rounds[k] = entry

    def _exact_round(self, qq, direction: str):
        if direction == "down":
            k = z3.ToReal(z3.ToInt(qq))
        elif direction == "up":
            k = -z3.ToReal(z3.ToInt(-qq))
        else:
            half = z3.RealVal("1/2")
            k = z3.If(qq >= 0, z3.ToReal(z3.ToInt(qq + half)), -z3.ToReal(z3.ToInt(-qq + half)))
        return k

    def rounding_lemmas(self, terms: Sequence[Any] | None = None, pair_terms: Sequence[Any] | None = None,
                        within: frozenset | None = None) -> list[Any]:
        """Valid facts about roundings: each rounded value is within one step of its argument on the
        right side, and two roundings of the same rulebook expression (e.g. the leverage before and
        after an action) are monotone: x1 <= x2 implies r1 <= r2. They follow from the definition
        of rounding (ToInt in EXACT mode; in RELAXED mode they are what is kept of it); stating them
        spares the solver from rediscovering them through nonlinear terms. With `terms`, only the
        roundings occurring in those terms (and those `within`, `rounding_ids` of further terms:
        many goals asked over one long path walk the path once); with `pair_terms`, monotonicity
        only between the roundings occurring there (typically the goal: old and new values compared)."""
        inside = self.rounding_ids
        if terms is not None:
            ids = inside(terms) | (within or frozenset())
            rs = [self.rounds[k] for k in ids]  # the few found, not every one built
        else:
            rs = list(self.rounds.values())
        # in an order of their own (structural hash, then text), not of their creation: which
        # obligation built a rounding first depends on the process's history (--jobs), and the
        # order of a query's terms changes Z3's search
        rs = _canonical(rs, lambda item: item[3])
        paired = rs
        if pair_terms is not None:
            ids = inside(pair_terms)
            paired = [r for r in rs if r[3].get_id() in ids]
        out = []
        cache = self._lemmas
        for x, s, d, r, _ in rs:
            key = r.get_id()
            lem = cache.get(key)
            if lem is None:
                lem = cache[key] = _within_a_step(x, s, d, r)
            out.append(lem)
        groups: dict[Any, list] = {}
        for item in paired:
            groups.setdefault((item[4], item[2]), []).append(item)
        for items in groups.values():
            for i, (x1, s1, d1, r1, _) in enumerate(items):
                for x2, s2, d2, r2, _ in items[i + 1:]:
                    key = (r1.get_id(), r2.get_id())
                    lem = cache.get(key)
                    if lem is None:
                        lem = cache[key] = (z3.And(z3.Implies(x1 <= x2, r1 <= r2), z3.Implies(x2 <= x1, r2 <= r1))
                                            if _same(s1, s2) else None)
                    if lem is not None:
                        out.append(lem)
        return out

    def rounding_ids(self, terms: Sequence[Any]) -> set[int]:
        """The ids of the rounded terms occurring in `terms` (what `rounding_lemmas` selects by)."""
        ids: set[int] = set()
        for t in terms:
            if isinstance(t, z3.ExprRef):
                ids |= self._rounds_in(t)
        return ids

    def _rounds_in(self, term) -> frozenset:
        """The ids of the rounded terms occurring in `term` (memoised over the DAG by the terms'
        addresses, unique while they live; the memo keeps its terms alive). The walk goes through
        Z3's C API on raw ASTs: a goal over a long path has tens of thousands of nodes, and a Python
        term object for each cost more than the rest of a query's preparation."""
        memo = self._rmemo
        hit = memo.get(term.ast.value)
        if hit is not None:
            return hit
        self._rmemo_ctx.setdefault(id(term.ctx), term.ctx)  # its context kept too, as the terms were
        ref = term.ctx.ref()
        rounds = self.rounds
        kind, to_app, n_args, arg, ast_id = z3.Z3_get_ast_kind, z3.Z3_to_app, z3.Z3_get_app_num_args, \
            z3.Z3_get_app_arg, z3.Z3_get_ast_id
        stack = [(term.as_ast(), None)]
        while stack:
            a, kids = stack.pop()
            key = a.value
            if key in memo:
                continue
            if kids is None:
                if kind(ref, a) == z3.Z3_APP_AST:
                    app = to_app(ref, a)
                    kids = [arg(ref, app, i) for i in range(n_args(ref, app))]
                else:
                    kids = []
                stack.append((a, kids))
                stack.extend((k, None) for k in kids if k.value not in memo)
                continue
            i = ast_id(ref, a)
            acc = frozenset([i]) if i in rounds else frozenset()
            for k in kids:
                sub = memo[k.value]
                if sub:
                    acc = acc | sub
            z3.Z3_inc_ref(ref, a)  # kept alive while memoised: its address stays its own
            memo[key] = acc
        return memo[term.ast.value]


def _within_a_step(x, step, direction: str, r):
    """`r`, the rounding of `x` to `step` in `direction`, lies within a step of `x` on its side (half
    a step either way for half_away) when the step is positive: a RELAXED rounding's definition, and
    a valid lemma about an EXACT one."""
    if direction == "up":
        return z3.Implies(step > 0, z3.And(x <= r, r < x + step))
    if direction == "down":
        return z3.Implies(step > 0, z3.And(r <= x, x < r + step))
    return z3.Implies(step > 0, z3.And(r - x <= step / 2, x - r <= step / 2))


def _canonical(items: list, term) -> list:
    """`items` sorted by the structural hash of `term(item)` (the same whatever was built before in
    the process), ties broken by the term's text."""
    keyed = sorted(((term(x).hash(), i) for i, x in enumerate(items)))
    out, k = [], 0
    while k < len(keyed):
        j = k
        while j < len(keyed) and keyed[j][0] == keyed[k][0]:
            j += 1
        same = [items[i] for _, i in keyed[k:j]]
        out += sorted(same, key=lambda x: term(x).sexpr()) if len(same) > 1 else same
        k = j
    return out

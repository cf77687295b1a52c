"""Isolation between symbols (the `frame` kind), over an encoding in which the other symbol's state
COULD change: one symbolic state for all symbols.

The symbols' state is one table of rows (an array from a symbol index to each field); the action
runs on the acting symbol's row and its post-state is written back into that row; the account is
shared. The other symbol's state after is a row of FRESH variables, related to the state before
only through that write-back, the array axiom instantiated (read at the other index: if the two
indices are the same row, the acting row's post-state, else the other row before; and one row read
twice is one row). So it equals its state before only because the rows differ: the proof needs the
named assumption `distinct symbols` (and fails without it), instead of being true by construction
(the same variables before and after, as it was). A Boolean stands for "the two indices are equal"
so that the problem stays in real arithmetic (nlsat, the relaxed encoding).

What the frame compares: every field of the other symbol, and every derived value of it that the
interpreter can evaluate. A derived value the interpreter cannot evaluate (e.g. the notional of a
symbol without a position) has no value to compare; Z3's terms are total and would compare garbage,
so each derived value is compared only where it is defined (the runtime-safety walker decides
definedness with the interpreter's own short-circuits), and its definedness must not change either.
The counterexample search (from reset, counterexamples.py) uses the same comparison, so Z3 and the
interpreter judge a violation alike.
"""

from __future__ import annotations

import z3

from .. import ast
from ..z3terms import SV, as_bool, b_and, sv_equal
from .base import be_contract
from .results import Goal, Obligation, SymWorld
from .runtime_safety import _Walker


class IsolationMixin:
    """Frame goals over one symbolic state for all symbols."""

    def frame_names(self) -> list[str]:
        return [f.name for f in self.rb.state if f.scope in ("symbol", "position")] + [d.name for d in self.rb.derived]

    def account_readers(self) -> set[str]:
        """The derived values that read (directly or through other derived values) an account field:
        the only ones whose value can change while the symbol's own fields stay the same."""
        account = {f.name for f in self.rb.state if f.scope == "account"}
        reads = {d.name: ast.names(d.expr) for d in self.rb.derived}
        out: set[str] = set()
        changed = True
        while changed:
            changed = False
            for n, ns in reads.items():
                if n not in out and (ns & account or ns & out):
                    out.add(n)
                    changed = True
        return out

    def frame_equal(self, before, after, names) -> object:
        """Fields equal; each derived value that reads the account defined before iff after, and
        equal where defined. The other derived values are functions of the contract and the
        symbol's fields alone (the interpreter computes them from nothing else), so equal fields
        make them equal: comparing them again would only cost solver time."""
        walker = _Walker(self.be)
        derived = {d.name for d in self.rb.derived}
        readers = self.account_readers()
        parts = []
        for n in names:
            if n not in derived:
                parts.append(sv_equal(before[n], after[n]))
                continue
            if n not in readers:
                continue
            db, da = walker.safe(ast.Name(n), before), walker.safe(ast.Name(n), after)
            parts.append(b_and(db == da, z3.Implies(db, sv_equal(before[n], after[n]))))
        return b_and(*parts)

    def _goal_frame(self, ob: Obligation, label: str) -> Goal:
        a_sym, b_sym = label.split(">")
        be = self.be
        syms = [a_sym, b_sym] if a_sym != b_sym else [a_sym, a_sym + "#2"]
        account = be.symbolic_state("f.", scopes=("account",))
        row_a = be.symbolic_state(f"f.{syms[0]}.", scopes=("symbol", "position"))
        row_b = be.symbolic_state(f"f.{syms[1]}.", scopes=("symbol", "position"))
        after_b = be.symbolic_state(f"f.{syms[1]}.after.", scopes=("symbol", "position"))
        same = z3.Bool("f.same_symbol")  # do the two indices name one row of the symbols' state?
        ca, cb = be_contract(self, a_sym), be_contract(self, b_sym)
        hyps = []
        for s, row, c in ((syms[0], row_a, ca), (syms[1], row_b, cb)):
            env = be.env(c, {**account, **row})
            for f in self.state_invariants():
                hyps.append((f"hyp:{f.id}@{s}", as_bool(be.compile_expr(f.formula, env).v)))
        args, run, assumptions, afacts = self._action_step(ob.action, ca, {**account, **row_a}, "x")
        # the write-back of the acting row, read at the other index: Select(Store(S, A, post), B)
        # = if A = B then post else Select(S, B); and one row read twice is the same row
        rows = []
        for name in row_b:
            rows.append(z3.Implies(same, sv_equal(row_b[name], row_a[name])))
            rows.append(sv_equal(after_b[name], _merge(same, run.post[name], row_b[name])))
        post_account = {k: v for k, v in run.post.items() if k in account}
        before = be.env(cb, {**account, **row_b})
        after = be.env(cb, {**post_account, **after_b})
        names = self.frame_names()
        goal = self.frame_equal(before, after, names)
        distinct = [("distinct symbols", z3.Not(same))]
        world = SymWorld(account, {syms[0]: row_a, syms[1]: row_b})
        return Goal(as_bool(goal), distinct + hyps + assumptions, rows + afacts + be.take_facts(),
                    final={"action": ob.action, "symbol": a_sym, "other": b_sym, "args": args, "world": world,
                           "run": run, "names": names, "before": before, "after": after, "syms": syms})


def _merge(c, a: SV, b: SV) -> SV:
    from ..z3terms import merge
    return merge(c, a, b)

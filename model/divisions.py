"""Divisions whose divisor can be zero: found by Z3, reported by `marginspec check` at file:line:col.

The exact interpreter cannot divide by zero, so a formula that can is a rulebook bug. Every `/` of
every derived value, action (lets, checks, effects, results, argument conditions) and of the
liquidation section is compiled by the Z3 backend in the context where it is evaluated, and Z3 is
asked whether the divisor can be 0 there. The context ("the rulebook's domains") is:

- a contract of two symbolic tiers (increasing `max_notional`) whose parameters and tier fields
  satisfy their `domain:` conditions and the per-tier and per-pair parameter invariants (family 8,
  `over: tiers` / `over: tier_pairs`: what reset demands of every contract, e.g. born safe);
- a state satisfying the rulebook's state invariants (`kind: state` in invariants.yaml: what the
  prover shows every reachable state satisfies), with a position for derived values;
- for an action, its arguments satisfying their `valid:` conditions;
- inside `if c then a else b`, `c` for `a` and `not c` for `b`; in `x and y`, `x` for `y`; in
  `x or y`, `not x` for `y`.

It is decided in RELAXED mode first (roundings as bounded reals: an over-approximation, so `unsat`
there means never zero), then in EXACT mode; a divisor Z3 cannot clear is reported too, with the
reason, as the check must not pass what it could not show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import z3

from . import ast
from .diagnostics import Diagnostic
from .rulebook import Rulebook
from .solving import _assert_all, _main_model, _translated, new_solver
from .z3backend import EXACT, RELAXED, Backend
from .z3env import SymEnv
from .z3terms import SV, as_bool, b_and, b_not, b_or, merge

#: Z3's work on one divisor in each mode (its resource counter: the same answer on a busy machine;
#: a wall-clock limit of 5 s answered "unknown" for a fixture's divisor under the test suite's load)
RLIMIT = 20_000_000
#: Seconds: only a safety net (an answer it cuts is "unknown", never a pass)
TIMEOUT = 60.0


def _nodes(e: ast.Expr | None) -> Iterable[ast.Expr]:
    stack = [e] if e is not None else []
    while stack:
        n = stack.pop()
        yield n
        stack.extend(n.children())


@dataclass(frozen=True)
class Division:
    root: ast.Expr        # the expression (as written in the rulebook) holding the division
    node: ast.Binary      # the division
    where: str            # "derived value X", "action Y", ...
    divisor: Any          # Z3 term
    null: Any             # Z3 Bool: the divisor is null (the interpreter refuses that before dividing)
    guard: Any            # Z3 Bool: the path condition under which the division is evaluated


class _Probe(Backend):
    """The Z3 backend, recording each division of the expressions it is told to watch."""

    def __init__(self, rb: Rulebook, mode: str):
        super().__init__(rb, mode)
        self.guards: list[Any] = []
        self.watch: dict[int, tuple[ast.Expr, str]] = {}  # node id -> (root, where)
        self.found: list[Division] = []

    def _c_Binary(self, e, env):
        if e.op == "/" and id(e) in self.watch:
            b = self.compile_expr(e.right, env)
            root, where = self.watch[id(e)]
            self.found.append(Division(root, e, where, self._n(b), as_bool(b.null) if b.null is not False
                                       else z3.BoolVal(False), b_and(*self.guards) if self.guards else z3.BoolVal(True)))
        return super()._c_Binary(e, env)

    def _c_If(self, e, env):
        c = self.compile_expr(e.cond, env)
        cond = as_bool(c.v)
        self.guards.append(cond)
        try:
            then = self.compile_expr(e.then, env)
        finally:
            self.guards.pop()
        self.guards.append(b_not(cond))
        try:
            other = self.compile_expr(e.otherwise, env)
        finally:
            self.guards.pop()
        return merge(cond, then, other)

    def _c_Logic(self, e, env):
        a = self.compile_expr(e.left, env)
        left = as_bool(a.v)
        self.guards.append(left if e.op == "and" else b_not(left))
        try:
            b = self.compile_expr(e.right, env)
        finally:
            self.guards.pop()
        return SV(b_and(a.v, b.v) if e.op == "and" else as_bool(b_or(a.v, b.v)), kind="bool")

    def watch_expr(self, root: ast.Expr | None, where: str) -> None:
        for n in _nodes(root):
            if isinstance(n, ast.Binary) and n.op == "/":
                self.watch.setdefault(id(n), (root, where))


def _action_exprs(action) -> Iterable[ast.Expr]:
    for a in action.args:
        if a.valid is not None:
            yield a.valid
    for _, e in action.lets:
        yield e
    for c in action.checks:
        yield from (x for x in (c.require, c.when) if x is not None)
        yield from (e for _, e in c.with_)
    for ef in action.effects:
        yield from (x for x in (ef.cond, ef.when) if x is not None)
        yield from (e for _, e in ef.assignments)
    for r in action.result:
        yield from (x for x in (r.expr, r.when) if x is not None)


def _context(be: _Probe, rb: Rulebook, has_position: bool | None, action: str | None):
    """(contract, state, args, assumptions) of a derived value (has_position True) or an action."""
    c = be.symbolic_contract("C", 2)
    facts = [f for _, f in c.facts]
    facts.append(c.tiers[0]["max_notional"] < c.tiers[1]["max_notional"])
    state = be.symbolic_state("s.", has_position=has_position)
    args = be.symbolic_args(action) if action is not None else None
    env = be.env(c, state, args)
    for f in rb.formals.values():  # reset refuses a contract breaking these, so they hold here
        if getattr(f, "kind", None) == "parameter" and f.formula is not None and f.over in ("tiers", "tier_pairs"):
            pairs = zip(c.tiers, c.tiers[1:]) if f.over == "tier_pairs" else ((t, None) for t in c.tiers)
            for t, u in pairs:
                values = {**c.values(), **{f"tier.{k}": SV(v) for k, v in t.items()},
                          **{f"next_tier.{k}": SV(v) for k, v in (u or {}).items()}}
                facts.append(as_bool(be.compile_expr(f.formula, SymEnv(be, values, {}, None, c)).v))
    for f in rb.formals.values():
        if getattr(f, "kind", None) == "state" and f.formula is not None:
            facts.append(as_bool(be.compile_expr(f.formula, env).v))
    if action is not None:
        for a in rb.actions[action].args:
            if a.valid is not None:
                ok = as_bool(be.compile_expr(a.valid, env).v)
                facts.append(z3.Or(as_bool(args[a.name].null), ok) if a.optional else ok)
    return c, state, args, facts


def _solve(facts: list, d: Division) -> tuple[str, Any]:
    # in a fresh context (solving.py): the answer depends on the question alone
    ctx, vec = _translated([*facts, d.guard, z3.Not(d.null), d.divisor == 0])
    s = new_solver(TIMEOUT, RLIMIT, ctx)
    _assert_all(s, vec)
    r = s.check()
    return str(r), (_main_model(s) if r == z3.sat else None)


def _collect(rb: Rulebook, mode: str) -> list[tuple[Division, list]]:
    """Every watched division with the facts of its context, compiled in `mode`."""
    out: list[tuple[Division, list]] = []
    for d in rb.derived:
        be = _Probe(rb, mode)
        be.watch_expr(d.expr, f"derived value {d.name}")
        c, state, _, facts = _context(be, rb, True, None)
        be.compile_expr(d.expr, be.env(c, state))
        facts += be.take_facts()
        out += [(x, facts) for x in be.found]
    for name, action in rb.actions.items():
        exprs = list(_action_exprs(action))
        if not any(isinstance(n, ast.Binary) and n.op == "/" for e in exprs for n in _nodes(e)):
            continue
        be = _Probe(rb, mode)
        for e in exprs:
            be.watch_expr(e, f"action {name}")
        c, state, args, facts = _context(be, rb, None, name)
        be.run_action(name, c, state, args)  # compiles what the interpreter evaluates, lets lazily
        facts += be.take_facts()
        out += [(x, facts) for x in be.found]
    liq = [e for _, e in rb.liquidation.lets] + [x for ef in rb.liquidation.effects
                                                  for x in [ef.cond, ef.when, *(e for _, e in ef.assignments)]
                                                  if x is not None]
    if any(isinstance(n, ast.Binary) and n.op == "/" for e in liq for n in _nodes(e)):
        be = _Probe(rb, mode)
        for e in liq:
            be.watch_expr(e, "the liquidation section")
        c, state, _, facts = _context(be, rb, True, None)
        env = be.env(c, state, lets=dict(rb.liquidation.lets))
        for e in liq:
            be.compile_expr(e, env)
        facts += be.take_facts()
        out += [(x, facts) for x in be.found]
    return out


def division_problems(rb: Rulebook) -> list[Diagnostic]:
    """A diagnostic for each division whose divisor Z3 finds can be zero (or cannot clear)."""
    from .printer import to_text

    relaxed = _collect(rb, RELAXED)
    if all(_solve(facts, d)[0] == "unsat" for d, facts in relaxed):
        return []
    exact = _collect(rb, EXACT)
    problems: dict[tuple[int, str], Diagnostic] = {}
    for d, facts in exact:
        status, model = _solve(facts, d)
        if status == "unsat":
            continue
        key = (id(d.node), d.where)
        if key in problems:
            continue
        divisor = to_text(d.node.right)
        mark = rb.mark_of_node(d.root, d.node)
        if status == "sat":
            msg = f"{d.where}: the divisor '{divisor}' can be zero{_witness(model, d)}"
        else:
            msg = f"{d.where}: could not show that the divisor '{divisor}' is never zero (Z3: {status})"
        problems[key] = Diagnostic(mark, msg)
    # a divisor RELAXED could not clear but EXACT did is fine; the rest are reported
    return list(problems.values())


def _witness(model, d: Division) -> str:
    """A few of the model's values that make the divisor zero (for the message)."""
    if model is None:
        return ""
    names = sorted({str(v) for v in _vars(d.divisor)})[:6]
    shown = []
    for n in names:
        v = model.eval(z3.Real(n), model_completion=True) if "!" not in n else None
        if v is not None:
            shown.append(f"{n} = {v}")
    return f" (e.g. {', '.join(shown)})" if shown else ""


def _vars(term) -> set:
    out, stack, seen = set(), [term], set()
    while stack:
        t = stack.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if z3.is_const(t) and t.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            out.add(t)
        stack.extend(t.children())
    return out

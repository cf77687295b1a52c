"""Mutation adequacy: first-order mutants of the loaded rulebook, run against the vectors.

A mutant changes one thing in the rulebook's ASTs (never the YAML): an arithmetic operator, a
constant, a comparison, `and`/`or`, a rounding direction, an enumeration literal or the sign of
`direction` (side signs), `min`/`max`, a `not` or a minus dropped, two adjacent checks or effects
swapped, or a check removed. Every vector case is replayed in process on
`ReferenceEngine(mutated_rulebook)`; a mutant is caught ("killed") by the first case whose replies
differ from the expected ones (or that makes the mutated engine fail). The mutants no case
catches are then decided with Z3 (`equivalence.py`): equivalent to the rulebook on every
reachable state (set aside, with the proof), or not (a gap in the vectors).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, fields, replace
from fractions import Fraction
from typing import Any, Callable, Iterator, Sequence

from .. import ast
from ..engine import ReferenceEngine
from ..numbers import format_decimal
from ..printer import to_text
from ..rulebook import Action, Effect, Rulebook

ARITH = ("+", "-", "*", "/")
CMP = ("<", "<=", ">", ">=", "==", "!=")
ROUND = ast.ROUND_DIRECTIONS


# -- where expressions live in a Rulebook -------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    """One expression of the rulebook: where it is, and how to put a replacement there."""

    location: str
    action: str | None  # the action it belongs to (None: derived value / liquidation: every action)
    expr: ast.Expr
    put: Callable[[Rulebook, ast.Expr], Rulebook]


def _set_action(rb: Rulebook, name: str, a: Action) -> Rulebook:
    return replace(rb, actions={**rb.actions, name: a})


def _tuple_set(t: tuple, i: int, v) -> tuple:
    return t[:i] + (v,) + t[i + 1:]


def slots(rb: Rulebook) -> list[Slot]:
    out: list[Slot] = []
    for i, d in enumerate(rb.derived):
        out.append(Slot(f"derived.{d.name}", None, d.expr,
                        lambda r, e, i=i: replace(r, derived=_tuple_set(r.derived, i, replace(r.derived[i], expr=e)))))
    for name, a in rb.actions.items():
        def act(r, name=name):
            return r.actions[name]
        for j, (ln, le) in enumerate(a.lets):
            out.append(Slot(f"{name}.let.{ln}", name, le, lambda r, e, name=name, j=j: _set_action(
                r, name, replace(act(r, name), lets=_tuple_set(act(r, name).lets, j, (act(r, name).lets[j][0], e))))))
        for k, x in enumerate(a.args):
            if x.valid is not None:
                out.append(Slot(f"{name}.arg.{x.name}.valid", name, x.valid, lambda r, e, name=name, k=k: _set_action(
                    r, name, replace(act(r, name), args=_tuple_set(act(r, name).args, k, replace(act(r, name).args[k], valid=e))))))
        for i, c in enumerate(a.checks):
            def put_check(r, c2, name=name, i=i):
                return _set_action(r, name, replace(act(r, name), checks=_tuple_set(act(r, name).checks, i, c2)))
            out.append(Slot(f"{c.id}.require", name, c.require,
                            lambda r, e, i=i, name=name, pc=put_check: pc(r, replace(act(r, name).checks[i], require=e))))
            if c.when is not None:
                out.append(Slot(f"{c.id}.when", name, c.when,
                                lambda r, e, i=i, name=name, pc=put_check: pc(r, replace(act(r, name).checks[i], when=e))))
            for j, (fn, fe) in enumerate(c.with_):
                out.append(Slot(f"{c.id}.with.{fn}", name, fe, lambda r, e, i=i, j=j, name=name, pc=put_check: pc(
                    r, replace(act(r, name).checks[i], with_=_tuple_set(act(r, name).checks[i].with_, j,
                                                                         (act(r, name).checks[i].with_[j][0], e))))))
        for i, ef in enumerate(a.effects):
            out += _effect_slots(f"{name}.effect[{i}]", name, ef,
                                 lambda r, ef2, name=name, i=i: _set_action(
                                     r, name, replace(act(r, name), effects=_tuple_set(act(r, name).effects, i, ef2))),
                                 lambda r, name=name, i=i: act(r, name).effects[i])
        for i, res in enumerate(a.result):
            if res.expr is not None:
                out.append(Slot(f"{name}.result.{res.name}", name, res.expr, lambda r, e, name=name, i=i: _set_action(
                    r, name, replace(act(r, name), result=_tuple_set(act(r, name).result, i, replace(act(r, name).result[i], expr=e))))))
    liq = rb.liquidation
    for j, (ln, le) in enumerate(liq.lets):
        out.append(Slot(f"liquidation.let.{ln}", None, le, lambda r, e, j=j: replace(
            r, liquidation=replace(r.liquidation, lets=_tuple_set(r.liquidation.lets, j, (r.liquidation.lets[j][0], e))))))
    for i, ef in enumerate(liq.effects):
        out += _effect_slots(f"liquidation.effect[{i}]", None, ef,
                             lambda r, ef2, i=i: replace(r, liquidation=replace(
                                 r.liquidation, effects=_tuple_set(r.liquidation.effects, i, ef2))),
                             lambda r, i=i: r.liquidation.effects[i])
    return out


def _effect_slots(loc, action, ef: Effect, put_effect, get_effect) -> list[Slot]:
    out = []
    for j, (fn, fe) in enumerate(ef.assignments):
        out.append(Slot(f"{loc}.{fn}", action, fe, lambda r, e, j=j: put_effect(r, replace(
            get_effect(r), assignments=_tuple_set(get_effect(r).assignments, j, (get_effect(r).assignments[j][0], e))))))
    if ef.cond is not None:
        out.append(Slot(f"{loc}.if", action, ef.cond, lambda r, e: put_effect(r, replace(get_effect(r), cond=e))))
    if ef.when is not None:
        out.append(Slot(f"{loc}.when", action, ef.when, lambda r, e: put_effect(r, replace(get_effect(r), when=e))))
    return out


# -- node mutations ------------------------------------------------------------------------------
def _nodes(e: ast.Expr) -> list[ast.Expr]:
    return list(ast.walk(e))


def replace_at(e: ast.Expr, index: int, new: ast.Expr) -> ast.Expr:
    """`e` with its `index`-th node (pre-order, as ast.walk) replaced by `new`."""
    counter = [0]

    def go(x: ast.Expr) -> ast.Expr:
        i = counter[0]
        counter[0] += 1
        if i == index:
            counter[0] += sum(1 for _ in ast.walk(x)) - 1
            return new
        changes = {}
        for f in fields(x):
            v = getattr(x, f.name)
            if isinstance(v, ast.Expr):
                changes[f.name] = go(v)
            elif isinstance(v, tuple) and v and isinstance(v[0], ast.Expr):
                changes[f.name] = tuple(go(y) for y in v)
        return replace(x, **changes) if changes else x

    return go(e)


def _num(v: Fraction) -> ast.Num:
    return ast.Num(v, format_decimal(v))


def _unordered(rb: Rulebook, e: ast.Expr) -> bool:
    """Null, booleans and enumeration values have no order: a mutant comparing them with < would
    not pass the rulebook's type checker, so only == <-> != is generated for them."""
    if isinstance(e, (ast.Null, ast.Str, ast.Bool)):
        return True
    if isinstance(e, ast.Name):
        name = e.name[4:] if e.name.startswith("arg.") else e.name
        f = next((x for x in rb.state if x.name == name), None)
        if f is not None:
            return f.ty.kind in ("enum", "bool")
        for a in rb.actions.values():
            for x in a.args:
                if x.name == name:
                    return x.ty.kind in ("enum", "bool")
    return False


def _constants(v: Fraction) -> list[Fraction]:
    if v == 0:
        cands = [Fraction(1), Fraction(-1)]
    elif v == 1:
        cands = [Fraction(0), Fraction(2)]
    elif v == -1:
        cands = [Fraction(1), Fraction(0)]
    else:
        cands = [Fraction(0), v * 10, v / 10]
    return [c for c in cands if c != v]


def node_mutations(rb: Rulebook, n: ast.Expr) -> Iterator[tuple[str, str, ast.Expr]]:
    """(category, description, replacement) for one node."""
    if isinstance(n, ast.Binary):
        for op in ARITH:
            if op != n.op:
                yield "operator", f"{n.op} -> {op}", replace(n, op=op)
    elif isinstance(n, ast.Compare):
        if _unordered(rb, n.left) or _unordered(rb, n.right):  # null or an enumeration: only == and !=
            yield "comparison", f"{n.op} -> {'!=' if n.op == '==' else '=='}", replace(n, op="!=" if n.op == "==" else "==")
        else:
            for op in CMP:
                if op != n.op:
                    yield "comparison", f"{n.op} -> {op}", replace(n, op=op)
    elif isinstance(n, ast.Logic):
        other = "or" if n.op == "and" else "and"
        yield "logic", f"{n.op} -> {other}", replace(n, op=other)
    elif isinstance(n, ast.Unary):
        yield "negation", f"drop '{n.op}'", n.operand
    elif isinstance(n, ast.Num):
        for v in _constants(n.value):
            yield "constant", f"{n.text} -> {_num(v).text}", _num(v)
    elif isinstance(n, ast.Round):
        for d in ROUND:
            if d != n.direction:
                yield "rounding", f"round {n.direction} -> {d}", replace(n, direction=d)
    elif isinstance(n, ast.Str):
        for values in rb.enums.values():
            if n.value in values:
                for v in values:
                    if v != n.value:
                        yield "side_sign" if "long" in values else "literal", f"'{n.value}' -> '{v}'", replace(n, value=v)
    elif isinstance(n, ast.Bool):
        yield "constant", f"{str(n.value).lower()} -> {str(not n.value).lower()}", replace(n, value=not n.value)
    elif isinstance(n, ast.Name) and n.name == "direction":
        yield "side_sign", "direction -> -direction", ast.Unary("-", n)
    elif isinstance(n, ast.Call) and n.func in ("min", "max"):
        other = "max" if n.func == "min" else "min"
        yield "function", f"{n.func} -> {other}", replace(n, func=other)
    elif isinstance(n, ast.Call) and n.func == "abs":
        yield "function", "drop abs", n.args[0]


@dataclass(frozen=True)
class Mutant:
    id: str
    category: str
    location: str
    action: str | None
    description: str
    build: Callable[[Rulebook], Rulebook]
    original: str = ""  # the expression before and after, as text (for reports)
    mutated: str = ""


def _mid(*parts: str) -> str:
    return "m-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:10]


def enumerate_mutants(rb: Rulebook) -> list[Mutant]:
    """Every first-order mutant of `rb`, in a fixed order with stable ids."""
    out: list[Mutant] = []
    for slot in slots(rb):
        for idx, node in enumerate(_nodes(slot.expr)):
            for cat, desc, new in node_mutations(rb, node):
                mutated = replace_at(slot.expr, idx, new)
                out.append(Mutant(_mid(slot.location, str(idx), desc), cat, slot.location, slot.action,
                                  f"{slot.location}: {desc} (node {idx})",
                                  lambda r, slot=slot, mutated=mutated: slot.put(r, mutated),
                                  to_text(slot.expr), to_text(mutated)))
    for name, a in rb.actions.items():
        for i in range(len(a.checks) - 1):
            c1, c2 = a.checks[i], a.checks[i + 1]
            out.append(Mutant(_mid(name, "swap", c1.id, c2.id), "check_order", name, name,
                              f"{name}: checks {c1.id} and {c2.id} swapped",
                              lambda r, name=name, i=i: _set_action(r, name, replace(r.actions[name], checks=_swap(r.actions[name].checks, i)))))
        for i, c in enumerate(a.checks):
            out.append(Mutant(_mid(name, "drop", c.id), "check_removed", name, name, f"{name}: check {c.id} removed",
                              lambda r, name=name, i=i: _set_action(r, name, replace(
                                  r.actions[name], checks=r.actions[name].checks[:i] + r.actions[name].checks[i + 1:]))))
        for i in range(len(a.effects) - 1):
            out.append(Mutant(_mid(name, "effects", str(i)), "effect_order", name, name,
                              f"{name}: effects {i} and {i + 1} swapped",
                              lambda r, name=name, i=i: _set_action(r, name, replace(r.actions[name], effects=_swap(r.actions[name].effects, i)))))
    liq = rb.liquidation
    for i in range(len(liq.effects) - 1):
        out.append(Mutant(_mid("liquidation", "effects", str(i)), "effect_order", "liquidation", None,
                          f"liquidation: effects {i} and {i + 1} swapped",
                          lambda r, i=i: replace(r, liquidation=replace(r.liquidation, effects=_swap(r.liquidation.effects, i)))))
    return out


def _swap(t: tuple, i: int) -> tuple:
    return t[:i] + (t[i + 1], t[i]) + t[i + 2:]


# -- running the vectors against a mutant ----------------------------------------------------------
@dataclass(frozen=True)
class PreparedCase:
    id: str
    reset: dict
    steps: tuple[tuple[dict, dict], ...]  # (request with id, expect)
    ops: frozenset[str] = frozenset()  # the ops its steps send


def prepare(documents: Sequence[dict]) -> list[PreparedCase]:
    out = []
    for d in documents:
        for g in d["groups"]:
            reset = {"id": 0, "op": "reset", "args": {"contracts": g["contracts"], "available_balance": g["available_balance"]}}
            for c in g["cases"]:
                steps = tuple(({"id": i + 1, "op": s["request"]["op"], "args": s["request"]["args"]},
                               {**s["expect"], "tolerance": s["tolerance"]} if "tolerance" in s else s["expect"])
                              for i, s in enumerate(c["steps"]))
                out.append(PreparedCase(c["id"], reset, steps, frozenset(r["op"] for r, _ in steps)))
    return out


def matches(reply: dict, expect: dict) -> bool:
    from ..conformance.compare import compare_value, within

    if expect["ok"]:
        if reply.get("ok") is not True:
            return False
        exp = expect.get("result")
        if exp:
            diffs: list = []
            compare_value(exp, reply.get("result"), "result", diffs)
            tol = expect.get("tolerance") or {}
            return not [d for d in diffs if not within(d[1], d[2], tol.get(d[0][len("result."):]))]
        return True
    return reply.get("ok") is False and reply.get("error", {}).get("code") == expect["error"]


def first_failure(engine: ReferenceEngine, case: PreparedCase) -> str | None:
    """None when the engine passes the case, else what went wrong first."""
    try:
        engine.handle(case.reset)
        for i, (request, expect) in enumerate(case.steps):
            reply = engine.handle(request)
            if not matches(reply, expect):
                return f"step {i} ({request['op']})"
    except Exception as e:  # noqa: BLE001 - a mutant that crashes the engine is caught
        return f"engine raised {type(e).__name__}"
    return None


@dataclass
class MutantResult:
    mutant: Mutant
    killed_by: str | None  # case id
    how: str | None


def run_mutant(rb: Rulebook, m: Mutant, cases: Sequence[PreparedCase], order: list[int]) -> MutantResult:
    try:
        mrb = m.build(rb)
        engine = ReferenceEngine(mrb)
    except Exception as e:  # noqa: BLE001
        return MutantResult(m, "(build)", f"the mutated rulebook does not compile: {type(e).__name__}")
    for k, ci in enumerate(order):
        if m.action is not None and m.action not in cases[ci].ops:
            continue  # the mutated action never runs in this case: its replies cannot change
        how = first_failure(engine, cases[ci])
        if how is not None:
            if k:  # try this case first for the next mutants
                order.insert(0, order.pop(k))
            return MutantResult(m, cases[ci].id, how)
    return MutantResult(m, None, None)


_WORK: dict[str, Any] = {}


def _worker(indices: list[int]) -> list[tuple[int, str | None, str | None]]:
    rb, mutants, cases = _WORK["rb"], _WORK["mutants"], _WORK["cases"]
    order = list(range(len(cases)))
    out = []
    for i in indices:
        r = run_mutant(rb, mutants[i], cases, order)
        out.append((i, r.killed_by, r.how))
    return out


def run_all(rb: Rulebook, documents: Sequence[dict], mutants: list[Mutant] | None = None,
            jobs: int | None = None) -> list[MutantResult]:
    """Run every mutant against every case (in process; `jobs` worker processes, default the CPUs)."""
    mutants = enumerate_mutants(rb) if mutants is None else mutants
    cases = prepare(documents)
    jobs = jobs or min(os.cpu_count() or 1, 8)
    if jobs <= 1 or len(mutants) < 20:
        order = list(range(len(cases)))
        return [run_mutant(rb, m, cases, order) for m in mutants]
    import multiprocessing as mp

    _WORK.update(rb=rb, mutants=mutants, cases=cases)
    chunks = [list(range(k, len(mutants), jobs)) for k in range(jobs)]
    try:
        ctx = mp.get_context("fork")
        with ctx.Pool(jobs) as pool:
            parts = pool.map(_worker, chunks)
    finally:
        _WORK.clear()
    res: dict[int, MutantResult] = {}
    for part in parts:
        for i, killed, how in part:
            res[i] = MutantResult(mutants[i], killed, how)
    return [res[i] for i in range(len(mutants))]

"""The exact interpreter: the rulebook's AST compiled to Python closures over Fractions.

Nothing here knows a rule: every check, effect and formula comes from the loaded Rulebook. The
closures read an `Env`, a dict of the symbol's values (contract, account, symbol, position,
arguments) that computes derived values and lets on first use and caches them.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping

from . import ast
from .numbers import is_multiple, round_to
from .rulebook import Action, Check, Contract, Effect, Rulebook

Fn = Callable[["Env"], Any]
_EMPTY: dict = {}


class EvalError(Exception):
    """A formula could not be evaluated (a null in arithmetic, a name without a value): a rulebook bug."""


class Env(dict):
    """Values by name; `lazy` computes missing ones (derived values, lets), `parent` supplies the rest."""

    __slots__ = ("lazy", "parent")

    def __init__(self, values, lazy=_EMPTY, parent=None):
        super().__init__(values)
        self.lazy = lazy
        self.parent = parent

    def __missing__(self, key):
        fn = self.lazy.get(key)
        if fn is not None:
            v = fn(self)
        elif self.parent is not None:
            v = self.parent[key]
        else:
            raise EvalError(f"'{key}' has no value here")
        self[key] = v
        return v


_CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}


def tier_index(tiers, notional) -> int:
    """The index of the first tier whose max_notional >= notional, else the last (N-tier-boundary)."""
    for i, t in enumerate(tiers):
        if notional <= t["max_notional"]:
            return i
    return len(tiers) - 1


def tier_of(tiers, notional):
    return tiers[tier_index(tiers, notional)]


def solve_tier(value: Fn, cond: Fn, env: "Env") -> tuple[int, "Env"]:
    """`solve_tier(value, cond)`: the index of the first tier whose `cond` holds (else the last) and
    the Env binding that tier's `tier.*` and `value`."""
    i, sub = 0, None
    for i, bound in enumerate(env["__tier_envs__"]):
        sub = Env(bound, _EMPTY, env)
        sub["value"] = value(sub)
        if cond(sub):
            break
    return i, sub


def compile_expr(e: ast.Expr) -> Fn:
    """A closure computing `e` from an Env."""
    if isinstance(e, ast.Num):
        v = e.value
        return lambda env: v
    if isinstance(e, ast.Str):
        s = e.value
        return lambda env: s
    if isinstance(e, ast.Bool):
        b = e.value
        return lambda env: b
    if isinstance(e, ast.Null):
        return lambda env: None
    if isinstance(e, ast.Name):
        return operator.itemgetter(e.name)
    if isinstance(e, ast.Unary):
        f = compile_expr(e.operand)
        return (lambda env: not f(env)) if e.op == "not" else (lambda env: -f(env))
    if isinstance(e, ast.Binary):  # one closure per operator: this is the interpreter's hot path
        a, b = compile_expr(e.left), compile_expr(e.right)
        if e.op == "+":
            return lambda env: a(env) + b(env)
        if e.op == "-":
            return lambda env: a(env) - b(env)
        if e.op == "*":
            return lambda env: a(env) * b(env)
        return lambda env: a(env) / b(env)
    if isinstance(e, ast.Compare):
        if isinstance(e.right, ast.Null) or isinstance(e.left, ast.Null):
            f = compile_expr(e.left if isinstance(e.right, ast.Null) else e.right)
            return (lambda env: f(env) is None) if e.op == "==" else (lambda env: f(env) is not None)
        a, b = compile_expr(e.left), compile_expr(e.right)
        if e.op == "<=":
            return lambda env: a(env) <= b(env)
        if e.op == ">":
            return lambda env: a(env) > b(env)
        op = _CMP[e.op]
        return lambda env: op(a(env), b(env))
    if isinstance(e, ast.Logic):
        a, b = compile_expr(e.left), compile_expr(e.right)
        if e.op == "and":
            return lambda env: a(env) and b(env)
        return lambda env: a(env) or b(env)
    if isinstance(e, ast.If):
        c, t, o = compile_expr(e.cond), compile_expr(e.then), compile_expr(e.otherwise)
        return lambda env: t(env) if c(env) else o(env)
    if isinstance(e, ast.Call):
        fs = [compile_expr(a) for a in e.args]
        if e.func == "abs":
            f = fs[0]
            return lambda env: abs(f(env))
        if e.func == "multiple_of":
            x, s = fs
            return lambda env: is_multiple(x(env), s(env))
        fn = min if e.func == "min" else max
        return lambda env: fn(f(env) for f in fs)
    if isinstance(e, ast.Round):
        v, s, d = compile_expr(e.value), compile_expr(e.step), e.direction
        return lambda env: round_to(v(env), s(env), d)
    if isinstance(e, ast.TierField):
        n, fld = compile_expr(e.notional), e.field
        return lambda env: tier_of(env["__tiers__"], n(env))[fld]
    if isinstance(e, ast.SolveTier):
        vf, cf = compile_expr(e.value), compile_expr(e.cond)
        return lambda env: solve_tier(vf, cf, env)[1]["value"]
    raise TypeError(f"no compiler for {type(e).__name__}")  # pragma: no cover


def _opt(e: ast.Expr | None) -> Fn | None:
    return compile_expr(e) if e is not None else None


@dataclass(frozen=True)
class CompiledCheck:
    check: Check
    when: Fn | None
    with_: tuple[tuple[str, Fn], ...]
    require: Fn


@dataclass(frozen=True)
class CompiledEffect:
    effect: Effect
    when: Fn | None
    assignments: tuple[tuple[str, Fn], ...]
    cond: Fn | None


@dataclass(frozen=True)
class CompiledAction:
    action: Action
    root_lazy: Mapping[str, Fn]
    valid: tuple[tuple[str, Fn], ...]
    checks: tuple[CompiledCheck, ...]
    effects: tuple[CompiledEffect, ...]
    result: tuple[tuple[str, Fn | None, tuple[str, ...] | None, Fn | None, bool], ...]


@dataclass(frozen=True)
class Outcome:
    """What an action did: refused (error, message, the failing check) or done (result, new values)."""

    ok: bool
    error: str | None = None
    message: str | None = None
    check_id: str | None = None
    result: Mapping[str, Any] | None = None
    values: Mapping[str, Any] | None = None  # the symbol's flat state after the action
    checks: tuple[tuple[str, str], ...] = ()  # (check id, pass | fail | skip) in order
    liquidated: bool = False
    locals: Mapping[str, Any] | None = None  # values bound by effects (liquidated, fill_price)


class Interpreter:
    """Executes the rulebook's actions on a symbol's flat state; one instance per Rulebook."""

    def __init__(self, rb: Rulebook):
        self.rb = rb
        self.derived: dict[str, Fn] = {d.name: compile_expr(d.expr) for d in rb.derived}
        self.position_fields = tuple(f.name for f in rb.state if f.scope == "position")
        liq_lazy = dict(self.derived)
        liq_lazy.update({n: compile_expr(e) for n, e in rb.liquidation.lets})
        self.liq_lazy = liq_lazy
        self.liq_effects = tuple(self._effect(e) for e in rb.liquidation.effects)
        self.actions = {name: self._action(a) for name, a in rb.actions.items()}
        self.param_domains = {p.name: compile_expr(p.domain) for p in rb.params}
        self.tier_domains = {f.name: compile_expr(f.domain) for f in rb.tier_fields}

    def _effect(self, e: Effect) -> CompiledEffect:
        return CompiledEffect(e, _opt(e.when), tuple((n, compile_expr(x)) for n, x in e.assignments), _opt(e.cond))

    def _action(self, a: Action) -> CompiledAction:
        lazy = dict(self.derived)
        lazy.update({n: compile_expr(e) for n, e in a.lets})
        checks = tuple(CompiledCheck(c, _opt(c.when), tuple((n, compile_expr(x)) for n, x in c.with_),
                                     compile_expr(c.require)) for c in a.checks)
        result = tuple((r.name, _opt(r.expr), r.view, _opt(r.when), r.omit_null) for r in a.result)
        valid = tuple((x.name, compile_expr(x.valid)) for x in a.args if x.valid is not None)
        return CompiledAction(a, lazy, valid, checks, tuple(self._effect(e) for e in a.effects), result)

    # -- contracts ---------------------------------------------------------------------------
    @staticmethod
    def contract_values(c: Contract) -> dict[str, Any]:
        """The names a contract contributes to every formula: parameters, first/last tier, tier tables."""
        vals: dict[str, Any] = dict(c.params)
        for k, v in c.tiers[0].items():
            vals[f"first_tier.{k}"] = v
        for k, v in c.tiers[-1].items():
            vals[f"last_tier.{k}"] = v
        vals["__tiers__"] = c.tiers
        vals["__tier_envs__"] = tuple({f"tier.{k}": v for k, v in t.items()} for t in c.tiers)
        return vals

    def domain_breaks(self, c: Contract) -> list[tuple[int | None, str]]:
        """Which parameter or tier domains (from the rulebook) a contract breaks: (tier number, or
        None for a parameter; the parameter's or tier field's name), in the rulebook's order."""
        out: list[tuple[int | None, str]] = [(None, n) for n, f in self.param_domains.items() if not f(Env(c.params))]
        for i, t in enumerate(c.tiers, 1):
            out += [(i, n) for n, f in self.tier_domains.items() if not f(Env(t))]
        return out

    def contract_problems(self, c: Contract) -> list[str]:
        """Which parameter or tier domains a contract breaks, as messages (a refused reset's)."""
        return [f"{n} fails {self.domain_text(n)}" if tier is None else f"tier {tier}: {n} fails its domain"
                for tier, n in self.domain_breaks(c)]

    def domain_text(self, name: str, tier: bool = False) -> str:
        """The domain of a parameter (or, with `tier`, of a tier field) as the rulebook writes it."""
        from .printer import to_text
        return to_text(next(p.domain for p in (self.rb.tier_fields if tier else self.rb.params) if p.name == name))

    def initial_symbol_state(self) -> dict[str, Any]:
        return {f.name: f.initial for f in self.rb.state if f.scope in ("symbol", "position")}

    def initial_account(self, available_balance: Fraction) -> dict[str, Any]:
        acct = {f.name: f.initial for f in self.rb.state if f.scope == "account"}
        acct["available_balance"] = available_balance
        return acct

    # -- running -----------------------------------------------------------------------------
    def invalid_argument(self, name: str, contract_vals: Mapping[str, Any], args: Mapping[str, Any]) -> str | None:
        """The first argument whose `valid` condition fails, in declaration order."""
        ca = self.actions[name]
        env = Env({f"arg.{k}": v for k, v in args.items()}, _EMPTY, contract_vals)  # no copy of the contract
        for arg_name, f in ca.valid:
            if args.get(arg_name) is not None and not f(env):
                return arg_name
        return None

    def run(self, name: str, values: Mapping[str, Any], args: Mapping[str, Any]) -> Outcome:
        """Run action `name` on `values` (contract + account + symbol state); `args` already parsed and valid."""
        ca = self.actions[name]
        root = Env(values, ca.root_lazy)
        for x in ca.action.args:
            root[f"arg.{x.name}"] = args.get(x.name)
        trace = []
        try:
            for cc in ca.checks:
                if cc.when is not None and not cc.when(root):
                    trace.append((cc.check.id, "skip"))
                    continue
                env = root
                if cc.with_:
                    env = Env({**values, **{n: f(root) for n, f in cc.with_}}, self.derived, root)
                if not cc.require(env):
                    trace.append((cc.check.id, "fail"))
                    return Outcome(False, cc.check.error, cc.check.message, cc.check.id, checks=tuple(trace))
                trace.append((cc.check.id, "pass"))
            state, env, local = self._apply(ca.effects, dict(values), root, root, self.derived)
            final = Env({**state, **local}, self.derived, root) if local else env
            result = {}
            for rname, f, view, when, omit_null in ca.result:
                if when is not None and not when(final):
                    result[rname] = None
                    continue
                if view is not None:
                    result[rname] = {v: final[v] for v in view}
                    continue
                v = f(final)
                if v is None and omit_null:
                    continue
                result[rname] = v
        except (TypeError, ZeroDivisionError, KeyError) as e:  # a null in arithmetic: a rulebook bug
            raise EvalError(f"{name}: {type(e).__name__}: {e}") from e
        return Outcome(True, result=result, values=state, checks=tuple(trace), liquidated=bool(local.get("liquidated")),
                       locals=local)

    def _apply(self, effects, state: dict, env: Env, root: Env, lazy) -> tuple[dict, Env, dict]:
        """Run effects in order; each step reads the state the previous one left."""
        local: dict[str, Any] = {}
        for ce in effects:
            if ce.when is not None and not ce.when(env):
                continue
            kind = ce.effect.kind
            if kind == "set":
                updates = {n: f(env) for n, f in ce.assignments}
                state = {**state, **updates}
            elif kind == "create_position":
                state = {**state, **{n: f(env) for n, f in ce.assignments}, "has_position": True}
            elif kind == "remove_position":
                state = {**state, **{n: None for n in self.position_fields}, "has_position": False}
            elif kind == "liquidate_if":
                if ce.cond(env):
                    liq_env = Env(state, self.liq_lazy, root)
                    local["fill_price"] = liq_env["fill_price"]
                    local["liquidated"] = True
                    state, _, _ = self._apply(self.liq_effects, state, liq_env, liq_env, self.derived)
                else:
                    local.setdefault("liquidated", False)
                    local.setdefault("fill_price", None)
            env = Env(state, lazy, root)
        return state, env, local

    def derived_values(self, values: Mapping[str, Any]) -> Env:
        """An Env over a symbol's values from which any derived value can be read."""
        return Env(values, self.derived)

"""The Z3 backend: the rulebook's expression AST compiled to Z3 terms, and actions run symbolically.

One compiler, driven only by the rulebook's AST (nothing here knows a rule), mirroring the exact
interpreter (`interpreter.py`) construct by construct:

* numbers are Z3 reals (exact rationals), conditions Z3 Booleans, enumeration values Z3 integers
  (the index of the value in its `enums:` list, with a range fact for symbolic ones);
* a value that may be null is a pair: the term and a Boolean `null` flag (`SV`); a comparison with
  `null` reads the flag, arithmetic reads the term (the interpreter refuses a null there);
* `round(x, step, up|down|half_away)` goes through integers (`ToInt`, i.e. floor) in the EXACT
  mode; in the RELAXED mode it is a fresh real constrained only by its defining inequalities
  (x <= r < x + step for up, ...) — an over-approximation that keeps problems in pure nonlinear
  real arithmetic: what is proved RELAXED holds EXACT, a RELAXED counterexample must be re-checked;
* `if`, `min`, `max`, `abs` are if-then-else terms; `tier(x).f` and `solve_tier(v, c)` are
  unrolled over the contract's tiers, which are concrete (`concrete_contract`) or symbolic with a
  fixed count (`symbolic_contract`).

Public API (what the prover and the vector generator use):

    be = Backend(rulebook, mode=EXACT)              # or RELAXED (pure real arithmetic: enums as reals)
    c = be.concrete_contract("BTCUSDT")              # or be.symbolic_contract("C", n_tiers=4, bind=...)
    st = be.symbolic_state("s.", side="long")        # account + symbol + position fields as Z3 variables
    st = be.concrete_state(values)                   # the same from an interpreter state (for testing)
    args = be.symbolic_args("add_margin", "a.")      # or be.concrete_args("add_margin", {"amount": ...})
    env = be.env(c, st, args)                        # a SymEnv: any derived value by name, lazily
    sv = be.compile_expr(ast_expr, env)              # an SV (term + null flag)
    run = be.run_action("add_margin", c, st, args)   # an ActionRun:
    run.valid, run.ok, run.checks, run.errors        #   argument validity, checks pass, per check, first refusal
    run.post, run.post_env, run.result, run.locals   #   state after, its derived values, reply, lets/liquidated
    be.take_facts()                                  # side facts to assert (enum ranges, relaxed rounding)
    be.rounding_lemmas(terms, pair_terms)            # valid facts about the roundings in `terms`
    be.value(model_or_None, sv)                      # back to a Python value (Fraction, bool, str, None)
    be.round_term(x, step, "up"), be.tier_lookup(c, notional, field), be.enum_val(i)

    # check, satisfiable, nlsat_check, canonical_core: in solving.py (reproducible answers, canonical
    # cores), still importable from here

The pieces it is built from live in modules of their own: z3terms.py (SV, the term builders b_and,
b_or, b_not, ite, merge, arith, q, to_fraction; EXACT and RELAXED), z3env.py (SymContract, SymEnv,
ActionRun, CheckRun) and z3rounding.py (the rounding terms and lemmas, a mixin of Backend).

`assumptions` are (name, Bool) pairs, tracked for unsat cores; `facts` are always-true constraints.
Mixing: the terms of one Backend live in Z3's default context, so two backends' terms can share
variables by name (the prover builds a goal in both modes and compares models).

`run_action` follows the interpreter: lets read the pre-state; checks in order, a false `when`
skips a check, `with` overrides state fields (their expressions read the pre-state) and the
derived values are recomputed in that hypothetical state; effects run in order, each reading the
state the previous one left (`set` is simultaneous), `create_position` / `remove_position` set the
position fields and `has_position`, `liquidate_if` runs the liquidation section (its lets on the
state at that point, then its effects) when its condition holds and binds `liquidated` and
`fill_price`. The post-state is meaningful where `run.ok` holds (a refused action changes nothing).
"""

from __future__ import annotations

import itertools
from typing import Any, Iterable, Mapping, Sequence

import z3

from . import ast
from .rulebook import Action, Contract, Effect, Rulebook
from .z3env import ActionRun, CheckRun, SymContract, SymEnv
from .z3rounding import Rounding
from .z3terms import EXACT, NULL, RELAXED, SV, _is_false, arith, as_bool, b_and, b_not, b_or, ite, merge, q, to_fraction


class Backend(Rounding):
    """The compiler from the rulebook's AST to Z3 and the symbolic executor of its actions."""

    def __init__(self, rb: Rulebook, mode: str = EXACT, enum_sort: str | None = None):
        if mode not in (EXACT, RELAXED):
            raise ValueError(f"mode must be {EXACT!r} or {RELAXED!r}")
        self.rb = rb
        self.mode = mode
        # enumeration values as integers, or (RELAXED, to stay in pure real arithmetic) as reals
        self.enum_sort = enum_sort or ("int" if mode == EXACT else "real")
        self.derived: dict[str, ast.Expr] = {d.name: d.expr for d in rb.derived}
        self.enum_index = {e: {v: i for i, v in enumerate(vals)} for e, vals in rb.enums.items()}
        self.literal_enums: dict[str, list[tuple[str, int]]] = {}
        for e, vals in rb.enums.items():
            for i, v in enumerate(vals):
                self.literal_enums.setdefault(v, []).append((e, i))
        self.state_fields = {f.name: f for f in rb.state}
        self.position_fields = tuple(f.name for f in rb.state if f.scope == "position")
        self.liq_lazy = {**self.derived, **dict(rb.liquidation.lets)}
        self.facts: list[Any] = []
        self._init_rounding()
        self.solves: dict[int, tuple[Any, list]] = {}  # every solve_tier built: (term, the tier cases)
        self._fresh = itertools.count()
        # runtime safety (prover/runtime_safety.py): when set, called as tracer(expr, env, guard) for
        # every expression the interpreter evaluates in run_action, `guard` the condition under which
        # the interpreter reaches it (its evaluation order: arguments, checks, effects, reply)
        self.tracer = None
        self._names: dict[str, tuple] = {}  # fresh names by the terms they stand for

    def _trace(self, e, env, guard) -> None:
        if self.tracer is not None and e is not None:
            self.tracer(e, env, guard)

    # -- facts -------------------------------------------------------------------------------
    def take_facts(self) -> list[Any]:
        """The side facts collected since the last call (enum ranges of fresh variables, the defining
        inequalities of RELAXED roundings): always true, to be asserted with the formula."""
        out, self.facts = self.facts, []
        return out

    def enum_val(self, i: int):
        """The term of the i-th value of an enumeration (an integer or a real numeral)."""
        return z3.IntVal(i) if self.enum_sort == "int" else z3.RealVal(i)

    def fresh(self, prefix: str, sort: str = "real", of: Sequence[Any] = ()):
        """A fresh variable. With `of` (the terms it stands for), its name comes from their
        structural hashes, not from a counter: the same query then has the same names whatever was
        built before in the process (Z3's search, and the SMT-LIB text, depend on names)."""
        if of:
            n = f"{prefix}!{'_'.join(f'{t.hash():x}' for t in of)}"
            owner = self._names.setdefault(n, tuple(t.get_id() for t in of))
            if owner != tuple(t.get_id() for t in of):  # a hash collision: a distinct name
                n = f"{n}_{next(self._fresh)}"
                self._names[n] = tuple(t.get_id() for t in of)
        else:
            n = f"{prefix}!{next(self._fresh)}"
        return {"real": z3.Real, "int": z3.Int, "bool": z3.Bool}[sort](n)

    # -- contracts ---------------------------------------------------------------------------
    def concrete_contract(self, contract: Contract | str) -> SymContract:
        """A contract profile (or a Contract) with every parameter and tier field a Z3 numeral."""
        c = self.rb.contracts[contract] if isinstance(contract, str) else contract
        return SymContract(c.symbol, {k: self._param_term(k, v) for k, v in c.params.items()},
                           [{k: q(v) for k, v in t.items()} for t in c.tiers], [], c, self._param_enums())

    def _param_enums(self) -> dict[str, str]:
        return {p.name: p.enum for p in self.rb.params if p.enum}

    def _param_term(self, name: str, v: Any):
        """A parameter's value as a numeral (an enum-valued one as its value's index)."""
        e = self._param_enums().get(name)
        return self.enum_val(self.enum_index[e][v]) if e else q(v)

    def symbolic_contract(self, name: str, n_tiers: int, bind: Contract | str | None = None,
                          params: Iterable[str] | None = None) -> SymContract:
        """A contract whose parameters and `n_tiers` tiers are Z3 variables named `name.param`,
        `name.tiers[k].field`. Facts: each parameter's and tier field's domain from the rulebook
        (`domain:param` / `domain:tiers[k].field`); with `bind`, the equalities to that contract's
        values, one named fact per parameter and per tier (`NAME.param`, `NAME.tiers[k]`).
        `params` restricts which parameters are symbolic (the others are bound to `bind`'s values
        as numerals)."""
        bound = self.rb.contracts[bind] if isinstance(bind, str) else bind
        sym_params = set(params) if params is not None else {p.name for p in self.rb.params}
        ps: dict[str, Any] = {}
        facts: list[tuple[str, Any]] = []
        for p in self.rb.params:
            if p.name in sym_params or bound is None:
                sort = z3.Int if p.enum and self.enum_sort == "int" else z3.Real
                ps[p.name] = sort(f"{name}.{p.name}")
            else:
                ps[p.name] = self._param_term(p.name, bound.params[p.name])
        tiers = [{f.name: z3.Real(f"{name}.tiers[{k}].{f.name}") for f in self.rb.tier_fields} for k in range(1, n_tiers + 1)]
        c = SymContract(name, ps, tiers, facts, None, self._param_enums())
        penv = SymEnv(self, {k: c.sv(k) for k in ps})
        for p in self.rb.params:
            if p.name in sym_params or bound is None:
                facts.append((f"domain:{p.name}", self.compile_expr(p.domain, penv).v))
        for k, t in enumerate(tiers, 1):
            tenv = SymEnv(self, {f: SV(v) for f, v in t.items()})
            for f in self.rb.tier_fields:
                facts.append((f"domain:tiers[{k}].{f.name}", self.compile_expr(f.domain, tenv).v))
        if bound is not None:
            for p in self.rb.params:
                if p.name in sym_params:
                    facts.append((f"{bound.symbol}.{p.name}", ps[p.name] == self._param_term(p.name, bound.params[p.name])))
            for k, (t, row) in enumerate(zip(tiers, bound.tiers), 1):
                facts.append((f"{bound.symbol}.tiers[{k}]", z3.And(*[t[f] == q(row[f]) for f in t])))
        return c

    # -- states and arguments ----------------------------------------------------------------
    def _var(self, name: str, ty):
        if ty.kind == "num":
            return SV(z3.Real(name))
        if ty.kind == "bool":
            return SV(z3.Bool(name), kind="bool")
        if ty.kind == "enum":
            n = len(self.rb.enums[ty.enum])
            if self.enum_sort == "int":
                v = z3.Int(name)
                self.facts.append(z3.And(v >= 0, v < n))
            else:
                v = z3.Real(name)
                self.facts.append(z3.Or(*[v == i for i in range(n)]))
            return SV(v, kind="enum", enum=ty.enum)
        raise TypeError(ty.kind)

    def symbolic_state(self, prefix: str = "", *, scopes: Sequence[str] = ("account", "symbol", "position"),
                       side: str | None = None, has_position: bool | None = None) -> dict[str, SV]:
        """State fields as fresh Z3 variables named `prefix + field` (nullable fields get a Bool
        `prefix + field + '.null'`; position fields are null exactly when `has_position` is false).
        `side` and `has_position` may be fixed to concrete values (case splits)."""
        out: dict[str, SV] = {}
        hp = None
        if "symbol" in scopes:
            hp = z3.BoolVal(has_position) if has_position is not None else z3.Bool(prefix + "has_position")
        for f in self.rb.state:
            if f.scope not in scopes:
                continue
            if f.name == "has_position":
                out[f.name] = SV(hp, kind="bool")
                continue
            if f.scope == "position" and f.ty.kind == "enum" and side is not None:
                sv = SV(self.enum_val(self.enum_index[f.ty.enum][side]), kind="enum", enum=f.ty.enum)
            else:
                sv = self._var(prefix + f.name, f.ty)
            if f.scope == "position":
                null = b_not(hp) if hp is not None else z3.Bool(prefix + f.name + ".null")
                sv = SV(sv.v, null, sv.kind, sv.enum)
            elif f.ty.nullable:
                sv = SV(sv.v, z3.Bool(prefix + f.name + ".null"), sv.kind, sv.enum)
            out[f.name] = sv
        return out

    def concrete_value(self, v: Any, ty) -> SV:
        """A Python value (Fraction, bool, enum text, None) as a constant SV of type `ty`."""
        kind = ty.kind if ty is not None else "num"
        if v is None:
            dummy = {"num": z3.RealVal(0), "bool": z3.BoolVal(False), "enum": self.enum_val(0)}.get(kind)
            return SV(dummy, z3.BoolVal(True), kind, ty.enum if ty is not None else None)
        if kind == "bool" or isinstance(v, bool):
            return SV(z3.BoolVal(bool(v)), kind="bool")
        if kind == "enum":
            return SV(self.enum_val(self.enum_index[ty.enum][v]), kind="enum", enum=ty.enum)
        return SV(q(v))

    def concrete_state(self, values: Mapping[str, Any]) -> dict[str, SV]:
        """The state fields of an interpreter state (a flat dict) as constant SVs."""
        return {f.name: self.concrete_value(values.get(f.name), f.ty) for f in self.rb.state if f.name in values}

    def symbolic_args(self, action: str, prefix: str = "arg.") -> dict[str, SV]:
        """An action's arguments as fresh variables (`prefix + name`; optional ones get a null flag)."""
        out = {}
        for x in self.rb.actions[action].args:
            sv = self._var(prefix + x.name, x.ty)
            if x.optional:
                sv = SV(sv.v, z3.Bool(prefix + x.name + ".null"), sv.kind, sv.enum)
            out[x.name] = sv
        return out

    def concrete_args(self, action: str, args: Mapping[str, Any]) -> dict[str, SV]:
        return {x.name: self.concrete_value(args.get(x.name), x.ty.but_nullable(x.optional))
                for x in self.rb.actions[action].args}

    def env(self, contract: SymContract, state: Mapping[str, SV], args: Mapping[str, SV] | None = None,
            lets: Mapping[str, ast.Expr] | None = None, extra: Mapping[str, SV] | None = None) -> SymEnv:
        """An env over a contract and a state: every derived value (and `lets`) by name, lazily."""
        vals = {**contract.values(), **state}
        for k, v in (args or {}).items():
            vals[f"arg.{k}"] = v
        vals.update(extra or {})
        return SymEnv(self, vals, {**self.derived, **(lets or {})}, None, contract)

    # -- the compiler ------------------------------------------------------------------------
    def compile_expr(self, e: ast.Expr, env: SymEnv) -> SV:
        """The symbolic value of expression `e` in `env` (see the module docstring for the encoding)."""
        m = getattr(self, "_c_" + type(e).__name__)
        return m(e, env)

    def _c_Num(self, e, env):
        return SV(q(e.value))

    def _c_Str(self, e, env):
        return SV(None, False, "lit", e.value)

    def _c_Null(self, e, env):
        return NULL

    def _c_Bool(self, e, env):
        return SV(z3.BoolVal(e.value), kind="bool")

    def _c_Name(self, e, env):
        return env[e.name]

    @staticmethod
    def _n(sv: SV):
        """A value's term for arithmetic; the null literal (no term: every branch null) as 0 — its
        null flag is what counts (the interpreter refuses a null in arithmetic)."""
        return sv.v if sv.v is not None else z3.RealVal(0)

    def _c_Unary(self, e, env):
        a = self.compile_expr(e.operand, env)
        if e.op == "not":
            return SV(b_not(a.v), kind="bool")
        return SV(-self._n(a), a.null)

    def _c_Binary(self, e, env):
        a, b = self.compile_expr(e.left, env), self.compile_expr(e.right, env)
        return SV(arith(e.op, self._n(a), self._n(b)), b_or(a.null, b.null))

    def _enum_pair(self, a: SV, b: SV):
        """Both sides of a comparison as integer terms when an enumeration literal is involved."""
        if a.kind == "lit" and b.kind == "lit":
            return z3.BoolVal(a.enum == b.enum)
        lit, other = (a, b) if a.kind == "lit" else (b, a)
        cands = self.literal_enums.get(lit.enum, [])
        idx = next((i for en, i in cands if en == other.enum), None)
        if idx is None:
            idx = cands[0][1] if cands else -1
        return other, self.enum_val(idx)

    def _c_Compare(self, e, env):
        a, b = self.compile_expr(e.left, env), self.compile_expr(e.right, env)
        if a.kind == "null" or b.kind == "null":
            other = b if a.kind == "null" else a
            is_null = as_bool(other.null) if other.kind != "null" else z3.BoolVal(True)
            return SV(is_null if e.op == "==" else b_not(is_null), kind="bool")
        if a.kind == "lit" or b.kind == "lit":
            pair = self._enum_pair(a, b)
            if isinstance(pair, z3.BoolRef):
                return SV(pair if e.op == "==" else b_not(pair), kind="bool")
            other, idx = pair
            if _is_false(other.null) and z3.is_arith(other.v) and (z3.is_int_value(other.v) or z3.is_rational_value(other.v)):
                eq = z3.BoolVal(z3.is_true(z3.simplify(other.v == idx)))  # a concrete value: decided here
            else:
                eq = b_and(b_not(other.null), other.v == idx)
            return SV(eq if e.op == "==" else b_not(eq), kind="bool")
        if e.op in ("==", "!="):
            if a.nullable or b.nullable:
                an, bn = as_bool(a.null), as_bool(b.null)
                eq = z3.Or(z3.And(an, bn), z3.And(z3.Not(an), z3.Not(bn), self._n(a) == self._n(b)))
            else:
                eq = arith("==", self._n(a), self._n(b)) if a.kind == "num" else a.v == b.v
            return SV(eq if e.op == "==" else z3.Not(eq), kind="bool")
        return SV(arith(e.op, self._n(a), self._n(b)), kind="bool")

    def _c_Logic(self, e, env):
        a, b = self.compile_expr(e.left, env), self.compile_expr(e.right, env)
        return SV(b_and(a.v, b.v) if e.op == "and" else as_bool(b_or(a.v, b.v)), kind="bool")

    def _c_If(self, e, env):
        c = self.compile_expr(e.cond, env).v
        return merge(c, self.compile_expr(e.then, env), self.compile_expr(e.otherwise, env))

    def _c_Call(self, e, env):
        args = [self.compile_expr(a, env) for a in e.args]
        args = [SV(self._n(a), a.null, a.kind if a.kind != "null" else "num") for a in args]
        if e.func == "abs":
            x = args[0]
            return SV(ite(x.v >= 0, x.v, -x.v), x.null)
        if e.func == "multiple_of":
            x, s = args
            if self.mode == RELAXED:
                return SV(self.fresh("multiple_of", "bool", (x.v, s.v)), kind="bool")
            r = x.v / s.v
            return SV(z3.ToReal(z3.ToInt(r)) == r, kind="bool")
        acc = args[0]
        for nxt in args[1:]:
            c = (nxt.v < acc.v) if e.func == "min" else (nxt.v > acc.v)
            acc = SV(ite(c, nxt.v, acc.v), b_or(acc.null, nxt.null))
        return acc

    def _c_Round(self, e, env):
        x, s = self.compile_expr(e.value, env), self.compile_expr(e.step, env)
        return SV(self.round_term(self._n(x), self._n(s), e.direction, e), b_or(x.null, s.null))

    def tier_lookup(self, contract: SymContract, notional, fld: str):
        """The field of the first tier whose max_notional >= notional, else of the last tier."""
        tiers = contract.tiers
        out = tiers[-1][fld]
        for t in reversed(tiers[:-1]):
            out = ite(notional <= t["max_notional"], t[fld], out)
        return out

    def _c_TierField(self, e, env):
        n = self.compile_expr(e.notional, env)
        return SV(self.tier_lookup(env.contract, self._n(n), e.field), n.null)

    def _c_SolveTier(self, e, env):
        tiers = env.contract.tiers
        results = []
        for t in tiers:
            sub = env.child({f"tier.{k}": SV(v) for k, v in t.items()})
            val = self.compile_expr(e.value, sub)
            sub.values["value"] = val
            cond = self.compile_expr(e.cond, sub)
            results.append((cond.v, val))
        out = results[-1][1]
        for cond, val in reversed(results[:-1]):
            out = merge(cond, val, out)
        if out.v is not None:
            conds = [as_bool(c) for c, _ in results]
            cases = [b_and(*[b_not(x) for x in conds[:k]], conds[k]) if k < len(conds) - 1
                     else b_and(*[b_not(x) for x in conds[:k]]) for k in range(len(conds))]
            self.solves.setdefault(out.v.get_id(), (out.v, [as_bool(c) for c in cases]))
        return out

    # -- actions -----------------------------------------------------------------------------
    def run_action(self, name: str, contract: SymContract, state: Mapping[str, SV],
                   args: Mapping[str, SV]) -> ActionRun:
        """Run action `name` symbolically on `state` (account + symbol + position fields) with `args`
        (every argument of the action, optional ones with a null flag). See ActionRun."""
        a: Action = self.rb.actions[name]
        values = {**contract.values(), **state}
        root = SymEnv(self, {**values, **{f"arg.{x.name}": args[x.name] for x in a.args}},
                      {**self.derived, **dict(a.lets)}, None, contract)
        venv = SymEnv(self, {**contract.values(), **{f"arg.{x.name}": args[x.name] for x in a.args}}, {}, None, contract)
        valid = []
        for x in a.args:
            if x.valid is not None:
                self._trace(x.valid, venv, b_and(b_not(args[x.name].null), *[as_bool(v) for v in valid]))
                valid.append(b_or(args[x.name].null, self.compile_expr(x.valid, venv).v))
        valid_t = b_and(*[as_bool(v) for v in valid])
        checks, errors, passed = [], [], []
        for c in a.checks:
            self._trace(c.when, root, b_and(valid_t, *passed))
            applies = self.compile_expr(c.when, root).v if c.when is not None else z3.BoolVal(True)
            env = root
            if c.with_:
                for _, x in c.with_:
                    self._trace(x, root, b_and(valid_t, *passed, as_bool(applies)))
                env = SymEnv(self, {**values, **{n: self.compile_expr(x, root) for n, x in c.with_}},
                             self.derived, root, contract)
            self._trace(c.require, env, b_and(valid_t, *passed, as_bool(applies)))
            req = as_bool(self.compile_expr(c.require, env).v)
            reached = b_and(*passed)
            passes = b_or(b_not(applies), req)
            refuses = b_and(reached, applies, b_not(req))
            checks.append(CheckRun(c.id, c.error, c.origin, reached, applies, req, as_bool(passes), refuses))
            errors.append((c.id, c.error, refuses))
            passed.append(as_bool(passes))
        ok = b_and(*passed)
        done = b_and(valid_t, ok)
        state_out, env_out, local = self._apply(a.effects, dict(values), root, root, self.derived, done)
        final = SymEnv(self, {**state_out, **local}, self.derived, root, contract) if local else env_out
        result: dict[str, Any] = {}
        for r in a.result:
            self._trace(r.when, final, done)
            when = self.compile_expr(r.when, final).v if r.when is not None else None
            if self.tracer is not None:
                shown = b_and(done, as_bool(when)) if when is not None else done
                for v in (r.view or ()):
                    self._trace(ast.Name(v), final, shown)
                self._trace(r.expr, final, shown)
            if r.view is not None:
                val: Any = {v: final[v] for v in r.view}
            else:
                val = self.compile_expr(r.expr, final)
            result[r.name] = (when, val, r.omit_null)
        post = {k: v for k, v in state_out.items() if k in self.state_fields}
        lets = {n: root[n] for n, _ in a.lets}
        liquidated = local.get("liquidated", SV(z3.BoolVal(False), kind="bool")).v
        post_env = SymEnv(self, {**contract.values(), **post}, self.derived, None, contract)
        return ActionRun(name, valid_t, checks, ok, errors, dict(state), post, {**lets, **local}, result,
                         as_bool(liquidated), root, post_env)

    def _apply(self, effects: Sequence[Effect], state: dict, env: SymEnv, root: SymEnv, lazy, guard=True):
        """Effects in order on a flat state (contract values + fields); returns (state, env, locals).
        `guard`: when the interpreter runs these effects (for the tracer)."""
        local: dict[str, SV] = {}
        for eff in effects:
            self._trace(eff.when, env, guard)
            when = self.compile_expr(eff.when, env).v if eff.when is not None else None
            g = b_and(guard, as_bool(when)) if when is not None else guard
            if self.tracer is not None:
                for _, x in eff.assignments:
                    self._trace(x, env, g)
                self._trace(eff.cond, env, g)
            if eff.kind == "set":
                updates = {n: self.compile_expr(x, env) for n, x in eff.assignments}
                new = {**state, **updates}
            elif eff.kind == "create_position":
                new = {**state, **{n: self.compile_expr(x, env) for n, x in eff.assignments},
                       "has_position": SV(z3.BoolVal(True), kind="bool")}
                for n in self.position_fields:  # a created field is never null
                    new[n] = SV(new[n].v, False, new[n].kind, new[n].enum) if new[n].v is not None else new[n]
            elif eff.kind == "remove_position":
                new = {**state, "has_position": SV(z3.BoolVal(False), kind="bool")}
                for n in self.position_fields:
                    old = state[n]
                    new[n] = SV(old.v, z3.BoolVal(True), old.kind, old.enum)
            elif eff.kind == "liquidate_if":
                cond = as_bool(self.compile_expr(eff.cond, env).v)
                if when is not None:
                    cond = b_and(when, cond)
                    when = None
                liq_env = SymEnv(self, state, self.liq_lazy, root, env.contract)
                gl = b_and(guard, cond)
                self._trace(ast.Name("fill_price"), liq_env, gl)
                fill = liq_env["fill_price"]
                liq_state, _, _ = self._apply(self.rb.liquidation.effects, state, liq_env, liq_env, self.derived, gl)
                new = {k: merge(cond, liq_state[k], state[k]) if k in liq_state else state[k] for k in state}
                prev_l = local.get("liquidated", SV(z3.BoolVal(False), kind="bool"))
                prev_f = local.get("fill_price", NULL)
                local["liquidated"] = SV(as_bool(b_or(prev_l.v, cond)), kind="bool")
                local["fill_price"] = merge(cond, SV(fill.v, fill.null), prev_f)
            else:  # pragma: no cover
                raise ValueError(eff.kind)
            if when is not None:
                new = {k: merge(when, new[k], state[k]) if k in state else new[k] for k in new}
            state = new
            env = SymEnv(self, state, lazy, root, env.contract)
        return state, env, local

    # -- models ------------------------------------------------------------------------------
    def value(self, model: z3.ModelRef | None, sv: SV, enum: str | None = None) -> Any:
        """A symbolic value as a Python value (Fraction, bool, enum text or None) under `model`
        (None: the value must simplify to a constant by itself)."""
        def ev(t):
            return model.eval(t, model_completion=True) if model is not None else z3.simplify(t)

        if sv.kind == "null":
            return None
        if sv.kind == "lit":
            return sv.enum
        if sv.null is not False:
            n = ev(as_bool(sv.null))
            if z3.is_true(n):
                return None
            if not z3.is_false(n):
                raise ValueError(f"null flag does not simplify: {n}")
        t = ev(sv.v)
        if sv.kind == "bool":
            if z3.is_true(t):
                return True
            if z3.is_false(t):
                return False
            raise ValueError(f"condition does not simplify: {t}")
        f = to_fraction(t)
        if f is None:
            raise ValueError(f"value does not simplify: {t}")
        if sv.kind == "enum":
            vals = self.rb.enums[sv.enum or enum]
            i = int(f)
            return vals[i] if 0 <= i < len(vals) else f"?{i}"
        return f


# ----------------------------------------------------------------------------------------- solving
_SOLVING = ("CheckResult", "LEMMA_SLICE", "check", "satisfiable", "nlsat_check", "canonical_core", "new_solver")


def __getattr__(name: str):
    """The solving functions live in `solving.py` (reproducible answers, canonical cores); they are
    still importable from here."""
    if name in _SOLVING:
        from . import solving
        return getattr(solving, name)
    raise AttributeError(name)

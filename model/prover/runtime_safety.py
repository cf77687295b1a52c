"""Runtime safety: obligations that the reference engine never answers INTERNAL to a valid request.

The interpreter answers INTERNAL when a formula cannot be evaluated (a null operand in arithmetic
or an ordering, a division by zero, a rounding or `multiple_of` to a zero step) or when a reply
value has no finite decimal form. Z3's terms are total (`and` evaluates both sides, `x / 0` is
some number), so the other obligations cannot see either. Here every expression the interpreter
evaluates is visited in ITS order (the backend's tracer: argument conditions, checks with their
`when` and `with`, effects, the liquidation section, the reply), with the condition under which the
interpreter reaches it, and the interpreter's own short-circuits (`and`, `or`, `if`, `solve_tier`'s
first matching tier) inside each expression.

Two cases per action and contract:
  evaluation  every expression reached is defined: no null operand where the interpreter
              computes or orders, no division (or rounding, multiple_of) by a possible zero;
  decimal     every reply value and every stored state value is a finite decimal (or null).

Finite decimals (denominator of only 2s and 5s) are encoded by a sound closure argument rather
than by a bounded exponent: state fields, arguments and contract parameters are finite decimals
(arguments and parameters are parsed from decimal strings; state fields by induction, since every
stored value is checked here); finite decimals are closed under +, -, x, if/min/max/abs; a
rounding is a whole multiple of its step, so finite when the step is; a quotient is accepted only
when the divisor is a constant whose reduced numerator has no prime factor but 2 and 5 (then
a / c = a x (q / p) is finite). Any other division that can reach a reply or a stored value must be
shown unreachable. A violation is then searched from reset where the value is not even a multiple
of 10^-30, and the interpreter must confirm it by answering INTERNAL.
"""

from __future__ import annotations

from fractions import Fraction

import z3

from .. import ast
from ..numbers import is_terminating
from ..printer import to_text
from ..z3terms import SV, as_bool, b_and, b_not, b_or, to_fraction
from .base import be_contract
from .results import Goal, Obligation

SAFETY_CASES = ("evaluation", "decimal")
_WITNESS_SCALE = 10 ** 30  # a witness value is not a multiple of 10^-30 (the interpreter confirms)


class _Walker:
    """Definedness of expressions with the interpreter's short-circuits; one per goal."""

    def __init__(self, be):
        self.be = be
        self.records: list[tuple[str, object, object]] = []  # (what, guard, condition)
        self._names: dict = {}
        self._keep: list = []

    def visit(self, e, env, guard) -> None:
        self.records.append((to_text(e), as_bool(guard), self.safe(e, env)))

    def val(self, e, env) -> SV:
        return self.be.compile_expr(e, env)

    @staticmethod
    def nn(sv: SV):
        if sv.kind == "null":
            return z3.BoolVal(False)
        return as_bool(b_not(sv.null))

    def _owner(self, env, name):
        while env is not None:
            if name in env.lazy:
                return env, env.lazy[name]
            if name in env.values:
                return env, None
            env = env.parent
        return None, None

    def safe(self, e, env):
        be = self.be
        if isinstance(e, (ast.Num, ast.Str, ast.Bool, ast.Null)):
            return z3.BoolVal(True)
        if isinstance(e, ast.Name):
            owner, expr = self._owner(env, e.name)
            if owner is None:
                return z3.BoolVal(False)  # no value here: EvalError
            if expr is None:
                return z3.BoolVal(True)
            key = (id(owner), e.name)
            hit = self._names.get(key)
            if hit is None:
                self._keep.append(owner)
                self._names[key] = z3.BoolVal(True)  # (no cycles: the checker refuses them)
                hit = self._names[key] = self.safe(expr, owner)
            return hit
        if isinstance(e, ast.Unary):
            s = self.safe(e.operand, env)
            return s if e.op == "not" else b_and(s, self.nn(self.val(e.operand, env)))
        if isinstance(e, ast.Binary):
            a, b = self.val(e.left, env), self.val(e.right, env)
            parts = [self.safe(e.left, env), self.safe(e.right, env), self.nn(a), self.nn(b)]
            if e.op == "/":
                parts.append(be._n(b) != 0)
            return b_and(*parts)
        if isinstance(e, ast.Compare):
            if isinstance(e.left, ast.Null) or isinstance(e.right, ast.Null):
                return self.safe(e.right if isinstance(e.left, ast.Null) else e.left, env)
            parts = [self.safe(e.left, env), self.safe(e.right, env)]
            if e.op not in ("==", "!="):
                parts += [self.nn(self.val(e.left, env)), self.nn(self.val(e.right, env))]
            return b_and(*parts)
        if isinstance(e, ast.Logic):
            a = as_bool(self.val(e.left, env).v)
            sb = self.safe(e.right, env)
            rest = z3.Implies(a, sb) if e.op == "and" else z3.Or(a, sb)
            return b_and(self.safe(e.left, env), rest)
        if isinstance(e, ast.If):
            c = as_bool(self.val(e.cond, env).v)
            return b_and(self.safe(e.cond, env), z3.If(c, self.safe(e.then, env), self.safe(e.otherwise, env)))
        if isinstance(e, ast.Call):
            vals = [self.val(x, env) for x in e.args]
            parts = [self.safe(x, env) for x in e.args] + [self.nn(v) for v in vals]
            if e.func == "multiple_of":
                parts.append(be._n(vals[1]) != 0)
            return b_and(*parts)
        if isinstance(e, ast.Round):
            x, s = self.val(e.value, env), self.val(e.step, env)
            return b_and(self.safe(e.value, env), self.safe(e.step, env), self.nn(x), self.nn(s), be._n(s) != 0)
        if isinstance(e, ast.TierField):
            return b_and(self.safe(e.notional, env), self.nn(self.val(e.notional, env)))
        if isinstance(e, ast.SolveTier):
            out, before = [], []
            for t in env.contract.tiers:
                sub = env.child({f"tier.{k}": SV(v) for k, v in t.items()})
                self._keep.append(sub)
                sub.values["value"] = be.compile_expr(e.value, sub)
                here = b_and(self.safe(e.value, sub), self.safe(e.cond, sub))
                out.append(z3.Implies(b_and(*before), here) if before else here)
                before.append(b_not(as_bool(be.compile_expr(e.cond, sub).v)))
            return b_and(*out)
        raise TypeError(f"runtime safety: no rule for {type(e).__name__}")  # pragma: no cover


def _two_five_free(f: Fraction) -> bool:
    """Is dividing by the constant f closed over finite decimals (f's numerator only 2s and 5s)?"""
    n = abs(f.numerator)
    if n == 0:
        return False
    for p in (2, 5):
        while n % p == 0:
            n //= p
    return n == 1


class _Decimal:
    """`fin(term)`: a condition under which a Z3 term (EXACT or RELAXED) is a finite decimal,
    assuming every variable is one (see the module docstring)."""

    def __init__(self, be):
        self.be = be
        self.memo: dict[int, object] = {}

    def fin(self, t):
        i = t.get_id()
        hit = self.memo.get(i)
        if hit is None:
            hit = self.memo[i] = self._fin(t)
        return hit

    def _fin(self, t):
        if z3.is_bool(t):
            return z3.BoolVal(True)
        num = to_fraction(t) if (z3.is_rational_value(t) or z3.is_int_value(t)) else None
        if num is not None:
            return z3.BoolVal(is_terminating(num))
        rnd = self.be.rounds.get(t.get_id())
        if rnd is not None and z3.is_const(t):  # RELAXED: a rounding is a fresh multiple of its step
            return self.fin(rnd[1])
        if z3.is_const(t):
            return z3.BoolVal(True)
        k = t.decl().kind()
        kids = t.children()
        if k in (z3.Z3_OP_TO_INT,) or (k == z3.Z3_OP_TO_REAL and z3.is_app_of(kids[0], z3.Z3_OP_TO_INT)):
            return z3.BoolVal(True)
        if k in (z3.Z3_OP_ADD, z3.Z3_OP_SUB, z3.Z3_OP_MUL, z3.Z3_OP_UMINUS, z3.Z3_OP_TO_REAL):
            return b_and(*[self.fin(c) for c in kids])
        if k == z3.Z3_OP_ITE:
            return z3.If(kids[0], self.fin(kids[1]), self.fin(kids[2]))
        if k == z3.Z3_OP_DIV:
            return b_and(self.fin(kids[0]), self._divisor(kids[1]))
        return z3.BoolVal(False)

    def _divisor(self, t):
        if z3.is_app_of(t, z3.Z3_OP_ITE):
            c, a, b = t.children()
            return z3.If(c, self._divisor(a), self._divisor(b))
        num = to_fraction(t) if (z3.is_rational_value(t) or z3.is_int_value(t)) else None
        return z3.BoolVal(num is not None and _two_five_free(num))


def _decimal_or_null(dec: _Decimal, sv: SV):
    if sv.kind in ("null", "bool", "enum", "lit") or sv.v is None:
        return z3.BoolVal(True)
    return as_bool(b_or(sv.null, dec.fin(sv.v)))


class RuntimeSafetyMixin:
    """Generates and builds the `safety` obligations and confirms their counterexamples."""

    def safety_obligations(self, contracts) -> list[Obligation]:
        out = []
        for a in self.rb.actions:
            for c in contracts:
                out.append(Obligation(f"safety/{a}/{c}", "safety", f"{a} never answers INTERNAL", (), None, a, (c,),
                                      None, SAFETY_CASES,
                                      "every expression the interpreter evaluates is defined, and every reply and "
                                      "stored value is a finite decimal (or null)"))
        return out

    def _safety_parts(self, action, contract, state, tag, label):
        """The step's run with its runtime-safety records: (args, run, assumptions, facts,
        [(what, guard, condition)])."""
        be = self.be
        walker = _Walker(be)
        be.tracer = walker.visit
        try:
            args, run, assumptions, afacts = self._action_step(action, contract, state, tag)
        finally:
            be.tracer = None
        if label == "evaluation":
            records = walker.records
        else:
            dec = _Decimal(be)
            done = b_and(run.valid, run.ok)
            records = []
            for name, (when, val, _omit) in run.result.items():
                shown = b_and(done, as_bool(when)) if when is not None else done
                items = val.items() if isinstance(val, dict) else [(name, val)]
                for k, sv in items:
                    records.append((f"reply {name}" + (f".{k}" if k != name else ""), shown, _decimal_or_null(dec, sv)))
            for k, sv in run.post.items():
                records.append((f"stored {k}", done, _decimal_or_null(dec, sv)))
        return args, run, assumptions, afacts, records

    def _goal_safety(self, ob: Obligation, label: str) -> Goal:
        sym = ob.contracts[0]
        w, hyps, facts = self.fresh_world([sym], None)
        c = be_contract(self, sym)
        args, run, _asm, afacts, records = self._safety_parts(ob.action, c, w.view(sym), "x", label)
        goal = b_and(*[z3.Implies(g, s) for _, g, s in records])
        # validity and checks are not assumptions here: they are evaluated too (the guards say when)
        return Goal(as_bool(goal), list(hyps), facts + afacts + self.be.take_facts(),
                    final={"action": ob.action, "symbol": sym, "args": args, "world": w, "run": run})

    def _bmc_safety(self, ob: Obligation, label: str, c, w, tag: str):
        """The violation target of the last step of a scenario from reset (see counterexamples)."""
        args, run, _asm, afacts, records = self._safety_parts(ob.action, c, w.view(ob.contracts[0]),
                                                              f"{tag}.last", label)
        bad = []
        for what, g, s in records:
            if label == "decimal":
                s = z3.Or(s, self._looks_decimal(what, run))
            bad.append(b_and(g, b_not(s)))
        target = b_or(*bad) if bad else z3.BoolVal(False)
        final = {"action": ob.action, "symbol": ob.contracts[0], "args": args, "run": run, "world": w}
        return as_bool(target), afacts, final

    def _looks_decimal(self, what: str, run):
        """A witness must not be a multiple of 10^-30 (else the interpreter might print it)."""
        sv = None
        if what.startswith("stored "):
            sv = run.post.get(what[7:])
        else:
            name = what[6:].split(".", 1)
            when, val, _ = run.result[name[0]]
            sv = val[name[1]] if isinstance(val, dict) and len(name) > 1 else val
        if sv is None or sv.v is None or sv.kind != "num":
            return z3.BoolVal(True)
        x = sv.v * _WITNESS_SCALE
        return z3.Or(as_bool(sv.null), z3.IsInt(x) if self.be.mode == "exact" else z3.BoolVal(True))

    def _confirm_safety(self, eng, records, last_index, sym) -> tuple[bool, dict]:
        """Confirmed when the reference engine answers INTERNAL to the last request, or stores a value
        with no decimal form (which the next query then cannot report)."""
        last = records[last_index]
        reply = last["reply"]
        values: dict = {"request": last["request"], "reply": reply}
        if not reply.get("ok") and reply.get("error", {}).get("code") == "INTERNAL":
            values["formula"] = f"the engine: INTERNAL, {reply['error'].get('message', '')}"
            return True, values
        bad = {}
        w = eng.world
        for k, v in {**w.account, **w.symbols[sym]}.items():
            if isinstance(v, Fraction) and not is_terminating(v):
                bad[k] = f"{v.numerator}/{v.denominator}"
        if bad:
            values["stored without a decimal form"] = bad
            q = eng.handle({"id": "q", "op": "query", "args": {"symbol": sym}})
            values["next query"] = {k: v for k, v in q.items() if k != "id"}
            nq = values["next query"]
            then = "INTERNAL" if not nq.get("ok") else "ok"
            values["formula"] = f"stored without a decimal form: {', '.join(sorted(bad))} (the next query answers {then})"
            return True, values
        return False, values

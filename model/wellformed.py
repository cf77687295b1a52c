"""Whether a concrete contract is one the proofs speak about: the parameter domains and the
rulebook's parameter invariants (`kind: parameter` in spec/invariants.yaml, family 8).

The reference engine's `reset`, `check --contracts` and `import-tiers` all ask this one class, so a
contract is judged the same way everywhere. Nothing here restates a rule: the formulas are the
rulebook's (`rb.formals`), and each shape is decided exactly:

- `over: tiers` / `over: tier_pairs`: the formula is evaluated by the exact interpreter on every
  tier (every pair of neighbouring tiers);
- `over: contract` without `forall`: evaluated once by the interpreter;
- `over: contract` with `forall` (e.g. INV-mm-monotone, over every pair of notionals): the
  quantified variables range over the reals, so no finite sample decides it. With every parameter
  and tier value a rational numeral, `assume and not formula` is a quantifier-free formula (the
  tier lookups become if-then-else over those numerals), linear in the variables for the shipped
  invariants; Z3 decides it exactly (the same statement `prove` proves per contract). A model is a
  breach only once the interpreter confirms it on the exact values; Z3 answering unknown (its
  deterministic work limit reached, e.g. a nonlinear formula) is reported as undecided, never as
  well formed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from . import ast
from .formal import Formal
from .interpreter import Env, Interpreter, compile_expr, tier_index
from .numbers import exact_text
from .printer import to_text
from .rulebook import Contract, Rulebook

# Z3's deterministic work limit for one quantified parameter invariant of one contract (a 12-tier
# INV-mm-monotone takes well under a tenth of it).
RLIMIT = 20_000_000
_DECIDED: dict = {}  # quantified invariant and contract -> its breaches (see ContractChecks._judge_forall)
_WORDS = {">": "must exceed", ">=": "must be at least", "<": "must be below", "<=": "must be at most",
          "==": "must equal", "!=": "must differ from"}


@dataclass(frozen=True)
class Breach:
    """A parameter invariant a contract breaks: where (1-based tier, or None for the contract as a
    whole) and the values that show it."""

    invariant: str
    symbol: str
    tier: int | None
    where: str  # "tier 2", "tiers 1 and 2" or ""
    detail: str
    statement: str

    @property
    def message(self) -> str:
        at = f" {self.where}" if self.where else ""
        return f"{self.invariant} fails for {self.symbol}{at}: {self.detail}. {self.statement}"


def _decide(formulas, names: dict[str, str]) -> tuple[str, dict[str, Fraction]]:
    """Whether `formulas` hold together: ('unsat', {}), ('sat', the values of the variables `names`
    maps to) or (Z3's reason, {}). Unsatisfiable is a fact of the problem; anything else is solved
    again in a fresh Z3 context from the formulas' SMT-LIB text, so that the witness depends on the
    problem alone, not on what the process solved before (a message must read the same in every
    run)."""
    import z3

    from .z3terms import to_fraction

    def solver(ctx=None):
        # the smt core behind a simplifier: about 3x faster than the default solver on these
        # quantifier-free linear problems with nested if-then-else (tier lookups)
        s = z3.Then(z3.Tactic("simplify", ctx), z3.Tactic("smt", ctx), ctx=ctx).solver()
        s.set("rlimit", RLIMIT)
        return s

    fast = solver()
    fast.add(*formulas)
    if fast.check() == z3.unsat:  # holds: a fact of the problem, whatever was solved before
        return "unsat", {}
    text = z3.Solver()
    text.add(*formulas)
    ctx = z3.Context()
    s = solver(ctx)
    s.from_string(text.sexpr())
    r = s.check()
    if r == z3.unsat:
        return "unsat", {}
    if r != z3.sat:
        return s.reason_unknown() or "unknown", {}
    m = s.model()
    return "sat", {n: to_fraction(m.eval(z3.Real(v, ctx), model_completion=True)) for n, v in names.items()}


def why_false(e: ast.Expr, env: Env, one_tier: bool = False) -> str:
    """Why `e` is false under `env`: the failing conjunct's two sides with their values, as the
    rulebook computes them (read by `check` and by the prover's parameter counterexamples)."""
    if isinstance(e, ast.Logic) and e.op == "and":
        return why_false(e.left if not compile_expr(e.left)(env) else e.right, env, one_tier)
    text = (lambda x: re.sub(r"\btier\.", "", to_text(x))) if one_tier else to_text
    if isinstance(e, ast.Compare):
        lv, rv = compile_expr(e.left)(env), compile_expr(e.right)(env)
        return f"{text(e.left)} ({show(lv)}) {_WORDS[e.op]} {text(e.right)} ({show(rv)})"
    return f"{text(e)} is false"


def show(x: Any) -> str:
    """An exact value for a message: its decimal text, or p/q when it has none."""
    return exact_text(x) if isinstance(x, Fraction) else str(x)


class ContractChecks:
    """The domain and parameter-invariant checks of one rulebook, compiled once."""

    def __init__(self, rb: Rulebook, interp: Interpreter | None = None):
        self.rb = rb
        self.interp = interp or Interpreter(rb)
        self.formals: list[Formal] = [f for f in rb.formals.values() if f.kind == "parameter"]
        self._compiled = {f.id: (compile_expr(f.formula), compile_expr(f.assume) if f.assume is not None else None)
                          for f in self.formals}
        self._backend = None

    @property
    def invariant_ids(self) -> list[str]:
        return [f.id for f in self.formals]

    def domain_problems(self, c: Contract) -> list[str]:
        """The parameter and tier-field domains (spec/parameters.yaml) the contract breaks."""
        return self.interp.contract_problems(c)

    def problems(self, c: Contract) -> list[str]:
        """Everything wrong with a contract, as messages: its domain problems if it has any (the
        invariants are only evaluated inside the domains), else every parameter invariant it breaks."""
        bad = self.domain_problems(c)
        return bad if bad else [b.message for b in self.breaches(c)]

    def breaches(self, c: Contract) -> list[Breach]:
        """Every parameter invariant the contract breaks, in the rulebook's order (domains assumed)."""
        cv = self.interp.contract_values(c)
        out: list[Breach] = []
        for f in self.formals:
            try:
                out += self._judge(f, c, cv)
            except Exception as e:  # noqa: BLE001 - a contract the checks cannot judge is refused, never a crash
                out.append(Breach(f.id, c.symbol, None, "", f"its formula cannot be evaluated ({e})",
                                  f.inv.statement))
        return out

    # -- the three shapes ----------------------------------------------------------------------
    def _judge(self, f: Formal, c: Contract, cv: dict) -> list[Breach]:
        formula, assume = self._compiled[f.id]
        rows = c.tiers
        if f.over in ("tiers", "tier_pairs"):
            pairs = f.over == "tier_pairs"
            out = []
            for i in range(len(rows) - 1 if pairs else len(rows)):
                env = Env({**cv, **{f"tier.{k}": v for k, v in rows[i].items()},
                           **({f"next_tier.{k}": v for k, v in rows[i + 1].items()} if pairs else {})})
                if (assume is None or assume(env)) and not formula(env):
                    where = f"tiers {i + 1} and {i + 2}" if pairs else f"tier {i + 1}"
                    out.append(Breach(f.id, c.symbol, i + 1, where, why_false(f.formula, env, not pairs),
                                      f.inv.statement))
            return out
        if not f.forall:
            env = Env(dict(cv))
            if (assume is None or assume(env)) and not formula(env):
                return [Breach(f.id, c.symbol, None, "", why_false(f.formula, env, False), f.inv.statement)]
            return []
        return self._judge_forall(f, c, cv)

    def _judge_forall(self, f: Formal, c: Contract, cv: dict) -> list[Breach]:
        """Decided once per process for the same statement and contract (engines are created per
        run, per mutant, per test: the answer and its witness do not change)."""
        key = (f.id, to_text(f.formula), to_text(f.assume) if f.assume is not None else "",
               tuple((n, u) for n, _, u in f.forall), c.symbol, tuple(sorted(c.params.items())),
               tuple(tuple(sorted(t.items())) for t in c.tiers))
        hit = _DECIDED.get(key)
        if hit is None:
            if len(_DECIDED) >= 4096:
                _DECIDED.clear()
            hit = _DECIDED[key] = tuple(self._decide_forall(f, c, cv))
        return list(hit)

    def _decide_forall(self, f: Formal, c: Contract, cv: dict) -> list[Breach]:
        import z3

        from .z3backend import EXACT, Backend
        from .z3env import SymEnv
        from .z3terms import as_bool

        if self._backend is None:
            self._backend = Backend(self.rb, EXACT)
        be = self._backend
        sc = be.concrete_contract(c)
        if any(ty.kind != "num" for _, ty, _ in f.forall):
            return [Breach(f.id, c.symbol, None, "", "undecided: only numbers can be quantified here", f.inv.statement)]
        fvars = {n: be._var(f"{f.id}.{n}", ty) for n, ty, _ in f.forall}
        env = SymEnv(be, {**sc.values(), **fvars}, {}, None, sc)
        goal = as_bool(be.compile_expr(f.formula, env).v)
        assumptions = [("assume", as_bool(be.compile_expr(f.assume, env).v))] if f.assume is not None else []
        status, values = _decide(be.take_facts() + [a for _, a in assumptions] + [z3.Not(goal)],
                                 {n: f"{f.id}.{n}" for n in fvars})
        if status == "unsat":
            return []
        if status != "sat":
            return [Breach(f.id, c.symbol, None, "", f"undecided: Z3 stopped ({status}) before deciding it for "
                                                     "every value", f.inv.statement)]
        formula, assume = self._compiled[f.id]
        ienv = Env({**cv, **values})
        if not ((assume is None or assume(ienv)) and not formula(ienv)):
            return [Breach(f.id, c.symbol, None, "", f"undecided: Z3's witness {values} is not confirmed by the "
                                                     "interpreter", f.inv.statement)]
        tiers = [tier_index(c.tiers, v) + 1 for n, v in values.items() if self._is_notional(f, n)]
        at = ", ".join(f"{n} = {show(v)}" + (f" (tier {tier_index(c.tiers, v) + 1})" if self._is_notional(f, n) else "")
                       for n, v in values.items())
        where = "tier " + " and ".join(str(t) for t in sorted(set(tiers))) if tiers else ""
        where = where.replace("tier ", "tiers ", 1) if len(set(tiers)) > 1 else where
        return [Breach(f.id, c.symbol, min(tiers) if tiers else None, where,
                       f"with {at}, {why_false(f.formula, ienv, False)}", f.inv.statement)]

    def _is_notional(self, f: Formal, name: str) -> bool:
        """Whether a quantified variable has the unit tiers are looked up by (max_notional's)."""
        unit = next((u for n, _, u in f.forall if n == name), None)
        return unit == next((t.unit for t in self.rb.tier_fields if t.name == "max_notional"), None)

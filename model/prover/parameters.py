"""Contract-level obligations: the family-8 parameter facts of one contract (`parameter`) and the
family-3 facts over any well-formed tier table (`parametric`): their goals and counterexamples.
"""

from __future__ import annotations

import time
from fractions import Fraction

import z3

from .. import ast
from ..formal import Formal
from ..interpreter import Env
from ..interpreter import compile_expr as icompile
from ..numbers import format_decimal
from ..rulebook import Contract
from ..solving import isolated, label as label_queries, new_solver, proved
from ..wellformed import why_false
from ..z3env import SymContract, SymEnv
from ..z3terms import EXACT, SV, as_bool, b_and
from .minimise import _nice, _fix_first
from .render import _render_values, _fmt_args, _render_scenario
from .results import ERROR, PROVED, RL_MINIMISE, VACUOUS, VIOLATED, CaseResult, Goal, Obligation, _dec


class ParametersMixin:
    """Goals and counterexamples of the parameter and parametric kinds."""

    def _case_parameter(self, ob: Obligation, label: str, res) -> None:
        """A contract's family-8 obligation, cheap enough for hundreds of contracts: the formula over
        the contract's concrete values (every tier, every pair of consecutive tiers, or once with
        the `forall` values free), its negation asserted in ONE query of a solver reused across
        obligations (push/pop), PROVED only from unsat; the assumptions listed are the contract's
        tiers the formula read. With an `assume`, one more query shows it satisfiable (vacuity).
        A violation goes to the counterexample construction; an undecided query to the full
        portfolio (`_case`)."""
        t0 = time.perf_counter()
        label_queries(label)
        f = ob.formal
        sym = ob.contracts[0]
        with self.using(EXACT):
            be = self.be
            c = be.concrete_contract(self.rb.contracts[sym])
            fvars = {n: be._var(f"{sym}.{n}", ty) for n, ty, _ in f.forall}
            goal = self._param_goal(f, c, fvars)
            assume = None
            if f.assume is not None:
                assume = as_bool(be.compile_expr(f.assume, SymEnv(be, {**c.values(), **fvars}, {}, None, c)).v)
            facts = be.take_facts()
            s = self._parameter_solver()
            s.push()
            s.add(*facts)
            if assume is not None:
                s.add(assume)
            vacuous = assume is not None and s.check() == z3.unsat
            s.add(z3.Not(goal))
            r = s.check() if not vacuous else z3.unsat
            model = s.model() if r == z3.sat else None
            s.pop()
        n = len(c.tiers)
        read = set().union(*(ast.names(x) for x in (f.formula, f.assume) if x is not None))
        used = [f"{sym}.{p.name}" for p in self.rb.params if p.name in read]  # the parameters it reads
        used += [f"{sym}.tiers[{k}]" for k in range(1, n + 1)] + ([f"assume:{f.id}"] if assume is not None else [])
        if vacuous:
            cr = CaseResult(label, VACUOUS, 0.0, [], f"the assumption of {f.id} cannot hold")
        elif r == z3.unsat:
            cr = CaseResult(label, PROVED, 0.0, used)
            asm = [("assume", assume)] if assume is not None else []
            proved(goal, asm, [n for n, _ in asm], facts, "default")  # for --cross-check / --smt2-out
        elif r == z3.sat:
            cr = CaseResult(label, VIOLATED, 0.0, [])
            g = Goal(goal, [("assume", assume)] if assume is not None else [], facts,
                     final={"contract": c, "forall": fvars, "parameter": True})
            with self.using(EXACT):
                cx = self.counterexample(ob, label, g, model)
            if cx.get("confirmed") is False:
                cr.status, cr.reason = ERROR, cx.get("note", "")
            res.counterexample = cx
            res.message = (res.message + "\n" if res.message else "") + f"{label}: {cx.get('note', '')}".rstrip(": ")
        else:
            return self._case(ob, label, res)
        cr.seconds = time.perf_counter() - t0
        res.cases.append(cr)

    def _parameter_solver(self) -> z3.Solver:
        """One solver for every parameter obligation of this process (each query inside push/pop)."""
        s = self._cache.get("parameter-solver")
        if s is None:
            s = self._cache["parameter-solver"] = new_solver(self.timeout)
        return s

    def _goal_parameter(self, ob: Obligation, label: str) -> Goal:
        be = self.be
        sym = ob.contracts[0]
        contract = self.rb.contracts[sym]
        c = be.symbolic_contract(f"{sym}", len(contract.tiers), bind=contract)
        bound = [(n, t) for n, t in c.facts if not n.startswith("domain:")]
        f = ob.formal
        fvars = {n: be._var(f"{sym}.{n}", ty) for n, ty, _ in f.forall}
        goal = self._param_goal(f, c, fvars)
        assumptions = list(bound)
        if f.assume is not None:
            env = SymEnv(be, {**c.values(), **fvars}, {}, None, c)
            assumptions.append((f"assume:{f.id}", as_bool(be.compile_expr(f.assume, env).v)))
        return Goal(goal, assumptions, be.take_facts(), final={"contract": c, "forall": fvars, "parameter": True})

    def _param_goal(self, f: Formal, c: SymContract, fvars: dict | None = None):
        be = self.be
        tiers = c.tiers
        parts = []
        if f.over == "tiers":
            for t in tiers:
                env = SymEnv(be, {**c.values(), **{f"tier.{k}": SV(v) for k, v in t.items()}}, {}, None, c)
                parts.append(as_bool(be.compile_expr(f.formula, env).v))
        elif f.over == "tier_pairs":
            for t, u in zip(tiers, tiers[1:]):
                env = SymEnv(be, {**c.values(), **{f"tier.{k}": SV(v) for k, v in t.items()},
                                  **{f"next_tier.{k}": SV(v) for k, v in u.items()}}, {}, None, c)
                parts.append(as_bool(be.compile_expr(f.formula, env).v))
        else:
            env = SymEnv(be, {**c.values(), **(fvars or {})}, {}, None, c)
            parts.append(as_bool(be.compile_expr(f.formula, env).v))
        return b_and(*parts)

    def _goal_parametric(self, ob: Obligation, label: str) -> Goal:
        side = self._side(label)
        be = self.be
        n = ob.data
        fixed = self._enum_case(label)
        key = ("parametric", n, self._mode, tuple(sorted(fixed.items())))
        if key not in self._cache:
            c = be.symbolic_contract(f"T{n}", n)
            for name, value in fixed.items():  # this case's value of an enum-valued parameter
                c.params[name] = be.enum_val(be.enum_index[c.enums[name]][value])
                c.facts = [(k, v) for k, v in c.facts if k != f"domain:{name}"]
            tier_hyps = []
            for f in self.of_kind("parameter"):
                if f.over in ("tiers", "tier_pairs"):
                    tier_hyps.append((f"hyp:{f.id}", self._param_goal(f, c)))
            self._cache[key] = (c, tier_hyps)
        c, tier_hyps = self._cache[key]
        st = be.symbolic_state(f"p{n}.", side=side)
        hyps = []
        env = be.env(c, st)
        for f in self.state_invariants():  # those about any tier table (see tier_free)
            if self.tier_free(f.formula):
                hyps.append((f"hyp:{f.id}", as_bool(be.compile_expr(f.formula, env).v)))
        fvars, assume, goal, base, hyp = self._fact_env(ob.formal, c, st, f"pv{n}")
        assumptions = list(c.facts) + tier_hyps + hyps
        if assume is not None:
            assumptions.append((f"assume:{ob.formal.id}", assume))
        return Goal(goal, assumptions, be.take_facts(), final={"contract": c, "forall": fvars, "state": st})

    def tier_free(self, e: ast.Expr) -> bool:
        """Whether `e` reads no tier (directly or through derived values). A parametric fact (over
        any well-formed tier table) assumes only the tier-free state invariants: the others are
        facts about one contract's reachable states. Fewer hypotheses: a stronger theorem."""
        derived = self.rb.derived_by_name()
        seen: set[str] = set()
        stack = [e]
        while stack:
            x = stack.pop()
            for node in ast.walk(x):
                if isinstance(node, (ast.TierField, ast.SolveTier)):
                    return False
                if isinstance(node, ast.Name) and (node.name.startswith("tier.") or node.name.startswith("first_tier.")
                                                   or node.name.startswith("last_tier.")):
                    return False
                if isinstance(node, ast.Name) and node.name in derived and node.name not in seen:
                    seen.add(node.name)
                    stack.append(derived[node.name].expr)
        return True

    def _cx_parameter(self, ob, label, g, model):
        be = self.be
        f = ob.formal
        sym = ob.contracts[0]
        contract = self.rb.contracts[sym]
        fin = g.final
        fv = {n: be.value(model, v) for n, v in fin["forall"].items()}
        if self.minimize and fin["forall"]:
            fv = self._minimize_free(g, model, fin["forall"], {n: contract.params.get("money_step", Fraction(1, 100))
                                                               for n in fin["forall"]})
        cv = self.interp.contract_values(contract)
        bad = []
        if f.over in ("tiers", "tier_pairs"):
            rows = contract.tiers
            idx = range(len(rows)) if f.over == "tiers" else range(len(rows) - 1)
            why = {}
            for i in idx:
                env = Env({**cv, **{f"tier.{k}": v for k, v in rows[i].items()},
                           **({f"next_tier.{k}": v for k, v in rows[i + 1].items()} if f.over == "tier_pairs" else {})})
                if not icompile(f.formula)(env):
                    bad.append(i)
                    why[i] = why_false(f.formula, env)
            what = [f"tier {i + 1}" + (f" and tier {i + 2}" if f.over == "tier_pairs" else "") for i in bad]
            values = {"failing": what}
            for i, w in zip(bad, what):
                values[f"tier {i + 1}"] = _dec(dict(rows[i]))
                if f.over == "tier_pairs":
                    values[f"tier {i + 2}"] = _dec(dict(rows[i + 1]))
                values[f"why ({w})"] = why[i]  # the formula's sides as the rulebook computes them
            confirmed = bool(bad)
            notionals = [rows[i]["max_notional"] for i in bad]
        else:
            env = Env({**cv, **fv})
            ok = icompile(f.formula)(env)
            confirmed = not ok and (f.assume is None or icompile(f.assume)(env))
            values = {n: _dec(v) for n, v in fv.items()}
            if confirmed:
                values["why"] = why_false(f.formula, env)
            notionals = [v for v in fv.values() if isinstance(v, Fraction) and v > 0]
        cx = {"case": label, "invariant": f.id, "confirmed": confirmed,
              "status": VIOLATED if confirmed else ERROR,
              "note": f"{f.id} fails for contract {sym}" if confirmed else "the interpreter does not confirm the violation",
              "values": values, "formula": f.text()}
        vec = self._vector_parameter(ob, sym, notionals)
        if vec:
            cx["steps"] = vec["steps"]
            cx["vector"] = vec
        cx["text"] = _render_values(values)
        return cx

    def _minimize_free(self, g: Goal, model, fvars: dict, grid: dict) -> dict:
        s = isolated(list(g.facts) + [a for _, a in g.assumptions] + [z3.Not(g.goal)], self.timeout, RL_MINIMISE)
        for n, sv in fvars.items():
            model = _fix_first(s, sv, _nice(self.be.value(model, sv), grid[n])) or model
        return {n: self.be.value(model, sv) for n, sv in fvars.items()}

    def _vector_parameter(self, ob, sym, notionals) -> dict | None:
        """A scenario at the notionals of the counterexample: open a long of one lot at the mark
        giving that notional, query; then the next notional."""
        contract = self.rb.contracts[sym]
        lot = contract.params.get("lot_size")
        mult = contract.params.get("contract_multiplier")
        if not lot or not mult or not notionals:
            return None
        n_base = lot * mult
        steps = []
        biggest = max(notionals)
        balance = max(Fraction(10000), biggest * 2)
        first = True
        for x in sorted(set(notionals)):
            p = x / n_base
            if p <= 0:
                continue
            try:
                format_decimal(p)
            except ValueError:
                return None
            steps.append(("set_mark_price", sym, {"price": p}))
            if first:
                steps.append(("open_position", sym, {"side": self.sides[0], "size": lot, "margin": x}))
                first = False
            steps.append(("query", sym, {}))
        return self._vector_from_steps(ob, [sym], balance, steps, ob.formal.id if ob.formal else ob.id,
                                       f"{ob.id}: maintenance margin at the tier boundary")

    # scenario counterexamples: bounded search from reset, minimisation, replay, vector

    def _cx_parametric(self, ob, label, g, model) -> dict:
        """A tier table (with the other parameters) and a position where a fact fails, confirmed by
        evaluating the fact with the interpreter on that contract."""
        be = self.be
        fin = g.final
        c = fin["contract"]
        params = {k: be.value(model, c.sv(k)) for k in c.params}
        tiers = tuple({k: be.value(model, SV(v)) for k, v in t.items()} for t in c.tiers)
        contract = Contract("T", params, tiers)
        state = {k: be.value(model, v) for k, v in fin["state"].items()}
        forall = {k: be.value(model, v) for k, v in fin["forall"].items()}
        vals = {**self.interp.contract_values(contract), **state}
        try:
            held, values = self._eval_fact(ob.formal, vals, forall)
            confirmed = held is False
        except Exception as e:
            confirmed, values = False, {"error": f"{type(e).__name__}: {e}"}
        values = {"contract": _dec(params), "tiers": [_dec(t) for t in tiers], **values}
        note = (f"{ob.formal.id} fails for this {len(tiers)}-tier contract and position" if confirmed
                else "the interpreter does not confirm the violation found by Z3 (a backend disagreement)")
        text = "\n".join([f"    contract: {_fmt_args(values['contract'])}"]
                         + [f"    tier {i}: {_fmt_args(t)}" for i, t in enumerate(values["tiers"], 1)]
                         + ([f"    for {_fmt_args(_dec(forall))}"] if forall else [])
                         + [_render_scenario({"values": {k: v for k, v in values.items() if k not in ("contract", "tiers")}})])
        return {"case": label, "invariant": ob.formal.id, "confirmed": confirmed,
                "status": VIOLATED if confirmed else ERROR, "note": note, "formula": ob.formal.text(),
                "values": values, "text": text}

    # parameter counterexamples: a tier table's values, confirmed by evaluating the formula exactly

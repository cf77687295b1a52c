"""Bounded model checking: every sequence of `depth` requests from reset keeps every state and
transition invariant and every `sequence` formula; proved step by step, counterexamples replayed.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import z3

from ..interpreter import Env
from ..interpreter import compile_expr as icompile
from ..printer import to_text
from ..solving import CheckResult, check, is_recording, label, nlsat_check, proved, satisfiable, simplifies_to_true
from ..z3terms import EXACT, RELAXED, SV, as_bool, b_and, b_not
from .base import be_contract
from .envs import _TEnv, _CEnv
from .render import _human, _render_scenario
from .results import PROVED, VIOLATED, UNKNOWN, VACUOUS, ERROR, RL_NLSAT, RL_SPLIT, _dec, CaseResult, Result, Obligation, SymWorld


class SequencesMixin:
    """Builds and discharges the bounded sequence obligations."""

    def build_sequence(self, ob: Obligation) -> dict:
        """The bounded model check of `ob.data` steps from reset, in the active backend: the path
        (reset, each step's request taken and its state equations), each step's goals (the
        transition invariants of every possible request, the state invariants and the shape of the
        state after it, the `sequence` formulas), and per step the case split of its start state."""
        be = self.be
        sym = ob.contracts[0]
        w0, path = self.reset_world([sym], "q")
        init_env = be.env(be_contract(self, sym), w0.view(sym))
        trans = [f for f in self.of_kind("transition")]
        states = self.state_invariants()
        w = w0
        totals: dict[str, dict[str, SV]] = {f.id: {} for f in trans if f.sequence is not None}
        steps, step_goals, splits = [], [], []
        choices = [(a, sym) for a in self.rb.actions]
        for i in range(ob.data):
            pre_w = w
            w, taken, info = self.bmc_step(w, choices, f"q.s{i + 1}")
            path.append((f"step {i + 1}", taken))
            steps.append(info)
            goals = []
            contrib: dict[str, dict[str, list]] = {fid: {} for fid in totals}
            for r in info["runs"]:
                a, run, c = r["action"], r["run"], r["contract"]
                for f in trans:
                    if a not in f.actions:
                        continue
                    env = self._trans_env(f, a, c, run)
                    g = as_bool(be.compile_expr(f.formula, env).v)
                    if f.assume is not None:
                        g = z3.Implies(as_bool(be.compile_expr(f.assume, env).v), g)
                    goals.append((f"{f.id} ({a}, step {i + 1})", z3.Implies(r["applied"], g)))
                    if f.id in totals:
                        for n in f.defines(None):
                            contrib[f.id].setdefault(n, []).append(z3.If(r["applied"], env[n].v, z3.RealVal(0)))
            for fid, per in contrib.items():
                for n, terms in per.items():
                    prev = totals[fid].get(n)
                    step_sum = z3.Sum(*terms) if len(terms) > 1 else terms[0]
                    totals[fid][n] = SV(step_sum if prev is None else prev.v + step_sum)
            env_w = be.env(be_contract(self, sym), w.view(sym))
            for f in states:
                goals.append((f"{f.id} (after step {i + 1})", as_bool(be.compile_expr(f.formula, env_w).v)))
            goals.append((f"position shape (after step {i + 1})", self.shape(w.view(sym))))
            for f in trans:
                if f.sequence is None:
                    continue
                vals = {f"total.{n}": v for n, v in totals[f.id].items()}
                senv = _TEnv(be, {**be_contract(self, sym).values(), **w.view(sym), **vals},
                             {**be.derived, **f.defines(None)}, None, be_contract(self, sym), init=init_env)
                goals.append((f"{f.id} sequence (after step {i + 1})", as_bool(be.compile_expr(f.sequence, senv).v)))
            step_goals.append(goals)
            splits.append(self._side_splits(pre_w, sym))
        return {"path": path, "steps": steps, "goals": step_goals, "splits": splits, "facts": be.take_facts(),
                "w0": w0, "sym": sym}

    @staticmethod
    def _step_assumptions(seq: dict, i: int):
        """(all assumptions for step i's goals, the induction-step subsets to try first)."""
        path, step_goals = seq["path"], seq["goals"]
        earlier = []
        for j in range(i):
            earlier.append((f"transition invariants of step {j + 1}",
                            b_and(*[g for lbl, g in step_goals[j] if "after step" not in lbl])))
            earlier.append((f"state invariants after step {j + 1}",
                            b_and(*[g for lbl, g in step_goals[j] if "after step" in lbl])))
        asm = [p for p in path if not p[0].startswith("step ")] + [p for p in path if p[0].startswith("step ")][: i + 1]
        prev = [e for e in earlier if e[0] == f"state invariants after step {i}"]
        this = [p for p in path if p[0] == f"step {i + 1}"]
        return asm + earlier, ([prev, this + prev] if i > 0 else [])

    def discharge_sequence(self, ob: Obligation, res: Result) -> None:
        """Each goal of step i, by a portfolio: RELAXED/nlsat first as an induction step (the state
        invariants after step i-1, with or without step i's equations: subsets of the assumptions,
        so a proof from them is a proof), then from the whole path, the step's goals together where
        that gives the same core (`_relaxed_step`); else the EXACT encoding (the same subsets, split
        by side and request, then the whole path). Vacuity: the path of each step is satisfiable in
        the EXACT encoding."""
        t0 = time.perf_counter()
        with self.using(RELAXED):
            R = self.build_sequence(ob)
        with self.using(EXACT):
            X = self.build_sequence(ob)
            be = self.be
        sym = X["sym"]
        for i, goals in enumerate(X["goals"]):
            t1 = time.perf_counter()
            full, locals_ = self._step_assumptions(X, i)
            full_r, locals_r = self._step_assumptions(R, i)
            core: set[str] = set()
            status, reason, failing, bad = PROVED, "", [], None
            relaxed = self._relaxed_step(R, i, locals_r + [full_r])
            for k, (lbl, goal) in enumerate(goals):
                tg = time.perf_counter()
                label(f"step {i + 1}: {lbl}")
                r = relaxed.get(k)
                if r is not None:
                    asm_r, lem, engine = r.batch
                    if is_recording():
                        proved(R["goals"][i][k][1], asm_r, r.core, R["facts"] + (lem() if callable(lem) else lem), engine)
                else:  # not proved RELAXED: the EXACT encoding
                    r = CheckResult("unknown")
                if r.status != "proved":
                    for local in locals_:
                        lem = be.rounding_lemmas([goal] + [a for _, a in local], [goal])
                        cases = X["splits"][i - 1]
                        if local is not locals_[0] and "after step" in lbl:  # which request made this state
                            sel = X["steps"][i]["sel"]
                            cases = [(f"{a} & {n}", z3.And(c, sel == j)) for n, c in cases
                                     for j, a in enumerate(x["action"] for x in X["steps"][i]["runs"])]
                        r = self._split_check(goal, local, X["facts"], lem, cases)
                        if r.status == "proved":
                            break
                if r.status != "proved":
                    lem = be.rounding_lemmas([goal] + [a for _, a in full] + X["facts"], [goal])
                    r = check(goal, full, X["facts"], self.timeout, vacuity=False, lemmas=lem, minimise=False)
                    r.core = sorted(n for n, _ in full)
                if self.debug:
                    print(f"  {lbl}: {r.status} {time.perf_counter() - tg:.3f}s")
                if r.status == "proved":
                    core |= set(r.core)
                    continue
                if r.status == "violated":
                    status, failing, bad = VIOLATED, [lbl], r
                    break
                status, reason = UNKNOWN, f"{lbl}: {r.reason}"
                break
            if status == PROVED:
                v = satisfiable(z3.BoolVal(True), full, X["facts"], self.timeout)
                if v.status == "unsat":
                    status, reason = VACUOUS, "the path is infeasible: " + ", ".join(v.core)
                elif v.status == "unknown":
                    status, reason = UNKNOWN, "vacuity check: " + v.reason
            cr = CaseResult(f"step {i + 1}", status, time.perf_counter() - t1, sorted(core), reason)
            if status == VIOLATED:
                prob = {"target": b_not(b_and(*[g for _, g in goals])), "path": full, "facts": X["facts"],
                        "steps": X["steps"][: i + 1], "final": None, "symbols": [sym], "reset": X["w0"], "tag": "q",
                        "depth": i + 1}
                with self.using(EXACT):
                    cx = self._scenario_sequence(ob, prob, bad, failing)
                res.counterexample = res.counterexample or cx
                res.message = f"step {i + 1}: violated: {', '.join(failing)}"
                cr.reason = res.message
            elif status in (UNKNOWN, VACUOUS):
                res.message = f"step {i + 1}: {status.lower()}: {reason}"
            res.cases.append(cr)
            if status != PROVED:
                break
        res.seconds = time.perf_counter() - t0

    def _relaxed_step(self, R: dict, i: int, stages: list) -> dict[int, CheckResult]:
        """The RELAXED proofs of step i's goals: goal index -> proof ('proved', core = the names of
        the stage that proved it, `batch` = (those assumptions, the lemmas or a function building
        them, the engine)); a goal missing was not proved RELAXED (the EXACT encoding is tried next,
        as always).

        One goal at a time, each goal would be tried at each stage in turn, and the step's core is
        the union of the names of the stage that first proves each goal: the stages are nested
        (each assumption set contains the one before), so that union is the names of the LARGEST
        stage any goal needs. That is what is computed, with fewer queries:
        1. a goal Z3's simplifier reduces to true (in a context of the step's goals alone) holds at
           the first stage;
        2. the other goals at once, stage by stage (the whole path only when it is the only stage:
           the conjunction of every goal over the whole path is beyond nlsat's work limit): the
           first stage proving the conjunction is the largest stage any of them needs;
        3. else a goal false in the last model is tried alone at each stage; when only the whole
           path proves it, the step's core is the whole path's names whatever the others need, and
           each of the other goals only has to be proved somewhere: the goals of each invariant
           together at the first stage (unless one of them is false in a model of it already seen:
           a model of a later stage is one of the first, whose assumptions it includes; or they
           are about the state after the step, which the first stage leaves free: the simplifier
           has settled those that hold whatever it is), else together on the whole path, else each
           alone there;
        4. else each goal alone, stage by stage, exactly as before.
        The lemmas of a query are its goals' own rounding lemmas (valid facts)."""
        bx = self._backends[RELAXED]
        goals = [g for _, g in R["goals"][i]]
        facts = R["facts"]
        out: dict[int, CheckResult] = {}

        walked: dict[int, frozenset] = {}  # the roundings in each stage's assumptions and the facts

        def lemmas(ks, asm):
            base = walked.get(id(asm))
            if base is None:
                base = walked[id(asm)] = frozenset(bx.rounding_ids([a for _, a in asm] + facts))
            lem, seen = [], set()
            for k in ks:
                for x in bx.rounding_lemmas([goals[k]], [goals[k]], within=base):
                    if x.get_id() not in seen:
                        seen.add(x.get_id())
                        lem.append(x)
            return lem

        def done(ks, asm, lem, engine="nlsat"):
            for k in ks:
                out[k] = CheckResult("proved", core=sorted(n for n, _ in asm), engine=engine)
                out[k].batch = (asm, lem, engine)

        def attempt(ks, asm):
            lem = lemmas(ks, asm)
            claim = goals[ks[0]] if len(ks) == 1 else z3.And(*[goals[k] for k in ks])
            r = nlsat_check(claim, asm, facts + lem, self.timeout, rlimit=RL_NLSAT // 2)
            if r.status == "proved":
                done(ks, asm, lem)
            return r

        def first_stage(k, candidates) -> int | None:
            for j in candidates:
                if attempt([k], stages[j]).status == "proved":
                    return j
            return None

        rest = []
        for k, true in enumerate(simplifies_to_true(goals)):  # 1. true by simplification alone
            if true:  # its lemmas only for the record of the proof query (built when one is kept)
                done([k], stages[0], lambda k=k: lemmas([k], stages[0]), "simplify")
            else:
                rest.append(k)
        if not rest:
            return out
        r = None
        models = []  # models of a stage before the whole path: each refutes the goals false in it there
        for asm in (stages[:-1] or stages):  # 2. all at once
            r = attempt(rest, asm)
            if r.status == "proved":
                return out
            if r.status == "violated" and r.model is not None and asm is not stages[-1]:
                models.append(r.model)

        def false_in(m, ks) -> list[int]:
            return [k for k in ks if z3.is_false(m.eval(goals[k], model_completion=True))]

        if len(stages) > 1 and r.status == "violated" and r.model is not None:  # 3. one that needs the whole path
            star = next(iter(false_in(r.model, rest)), None)
            if star is not None and first_stage(star, range(len(stages))) == len(stages) - 1:
                groups: dict[str, list[int]] = {}  # the goals of one invariant (over every request) together
                for k in rest:
                    if k != star:
                        groups.setdefault(R["goals"][i][k][0].split(" (", 1)[0], []).append(k)
                for ks in groups.values():
                    after = all("(after step" in R["goals"][i][k][0] for k in ks)  # the state the step makes
                    if not after and not any(false_in(m, ks) for m in models) \
                            and attempt(ks, stages[0]).status == "proved":
                        continue
                    if len(ks) > 1 and attempt(ks, stages[-1]).status == "proved":
                        continue
                    for k in ks:
                        first_stage(k, [len(stages) - 1])
                return out
            rest = [k for k in rest if k != star]  # star was tried at every stage
        for k in rest:  # 4. one at a time, stage by stage
            if k not in out:
                first_stage(k, range(len(stages)))
        return out

    def _side_splits(self, world: SymWorld, sym: str) -> list[tuple[str, Any]]:
        """Cases covering every state of `sym`: no position, or a position of each side."""
        st = world.symbols[sym]
        hp = as_bool(st["has_position"].v)
        out = [("case: no position", z3.Not(hp))]
        if self.side_enum:
            fld = next(f.name for f in self.rb.state if f.scope == "position" and f.ty.kind == "enum")
            for v in self.sides:
                out.append((f"case: {v}", z3.And(hp, st[fld].v == self.be.enum_val(self.be.enum_index[self.side_enum][v]))))
        return out

    def _split_check(self, goal, assumptions, facts, lemmas, cases):
        """`check` under each case of a split: proved when proved in every case, the remainder (none of
        the cases) included, so the split is always exhaustive; the first other outcome otherwise."""
        core: set[str] = set()
        last = None
        cases = list(cases) + [("case: none of the above", z3.Not(z3.Or(*[c for _, c in cases])))]
        for _, c in cases:
            r = check(goal, assumptions, facts + [c], self.timeout, vacuity=False, lemmas=lemmas, rlimit=RL_SPLIT,
                      minimise=False)
            r.core = sorted(n for n, _ in assumptions)  # what the proof was given (coarse labels of a path)
            if r.status != "proved":
                return r
            core |= set(r.core)
            last = r
        last.core = sorted(core)
        return last

    def _scenario_sequence(self, ob, prob, r, failing) -> dict:
        model, balance, steps = self._concrete_scenario(prob, r, "q")
        sym = prob["symbols"][0]  # a sequence acts on one symbol
        eng, records = self._run_scenario([sym], balance, steps)
        trace = [{"request": rec["request"], "reply": rec["reply"]} for rec in records]
        states = [records[0]["pre"] if records else self._values(eng, sym)] + [rec["post"] for rec in records]
        outcomes = [rec["outcome"] for rec in records]
        vals = self._values(eng, sym)
        confirmed, values = self._confirm_sequence(failing, steps, trace, states, outcomes)
        values["final state"] = self._named(vals)
        cx = {"case": "bmc", "invariant": ", ".join(sorted({x.split(" ")[0] for x in failing})), "confirmed": confirmed,
              "status": VIOLATED if confirmed else ERROR,
              "note": ("violated along a sequence: " + ", ".join(failing)) if confirmed else
                      "the interpreter does not confirm the violation found by Z3 (a backend disagreement)",
              "balance": _dec(balance), "steps": trace, "last_step": len(trace), "free": {},
              "values": values}
        vec_steps = [(t["request"]["op"], sym, {k: v for k, v in t["request"]["args"].items() if k != "symbol"}) for t in trace]
        vec_steps.append(("query", sym, {}))
        cx["vector"] = self._vector_from_steps(ob, [sym], balance, vec_steps, cx["invariant"],
                                               f"sequence violating {cx['invariant']}")
        cx["text"] = _render_scenario(cx)
        return cx

    def _confirm_sequence(self, failing, steps, trace, states, outcomes) -> tuple[bool, dict]:
        """Evaluate the failing goal of a sequence on the replayed states (interpreter semantics)."""
        import re
        values: dict = {}
        for lbl in failing:
            m = re.match(r"^(\S+) \((\w+), step (\d+)\)$", lbl)
            try:
                if m:
                    inv, action, i = m.group(1), m.group(2), int(m.group(3)) - 1
                    if steps[i][0] != action or not trace[i]["reply"]["ok"]:
                        continue
                    v, named = self._eval_transition(self.formals[inv], action, states[i], states[i + 1], outcomes[i],
                                                     steps[i][2])
                    values[lbl] = named
                    if v is False:
                        return True, values
                    continue
                m = re.match(r"^(\S+) \(after step (\d+)\)$", lbl)
                if m and m.group(1) in self.formals:
                    i = int(m.group(2))
                    v = icompile(self.formals[m.group(1)].formula)(Env(states[i], self.interp.derived))
                    values[lbl] = {"state": self._named(states[i])}
                    if v is False:
                        return True, values
                    continue
                m = re.match(r"^(\S+) sequence \(after step (\d+)\)$", lbl)
                if m:
                    f, n = self.formals[m.group(1)], int(m.group(2))
                    totals: dict[str, Any] = {}
                    for i in range(n):
                        if not trace[i]["reply"]["ok"]:
                            continue
                        _, named = self._eval_transition(f, steps[i][0], states[i], states[i + 1], outcomes[i],
                                                         steps[i][2])
                        for k, d in (named.get("defined") or {}).items():
                            totals[k] = totals.get(k, Fraction(0)) + Fraction(d["after"])
                    init = Env(states[0], self.interp.derived)
                    env = _CEnv({**states[n], **{f"total.{k}": v for k, v in totals.items()}},
                                {**self.interp.derived, **{k: icompile(e) for k, e in f.defines(None).items()}},
                                None, old=None, prefixes={"init.": init})
                    v = icompile(f.sequence)(env)
                    values[lbl] = {"totals": _dec(totals), "formula": f"{to_text(f.sequence)}  ->  {_human(v)}"}
                    if v is False:
                        return True, values
            except Exception as e:  # reported with the values, never hidden
                values[lbl] = {"error": f"{type(e).__name__}: {e}"}
        return False, values

"""Discharging one obligation: the portfolio of encodings and solvers per case (RELAXED with the
default solver, then nlsat, then EXACT), vacuity, and the hand-off to counterexample search.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import replace
from fractions import Fraction

import z3

from ..nlsat_core import nlsat_proof
from ..numbers import is_terminating
from ..solving import (canonical_core, check, is_recording, label as label_queries, nlsat_check, proved, recording,
                       release_quick, satisfiable)
from ..z3terms import EXACT, RELAXED, q, to_fraction
from .envs import proper
from .render import _why
from .anycontract import EARLIER
from .results import RL_RELAXED_GENERAL, PROVED, VIOLATED, UNKNOWN, VACUOUS, ERROR, RL_RELAXED, RL_NLSAT, RL_CORE, RL_EXACT, _RANK, CaseResult, Result, Obligation, Goal, _Found


class DischargeMixin:
    """Runs obligations: every case, vacuity, counterexamples; never raises."""

    def run(self, ob: Obligation) -> Result:
        """Discharge one obligation (sequences included); with a second solver or an SMT-LIB
        directory (crosscheck.py), its proof queries are recorded and handed over."""
        try:
            if not (self.cross_check or self.smt2_out):
                return self._run(ob)
            with recording() as rec:
                res = self._run(ob)
            self.second_opinion(res, rec.queries)
            return res
        finally:
            release_quick()

    def _run(self, ob: Obligation) -> Result:
        if ob.kind == "sequence":
            res = Result(ob.id, ob.kind, PROVED, 0.0, [], None, list(ob.invariants), ob.family, ob.action,
                         list(ob.contracts), ob.title, ob.statement, scope=ob.scope)
            t0 = time.perf_counter()
            try:
                self.discharge_sequence(ob, res)
                res.status = max((c.status for c in res.cases), key=lambda s: _RANK[s]) if res.cases else PROVED
                res.assumptions = ([f"contract:{c}" for c in ob.contracts] + sorted(
                    {a for c in res.cases if c.status == PROVED for a in c.assumptions})) if res.status == PROVED else []
            except Exception as e:
                res.status = ERROR
                res.message = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=6)}"
            res.seconds = time.perf_counter() - t0
            return res
        return self.discharge(ob)

    def discharge(self, ob: Obligation) -> Result:
        """Run one obligation: every case, vacuity, counterexample search; never raises."""
        t0 = time.perf_counter()
        res = Result(ob.id, ob.kind, PROVED, 0.0, [], None, list(ob.invariants), ob.family, ob.action,
                     list(ob.contracts), ob.title, ob.statement, scope=ob.scope)
        try:
            if ob.id.endswith("/formal") and isinstance(ob.data, str):
                res.status, res.message = ERROR, ob.data
                return res
            for label in ob.cases:
                (self._case_parameter if ob.kind == "parameter" else self._case)(ob, label, res)
            res.status = max((c.status for c in res.cases), key=lambda s: _RANK[s]) if res.cases else PROVED
            used = sorted({a for c in res.cases if c.status == PROVED for a in c.assumptions})
            if ob.kind not in ("parameter", "parametric"):  # proved with the profile's concrete values
                used = [f"contract:{c}" for c in ob.contracts] + used
            res.assumptions = used if res.status == PROVED else []
        except Exception as e:  # a bug or an unsupported construct: an honest ERROR, with the trace
            res.status = ERROR
            res.message = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=6)}"
        finally:
            res.seconds = time.perf_counter() - t0
        return res

    def _case(self, ob: Obligation, label: str, res: Result) -> None:
        """One case, by a portfolio: (1) the RELAXED encoding (a proof there is a proof: the
        relaxation over-approximates) with Z3's default solver and nlsat (complete for nonlinear real
        arithmetic): a per-contract goal default solver first (its tracked assumptions give the
        core, canonical), a general goal nlsat first (its canonical core found from nlsat's own,
        nlsat_core.py, and the default solver's nonlinear search overruns its work limit by seconds
        where nlsat answers at once; nlsat 'violated' is a real model of the relaxation, which no
        solver could then prove), but a general frame goal the default solver first (equalities:
        see below; its core minimal within the default solver's, `solving.minimise_within`);
        then the EXACT assumptions' satisfiability (vacuity), for a general goal on a concrete
        contract first. (2) Else the EXACT encoding with the default solver, tracked assumptions and
        the rounding lemmas: proved, violated (a model of the exact semantics, then a scenario from
        reset), vacuous or unknown. A proved case gets its sanity warnings (sanity.py), settled at
        the vacuity witness when the conclusion fails there. The EXACT goal of a general case is
        built only when one of these needs it."""
        t0 = time.perf_counter()
        label_queries(label)
        built: list[Goal] = []

        def exact() -> Goal:
            """The EXACT goal, built on first use: a general case proved RELAXED, its vacuity and its
            sanity settled on a concrete contract, never needs it."""
            if not built:
                with self.using(EXACT):
                    g = self.goal(ob, label)
                    g.facts = g.facts + self.be.take_facts()
                built.append(g)
            return built[0]

        if ob.kind == "reachability" or ob.contracts:
            exact()  # built first, as it always was (a per-contract goal is mostly cached)
        if built and built[0].witness:
            g = built[0]
            r = satisfiable(g.goal, g.assumptions, g.facts, self.timeout)
            st = {"sat": PROVED, "unsat": VIOLATED, "unknown": UNKNOWN}[r.status]
            cr = CaseResult(label, st, time.perf_counter() - t0, [], r.reason)
            if r.status == "sat":
                cr.witness = self._witness(g, r.model)
            elif r.status == "unsat":
                cr.reason = (f"no state satisfying the invariants lets the check {label}"
                             + (f" (excluded by {', '.join(r.core)})" if r.core else ""))
                res.message = (res.message + "\n" if res.message else "") + f"{label}: {cr.reason}"
            res.cases.append(cr)
            return
        status, core, reason, model, r1 = None, [], "", None, None
        gr, facts_r = self.relaxed_goal(ob, label)
        # (1) relaxed: default solver with tracked assumptions and nlsat (complete for real
        # arithmetic), in the order above; (2) exact, below. Every step is bounded by work (rlimit),
        # not by seconds, and every per-contract core is the canonical minimal one (canonical_core).
        proved_relaxed = False
        # an every-contract goal's core: canonical, found from nlsat's own asking only about the names
        # of the cores met (nlsat_core.py; canonical_core's families and nlsat retries over the
        # symbolic contract cost minutes per obligation)
        minimise = bool(ob.contracts)
        # a general frame goal asks the default solver first: its conclusion is a conjunction of
        # equalities read through the write-back (congruence, which the default solver settles at
        # once, where nlsat's cell decomposition took a second on `query`); its core is the default
        # solver's, minimised within it (large attempts overrun its limits), and its answer is the one
        # it would give after nlsat below (the same query), so it is asked once
        default_first = not minimise and ob.kind == "frame"
        for asm in self._relaxed_stages(ob, gr.assumptions):
            r1 = first = None
            if default_first:
                first = check(gr.goal, asm, facts_r, self.timeout, vacuity=False, rlimit=RL_RELAXED_GENERAL,
                              minimise="within")
                if first.status == "proved":
                    core, reason, proved_relaxed = first.core, first.reason, True
                    break
            if not minimise:  # nlsat first: complete here, and its work limit holds (see _general_stage)
                r1 = nlsat_proof(gr.goal, asm, facts_r, self.timeout, rlimit=RL_NLSAT)
                if r1.status == "proved":
                    core, reason = r1.core, r1.reason
                    proved(gr.goal, asm, core, facts_r, "nlsat")
                    proved_relaxed = True
                    break
                if r1.status == "violated":
                    continue
            r1 = first if first is not None else check(
                gr.goal, asm, facts_r, self.timeout, vacuity=False,
                rlimit=RL_RELAXED if ob.contracts else RL_RELAXED_GENERAL, minimise=minimise or "within")
            if r1.status == "proved":
                core, reason, proved_relaxed = r1.core, r1.reason, True
            elif minimise:
                r1 = nlsat_check(gr.goal, asm, facts_r, self.timeout, rlimit=RL_NLSAT)
                if r1.status == "proved":
                    core, complete = canonical_core(gr.goal, asm, facts_r, self.timeout, rlimit_nlsat=RL_CORE)
                    proved(gr.goal, asm, core, facts_r, "nlsat")
                    proved_relaxed = True
                    if not complete:
                        reason = "unsat core not minimised (work limit)"
            if proved_relaxed:
                break
        witness = None  # (goal, obligation, answer): a model of that goal's assumptions, for the sanity check
        if proved_relaxed:
            v, about = self._vacuity(exact, gr, facts_r, ob, label)
            if v.status == "sat":
                status = PROVED
                witness = (*about, v)
            elif v.status == "unsat":
                status, core = VACUOUS, v.core
            else:
                status, reason = UNKNOWN, "vacuity check: " + v.reason
        else:
            g = exact()
            lemmas = self._backends[EXACT].rounding_lemmas([g.goal] + [a for _, a in g.assumptions] + g.facts)
            # a general goal's vacuity is settled on a concrete contract first (as after a RELAXED proof)
            r = check(g.goal, g.assumptions, g.facts, self.timeout, vacuity=bool(ob.contracts), lemmas=lemmas,
                      vacuity_of=proper(g.assumptions),
                      rlimit=RL_EXACT, minimise=minimise or "within")
            if r.status == "proved" and not ob.contracts:
                v, about = self._vacuity_on_contract(ob, label) if self.contracts else (None, None)
                if v is None or v.status != "sat":
                    v, about = satisfiable(z3.BoolVal(True), proper(g.assumptions), g.facts, self.timeout, RL_EXACT), (g, ob)
                if v.status == "sat":
                    witness = (*about, v)
                elif v.status == "unsat":
                    r = replace(r, status="vacuous", core=v.core)
                else:
                    r = replace(r, status="unknown", reason="vacuity check: " + v.reason)
            elif r.witness is not None:
                witness = (g, ob, r)
            status = {"proved": PROVED, "violated": VIOLATED, "vacuous": VACUOUS, "unknown": UNKNOWN}[r.status]
            core, reason, model = r.core, r.reason, r.model
            if status == UNKNOWN and r1 is not None and r1.status == "unknown":
                reason = f"{reason}; relaxed/nlsat: {r1.reason}"
        if status == PROVED:
            with self.using(EXACT):
                res.warnings += self.case_warnings(ob, label, exact, witness)
        if ob.kind == "equivalence":
            res.assumed += [n for n, _ in exact().assumptions if n not in res.assumed]
        cr = CaseResult(label, status, 0.0, core if status != VACUOUS else [], reason)
        if status == VACUOUS:
            cr.reason = "the assumptions contradict each other: " + ", ".join(core)
            res.message = (res.message + "\n" if res.message else "") + f"{label}: {cr.reason}"
        decided = False  # a general UNKNOWN decided by a concrete scenario
        if status == UNKNOWN and not ob.contracts:
            # a general goal Z3 cannot decide: a scenario on a concrete contract, confirmed by the
            # interpreter, still decides it (the search is the same as for a violation)
            with self.using(EXACT):
                cx = self.counterexample(ob, label, exact(), model)
            if cx.get("confirmed"):
                status = cr.status = VIOLATED
                decided = True
                res.counterexample = res.counterexample or cx
                res.message = (res.message + "\n" if res.message else "") + f"{label}: {cx.get('note', '')}"
        if status == UNKNOWN:
            res.message = (res.message + "\n" if res.message else "") + f"{label}: unknown ({_why(reason)})"
        if status == VIOLATED and not decided:
            with self.using(EXACT):
                cx = self.counterexample(ob, label, exact(), model)
            if cx.get("confirmed") is False and cx.get("status") == UNKNOWN:
                cr.status = UNKNOWN
                cr.reason = cx.get("note", "")
            elif cx.get("confirmed") is False:
                cr.status = ERROR
                cr.reason = cx.get("note", "")
            if res.counterexample is None or (res.counterexample.get("confirmed") is not True and cx.get("confirmed")):
                res.counterexample = cx
            res.message = (res.message + "\n" if res.message else "") + f"{label}: {cx.get('note', '')}".rstrip(": ")
        cr.seconds = time.perf_counter() - t0
        res.cases.append(cr)

    def relaxed_goal(self, ob: Obligation, label: str) -> tuple[Goal, list]:
        """A case's RELAXED goal and its facts with the rounding lemmas: the query its first stage
        asks (a core reported for the case is a subset of these assumptions proving this goal)."""
        with self.using(RELAXED):
            gr = self.goal(ob, label)
            bx = self.be
            facts_r = gr.facts + bx.take_facts()
            facts_r += bx.rounding_lemmas([gr.goal] + [a for _, a in gr.assumptions] + facts_r)
        return gr, facts_r

    @staticmethod
    def _relaxed_stages(ob: Obligation, assumptions: list) -> list[list]:
        """The assumption sets a RELAXED proof is tried with, in order: a general goal first without
        the solve_tier facts about every earlier tier (many, and rarely needed: they slow nlsat
        down), then with them. A proof from fewer assumptions is a proof."""
        if ob.contracts or not any(n == EARLIER for n, _ in assumptions):
            return [assumptions]
        return [[a for a in assumptions if a[0] != EARLIER], assumptions]

    def _vacuity_on_contract(self, ob: Obligation, label: str):
        """A general obligation's assumptions are satisfiable when the same obligation's assumptions
        over a concrete contract are: every concrete instance is a model of the symbolic contract's
        assumptions (anycontract.py, soundness), and the concrete problem is far easier for Z3.
        Returns the answer and (the concrete goal, its obligation): what a witness is a model of.

        The assumptions of a transition or preservation goal are the state invariants, the action's
        argument domains and checks for one side, and the invariant's own `assume` (named after it):
        the same question for every invariant of an action without an `assume`, so a witness found
        once is the answer for all of them (the same query always has the same answer)."""
        first = self.contracts[0]
        if ob.kind == "frame":
            label = f"{first}>{next((c for c in self.contracts if c != first), first)}"
        oc = replace(ob, contracts=(first,))
        key = None
        if ob.kind in ("transition", "preservation") and ob.formal is not None:
            own = ob.formal.id if ob.formal.assume is not None and ob.formal.kind == "transition" else None
            key = ("vacuity", first, ob.action, self._side(label), own)
            hit = self._cache.get(key)
            if hit is not None:
                return hit[1], (hit[0], oc)
        with self.using(EXACT):
            gc = self.goal(oc, label)
            gc.facts = gc.facts + self.be.take_facts()
        v = self._assumptions_satisfiable(gc)
        if key is not None and v.status == "sat":
            self._cache[key] = (gc, v)
        return v, (gc, oc)

    def _assumptions_satisfiable(self, g: Goal):
        """`satisfiable` of a goal's assumptions and facts (RL_RELAXED), asked once per query: the
        same query has the same answer (solving.py), and the cases of many obligations ask the same
        one (a per-contract goal's action and side; a fact's instance on a concrete contract for each
        value of an enum parameter the contract fixes anyway). The model is kept, not the solver (a
        context: megabytes). Asked afresh while queries are recorded, so that each obligation's
        record holds its own."""
        def tid(x):
            return x.get_id() if z3.is_expr(x) else repr(x)

        asm = proper(g.assumptions)
        key = ("satisfiable", RL_RELAXED, tuple((n, tid(a)) for n, a in asm), tuple(tid(f) for f in g.facts))
        hit = None if is_recording() else self._cache.get(key)
        if hit is not None:
            return hit[0]
        v = satisfiable(z3.BoolVal(True), asm, g.facts, self.timeout, rlimit=RL_RELAXED)
        if v.status != "unknown":
            v = replace(v, solver=None)
            self._cache[key] = (v, asm, list(g.facts))  # the terms kept alive: ids stay theirs
        return v

    def _vacuity(self, exact, gr: Goal, facts_r, ob: Obligation | None = None, label: str = ""):
        """Are the assumptions satisfiable (EXACT)? The default solver first; when it gives up (it is
        incomplete with integers and products), nlsat on the RELAXED assumptions: unsatisfiable there
        means unsatisfiable (the relaxation over-approximates); satisfiable gives values that, pinned
        in the EXACT problem (all at once, then one by one), make a witness easy to check.
        Returns the answer and (goal, obligation): what a witness (a 'sat' answer's model) satisfies.
        `exact`: the EXACT goal, or a function building it (not needed when the contract decides)."""
        if ob is not None and not ob.contracts and self.contracts:
            w, about = self._vacuity_on_contract(ob, label)
            if w.status == "sat":
                return w, about
        g = exact() if callable(exact) else exact
        v = self._assumptions_satisfiable(g)
        if v.status != "unknown":
            return v, (g, ob)
        asm_r = proper(gr.assumptions)
        r = nlsat_check(z3.BoolVal(False), asm_r, facts_r, self.timeout, rlimit=RL_NLSAT)
        if r.status == "proved":  # the relaxed assumptions alone are unsatisfiable
            core, _ = canonical_core(z3.BoolVal(False), asm_r, facts_r, self.timeout, rlimit_nlsat=RL_CORE)
            proved(z3.BoolVal(False), asm_r, core, facts_r, "nlsat")
            return _Found(None, None, status="unsat", core=core), (g, ob)
        if r.status != "violated":
            return v, (g, ob)
        pins = []
        for d in r.model.decls():
            if d.arity() != 0 or d.range() != z3.RealSort() or "!" in d.name():
                continue
            val = to_fraction(r.model[d])
            if val is None:
                continue
            if not is_terminating(val):
                val = Fraction(round(val * 10 ** 8), 10 ** 8)
            pins.append(z3.Real(d.name()) == q(val))
        for attempt in ([pins] + [[p] for p in pins]):
            w = satisfiable(z3.And(*attempt) if attempt else z3.BoolVal(True), proper(g.assumptions), g.facts,
                            self.timeout, rlimit=RL_RELAXED)
            if w.status == "sat":
                return w, (g, ob)
        return v, (g, ob)

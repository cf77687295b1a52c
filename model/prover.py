"""The prover: proof obligations generated from the rulebook and discharged with Z3.

Every obligation comes from the rulebook: the invariants' formal content (spec/invariants.yaml,
`kind` / `formula` / ...), the actions and their checks, the contract profiles. Kinds:

    parameter     a family-8 fact about one contract's parameters (tiers ordered, born safe, ...)
    fact          a fact about the derived values of any position of a contract (family 3)
    parametric    the same fact for ANY tier table of n tiers satisfying the family-8 facts
    initial       a state invariant holds right after reset
    preservation  a state invariant holds after an action, from any state where all state invariants hold
    transition    an invariant relating the state before and after a successful action
    frame         an action on one symbol leaves another symbol (sharing the account) unchanged
    reachability  a check of an action can both pass and refuse (from states satisfying the invariants)
    sequence      bounded model checking: every sequence of `depth` actions from reset keeps every invariant
    equivalence   an auditor's alternative definition (--against) equals the rulebook's

Each obligation is split in cases (per side, per pair of symbols, per step); each case ends
PROVED (the unsat core names the assumptions used: `check:ID`, `arg:ACTION.ARG`, `hyp:INV` (a
state invariant in the state before), `assume:INV`, `SYMBOL.tiers[k]`, `domain:PARAM`, ...),
VIOLATED (with a counterexample), VACUOUS (the assumptions alone are unsatisfiable), UNKNOWN
(time-out or incompleteness: never shown as proved) or ERROR.

How a case is decided (encodings and their cost are measured in bench/bench_prove.py):
1. the goal is built twice from the same AST: EXACT (rounding through ToInt, enums as integers)
   and RELAXED (a rounded value is a fresh real with its defining inequalities, enums are reals:
   pure nonlinear real arithmetic, an over-approximation, so a proof there is a proof);
2. RELAXED with Z3's default solver and tracked assumptions (the core comes with the proof), then
   RELAXED with nlsat (complete for real arithmetic; core minimised by deletion), then EXACT with
   the default solver; valid lemmas about the roundings (bounds, monotonicity) are added to proofs;
3. vacuity: the EXACT assumptions must be satisfiable (a witness is found);
4. a violation is only believed in EXACT; it is searched again from reset (bounded model checking
   over the rulebook's own actions, up to `prefix_depth` requests before the step under proof) so
   that the counterexample is a reachable scenario, minimised toward small grid-aligned decimals,
   replayed through the exact interpreter (which must confirm it: else ERROR, a backend
   disagreement) and turned into a conformance vector. Without a reachable scenario the result is
   UNKNOWN (the invariant may hold without being inductive).
Work slices are Z3 resource limits (rlimit), not seconds, so the same rulebook gets the same
answers on a busy machine; `timeout` (seconds) caps every solver call.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import traceback
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import z3

from . import ast
from .diagnostics import SpecError
from .engine import ReferenceEngine
from .engine import contract_json as engine_contract_json
from .formal import Formal, FormalError, Names, _typed, _where, load_formal  # noqa: F401 - load_formal re-exported
from .interpreter import Env, Interpreter, compile_expr as icompile
from .numbers import format_decimal, is_terminating
from .parser import parse
from .printer import to_text
from .rulebook import Contract, Rulebook
from .yamlsafe import load_yaml_file
from .z3backend import (EXACT, RELAXED, SV, Backend, SymContract, SymEnv, as_bool, b_and, b_not, b_or, check,
                        merge, minimal_core, new_solver, nlsat_check, q, satisfiable, sv_equal, to_fraction)

PROVED, VIOLATED, UNKNOWN, VACUOUS, ERROR = "PROVED", "VIOLATED", "UNKNOWN", "VACUOUS", "ERROR"
# Work slices of the portfolio, in Z3's deterministic resource units (about 1M/s for the default
# solver, 11M/s for nlsat on this kind of problem); --timeout stays the wall-clock cap of each call.
RL_RELAXED = 1_500_000  # relaxed encoding, default solver (tracked assumptions)
RL_NLSAT = 25_000_000  # relaxed encoding, nlsat
RL_CORE = 3_000_000  # each deletion attempt when minimising an nlsat proof's core
RL_SPLIT = 1_000_000  # each case of a split (sequences)
RL_MINIMISE = 400_000  # each attempt to simplify one number of a counterexample
STATUSES = (PROVED, VIOLATED, UNKNOWN, VACUOUS, ERROR)
_RANK = {PROVED: 0, UNKNOWN: 1, VACUOUS: 2, VIOLATED: 3, ERROR: 4}
KINDS = ("parameter", "fact", "parametric", "initial", "preservation", "transition", "frame",
         "reachability", "sequence", "equivalence")


def exit_code(results: Iterable["Result"]) -> int:
    """0 every obligation proved; 1 any violated or vacuous; 2 any unknown or error (and none violated)."""
    st = {r.status for r in results}
    if st & {VIOLATED, VACUOUS}:
        return 1
    if st & {UNKNOWN, ERROR}:
        return 2
    return 0


def _dec(x: Any) -> Any:
    """A value for people and JSON: decimals as strings (exact), other values as they are."""
    if isinstance(x, Fraction):
        try:
            return format_decimal(x)
        except ValueError:
            return f"{x.numerator}/{x.denominator}"
    if isinstance(x, dict):
        return {k: _dec(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_dec(v) for v in x]
    return x


# ============================================================================ results
@dataclass
class CaseResult:
    label: str
    status: str
    seconds: float
    assumptions: list[str] = field(default_factory=list)
    reason: str = ""
    witness: dict | None = None


@dataclass
class Result:
    """One obligation's outcome (plain data: picklable, JSON-ready through `to_json`)."""

    id: str
    kind: str
    status: str
    seconds: float
    assumptions: list[str]
    counterexample: dict | None
    invariants: list[str]
    family: int | None
    action: str | None
    contracts: list[str]
    title: str
    statement: str
    cases: list[CaseResult] = field(default_factory=list)
    message: str = ""

    def to_json(self) -> dict:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 4)
        for c in d["cases"]:
            c["seconds"] = round(c["seconds"], 4)
        return d


@dataclass
class Obligation:
    id: str
    kind: str
    title: str
    invariants: tuple[str, ...] = ()
    family: int | None = None
    action: str | None = None
    contracts: tuple[str, ...] = ()
    formal: Formal | None = None
    cases: tuple[str, ...] = ()
    statement: str = ""
    data: Any = None  # kind-specific (check id, against entry, depth)


@dataclass
class Goal:
    """What a case asks of Z3: `goal` must follow from `assumptions` (named) and `facts`."""

    goal: Any
    assumptions: list[tuple[str, Any]]
    facts: list[Any] = field(default_factory=list)
    witness: bool = False  # the goal must be satisfiable instead (reachability)
    final: dict | None = None  # the last step (action, symbol, args) and free variables, for scenarios


@dataclass
class SymWorld:
    """A symbolic world: the account's fields and each symbol's symbol/position fields."""

    account: dict[str, SV]
    symbols: dict[str, dict[str, SV]]

    def view(self, sym: str) -> dict[str, SV]:
        return {**self.account, **self.symbols[sym]}


class _TEnv(SymEnv):
    """An env that reads `old.X` in `old`, `init.X` in `init` (transition and sequence formulas)."""

    __slots__ = ("old", "init")

    def __init__(self, backend, values, lazy=None, parent=None, contract=None, old=None, init=None):
        super().__init__(backend, values, lazy, parent, contract)
        self.old = old
        self.init = init

    def __getitem__(self, name: str) -> SV:
        if name.startswith("old.") and self.old is not None:
            return self.old[name[4:]]
        if name.startswith("init.") and self.init is not None:
            return self.init[name[5:]]
        return super().__getitem__(name)


# ============================================================================ concrete evaluation
class _CEnv(Env):
    """The interpreter's Env with `old.X` read in another Env (to confirm counterexamples)."""

    __slots__ = ("old", "prefixes")

    def __init__(self, values, lazy=None, parent=None, old=None, prefixes=None):
        super().__init__(values, lazy or {}, parent)
        self.old = old
        self.prefixes = dict(prefixes or {})
        if old is not None:
            self.prefixes["old."] = old

    def __missing__(self, key):
        for pre, env in self.prefixes.items():
            if key.startswith(pre):
                v = env[key[len(pre):]]
                self[key] = v
                return v
        return super().__missing__(key)


# ============================================================================ the prover
class Prover:
    """Generates the obligations of a rulebook and discharges them (see the module docstring)."""

    def __init__(self, rb: Rulebook, *, depth: int = 3, timeout: float = 10.0, contracts: Sequence[str] | None = None,
                 against: Sequence[dict] | None = None, prefix_depth: int = 3, minimize: bool = True):
        self.rb = rb
        self.depth = depth
        self.timeout = timeout
        self.prefix_depth = prefix_depth
        self.minimize = minimize
        self.contracts = list(contracts) if contracts else sorted(rb.contracts)
        self.interp = Interpreter(rb)
        self.against = list(against or [])
        self.formals: dict[str, Formal] = dict(rb.formals)  # read by the loader
        self.formal_errors: dict[str, str] = dict(rb.formal_errors)
        self.side_enum = next((f.ty.enum for f in rb.state if f.scope == "position" and f.ty.kind == "enum"), None)
        self.sides = list(rb.enums[self.side_enum]) if self.side_enum else [None]
        self._backends: dict[str, Backend] = {}
        self._mode = EXACT
        self._cache: dict = {}
        self.debug = False

    # -- helpers -------------------------------------------------------------------------------
    @property
    def be(self) -> Backend:
        """The active backend: EXACT (ToInt rounding, integer enums) or RELAXED (pure real arithmetic)."""
        b = self._backends.get(self._mode)
        if b is None:
            b = self._backends[self._mode] = Backend(self.rb, self._mode)
        return b

    def using(self, mode: str):
        prover = self

        class _Using:
            def __enter__(self):
                self.prev = prover._mode
                prover._mode = mode

            def __exit__(self, *exc):
                prover._mode = self.prev
        return _Using()

    def state_invariants(self) -> list[Formal]:
        return [f for f in self.formals.values() if f.kind == "state"]

    def of_kind(self, kind: str) -> list[Formal]:
        return [f for f in self.formals.values() if f.kind == kind]

    def own_checks(self, action: str):
        return [c for c in self.rb.actions[action].checks if c.origin is None]

    # -- obligations ---------------------------------------------------------------------------
    def obligations(self) -> list[Obligation]:
        """Every obligation, generated from the rulebook's invariants, actions, checks and contracts."""
        rb, out = self.rb, []
        for inv in rb.invariants:
            if inv.id in self.formal_errors:
                out.append(Obligation(f"{inv.id}/formal", "fact", inv.title, (inv.id,), inv.family,
                                      statement=inv.statement, data=self.formal_errors[inv.id]))
        sides = tuple(s or "any" for s in self.sides)
        for f in self.of_kind("parameter"):
            for c in self.contracts:
                out.append(Obligation(f"{f.id}/{c}", "parameter", f.inv.title, (f.id,), f.inv.family, None, (c,), f,
                                      ("tiers",), f.text()))
        for f in self.of_kind("fact"):
            for c in self.contracts:
                out.append(Obligation(f"{f.id}/{c}", "fact", f.inv.title, (f.id,), f.inv.family, None, (c,), f, sides,
                                      f.text()))
        tier_counts = sorted({len(rb.contracts[c].tiers) for c in self.contracts})
        for f in self.of_kind("fact"):
            for n in tier_counts:
                out.append(Obligation(f"{f.id}/any-{n}-tiers", "parametric", f.inv.title, (f.id,), f.inv.family, None,
                                      (), f, self.enum_param_cases(sides), f.text(), data=n))
        for f in self.state_invariants():
            for c in self.contracts:
                out.append(Obligation(f"{f.id}/reset/{c}", "initial", f.inv.title, (f.id,), f.inv.family, None, (c,),
                                      f, ("reset",), f.text()))
            for a in rb.actions:
                for c in self.contracts:
                    out.append(Obligation(f"{f.id}/{a}/{c}", "preservation", f.inv.title, (f.id,), f.inv.family, a,
                                          (c,), f, sides, f.text()))
        for f in self.of_kind("transition"):
            for a in f.actions:
                for c in self.contracts:
                    out.append(Obligation(f"{f.id}/{a}/{c}", "transition", f.inv.title, (f.id,), f.inv.family, a,
                                          (c,), f, sides, f.text()))
        pairs = [(a, b) for a in self.contracts for b in self.contracts if a != b] or \
                [(self.contracts[0], self.contracts[0])]
        for f in self.of_kind("frame"):
            for a in rb.actions:
                out.append(Obligation(f"{f.id}/{a}", "frame", f.inv.title, (f.id,), f.inv.family, a,
                                      tuple(self.contracts), f, tuple(f"{x}>{y}" for x, y in pairs), f.inv.statement))
        for a, act in rb.actions.items():
            for c in self.contracts:
                for chk in self.own_checks(a):
                    out.append(Obligation(f"reach/{chk.id}/{c}", "reachability", f"{chk.id} can pass and refuse", (),
                                          None, a, (c,), None, ("pass", "refuse"),
                                          f"{to_text(chk.require)} -> {chk.error}", data=("check", chk.id)))
                for call in act.calls:
                    out.append(Obligation(f"reach/{call.id}/{c}", "reachability",
                                          f"{call.id} ({call.action} inlined) can run and refuse", (), None, a, (c,),
                                          None, ("pass", "refuse"), f"{call.action} when {to_text(call.when) if call.when else 'always'}",
                                          data=("call", call.id)))
        if self.depth > 0:
            invs = tuple(sorted({f.id for f in self.formals.values() if f.kind in ("state", "transition")}))
            for c in self.contracts:
                out.append(Obligation(f"sequence/depth-{self.depth}/{c}", "sequence",
                                      f"every sequence of {self.depth} actions from reset keeps every invariant",
                                      invs, None, None, (c,), None, ("bmc",), "", data=self.depth))
        for entry in self.against:
            for c in self.contracts:
                out.append(Obligation(f"against/{entry['name']}/{c}", "equivalence",
                                      f"{entry['name']} equals the auditor's formula", tuple(entry.get("invariants", ())),
                                      None, None, (c,), None, ("any",),
                                      entry["text"] + (f"  (assuming {entry['assume_text']})" if entry.get("assume_text") else ""),
                                      data=entry))
        return out

    # -- discharging ---------------------------------------------------------------------------
    def discharge(self, ob: Obligation) -> Result:
        """Run one obligation: every case, vacuity, counterexample search; never raises."""
        t0 = time.perf_counter()
        res = Result(ob.id, ob.kind, PROVED, 0.0, [], None, list(ob.invariants), ob.family, ob.action,
                     list(ob.contracts), ob.title, ob.statement)
        try:
            if ob.id.endswith("/formal") and isinstance(ob.data, str):
                res.status, res.message = ERROR, ob.data
                return res
            for label in ob.cases:
                self._case(ob, label, res)
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
        """One case, by a portfolio: (1) the RELAXED encoding with nlsat, complete for nonlinear real
        arithmetic (a proof there is a proof: the relaxation over-approximates); its unsat core by
        `minimal_core`; then the EXACT assumptions' satisfiability (vacuity). (2) Else the EXACT
        encoding with the default solver, tracked assumptions and the rounding lemmas: proved,
        violated (a model of the exact semantics, then a scenario from reset), vacuous or unknown."""
        t0 = time.perf_counter()
        deadline = t0 + max(self.timeout, 0.001) * 2
        with self.using(EXACT):
            g = self.goal(ob, label)
            be = self.be
            g.facts = g.facts + be.take_facts()
        if g.witness:
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
        status, core, reason, model = None, [], "", None
        with self.using(RELAXED):
            gr = self.goal(ob, label)
            bx = self.be
            facts_r = gr.facts + bx.take_facts()
            facts_r += bx.rounding_lemmas([gr.goal] + [a for _, a in gr.assumptions] + facts_r)
        # (1) relaxed, default solver with tracked assumptions (the core comes with the proof);
        # (2) relaxed, nlsat (complete for real arithmetic; core by deletion); (3) exact, below
        proved_relaxed = False
        r1 = check(gr.goal, gr.assumptions, facts_r, self.timeout, vacuity=False, rlimit=RL_RELAXED)
        if r1.status == "proved":
            core, proved_relaxed = r1.core, True
        elif time.perf_counter() < deadline:
            r1 = nlsat_check(gr.goal, gr.assumptions, facts_r, self.timeout, rlimit=RL_NLSAT)
            if r1.status == "proved":
                core, complete = minimal_core(gr.goal, gr.assumptions, facts_r, min(self.timeout, 2.0),
                                              try_default=False, rlimit=RL_CORE)
                proved_relaxed = True
                if not complete:
                    reason = "unsat core not minimised (time)"
        if proved_relaxed:
            v = self._vacuity(g, gr, facts_r)
            if v.status == "sat":
                status = PROVED
            elif v.status == "unsat":
                status, core = VACUOUS, v.core
            else:
                status, reason = UNKNOWN, "vacuity check: " + v.reason
        else:
            lemmas = be.rounding_lemmas([g.goal] + [a for _, a in g.assumptions] + g.facts)
            left = max(0.001, min(self.timeout, deadline - time.perf_counter()))
            r = check(g.goal, g.assumptions, g.facts, left, vacuity=True, lemmas=lemmas)
            status = {"proved": PROVED, "violated": VIOLATED, "vacuous": VACUOUS, "unknown": UNKNOWN}[r.status]
            core, reason, model = r.core, r.reason, r.model
            if status == UNKNOWN and r1.status == "unknown":
                reason = f"{reason}; relaxed/nlsat: {r1.reason}"
        cr = CaseResult(label, status, 0.0, core if status != VACUOUS else [], reason)
        if status == VACUOUS:
            cr.reason = "the assumptions contradict each other: " + ", ".join(core)
            res.message = (res.message + "\n" if res.message else "") + f"{label}: {cr.reason}"
        if status == UNKNOWN:
            res.message = (res.message + "\n" if res.message else "") + f"{label}: unknown ({_why(reason)})"
        if status == VIOLATED:
            with self.using(EXACT):
                cx = self.counterexample(ob, label, g, model)
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

    def _vacuity(self, g: Goal, gr: Goal, facts_r):
        """Are the assumptions satisfiable (EXACT)? The default solver first; when it gives up (it is
        incomplete with integers and products), nlsat on the RELAXED assumptions: unsatisfiable there
        means unsatisfiable (the relaxation over-approximates); satisfiable gives values that, pinned
        in the EXACT problem (all at once, then one by one), make a witness easy to check."""
        v = satisfiable(z3.BoolVal(True), g.assumptions, g.facts, self.timeout, rlimit=RL_RELAXED)
        if v.status != "unknown":
            return v
        r = nlsat_check(z3.BoolVal(False), gr.assumptions, facts_r, self.timeout, rlimit=RL_NLSAT)
        if r.status == "proved":  # the relaxed assumptions alone are unsatisfiable
            core, _ = minimal_core(z3.BoolVal(False), gr.assumptions, facts_r, min(self.timeout, 2.0), rlimit=RL_CORE)
            return _Found(None, None, status="unsat", core=core)
        if r.status != "violated":
            return v
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
            w = satisfiable(z3.And(*attempt) if attempt else z3.BoolVal(True), g.assumptions, g.facts,
                            self.timeout, rlimit=RL_RELAXED)
            if w.status == "sat":
                return w
        return v

    # -- building goals ------------------------------------------------------------------------
    def goal(self, ob: Obligation, label: str) -> Goal:
        return getattr(self, "_goal_" + ob.kind)(ob, label)

    def _side(self, label: str) -> str | None:
        head = label.split(", ", 1)[0]
        return head if head in self.sides else None

    def enum_param_cases(self, sides: Sequence[str]) -> tuple[str, ...]:
        """Case labels over the sides and every value of each enum-valued contract parameter
        ("long, maintenance_basis=mark"): a parametric fact is proved for each value separately,
        which together cover every contract (the values are the parameter's whole domain)."""
        enums = [(p.name, self.rb.enums[p.enum]) for p in self.rb.params if p.enum]
        combos = [", ".join(f"{n}={v}" for n, v in zip([n for n, _ in enums], vals))
                  for vals in itertools.product(*[vs for _, vs in enums])]
        return tuple(f"{s}, {c}" if c else s for s in sides for c in combos)

    def _enum_case(self, label: str) -> dict[str, str]:
        """The enum-valued parameters a case label fixes."""
        return dict(part.split("=", 1) for part in label.split(", ")[1:])

    def fresh_world(self, symbols: Sequence[str], side: str | None, tag: str = "s") -> tuple[SymWorld, list]:
        """A world of fresh variables (one side fixed) and the state invariants of each symbol as
        named hypotheses (`hyp:INV-x`, `hyp:INV-x@SYM` with several symbols)."""
        key = ("world", tuple(symbols), side, tag, self._mode)
        if key in self._cache:
            return self._cache[key]
        be = self.be
        account = be.symbolic_state(f"{tag}.", scopes=("account",))
        syms = {}
        for s in symbols:
            syms[s] = be.symbolic_state(f"{tag}.{s}.", scopes=("symbol", "position"), side=side)
        w = SymWorld(account, syms)
        hyps = []
        for s in symbols:
            env = be.env(be_contract(self, s), w.view(s))
            for f in self.state_invariants():
                name = f"hyp:{f.id}" + (f"@{s}" if len(symbols) > 1 else "")
                hyps.append((name, as_bool(be.compile_expr(f.formula, env).v)))
        facts = be.take_facts()
        self._cache[key] = (w, hyps, facts)
        return w, hyps, facts

    def _arg_side(self, action: str, args: dict[str, SV], side: str | None) -> list:
        """Fix enum arguments of the side's enumeration to the case's side (open_position side)."""
        out = []
        if side is None:
            return out
        for x in self.rb.actions[action].args:
            if x.ty.kind == "enum" and x.ty.enum == self.side_enum:
                out.append(args[x.name].v == self.be.enum_val(self.be.enum_index[self.side_enum][side]))
        return out

    def _action_step(self, action: str, contract: SymContract, state: dict[str, SV], tag: str, side=None):
        be = self.be
        args = be.symbolic_args(action, f"{tag}.{action}.")
        run = be.run_action(action, contract, state, args)
        assumptions = []
        for x in self.rb.actions[action].args:
            if x.valid is not None:
                sv = args[x.name]
                ok = b_or(sv.null, be.compile_expr(x.valid, be.env(contract, {}, args)).v)
                assumptions.append((f"arg:{action}.{x.name}", as_bool(ok)))
        for chk in run.checks:
            assumptions.append((f"check:{chk.id}", chk.passes))
        facts = [f for f in self._arg_side(action, args, side)]
        return args, run, assumptions, facts

    def _trans_env(self, formal: Formal | None, action: str, contract: SymContract, run, post_extra=None) -> _TEnv:
        be = self.be
        defines = formal.defines(action) if formal is not None else {}
        pre = _TEnv(be, {}, defines, run.env, contract)
        locals_ = {"liquidated": SV(z3.BoolVal(False), kind="bool"), "fill_price": SV(z3.RealVal(0), z3.BoolVal(True))}
        for k, v in run.locals.items():
            locals_[k] = v if v.v is not None else SV(z3.RealVal(0), v.null, v.kind, v.enum)
        vals = {**contract.values(), **run.post, **locals_, **(post_extra or {})}
        return _TEnv(be, vals, {**be.derived, **defines}, run.env, contract, old=pre)

    def _goal_transition(self, ob: Obligation, label: str, state_formula: Formal | None = None) -> Goal:
        side = self._side(label)
        sym = ob.contracts[0]
        w, hyps, facts = self.fresh_world([sym], side)
        c = be_contract(self, sym)
        args, run, assumptions, afacts = self._action_step(ob.action, c, w.view(sym), "x", side)
        f = ob.formal
        env = self._trans_env(f, ob.action, c, run)
        if f.assume is not None and f.kind == "transition":
            assumptions.append((f"assume:{f.id}", as_bool(self.be.compile_expr(f.assume, env).v)))
        goal = as_bool(self.be.compile_expr(f.formula, env).v)
        if ob.kind == "preservation":  # the state stays well formed too (position fields null iff no position)
            goal = b_and(goal, self.shape(run.post))
        return Goal(goal, hyps + assumptions, facts + afacts,
                    final={"action": ob.action, "symbol": sym, "args": args, "world": w, "run": run})

    _goal_preservation = _goal_transition

    def shape(self, state: Mapping[str, SV]):
        """The state's shape: every position field is null exactly when there is no position, and
        every enumeration field holds one of its values."""
        hp = as_bool(state["has_position"].v)
        parts = [as_bool(state[f].null) == z3.Not(hp) for f in self.be.position_fields if f in state]
        for f in self.rb.state:
            sv = state.get(f.name)
            if sv is not None and f.ty.kind == "enum" and sv.v is not None:
                parts.append(b_or(sv.null, z3.Or(*[sv.v == self.be.enum_val(i)
                                                   for i in range(len(self.rb.enums[f.ty.enum]))])))
        return b_and(*parts)

    def _goal_initial(self, ob: Obligation, label: str) -> Goal:
        sym = ob.contracts[0]
        w, path = self.reset_world([sym], "r")
        env = self.be.env(be_contract(self, sym), w.view(sym))
        goal = as_bool(self.be.compile_expr(ob.formal.formula, env).v)
        return Goal(goal, path, self.be.take_facts(), final={"world": w})

    def _fact_env(self, f: Formal, contract: SymContract, state: dict[str, SV], tag: str):
        be = self.be
        fvars = {}
        for n, ty, _ in f.forall:
            fvars[n] = be._var(f"{tag}.{n}", ty)
        base = be.env(contract, state, extra=fvars, lets=f.defines(None))
        assume = as_bool(be.compile_expr(f.assume, base).v) if f.assume is not None else None
        if f.with_:
            over = {n: be.compile_expr(x, base) for n, x in f.with_}
            hyp = SymEnv(be, {**contract.values(), **state, **fvars, **over}, {**be.derived, **f.defines(None)}, base,
                         contract)
        else:
            hyp = base
        goal = as_bool(be.compile_expr(f.formula, hyp).v)
        return fvars, assume, goal, base, hyp

    def _goal_fact(self, ob: Obligation, label: str) -> Goal:
        side = self._side(label)
        sym = ob.contracts[0]
        w, hyps, facts = self.fresh_world([sym], side)
        c = be_contract(self, sym)
        fvars, assume, goal, base, hyp = self._fact_env(ob.formal, c, w.view(sym), "v")
        assumptions = list(hyps)
        if assume is not None:
            assumptions.append((f"assume:{ob.formal.id}", assume))
        return Goal(goal, assumptions, facts + self.be.take_facts(),
                    final={"symbol": sym, "forall": fvars, "world": w, "fact_env": (base, hyp)})

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

    def _goal_frame(self, ob: Obligation, label: str) -> Goal:
        a_sym, b_sym = label.split(">")
        be = self.be
        syms = [a_sym, b_sym] if a_sym != b_sym else [a_sym, a_sym + "#2"]
        w, hyps, facts = self.fresh_world_frame(syms)
        ca, cb = be_contract(self, a_sym), be_contract(self, b_sym)
        args, run, assumptions, afacts = self._action_step(ob.action, ca, w.view(syms[0]), "x")
        before = be.env(cb, {**w.account, **w.symbols[syms[1]]})
        post_account = {k: v for k, v in run.post.items() if k in w.account}
        after = be.env(cb, {**post_account, **w.symbols[syms[1]]})
        eqs = []
        names = [f.name for f in self.rb.state if f.scope in ("symbol", "position")] + [d.name for d in self.rb.derived]
        for n in names:
            eqs.append(sv_equal(before[n], after[n]))
        return Goal(b_and(*eqs), hyps + assumptions, facts + afacts + be.take_facts(),
                    final={"action": ob.action, "symbol": a_sym, "other": b_sym, "args": args, "world": w, "run": run,
                           "names": names, "before": before, "after": after, "syms": syms})

    def fresh_world_frame(self, syms):
        return self.fresh_world(syms, None, "f")

    def _goal_reachability(self, ob: Obligation, label: str) -> Goal:
        sym = ob.contracts[0]
        w, hyps, facts = self.fresh_world([sym], None, "q")
        c = be_contract(self, sym)
        args, run, assumptions, afacts = self._action_step(ob.action, c, w.view(sym), "rq")
        valid = [a for a in assumptions if a[0].startswith("arg:")]
        kind, cid = ob.data
        if kind == "check":
            chk = next(ch for ch in run.checks if ch.id == cid)
            goal = b_and(chk.reached, chk.applies, chk.require) if label == "pass" else chk.refuses
        else:
            block = [ch for ch in run.checks if ch.id.startswith(cid + ".")]
            if label == "pass":
                goal = b_and(block[0].reached, *[ch.applies for ch in block[:1]], *[ch.passes for ch in block])
            else:
                goal = b_or(*[ch.refuses for ch in block])
                goal = as_bool(goal)
        return Goal(as_bool(goal), hyps + valid, facts + afacts, witness=True,
                    final={"action": ob.action, "symbol": sym, "args": args, "world": w, "run": run})

    def _goal_equivalence(self, ob: Obligation, label: str) -> Goal:
        side = self._side(label)
        sym = ob.contracts[0]
        entry = ob.data
        be = self.be
        w, hyps, facts = self.fresh_world([sym], side)
        c = be_contract(self, sym)
        env = be.env(c, w.view(sym))
        mine = env[entry["name"]]
        alt = be.compile_expr(entry["expr"], env)
        assumptions = list(hyps) + [("position open", as_bool(env["has_position"].v))]
        if entry.get("assume") is not None:
            assumptions.append(("assume:against", as_bool(be.compile_expr(entry["assume"], env).v)))
        return Goal(sv_equal(mine, alt), assumptions, facts + be.take_facts(),
                    final={"symbol": sym, "world": w, "against": (mine, alt, env)})

    # -- sequences (bounded model checking from reset) -------------------------------------------
    def reset_world(self, symbols: Sequence[str], tag: str) -> tuple[SymWorld, list]:
        """The state right after reset: initial values from the rulebook; a field without an initial
        value (the available balance) is a reset argument, constrained by the state invariants'
        `initial_assume`."""
        be = self.be
        account, syms = {}, {}
        for f in self.rb.state:
            if f.scope == "account":
                if f.initial is None and not f.ty.nullable:
                    account[f.name] = be._var(f"{tag}.reset.{f.name}", f.ty)
                else:
                    account[f.name] = be.concrete_value(f.initial, f.ty)
        for s in symbols:
            syms[s] = {f.name: be.concrete_value(f.initial, f.ty) for f in self.rb.state if f.scope in ("symbol", "position")}
            for f in self.rb.state:
                if f.scope == "position":
                    syms[s][f.name] = be.concrete_value(None, f.ty)
        w = SymWorld(account, syms)
        path = []
        for s in symbols:
            env = be.env(be_contract(self, s), w.view(s))
            for f in self.state_invariants():
                if f.initial_assume is not None:
                    path.append((f"initial:{f.id}", as_bool(be.compile_expr(f.initial_assume, env).v)))
        return w, path

    def bmc_step(self, world: SymWorld, choices: Sequence[tuple[str, str]], tag: str):
        """One step of any of `choices` ((action, symbol) pairs), chosen by an integer `tag.op`: the
        chosen request must be valid and pass its checks. Returns (world', taken, step info)."""
        be = self.be
        sel = z3.Int(f"{tag}.op") if be.enum_sort == "int" else z3.Real(f"{tag}.op")
        runs = []
        for j, (a, s) in enumerate(choices):
            c = be_contract(self, s)
            args = be.symbolic_args(a, f"{tag}.{j}.")
            run = be.run_action(a, c, world.view(s), args)
            venv = be.env(c, {}, args)
            valid = b_and(*[as_bool(b_or(args[x.name].null, be.compile_expr(x.valid, venv).v))
                            for x in self.rb.actions[a].args if x.valid is not None])
            applied = b_and(sel == j, valid, run.ok)
            runs.append({"action": a, "symbol": s, "args": args, "run": run, "applied": applied, "contract": c})
        account = dict(world.account)
        for k in account:
            for r in reversed(runs):
                account[k] = merge(r["applied"], r["run"].post[k], account[k])
        syms = {s: dict(v) for s, v in world.symbols.items()}
        for s in syms:
            for k in syms[s]:
                for r in reversed(runs):
                    if r["symbol"] == s:
                        syms[s][k] = merge(r["applied"], r["run"].post[k], syms[s][k])
        taken = as_bool(b_or(*[r["applied"] for r in runs]))
        new = SymWorld(account, syms)
        snap, eqs = self.snapshot(new, tag)
        return snap, b_and(taken, *eqs), {"sel": sel, "runs": runs, "tag": tag}

    def snapshot(self, world: SymWorld, tag: str) -> tuple[SymWorld, list]:
        """The same world with every field a fresh variable equal to its (merged) term: later steps
        then read simple variables (the solver keeps the equalities), which keeps deep sequences fast."""
        eqs = []

        def fresh(name: str, sv: SV) -> SV:
            if sv.v is None:
                return sv
            if z3.is_const(sv.v) and (sv.null is False or z3.is_const(as_bool(sv.null))):
                return sv
            sort = sv.v.sort()
            v = z3.Const(f"{tag}.{name}", sort)
            eqs.append(v == sv.v)
            null = sv.null
            if null is not False:
                nb = z3.Bool(f"{tag}.{name}.null")
                eqs.append(nb == as_bool(null))
                null = nb
            return SV(v, null, sv.kind, sv.enum)

        account = {k: fresh(k, v) for k, v in world.account.items()}
        syms = {s: {k: fresh(f"{s}.{k}", v) for k, v in fields.items()} for s, fields in world.symbols.items()}
        return SymWorld(account, syms), eqs

    def prefix_choices(self, symbols: Sequence[str]) -> list[tuple[str, str]]:
        """The requests a scenario may use before the step under test: every action that can change
        the state (query changes nothing), on every symbol of the world."""
        return [(a, s) for s in symbols for a, act in self.rb.actions.items() if act.effects]

    # -- witnesses and counterexamples ---------------------------------------------------------
    def _witness(self, g: Goal, model) -> dict:
        fin = g.final or {}
        out = {}
        if "run" in fin:
            be = self.be
            st = fin["world"].view(fin["symbol"])
            out["state"] = {k: _dec(be.value(model, v)) for k, v in st.items()}
            out["args"] = {k: _dec(be.value(model, v)) for k, v in fin["args"].items()}
        return out

    def counterexample(self, ob: Obligation, label: str, g: Goal, model) -> dict:
        """A readable counterexample: searched from reset, minimised, replayed, as a vector case."""
        try:
            if ob.kind == "parameter":
                return self._cx_parameter(ob, label, g, model)
            if ob.kind == "parametric":
                return self._cx_parametric(ob, label, g, model)
            return self._cx_scenario(ob, label, g, model)
        except Exception as e:  # pragma: no cover - reported, never hidden
            return {"confirmed": False, "status": ERROR, "note": f"counterexample construction failed: {e}",
                    "trace": traceback.format_exc(limit=8)}

    def _cx_raw(self, ob, label, g, model, note, status, confirmed):
        be = self.be
        fin = g.final or {}
        vals = {}
        for k, v in (fin.get("forall") or {}).items():
            vals[k] = _dec(be.value(model, v))
        if "state" in fin:
            vals.update({k: _dec(be.value(model, v)) for k, v in fin["state"].items()})
        if "contract" in fin:
            c = fin["contract"]
            vals["contract"] = {k: _dec(be.value(model, c.sv(k))) for k in c.params}
            vals["tiers"] = [{k: _dec(be.value(model, SV(v))) for k, v in t.items()} for t in c.tiers]
        if "world" in fin and "symbol" in fin:
            st = fin["world"].view(fin["symbol"])
            vals["state"] = {k: _dec(be.value(model, v)) for k, v in st.items()}
        return {"case": label, "invariant": ",".join(ob.invariants), "confirmed": confirmed, "status": status,
                "note": note, "values": vals, "text": _render_values(vals)}

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
            for i in idx:
                env = Env({**cv, **{f"tier.{k}": v for k, v in rows[i].items()},
                           **({f"next_tier.{k}": v for k, v in rows[i + 1].items()} if f.over == "tier_pairs" else {})})
                if not icompile(f.formula)(env):
                    bad.append(i)
            what = [f"tier {i + 1}" + (f" and tier {i + 2}" if f.over == "tier_pairs" else "") for i in bad]
            values = {"failing": what}
            for i in bad:
                values[f"tier {i + 1}"] = _dec(dict(rows[i]))
                if f.over == "tier_pairs":
                    values[f"tier {i + 2}"] = _dec(dict(rows[i + 1]))
                    b = rows[i]["max_notional"]
                    values[f"at notional {_dec(b)}"] = {
                        f"tier {i + 1} gives": _dec(b * rows[i]["maintenance_margin_rate"] - rows[i]["maintenance_amount"]),
                        f"tier {i + 2} gives": _dec(b * rows[i + 1]["maintenance_margin_rate"]
                                                    - rows[i + 1]["maintenance_amount"])}
            confirmed = bool(bad)
            notionals = [rows[i]["max_notional"] for i in bad]
        else:
            env = Env({**cv, **fv})
            ok = icompile(f.formula)(env)
            confirmed = not ok and (f.assume is None or icompile(f.assume)(env))
            values = {n: _dec(v) for n, v in fv.items()}
            values.update({f"maintenance margin at {n}": _dec(self._mm_at(cv, v)) for n, v in fv.items()})
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

    def _mm_at(self, cv, x):
        """The rulebook's maintenance_margin at notional x (the interpreter's formula, not a copy)."""
        if not isinstance(x, Fraction):
            return None
        return Env({**cv, "notional": x}, self.interp.derived)["maintenance_margin"]

    def _minimize_free(self, g: Goal, model, fvars: dict, grid: dict) -> dict:
        s = z3.Solver()
        s.set("timeout", max(1, int(min(self.timeout, 5) * 1000)))
        for f in g.facts:
            s.add(f)
        for _, a in g.assumptions:
            s.add(a)
        s.add(z3.Not(g.goal))
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
    def _cx_scenario(self, ob, label, g, model) -> dict:
        be = self.be
        t0 = time.perf_counter()
        found = None
        for d in range(0, self.prefix_depth + 1):
            if ob.kind == "initial" and d > 0:
                break
            if ob.kind in ("fact", "equivalence") and d == 0:
                continue  # no position at reset
            prob = self._bmc_problem(ob, label, d)
            if prob is None:
                continue
            r = satisfiable(prob["target"], prob["path"], prob["facts"], min(self.timeout, 2.0))
            if r.status == "unknown":
                r = self._guided(prob, t0 + 3 * self.timeout)
            if r is not None and r.status == "sat":
                found = (prob, r)
                break
            if time.perf_counter() - t0 > 3 * self.timeout:
                break
        if found is None:
            raw = self._cx_raw(ob, label, g, model, status=UNKNOWN, confirmed=False,
                               note=(f"the induction step fails from a state satisfying the state invariants, but "
                                     f"no scenario of up to {self.prefix_depth} requests from reset reaches a "
                                     f"violation: the invariant may hold on reachable states without being inductive"))
            return raw
        prob, r = found
        return self._scenario(ob, label, prob, r)

    def _bmc_problem(self, ob, label, depth) -> dict | None:
        """From reset, `depth` requests of any kind, then the obligation's own step; `target` is the
        violation."""
        be = self.be
        side = self._side(label)
        if ob.kind == "frame":
            a_sym, b_sym = label.split(">")
            symbols = [a_sym] if a_sym == b_sym else [a_sym, b_sym]
        else:
            a_sym = ob.contracts[0]
            symbols = [a_sym]
        tag = f"cx{depth}"
        w, path = self.reset_world(symbols, tag)
        steps = []
        for i in range(depth):
            w, taken, info = self.bmc_step(w, self.prefix_choices(symbols), f"{tag}.s{i + 1}")
            path.append((f"step {i + 1}", taken))
            steps.append(info)
        facts = be.take_facts()
        c = be_contract(self, a_sym)
        final = None
        if side is not None and ob.kind in ("transition", "preservation", "fact", "equivalence"):
            st = w.view(a_sym)
            fld = next(f.name for f in self.rb.state if f.scope == "position" and f.ty.kind == "enum")
            path.append(("side", as_bool(b_or(b_not(st["has_position"].v),
                                              st[fld].v == be.enum_val(be.enum_index[self.side_enum][side])))))
        if ob.kind in ("transition", "preservation"):
            args, run, asm, afacts = self._action_step(ob.action, c, w.view(a_sym), f"{tag}.last", side)
            env = self._trans_env(ob.formal, ob.action, c, run)
            target = b_not(as_bool(be.compile_expr(ob.formal.formula, env).v))
            if ob.formal.assume is not None and ob.formal.kind == "transition":
                path.append(("assume", as_bool(be.compile_expr(ob.formal.assume, env).v)))
            path += asm
            facts += afacts
            final = {"action": ob.action, "symbol": a_sym, "args": args, "run": run, "env": env, "world": w}
        elif ob.kind == "initial":
            env = be.env(c, w.view(a_sym))
            target = b_not(as_bool(be.compile_expr(ob.formal.formula, env).v))
            final = {"world": w, "symbol": a_sym}
        elif ob.kind == "fact":
            fvars, assume, goal, base, hyp = self._fact_env(ob.formal, c, w.view(a_sym), f"{tag}.v")
            if assume is not None:
                path.append(("assume", assume))
            target = b_not(goal)
            final = {"symbol": a_sym, "forall": fvars, "world": w, "fact_env": (base, hyp),
                     "forall_units": {n: u for n, _, u in ob.formal.forall}}
        elif ob.kind == "equivalence":
            env = be.env(c, w.view(a_sym))
            entry = ob.data
            mine, alt = env[entry["name"]], be.compile_expr(entry["expr"], env)
            path.append(("position open", as_bool(env["has_position"].v)))
            if entry.get("assume") is not None:
                path.append(("assume", as_bool(be.compile_expr(entry["assume"], env).v)))
            if side is not None:
                path.append(("side", as_bool(be.compile_expr(parse(f"side == '{side}'"), env).v)))
            target = b_not(sv_equal(mine, alt))
            final = {"symbol": a_sym, "world": w, "against": (mine, alt, env)}
        elif ob.kind == "frame":
            b_sym = label.split(">")[1]
            if b_sym == a_sym:
                return None
            args, run, asm, afacts = self._action_step(ob.action, c, w.view(a_sym), f"{tag}.last")
            cb = be_contract(self, b_sym)
            before = be.env(cb, w.view(b_sym))
            post_account = {k: v for k, v in run.post.items() if k in w.account}
            after = be.env(cb, {**post_account, **w.symbols[b_sym]})
            names = [f.name for f in self.rb.state if f.scope in ("symbol", "position")] + [d.name for d in self.rb.derived]
            target = b_not(b_and(*[sv_equal(before[n], after[n]) for n in names]))
            path += asm
            facts += afacts
            final = {"action": ob.action, "symbol": a_sym, "other": b_sym, "args": args, "run": run, "world": w,
                     "before": before, "after": after, "names": names}
        else:
            return None
        facts += be.take_facts()
        return {"target": as_bool(target), "path": path, "facts": facts, "steps": steps, "final": final,
                "symbols": symbols, "reset": w, "tag": tag, "depth": depth}

    def _guided(self, prob, deadline: float):
        """When the plain search for a scenario does not finish (nonlinear integer problems, e.g. an
        exact equality of equity and maintenance margin), fix the sizes and then the prices of the
        requests to round values one by one (each fixed product N x P makes the rest linear), checking
        after each: the first satisfiable problem wins. A fix that makes it unsatisfiable is undone."""
        s = new_solver(min(self.timeout, 2.0))
        for f in prob["facts"]:
            s.add(f)
        for _, a in prob["path"]:
            s.add(a)
        s.add(prob["target"])
        for name, sv, grid, unit in self._inputs(prob, None, with_units=True):
            if unit not in ("size", "price") or time.perf_counter() > deadline:
                continue
            cands = [grid * k for k in (1, 10, 100)] if unit == "size" else \
                [round(Fraction(10) ** k / grid) * grid for k in range(0, 6)]
            for cand in cands:
                s.push()
                s.add(sv.v == q(cand))
                r = s.check()
                if r == z3.sat:
                    return _Found(s.model(), s)
                if r == z3.unsat:
                    s.pop()
                    continue
                break  # unknown: keep this value, fix the next input too
            if time.perf_counter() > deadline:
                break
        return None

    def _inputs(self, prob, model, with_units: bool = False) -> list:
        """The numeric inputs of a scenario (reset balance, the requests' arguments, free variables)
        with their grid, in the order they are minimised (sizes, prices, leverages, money, rates).
        Without a model: the arguments of every possible request of each step."""
        be = self.be
        out = []
        for f in self.rb.state:
            if f.scope == "account" and f.initial is None and not f.ty.nullable:
                v = z3.Real(f"{prob['tag']}.reset.{f.name}")
                out.append((f"reset.{f.name}", SV(v), self._grid(f.type_name, prob["symbols"][0]), 50, f.type_name))
        for i, info in enumerate(prob["steps"]):
            if model is not None:
                runs = [info["runs"][int(to_fraction(model.eval(info["sel"], model_completion=True)))]]
            else:
                runs = info["runs"]
            for r in runs:
                for x in self.rb.actions[r["action"]].args:
                    if x.ty.kind == "num":
                        out.append((f"step {i + 1}.{x.name}", r["args"][x.name], self._grid(x.type_name, r["symbol"]),
                                    _ORDER.get(x.type_name, 40), x.type_name))
        fin = prob["final"] or {}
        if "args" in fin:
            for x in self.rb.actions[fin["action"]].args:
                if x.ty.kind == "num":
                    out.append((f"last.{x.name}", fin["args"][x.name], self._grid(x.type_name, fin["symbol"]),
                                _ORDER.get(x.type_name, 40), x.type_name))
        for n, sv in (fin.get("forall") or {}).items():
            if sv.kind == "num":
                unit = (fin.get("forall_units") or {}).get(n, "price")
                out.append((f"forall.{n}", sv, self._grid(unit, fin["symbol"]), _ORDER.get(unit, 40), unit))
        out.sort(key=lambda t: t[3])
        if with_units:
            return [(n, sv, g, u) for n, sv, g, _, u in out]
        return [(n, sv, g) for n, sv, g, _, _ in out]

    def _grid(self, unit: str, symbol: str) -> Fraction:
        """The grid a value of `unit` is aligned to: the contract parameter of that unit (tick_size
        for prices, lot_size for sizes, money_step for money), 1 for leverage, 0.0001 for rates."""
        c = self.rb.contracts[symbol]
        cands = [p.name for p in self.rb.params if p.unit == unit]
        if unit == "leverage":
            return Fraction(1)
        if len(cands) == 1 and unit not in ("rate",):
            return c.params[cands[0]]
        return Fraction(1, 10000)

    def _concrete_scenario(self, prob, r, tag: str):
        """Fix the requests Z3 chose, minimise the numbers one by one, and read the scenario off the
        model: (model, starting balance, [(action, symbol, args)])."""
        be = self.be
        model = r.model
        s = r.solver
        s.set("timeout", max(1, int(min(self.timeout, 5) * 1000)))
        for info in prob["steps"]:
            s.add(info["sel"] == model.eval(info["sel"], model_completion=True))
        model = self._minimise(s, model, self._inputs(prob, model))
        balance_name = next((f.name for f in self.rb.state if f.scope == "account" and f.initial is None), None)
        balance = be.value(model, SV(z3.Real(f"{tag}.reset.{balance_name}"))) if balance_name else Fraction(0)
        steps = []
        for info in prob["steps"]:
            j = int(to_fraction(model.eval(info["sel"], model_completion=True)))
            rr = info["runs"][j]
            steps.append((rr["action"], rr["symbol"], {k: be.value(model, v) for k, v in rr["args"].items()}))
        return model, balance, steps

    def _run_scenario(self, symbols, balance, steps):
        """Replay steps through the reference engine (the exact interpreter) after a reset. Returns the
        engine and one record per step: request, reply, the interpreter's Outcome, and the step
        symbol's values before and after."""
        eng = ReferenceEngine(self.rb)
        contracts = {s: contract_json(self.rb, s) for s in symbols}
        eng.handle({"id": 0, "op": "reset", "args": {"contracts": contracts, "available_balance": format_decimal(balance)}})
        records = []
        for i, (op, sym, args) in enumerate(steps):
            req = {"op": op, "args": {"symbol": sym, **{k: _req_value(v) for k, v in args.items() if v is not None}}}
            pre = self._values(eng, sym)
            reply = eng.handle({"id": i + 1, **req})
            records.append({"request": req, "reply": {k: v for k, v in reply.items() if k != "id"},
                            "outcome": eng.last_outcome, "pre": pre, "post": self._values(eng, sym)})
        return eng, records

    def _scenario(self, ob, label, prob, r) -> dict:
        be = self.be
        model, balance, steps = self._concrete_scenario(prob, r, prob["tag"])
        symbols = prob["symbols"]
        fin = prob["final"] or {}
        last_index = None
        if "action" in fin:
            steps.append((fin["action"], fin["symbol"], {k: be.value(model, v) for k, v in fin["args"].items()}))
            last_index = len(steps) - 1
        forall = {k: be.value(model, v) for k, v in (fin.get("forall") or {}).items()}
        return self._replay(ob, label, symbols, balance, steps, last_index, forall, prob)

    def _replay(self, ob, label, symbols, balance, steps, last_index, forall, prob) -> dict:
        """Run the scenario through the reference engine (the exact interpreter) and confirm the
        violation there; return the counterexample record."""
        eng, records = self._run_scenario(symbols, balance, steps)
        trace = [{"request": rec["request"], "reply": rec["reply"]} for rec in records]
        pre_vals = post_vals = outcome = None
        if last_index is not None:
            last = records[last_index]
            pre_vals, post_vals, outcome = last["pre"], last["post"], last["outcome"]
        sym = prob["final"].get("symbol", symbols[0]) if prob["final"] else symbols[0]
        f = ob.formal
        confirmed, values = False, {}
        try:
            if ob.kind in ("transition", "preservation"):
                ok_reply = trace[last_index]["reply"]["ok"]
                ev_ok, values = self._eval_transition(f, ob.action, pre_vals, post_vals, outcome, steps[last_index][2])
                confirmed = ok_reply and ev_ok is False
            elif ob.kind == "initial":
                vals = self._values(eng, sym)
                confirmed = icompile(f.formula)(Env(vals, self.interp.derived)) is False
                values = {"state": self._named(vals)}
            elif ob.kind == "fact":
                vals = self._values(eng, sym)
                held, values = self._eval_fact(f, vals, forall)
                confirmed = held is False
            elif ob.kind == "equivalence":
                vals = self._values(eng, sym)
                env = Env(vals, self.interp.derived)
                mine = env[ob.data["name"]]
                alt = icompile(ob.data["expr"])(env)
                values = {"state": self._named(vals), f"rulebook {ob.data['name']}": _dec(mine),
                          "auditor's formula": _dec(alt)}
                confirmed = mine != alt
            elif ob.kind == "frame":
                other = prob["final"]["other"]
                before = {**self._values_pre_other(pre_vals, eng, other)}
                after = self._values(eng, other)
                eb, ea = Env(before, self.interp.derived), Env(after, self.interp.derived)
                diffs = {n: {"before": _dec(eb[n]), "after": _dec(ea[n])} for n in prob["final"]["names"]
                         if _safe(eb, n) != _safe(ea, n)}
                values = {"other symbol": other, "changed": diffs}
                confirmed = bool(diffs)
        except Exception as e:
            values["error"] = f"{type(e).__name__}: {e}"
        inv = ",".join(ob.invariants) or ob.id
        if ob.kind == "equivalence":
            note = f"the auditor's formula differs from the rulebook's {ob.data['name']} on this input"
        else:
            note = f"{inv} is violated" + (f" by {ob.action}" if ob.action else "") + f" ({label})"
        if not confirmed:
            note = "the interpreter does not confirm the violation found by Z3 (a backend disagreement)"
        cx = {"case": label, "invariant": inv, "confirmed": confirmed, "status": VIOLATED if confirmed else ERROR,
              "note": note, "formula": f.text() if f else (ob.statement or ""),
              "balance": _dec(balance), "steps": trace, "last_step": (last_index + 1) if last_index is not None else None,
              "free": {k: _dec(v) for k, v in forall.items()}, "values": values}
        title = f"counterexample to {inv}" + (f" after {ob.action}" if ob.action else "") + f" ({ob.contracts and ob.contracts[0] or ''} {label})"
        vec_steps = [(st["request"]["op"], st["request"]["args"]["symbol"],
                      {k: v for k, v in st["request"]["args"].items() if k != "symbol"}) for st in trace]
        if ob.kind == "fact" and f.with_:  # the state's derived values, then the state `with` describes
            vec_steps.append(("query", sym, {}))
            vec_steps += self._realise_with(f, sym, forall, eng)
        vec_steps.append(("query", sym, {}))
        cx["vector"] = self._vector_from_steps(ob, symbols, balance, vec_steps, inv, title)
        cx["text"] = _render_scenario(cx)
        return cx

    def _minimise(self, s, model, inputs):
        """Each input in turn (sizes, prices, leverages, money, rates) fixed to the simplest value
        that keeps the scenario a counterexample (`_nice`), preferring values that leave every input
        still free on a fine decimal grid (requests carry decimals; prices need not be
        tick-aligned, N-mark-precision); then any input still not a finite decimal is snapped to the
        nearest value with k decimals."""
        be = self.be
        fine = Fraction(1, 10 ** 8)

        def decimal(sv, grid):
            g = grid if grid and grid >= fine else fine
            k = sv.v / q(g)
            return b_or(sv.null, z3.ToReal(z3.ToInt(k)) == k)

        deadline = time.perf_counter() + min(15.0, 3 * self.timeout)
        s.set("rlimit", RL_MINIMISE)
        if self.minimize:
            for idx, (name, sv, grid) in enumerate(inputs):
                cur = be.value(model, sv)
                if cur is None or time.perf_counter() > deadline:
                    continue
                rest = [decimal(v, g) for _, v, g in inputs[idx + 1:]]
                chosen = None
                for with_rest in (True, False):
                    for cand in _nice(cur, grid):
                        if time.perf_counter() > deadline:
                            break
                        s.push()
                        s.add(sv.v == q(cand))
                        if with_rest:
                            s.add(*rest)
                        if s.check() == z3.sat:
                            model = s.model()
                            chosen = cand
                        s.pop()
                        if chosen is not None:
                            break
                    if chosen is not None:
                        break
                if chosen is not None:
                    s.add(sv.v == q(chosen))
        s.set("rlimit", 0)
        for name, sv, grid in inputs:
            cur = be.value(model, sv)
            if not isinstance(cur, Fraction) or is_terminating(cur):
                continue
            model = _fix_first(s, sv, (Fraction(round(cur * 10 ** k), 10 ** k) for k in range(0, 19))) or model
        return model

    def _realise_with(self, f: Formal, sym: str, forall: dict, eng) -> list:
        """The requests that put a fact's `with` overrides into the state (an action whose effect sets
        the field from its single argument), so the vector shows the hypothetical state."""
        out = []
        vals = self._values(eng, sym)
        for fld, e in f.with_:
            env = Env({**vals, **forall}, self.interp.derived)
            try:
                v = icompile(e)(env)
            except Exception:
                continue
            for name, act in self.rb.actions.items():
                if len(act.args) == 1 and not act.checks and any(
                        ef.kind == "set" and ef.when is None and any(n == fld and isinstance(x, ast.Name) and x.name == f"arg.{act.args[0].name}"
                                                                     for n, x in ef.assignments) for ef in act.effects):
                    if isinstance(v, Fraction) and v > 0:
                        try:
                            format_decimal(v)
                            out.append((name, sym, {act.args[0].name: v}))
                        except ValueError:
                            rounded = Fraction(round(v * 10 ** 8), 10 ** 8)
                            out.append((name, sym, {act.args[0].name: rounded}))
                    break
        return out

    def _values(self, eng: ReferenceEngine, sym: str) -> dict:
        w = eng.world
        return {**w.contract_values[sym], **w.account, **w.symbols[sym]}

    def _values_pre_other(self, pre_vals, eng, other):
        # the other symbol before the last step: its own fields (unchanged) with the account before
        w = eng.world
        acct = {k: pre_vals[k] for k in w.account}
        return {**w.contract_values[other], **acct, **w.symbols[other]}

    def _named(self, vals: Mapping[str, Any]) -> dict:
        """State fields and every derived value (where defined), for people."""
        env = Env(vals, self.interp.derived)
        out = {}
        for f in self.rb.state:
            if f.name in vals:
                out[f.name] = _dec(vals[f.name])
        if vals.get("has_position"):
            for d in self.rb.derived:
                out[d.name] = _dec(_safe(env, d.name))
        return out

    def _eval_transition(self, f: Formal, action, pre_vals, post_vals, outcome, args):
        """The formula on the replayed step (interpreter semantics); returns (value, named values)."""
        a = self.rb.actions[action]
        defs = {n: icompile(e) for n, e in f.defines(action).items()} if f.kind == "transition" else {}
        lazy_pre = {**self.interp.derived, **{n: icompile(e) for n, e in a.lets}, **defs}
        pre = Env({**pre_vals, **{f"arg.{k}": v for k, v in args.items()}}, lazy_pre)
        locals_ = {"liquidated": False, "fill_price": None}
        locals_.update(outcome.locals or {} if outcome is not None else {})
        lets = {n: pre[n] for n, _ in a.lets}
        post = _CEnv({**post_vals, **locals_, **lets, **{f"arg.{k}": v for k, v in args.items()}},
                     {**self.interp.derived, **defs}, None, old=pre)
        value = icompile(f.formula)(post)
        named = {"before": self._named(pre_vals), "after": self._named(post_vals),
                 "arguments": {k: _dec(v) for k, v in args.items() if v is not None}}
        if defs:
            named["defined"] = {n: {"before": _dec(_safe(pre, n)), "after": _dec(_safe(post, n))} for n in defs}
        if outcome is not None and outcome.locals:
            named["locals"] = {k: _dec(v) for k, v in outcome.locals.items()}
        if a.lets:
            named["lets"] = {k: _dec(v) for k, v in lets.items()}
        named["formula"] = f"{f.text()}  ->  {value}"
        return value, named

    def _eval_fact(self, f: Formal, vals, forall):
        defs = {n: icompile(e) for n, e in f.defines(None).items()}
        base = Env({**vals, **forall}, {**self.interp.derived, **defs})
        if f.assume is not None and not icompile(f.assume)(base):
            return None, {"note": "the assumption does not hold on the replayed state"}
        if f.with_:
            over = {n: icompile(e)(base) for n, e in f.with_}
            hyp = Env({**vals, **forall, **over}, {**self.interp.derived, **defs}, base)
        else:
            over, hyp = {}, base
        value = icompile(f.formula)(hyp)
        named = {"state": self._named(vals), "free": {k: _dec(v) for k, v in forall.items()}}
        if over:
            named["with"] = {k: _dec(v) for k, v in over.items()}
            named["in that state"] = {d.name: _dec(_safe(hyp, d.name)) for d in self.rb.derived}
        named["formula"] = f"{f.text()}  ->  {value}"
        return value, named

    def _vector_from_steps(self, ob, symbols, balance, steps, inv, title) -> dict | None:
        """A conformance vector case (format marginspec-vectors/1) replaying `steps`, the expected
        replies computed by the reference engine (the rulebook's semantics)."""
        eng = ReferenceEngine(self.rb)
        contracts = {s: contract_json(self.rb, s) for s in symbols}
        r0 = eng.handle({"id": 0, "op": "reset", "args": {"contracts": contracts, "available_balance": format_decimal(balance)}})
        requests = [{"op": op, "args": {"symbol": sym, **{k: _req_value(v) for k, v in args.items() if v is not None}}}
                    for op, sym, args in steps]
        if not r0.get("ok"):
            # a contract breaking a parameter invariant: reset refuses it (N-reset). The case pins that
            # refusal, after a reset with the rulebook's contracts that reset accepts, and the state kept.
            good = {s: contract_json(self.rb, s) for s in sorted(self.rb.contracts) if s not in symbols}
            good = {s: c for s, c in good.items()
                    if eng.handle({"id": 0, "op": "reset", "args": {"contracts": {s: c}, "available_balance": "0"}})["ok"]}
            if not good:
                return None
            requests = [{"op": "reset", "args": {"contracts": contracts, "available_balance": format_decimal(balance)}},
                        {"op": "query", "args": {"symbol": next(iter(good))}}]
            contracts = good
            eng.handle({"id": 0, "op": "reset", "args": {"contracts": good, "available_balance": format_decimal(balance)}})
        vsteps = []
        for i, req in enumerate(requests):
            reply = eng.handle({"id": i + 1, **req})
            expect = {"ok": True, "result": reply["result"]} if reply["ok"] else {"ok": False, "error": reply["error"]["code"]}
            vsteps.append({"request": req, "expect": expect})
        rules = [x for x in (list(ob.invariants) + ([ob.action] if ob.action else [])) if x]
        body = json.dumps({"contracts": contracts, "balance": format_decimal(balance), "steps": vsteps}, sort_keys=True)
        cid = "cx-" + hashlib.sha1(body.encode()).hexdigest()[:12]
        case = {"id": cid, "title": title, "rules": rules or [ob.id.split("/")[0]], "flags": [], "level": "MUST",
                "source": "counterexample",
                "comment": f"prover obligation {ob.id}: the rulebook's replies (replayed by the interpreter) on the "
                           f"scenario that violates {inv}",
                "steps": vsteps}
        return {"group": {"title": title, "contracts": contracts, "available_balance": format_decimal(balance),
                          "cases": [case]}, "steps": vsteps}

    # -- sequences -----------------------------------------------------------------------------
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
        so a proof from them is a proof), then from the whole path; else the EXACT encoding (the
        same subsets, split by side and request, then the whole path). Vacuity: the path of each
        step is satisfiable in the EXACT encoding."""
        t0 = time.perf_counter()
        with self.using(RELAXED):
            R = self.build_sequence(ob)
            bx = self.be
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
            for k, (lbl, goal) in enumerate(goals):
                tg = time.perf_counter()
                goal_r = R["goals"][i][k][1]
                r = None
                for asm_r in locals_r + [full_r]:
                    lem = bx.rounding_lemmas([goal_r] + [a for _, a in asm_r] + R["facts"], [goal_r])
                    r = nlsat_check(goal_r, asm_r, R["facts"] + lem, self.timeout, rlimit=RL_NLSAT // 2)
                    if r.status == "proved":
                        r.core = sorted(n for n, _ in asm_r)
                        break
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
                    r = check(goal, full, X["facts"], self.timeout, vacuity=False, lemmas=lem)
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
            r = check(goal, assumptions, facts + [c], self.timeout, vacuity=False, lemmas=lemmas, rlimit=RL_SPLIT)
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
                    values[lbl] = {"totals": _dec(totals), "formula": f"{to_text(f.sequence)}  ->  {v}"}
                    if v is False:
                        return True, values
            except Exception as e:  # reported with the values, never hidden
                values[lbl] = {"error": f"{type(e).__name__}: {e}"}
        return False, values

    def run(self, ob: Obligation) -> Result:
        """Discharge one obligation (sequences included)."""
        if ob.kind == "sequence":
            res = Result(ob.id, ob.kind, PROVED, 0.0, [], None, list(ob.invariants), ob.family, ob.action,
                         list(ob.contracts), ob.title, ob.statement)
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


# ============================================================================ helpers
_ORDER = {"size": 10, "price": 20, "leverage": 25, "money": 30, "rate": 35}


def be_contract(p: Prover, sym: str) -> SymContract:
    """The concrete contract of a symbol (`SYM#2`: a second symbol with the same profile)."""
    sym = sym.split("#", 1)[0]
    key = ("contract", sym, p._mode)
    if key not in p._cache:
        p._cache[key] = p.be.concrete_contract(sym)
    return p._cache[key]


def _why(reason: str) -> str:
    """Z3's reason for unknown, for people (a time-out says so)."""
    if "canceled" in reason or "timeout" in reason or "resource limit" in reason:
        return f"solver time-out or work limit reached: {reason}"
    return reason


class _Found:
    """A search's outcome shaped like `satisfiable`'s (status, model, solver, core, reason)."""

    def __init__(self, model, solver, status: str = "sat", core=(), reason: str = ""):
        self.model = model
        self.solver = solver
        self.status = status
        self.core = list(core)
        self.reason = reason


def _fix_first(s, sv: SV, candidates):
    """Fix `sv` in solver `s` to the first candidate the constraints allow (the equation stays
    asserted); the new model, or None when no candidate fits."""
    for cand in candidates:
        s.push()
        s.add(sv.v == q(cand))
        if s.check() == z3.sat:
            model = s.model()
            s.pop()
            s.add(sv.v == q(cand))
            return model
        s.pop()
    return None


def contract_json(rb: Rulebook, symbol: str) -> dict:
    return engine_contract_json(rb.contracts[symbol], rb)


def _req_value(v):
    if isinstance(v, Fraction):
        try:
            return format_decimal(v)
        except ValueError:
            return format_decimal(Fraction(round(v * 10 ** 12), 10 ** 12))
    return v


def _safe(env, name):
    try:
        return env[name]
    except Exception:
        return None


def _nice(x: Fraction, grid: Fraction) -> list[Fraction]:
    """Candidate values for a counterexample's number `x`, simplest first: powers of ten up to its
    magnitude (on the grid), then `x` with 1, 2, 3... significant digits, then `x` on the grid."""
    import math
    if not isinstance(x, Fraction):
        return []
    if x == 0:
        return [Fraction(0)]
    sign = -1 if x < 0 else 1
    ax = abs(x)
    g = grid if grid and grid > 0 else Fraction(1, 10 ** 8)

    def on_grid(v: Fraction) -> Fraction:
        return round(v / g) * g

    out: list[Fraction] = []

    def add(v: Fraction) -> None:
        v = on_grid(v)
        if v > 0 and sign * v not in out:
            out.append(sign * v)

    e = math.floor(math.log10(float(ax)))
    lo = math.floor(math.log10(float(g)))
    for k in list(range(0, e + 2)) + list(range(-1, lo - 1, -1)):  # 1, 10, ..., then 0.1, 0.01, ...
        add(Fraction(10) ** k)
    for digits in range(1, 6):
        unit = Fraction(10) ** (e - digits + 1)
        add(round(ax / unit) * unit)
        add((ax // unit + 1) * unit)
    add(ax)
    on = out[:24]
    # then off the grid (a mark price need not be tick-aligned): a few significant digits
    g = Fraction(1, 10 ** 8)
    extra: list[Fraction] = []
    for digits in range(1, 7):
        unit = Fraction(10) ** (e - digits + 1)
        for v in (round(ax / unit) * unit, (ax // unit + 1) * unit):
            if v > 0 and sign * v not in on and sign * v not in extra:
                extra.append(sign * v)
    return on + extra[:8]


def _render_values(vals: Mapping, indent: str = "    ") -> str:
    lines = []
    for k, v in vals.items():
        if isinstance(v, dict):
            lines.append(f"{indent}{k}:")
            lines.append(_render_values(v, indent + "  "))
        elif isinstance(v, list):
            lines.append(f"{indent}{k}: {', '.join(str(x) for x in v)}")
        else:
            lines.append(f"{indent}{k}: {v}")
    return "\n".join(x for x in lines if x)


def _human(v: Any) -> str:
    """A value for people: an exact fraction also gets its decimal approximation."""
    if isinstance(v, str) and "/" in v:
        try:
            return f"{v} (~{float(Fraction(v)):.10g})"
        except (ValueError, ZeroDivisionError):
            return v
    return str(v)


def _fmt_args(args: Mapping) -> str:
    return " ".join(f"{k}={_human(v)}" for k, v in args.items())


def _fmt_reply(reply: Mapping) -> str:
    if not reply.get("ok"):
        return f"refused {reply['error']['code']}"
    res = reply.get("result") or {}
    flat = {k: v for k, v in res.items() if not isinstance(v, dict)}
    return "ok" + (" " + _fmt_args(flat) if flat else "")


_SHOW = ("notional", "unrealized_pnl", "equity", "maintenance_margin", "minimum_margin", "liquidatable", "leverage",
         "liquidation_root", "liquidation_price", "bankruptcy_price")


def _render_scenario(cx: dict) -> str:
    lines = [f"    reset available_balance={cx.get('balance')}"] if cx.get("steps") else []
    for i, st in enumerate(cx.get("steps") or [], 1):
        req = st["request"]
        args = {k: v for k, v in req["args"].items() if k != "symbol"}
        mark = "  <- the step under proof" if cx.get("last_step") == i and cx.get("case") != "bmc" else ""
        lines.append(f"    {i}. {req['op']} {req['args'].get('symbol', '')} {_fmt_args(args)}  ->  "
                     f"{_fmt_reply(st['reply'])}{mark}")
    if cx.get("free"):
        lines.append(f"    for {_fmt_args(cx['free'])}")
    vals = cx.get("values") or {}
    for part in ("before", "after", "state", "in that state", "final state"):
        if part in vals and isinstance(vals[part], dict):
            shown = {k: v for k, v in vals[part].items() if k in _SHOW or k in ("isolated_margin", "mark_price",
                                                                                  "available_balance", "insurance_fund",
                                                                                  "size", "entry_price", "side",
                                                                                  "has_position")}
            lines.append(f"    {part}: " + ", ".join(f"{k}={_human(v)}" for k, v in shown.items()))
    for part in ("with", "defined", "lets", "locals", "changed"):
        if part in vals and vals[part]:
            lines.append(f"    {part}: {json.dumps(vals[part], sort_keys=True)}")
    if "formula" in vals:
        lines.append(f"    {vals['formula']}")
    for k in vals:
        if k.startswith("rulebook ") or k == "auditor's formula":
            lines.append(f"    {k} = {_human(vals[k])}")
    return "\n".join(lines)


# ============================================================================ --against
def load_against(rb: Rulebook, path: str | Path) -> list[dict]:
    """Alternative definitions: `NAME: {expr: ..., assume: ...}` (or `NAME: "expr"`), NAME a derived
    value of the rulebook; each expression type-checked against the rulebook's declaration."""
    doc = load_yaml_file(Path(path))
    names = Names(rb)
    if isinstance(doc, dict) and "definitions" in doc:
        doc = doc["definitions"]
    if not isinstance(doc, dict):
        raise SpecError([])  # pragma: no cover
    out = []
    derived = rb.derived_by_name()
    for name, spec in doc.items():
        if name not in derived:
            raise FormalError(f"{_where(name)}--against: '{name}' is not a derived value of the rulebook")
        if isinstance(spec, str):
            spec = {"expr": spec}
        e, t = _typed(names, spec["expr"], {}, f"--against {name}")
        decl = derived[name].ty
        if t.kind != decl.kind or (t.kind == "num" and t.dims is not None and t.dims != decl.dims):
            raise FormalError(f"{_where(spec['expr'])}--against {name}: the formula is "
                              f"{names.units.describe(t)}, the rulebook's {name} is {names.units.describe(decl)}")
        assume = None
        if spec.get("assume") is not None:
            assume, _ = _typed(names, spec["assume"], {}, f"--against {name}, assume", True)
        out.append({"name": str(name), "expr": e, "assume": assume, "text": to_text(e),
                    "assume_text": to_text(assume) if assume is not None else None,
                    "invariants": [str(x) for x in spec.get("invariants", [])] if isinstance(spec.get("invariants"), list) else []})
    return out

"""The solver layer: every question the prover puts to Z3, asked so that the answer depends on the
question alone, not on the machine's load, on what the process built before, or on `--jobs`.

Why each answer is reproducible:
* each query is copied into a fresh Z3 context (`z3.Context`) before it is checked: Z3's
  heuristics depend on the ids of the terms, and those depend on everything built earlier in the
  process; in a fresh context the ids follow from the query's own structure;
* fixed random seeds, and work bounded by Z3's resource counter (`rlimit`), which counts the
  same on a fast, a slow or a busy machine; the wall-clock `timeout` is only a safety net (an
  answer it cuts short is 'unknown', never a proof);
* unsat cores are minimal and canonical (`canonical_core`): deletion over the tracked assumptions
  in sorted name order, so the core names exactly the assumptions the proof cannot do without and
  does not depend on which core the solver happened to find first.

API (`assumptions` are (name, Bool) pairs tracked for cores, several pairs may share a name;
`facts` are always-true constraints; the results' models live in Z3's main context):

    check(claim, assumptions, facts, timeout, vacuity, lemmas, rlimit)   # 'proved' | 'violated' | 'vacuous' | 'unknown'
    satisfiable(formula, assumptions, facts, timeout, rlimit)            # 'sat' | 'unsat' | 'unknown'
    nlsat_check(claim, assumptions, facts, timeout, rlimit)              # RELAXED goals (pure real arithmetic)
    canonical_core(claim, assumptions, facts, ...)                       # the minimal core, and whether complete
    minimise_within / minimise_from(ask, ...)                            # minimal cores by asking `ask` (check, nlsat_core.py)
    isolated(hard, timeout, rlimit) / found_sat(hard, timeout, rlimit)   # further questions about one query
    recording() / label(case) / proved(...)                              # the unsat queries as SMT-LIB 2 text (smt2.py)
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Sequence

import z3

from .z3terms import as_bool as _as_bool

SEED = 0  # every solver's random seed: the same query always takes the same path
LEMMA_SLICE = 1_000_000  # rlimit of the first attempt (with the lemmas) of `check`
RL_CHECK = 20_000_000  # the work of a `check` or `satisfiable` given no rlimit (about 20 s of the default solver)
RL_CORE_DEFAULT = 400_000  # each deletion attempt of `canonical_core` with the default solver
RL_CORE_NLSAT = 300_000  # ... and with nlsat when the default solver gives up (nlsat honours small limits only)
RL_WITHIN = 2_000_000  # each deletion attempt of `minimise_within` with the default solver (needs seen <= 550k)
# the default solver's deletion attempts (`canonical_core`) without its Groebner-basis step, which
# counts no work: an attempt of the `contradictory-assumptions` fixture's vacuity core ran a minute
# there counting a tenth of its limit, until the wall-clock safety net cut it; without the step it
# answers in 0.02 s (and the shipped rulebook's reports are the same, --per-contract too)
NO_GROBNER = (("smt.arith.nl.grobner", False),)
NOT_MINIMAL = "unsat core not minimised (work limit)"  # a proof's reason when its core may not be minimal


@dataclass
class CheckResult:
    """The outcome of a query: 'proved' (with the core: the names of the assumptions used),
    'violated' (with a model), 'vacuous' (the assumptions alone are unsatisfiable, core = the
    conflicting ones), 'sat' / 'unsat' for `satisfiable`, or 'unknown' (with Z3's reason).
    `engine` says which procedure answered ('default' or 'nlsat'), for the cross-check and the
    SMT-LIB export."""

    status: str
    core: list[str] = field(default_factory=list)
    model: z3.ModelRef | None = None
    reason: str = ""
    seconds: float = 0.0
    solver: z3.Solver | None = None
    engine: str = "default"
    witness: z3.ModelRef | None = None  # 'proved' with vacuity: a model of the assumptions (sanity.py reuses it)


class Recorder:
    """The unsat queries answered while it is active (`recording()`), as SMT-LIB 2 text, for the
    second solver and `--smt2-out`; `case` labels the queries recorded next."""

    def __init__(self):
        self.case = ""
        self.queries: list = []


_RECORDER: Recorder | None = None


@contextmanager
def recording():
    """Record every proof query answered inside the block (see `proved`)."""
    global _RECORDER
    prev, _RECORDER = _RECORDER, Recorder()
    try:
        yield _RECORDER
    finally:
        _RECORDER = prev


def label(case: str) -> None:
    """Label the proof queries recorded next (an obligation's case)."""
    if _RECORDER is not None:
        _RECORDER.case = case


def is_recording() -> bool:
    """Is a `recording()` block active: is a proof query worth building for `proved`?"""
    return _RECORDER is not None


def proved(claim, assumptions: Sequence[tuple[str, Any]], names: Sequence[str], facts: Sequence[Any],
           engine: str) -> None:
    """Note an unsat query: `claim` follows from the assumptions named `names` and the facts.
    Recorded (as its SMT-LIB 2 text) only inside `recording()`."""
    if _RECORDER is None:
        return
    from .smt2 import ProofQuery, render
    keep = set(names)
    groups = [a for n, a in _grouped(assumptions) if n in keep]
    _, terms = _fresh(list(facts) + groups + [z3.Not(_as_bool(claim))])
    logic, text = render(terms, [f"case: {_RECORDER.case}", f"proved unsat by z3 ({engine}) from: "
                                 + (", ".join(sorted(keep)) or "the facts alone")])
    _RECORDER.queries.append(ProofQuery(_RECORDER.case, engine, tuple(sorted(keep)), logic, text))


def _grouped(assumptions: Sequence[tuple[str, Any]]) -> list[tuple[str, z3.BoolRef]]:
    """The assumptions as one conjunction per name, sorted by name (the canonical order)."""
    by: dict[str, list] = {}
    for name, a in assumptions:
        by.setdefault(str(name), []).append(_as_bool(a))
    return [(n, xs[0] if len(xs) == 1 else z3.And(*xs)) for n, xs in sorted(by.items())]


def _timeout_ms(timeout: float | None) -> int:
    """Z3's `timeout` parameter (milliseconds) for the safety net of `timeout` seconds; none: Z3's
    "no limit" (its largest value)."""
    return max(1, int(timeout * 1000)) if timeout else 4294967295


def _configure(s: z3.Solver, timeout: float | None, rlimit: int | None) -> None:
    s.set("random_seed", SEED)
    s.set("rlimit", int(rlimit or 0))
    s.set("timeout", _timeout_ms(timeout))


def _translated(terms: Sequence[Any]) -> tuple[z3.Context, z3.AstVector | None]:
    """The terms copied into a new context (one translation, so shared subterms stay shared): the
    ids there, and so Z3's heuristics, follow from the query alone."""
    ctx = z3.Context()
    if not terms:
        return ctx, None
    vec = z3.AstVector()
    for t in terms:
        vec.push(_as_bool(t))
    return ctx, vec.translate(ctx)


def _fresh(terms: Sequence[Any]) -> tuple[z3.Context, list]:
    """`_translated`, as a list of terms."""
    ctx, out = _translated(terms)
    return ctx, ([out[i] for i in range(len(out))] if out is not None else [])


def _tracking(terms: Sequence[Any], n_hard: int, names: Sequence[str]):
    """`terms` (the `n_hard` hard ones, then one per name) in a new context (`_translated`): (the
    context, the translated terms, each name's term, each name's tracking literal `@name`)."""
    ctx, vec = _translated(terms)
    by_name = {n: vec[n_hard + i] for i, n in enumerate(names)}
    return ctx, vec, by_name, {n: z3.Bool(f"@{n}", ctx) for n in names}


def _core_names(s: z3.Solver, lits: dict[str, z3.BoolRef], names: Sequence[str]) -> list[str]:
    """The names among `names` whose tracking literal is in `s`'s unsat core, sorted."""
    ids = {lits[n].get_id(): n for n in names}
    return sorted({ids[c.get_id()] for c in s.unsat_core() if c.get_id() in ids})


def _main_model(s: z3.Solver) -> z3.ModelRef:
    """`s`'s model, copied into Z3's main context (where the callers' terms live)."""
    return s.model().translate(z3.main_ctx())


def simplifies_to_true(terms: Sequence[Any]) -> list[bool]:
    """Which of the terms Z3's simplifier (a sound rewriter) reduces to true by itself, in a context
    holding these terms alone (so the answer follows from them, not from the process's history)."""
    _, vec = _translated(terms)
    return [vec is not None and z3.is_true(z3.simplify(vec[i])) for i in range(len(terms))]


def _assert_all(s: z3.Solver, vec: z3.AstVector | None, start: int = 0, end: int | None = None) -> None:
    """Assert the terms vec[start:end] in `s` (the same as `s.add` of each, through the C API)."""
    if vec is None:
        return
    ref = s.ctx.ref()
    for i in range(start, len(vec) if end is None else end):
        z3.Z3_solver_assert(ref, s.solver, z3.Z3_ast_vector_get(ref, vec.vector, i))


def new_solver(timeout: float | None, rlimit: int | None = None, ctx: z3.Context | None = None) -> z3.Solver:
    """A solver with the fixed seed, a resource limit (`rlimit`, Z3's own work counter: the same
    problem gets the same answer on a busy machine) and the wall-clock safety net `timeout`."""
    s = z3.Solver(ctx=ctx)
    _configure(s, timeout, rlimit)
    return s


class _Tracked:
    """One query in a fresh context: hard constraints, and each named assumption behind a tracking
    literal `@name` (for cores). Each `check` of a subset of the names is a new solver in a context
    of its own (the first in the one made here, each later one in a new copy): an incremental
    solver's learnt state makes later checks slower and less predictable, and so does a context
    earlier checks used (a deletion attempt of the `contradictory-assumptions` fixture's
    INV-isolation-frame/add_margin ran past its work limit for a minute there, counting under a
    tenth of it, where a new context answers in 0.1 s); a copy costs about 1.5 ms."""

    def __init__(self, hard: Sequence[Any], assumptions: Sequence[tuple[str, Any]], timeout, rlimit,
                 options: Sequence[tuple[str, Any]] = ()):
        groups = _grouped(assumptions)
        self.names = [n for n, _ in groups]
        self._terms = list(hard) + [a for _, a in groups]
        self.n_hard = len(hard)
        self.timeout = timeout
        self.options = tuple(options)  # solver parameters of every check
        self._fresh()
        self.used = False
        self.s = new_solver(timeout, rlimit, self.ctx)

    def _fresh(self) -> None:
        self.ctx, self.vec, self.terms, self.lits = _tracking(self._terms, self.n_hard, self.names)

    def check(self, names: Sequence[str], rlimit: int | None = None):
        """(z3 answer, core names) under the assumptions `names`; the solver stays in `self.s`."""
        if self.used:
            self._fresh()
        self.used = True
        self.s = s = new_solver(self.timeout, rlimit, self.ctx)
        for k, v in self.options:
            s.set(k, v)
        _assert_all(s, self.vec, 0, self.n_hard)
        for n in names:
            s.add(z3.Implies(self.lits[n], self.terms[n]))
        r = s.check(*[self.lits[n] for n in names])
        return r, (_core_names(s, self.lits, names) if r == z3.unsat else [])

    def model(self):
        return _main_model(self.s)

    def handed_back(self) -> "IsolatedSolver":
        """The solver with the assumptions made hard, for further questions (minimising a model)."""
        for n in self.names:
            self.s.add(self.lits[n])
        self.s.set("rlimit", 0)  # the caller sets its own limits
        return IsolatedSolver(self.s, self.ctx)


class IsolatedSolver:
    """A solver in its own context that takes and gives main-context terms and models: further
    questions about one query (a counterexample's numbers made simple, one by one) stay
    independent of the process's history. Construct with `isolated(hard, timeout, rlimit)`."""

    def __init__(self, s: z3.Solver, ctx: z3.Context):
        self.s, self.ctx = s, ctx

    def add(self, *terms) -> None:
        for t in terms:
            self.s.add(_as_bool(t).translate(self.ctx))

    def set(self, key: str, value) -> None:
        self.s.set(key, value)

    def push(self) -> None:
        self.s.push()

    def pop(self) -> None:
        self.s.pop()

    def check(self):
        return self.s.check()

    def model(self):
        return _main_model(self.s)

    def reason_unknown(self) -> str:
        return self.s.reason_unknown()


def isolated(hard: Sequence[Any], timeout: float | None, rlimit: int | None) -> IsolatedSolver:
    """A fresh-context solver holding `hard` (see IsolatedSolver)."""
    ctx, vec = _translated(hard)
    s = new_solver(timeout, rlimit, ctx)
    _assert_all(s, vec)
    return IsolatedSolver(s, ctx)


_QUICK: list = []  # found_sat's last solver: [(its key, the solver, the terms asserted, their context)]


def release_quick() -> None:
    """Drop the solver `found_sat` keeps: a live main-context solver slows what is built and solved
    after it (measured: the obligations after the last sanity pre-check, 0.8 s in the shipped run),
    so it is kept within one obligation only."""
    _QUICK.clear()


def found_sat(hard: Sequence[Any], timeout: float | None, rlimit: int) -> bool:
    """Is the conjunction of `hard` satisfiable, as far as a quick look finds: True only with a model.
    Asked in the main context (no copy, no new context): for questions whose 'sat' is used only as a
    sufficient condition — a model is a model whatever path found it — and whose other answers
    change nothing (see sanity._fails_at), so the path's dependence on the process's history never
    shows in an answer. For the same reason the solver is reused: the questions come in runs that
    differ only in their last term (one witness, the conclusion of each invariant), so all the
    terms but the last stay asserted and the last is pushed and popped."""
    hard = [_as_bool(x) for x in hard]
    if not hard:
        return True
    ctx = hard[-1].ctx
    key = (timeout, rlimit, id(ctx), [x.get_id() for x in hard[:-1]])
    if _QUICK and _QUICK[0][0] == key:
        s = _QUICK[0][1]
    else:
        s = new_solver(timeout, rlimit, ctx)
        ref = ctx.ref()
        for x in hard[:-1]:
            z3.Z3_solver_assert(ref, s.solver, x.as_ast())
        _QUICK[:] = [(key, s, hard[:-1], ctx)]  # the terms and their context kept alive: ids stay theirs
    s.push()
    try:
        s.add(hard[-1])
        return s.check() == z3.sat
    finally:
        s.pop()


def nlsat_solver(ctx: z3.Context, timeout, rlimit) -> z3.Solver:
    """Z3's nlsat procedure (complete for nonlinear real arithmetic, no integers) as a solver of
    `ctx`, after simplification and purification; its work limit holds where the default solver's
    nonlinear search overruns it."""
    s = z3.Then(z3.Tactic("simplify", ctx), z3.Tactic("purify-arith", ctx), z3.Tactic("qfnra-nlsat", ctx)).solver()
    s.set("timeout", _timeout_ms(timeout))
    if rlimit:
        s.set("rlimit", int(rlimit))
    return s


def _nlsat(hard: Sequence[Any], timeout, rlimit):
    """(answer, model in the main context or None, reason) of nlsat on the conjunction of `hard`."""
    ctx, vec = _translated(hard)
    s = nlsat_solver(ctx, timeout, rlimit)
    _assert_all(s, vec)
    try:
        r = s.check()
    except z3.Z3Exception as e:  # e.g. an integer slipped in: not for nlsat
        return z3.unknown, None, f"nlsat: {e}"
    if r == z3.sat:
        return r, _main_model(s), ""
    return r, None, s.reason_unknown() if r == z3.unknown else ""


def check(claim, assumptions: Sequence[tuple[str, Any]] = (), facts: Sequence[Any] = (),
          timeout: float | None = 10.0, vacuity: bool = True, lemmas: Sequence[Any] = (),
          rlimit: int | None = None, minimise: bool | str = True,
          vacuity_of: Sequence[tuple[str, Any]] | None = None) -> CheckResult:
    """Prove `claim` from the named `assumptions` (and the untracked, always-true `facts`).

    The claim is negated and checked with each assumption tracked by its name: unsat means PROVED
    and the core (canonical, `canonical_core`; with `minimise` "within", minimal within the solver's
    own core, `minimise_within`, the result's `reason` saying when the work limits left it
    unconfirmed; with `minimise` off, every assumption given) lists the assumptions the proof needs.
    `lemmas` are valid facts given to the proof only (e.g. `Backend.rounding_lemmas`):
    being valid they cannot change satisfiability; they are tried first for a slice of work. With
    `vacuity`, the assumptions alone (or `vacuity_of`, those of them whose satisfiability matters)
    are then checked: unsat means the proof is vacuous. Z3 saying
    unknown (work limit, time-out, incompleteness) gives 'unknown', never 'proved'.
    """
    t0 = time.perf_counter()
    rl = rlimit or RL_CHECK
    attempts = [list(lemmas), []] if lemmas else [[]]
    negated = z3.Not(_as_bool(claim))
    r, core, used = z3.unknown, [], []
    for k, extra in enumerate(attempts):
        t = _Tracked(list(facts) + extra + [negated], assumptions, timeout, rl)
        r, core = t.check(t.names, rlimit=LEMMA_SLICE if len(attempts) > 1 and k == 0 else rl)
        if r == z3.sat:
            return CheckResult("violated", model=t.model(), seconds=time.perf_counter() - t0, solver=t.handed_back())
        if r == z3.unsat:
            used = extra
            break
    if r == z3.unknown:
        return CheckResult("unknown", reason=t.s.reason_unknown(), seconds=time.perf_counter() - t0)
    why = ""
    if minimise == "within":  # within the solver's own core (an every-contract goal), cached per query
        from . import core_cache
        from .certificates import certificate, certifies, collecting
        # with Z3's version and the limit: the core found first, which this minimises within, is the
        # default solver's (the witnesses check minimality, not which minimal core it is)
        k = core_cache.key(t.vec, t.n_hard, t.names, f"within|{z3.get_version_string()}|{RL_WITHIN},{rl}")
        hit = core_cache.get(k)
        hard = [t.vec[i] for i in range(t.n_hard)]
        if (hit is not None and certifies(t.ctx, hard, t.terms, t.names, hit[0], hit[1], canonical=False)
                and t.check(hit[0], RL_WITHIN)[0] == z3.unsat):  # it proves the claim, each name needed
            core, minimal = hit[0], True
        else:
            witnesses, refuted = collecting(lambda: t.s.model())

            core, minimal = minimise_within(t.check, core, RL_WITHIN, refuted=refuted)
            cert = certificate(t.ctx, [t.vec[i] for i in range(t.n_hard)], t.terms, t.names, core, witnesses,
                               canonical=False) if minimal else None
            if cert is not None:  # every answer decided, each name witnessed (checked as a hit will be)
                core_cache.put(k, core, cert)
            elif not minimal:  # which attempts stay undecided can depend on the machine: every assumption given
                core = list(t.names)
        why = "" if minimal else NOT_MINIMAL
    elif minimise:
        # deletion attempts with the default solver only: one it cannot decide within its work keeps
        # the name (still deterministic and sufficient); nlsat there cost minutes on general goals
        core, _ = canonical_core(claim, assumptions, list(facts) + used, timeout, start=core, nlsat=False)
    else:  # every assumption given (the solver's own core depends on its path)
        core = list(t.names)
    proved(claim, assumptions, core, list(facts) + used, "default")
    if vacuity:
        v = satisfiable(z3.BoolVal(True), assumptions if vacuity_of is None else vacuity_of, facts, timeout, rl)
        if v.status == "unsat":
            return CheckResult("vacuous", core=v.core, seconds=time.perf_counter() - t0)
        if v.status == "unknown":
            return CheckResult("unknown", core=core, reason="vacuity check: " + v.reason,
                               seconds=time.perf_counter() - t0)
        return CheckResult("proved", core=core, reason=why, seconds=time.perf_counter() - t0, witness=v.model)
    return CheckResult("proved", core=core, reason=why, seconds=time.perf_counter() - t0)


def satisfiable(formula, assumptions: Sequence[tuple[str, Any]] = (), facts: Sequence[Any] = (),
                timeout: float | None = 10.0, rlimit: int | None = None, minimise: bool = True) -> CheckResult:
    """Is `formula` satisfiable together with the named assumptions and the facts? Status 'sat'
    (with the model: a witness), 'unsat' (the canonical core names the assumptions that exclude
    it) or 'unknown'."""
    t0 = time.perf_counter()
    t = _Tracked(list(facts) + [_as_bool(formula)], assumptions, timeout, rlimit or RL_CHECK)
    r, core = t.check(t.names, rlimit=rlimit or RL_CHECK)
    dt = time.perf_counter() - t0
    if r == z3.sat:
        return CheckResult("sat", model=t.model(), seconds=dt, solver=t.handed_back())
    if r == z3.unknown:
        return CheckResult("unknown", reason=t.s.reason_unknown(), seconds=dt)
    if minimise:
        core, _ = canonical_core(z3.Not(_as_bool(formula)), assumptions, facts, timeout, start=core)
    else:
        core = list(t.names)
    proved(z3.Not(_as_bool(formula)), assumptions, core, facts, "default")
    return CheckResult("unsat", core=core, seconds=time.perf_counter() - t0)


def nlsat_check(claim, assumptions: Sequence[tuple[str, Any]] = (), facts: Sequence[Any] = (),
                timeout: float | None = 10.0, rlimit: int | None = None) -> CheckResult:
    """Prove `claim` with Z3's nlsat procedure (complete for nonlinear real arithmetic): for
    RELAXED goals only (no integers). nlsat tracks no assumptions: the result's core is empty (see
    `canonical_core`). 'violated' here is a model of the relaxed problem, which may not be one of
    the exact semantics."""
    t0 = time.perf_counter()
    hard = list(facts) + [a for _, a in assumptions] + [z3.Not(_as_bool(claim))]
    r, model, reason = _nlsat(hard, timeout, rlimit or RL_CHECK)
    dt = time.perf_counter() - t0
    if r == z3.unsat:
        return CheckResult("proved", seconds=dt, engine="nlsat")
    if r == z3.sat:
        return CheckResult("violated", model=model, seconds=dt, engine="nlsat")
    return CheckResult("unknown", reason=reason, seconds=dt, engine="nlsat")


def canonical_core(claim, assumptions: Sequence[tuple[str, Any]], facts: Sequence[Any] = (),
                   timeout: float | None = 10.0, start: Sequence[str] | None = None, nlsat: bool = True,
                   rlimit: int = RL_CORE_DEFAULT, rlimit_nlsat: int = RL_CORE_NLSAT,
                   max_undecided: int = 4) -> tuple[list[str], bool]:
    """The minimal, canonical set of assumption names from which `claim` follows (it is known to
    follow from all of them): deletion in sorted order, of whole families of names first
    (`domain:tiers[2].*`), then of single names; a name is dropped when the claim is proved
    without it (the default solver without its Groebner step, NO_GROBNER, each attempt in a new
    context; then nlsat when that gives up and `nlsat` is on). `start`, a sufficient core found by
    the proof, only saves work: a name outside the last known sufficient core is dropped without a
    query, which gives the same answer as asking. The result is therefore a function of the query, not of the solver's luck, as long as
    every attempt is decided within its work limit; returns (names, complete?): an undecided
    attempt keeps the name (the core is then still sufficient, perhaps not minimal), and after
    `max_undecided` of them the remaining names are kept without asking (a bound on the work that
    is itself a function of the query). A complete result is stored (core_cache.py) under the
    query, Z3's version and the limits: each attempt is in a new context with a fixed seed and
    bounded by work, so that solver computes it again; a hit is used once it proves the claim."""
    from . import core_cache

    if not assumptions:  # nothing to delete (diff's questions): nothing to store either
        return [], True
    t = _Tracked(list(facts) + [z3.Not(_as_bool(claim))], assumptions, timeout, rlimit, options=NO_GROBNER)
    keep = list(t.names)
    known = set(start) if start is not None else set(keep)
    known &= set(keep)
    complete = True
    groups = dict(_grouped(assumptions))

    def attempt(trial: list[str]) -> tuple[Any, list[str]]:
        r, core = t.check(trial, rlimit=rlimit)
        if r == z3.unknown and nlsat:
            r, _, _ = _nlsat(list(facts) + [groups[x] for x in trial] + [z3.Not(_as_bool(claim))], timeout,
                             rlimit_nlsat)
            core = trial
        return r, core

    k = core_cache.key(t.vec, t.n_hard, t.names, f"deletion|{z3.get_version_string()}|"
                       f"{int(nlsat)},{rlimit},{rlimit_nlsat},{max_undecided}")
    hit = core_cache.get(k)
    if hit is not None and set(hit[0]) <= set(keep) and attempt(sorted(hit[0]))[0] == z3.unsat:
        return sorted(hit[0]), True

    # families first (`domain:tiers[2].*`, ...: one attempt drops a whole family), then one by one
    families: dict[str, list[str]] = {}
    for n in keep:
        families.setdefault(_family(n), []).append(n)
    for fam, members in sorted(families.items()):
        if len(members) < 2 or not set(members) & known:
            continue
        trial = [x for x in keep if x not in members]
        r, core = attempt(trial)
        if r == z3.unsat:
            keep, known = trial, set(core)
        elif r == z3.unknown:
            complete = False
    undecided = 0
    for n in list(keep):
        if n not in known:
            keep.remove(n)
            continue
        if undecided >= max_undecided:
            continue
        trial = [x for x in keep if x != n]
        r, core = attempt(trial)
        if r == z3.unsat:
            keep = trial
            known = set(core)
        elif r == z3.unknown:
            complete = False
            undecided += 1
    if complete:
        core_cache.put(k, keep, {})
    return keep, complete


def minimise_within(ask, core: Sequence[str], rlimit: int, undecided: int = 2,
                    refuted=None) -> tuple[list[str], bool]:
    """A minimal subset of `core` (the core of an unsat answer, so sufficient) by deletion in sorted
    order, asking only about subsets of it: `ask(names, rlimit)` -> (z3 answer, the core of an unsat
    answer, or the names). A name is dropped when the claim is proved without it (and so is every
    name outside that proof's core), kept when refuted (a model shows it is needed) or undecided;
    after `undecided` undecided attempts the names not yet tried are kept unasked; `refuted(n)` as
    in `minimise_from`. Returns (names, minimal?). Small queries only (a solver that overruns its work limit on large ones, as the
    default solver on nonlinear goals, stays within bounds), but the result is one of possibly
    several minimal cores, the one found from this core: canonical when the solver's cores are
    (the default solver's, a function of the query), else see `minimise_from`."""
    keep, left = sorted(core), undecided
    for n in list(keep):
        if n not in keep:
            continue
        if left == 0:
            break
        trial = [x for x in keep if x != n]
        r, used = ask(trial, rlimit)
        if r == z3.unsat:
            keep = [x for x in trial if x in set(used)]
        elif r == z3.unknown:
            left -= 1
        elif refuted is not None:
            refuted(n)
    return keep, left == undecided


def minimise_from(ask, names: Sequence[str], known: Sequence[str], rlimit: int,
                  undecided: int = 2, refuted=None) -> tuple[list[str], bool]:
    """The canonical minimal core over `names` (deletion in sorted order: a name is dropped when the
    claim follows without it and every name not yet dropped) from `known`, the core of an unsat
    answer: a name outside the last known sufficient core is dropped unasked (asking would give
    the same answer), so only the names of the cores met are asked about. `ask(names, rlimit)` ->
    (z3 answer, the core of an unsat answer, or the names when the solver gives none; the last
    known core is then narrowed by a second, smaller question). The result does not depend on
    which core the solver found first, only on the query, as long as every attempt is decided;
    an undecided one keeps its name (sufficient, perhaps not minimal), and after `undecided` of
    them the names still known are kept unasked. `refuted(n)`, when given, is called right after
    the attempt without `n` is refuted (its model is the asker's, certificates.py). Returns
    (names, minimal?). Cheaper than
    `canonical_core` for a solver that gives small cores (no families, no nlsat retry)."""
    keep, known, left = sorted(names), set(known), undecided
    for n in sorted(names):
        if n not in known:
            keep.remove(n)
            continue
        if left == 0:
            continue
        trial = [x for x in keep if x != n]
        r, used = ask(trial, rlimit)
        if r == z3.unsat:
            keep = trial
            if set(used) == set(trial):  # no core: is what was known, less n, still enough?
                small = [x for x in trial if x in known]
                r2, used2 = ask(small, rlimit) if len(small) < len(trial) else (r, used)
                used = used2 if r2 == z3.unsat else used
            known = set(used)
        elif r == z3.unknown:
            left -= 1
        elif refuted is not None:
            refuted(n)
    return keep, left == undecided


def _family(name: str) -> str:
    """`domain:tiers[2].max_notional` -> `domain:tiers[2]`: assumptions about one part of the world."""
    head, _, rest = name.partition(":")
    return f"{head}:{rest.split('.', 1)[0]}" if rest else name


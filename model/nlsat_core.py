"""nlsat proofs whose unsat core is minimal: the every-contract goals (over the symbolic contract
of prover/anycontract.py), which nlsat decides at once and Z3's default solver rarely does.

Why not `solving.canonical_core` there: deletion over every assumption given, each attempt a query
as large as the proof, cost minutes per obligation. Here (reproducible as in solving.py: a fresh
context per query, fixed seeds, every bound a work limit or a number of attempts, never seconds):

1. the proof is asked with each named assumption behind a tracking literal, so that nlsat's own
   unsat core K comes with it. Tracking literals keep nlsat's preprocessing (solve-eqs,
   unconstrained elimination) from using what they guard, which makes a few queries far slower:
   this attempt gets a small work limit; when it does not decide, Z3's default solver is asked
   with the same tracking (its core comes cheaply; it is weaker on nonlinear goals), and when that
   does not prove it either, nlsat untracked in a new context, as before this module (the status
   is the same; the core is then every assumption given, and the case says "unsat core not
   minimised (work limit)");
2. the canonical minimal core is found by deletion in sorted name order over every assumption
   (`solving.minimise_from`: a name is dropped when the claim follows without it and every name
   not yet dropped), asking only about the names of the cores met, starting with K: a name
   outside the last known sufficient core is dropped unasked, which gives the answer asking would.
   Each attempt is asked untracked (the preprocessing works again): proved drops the name,
   refuted keeps it (a model of the other names and the negated claim shows it is needed). An
   attempt cut in a context that earlier attempts used is asked once more in a new context
   (`NlsatQuery.decide`). When an attempt stays undecided, the core is every assumption given and
   the case says it is not minimised (not a partial result: which attempt a limit cuts can vary,
   see below).

Why canonical, not merely minimal (deletion within K would be cheaper: smaller attempts): nlsat's
path for a query, and so the core it returns first, varies with the process's history (Z3's
work for the very same query differs between two processes, by 40% and more on
INV-add-moves-away), so a core minimised within K could differ between `--jobs 1` and `--jobs 2`
(INV-liq-root did: lemma:mm or lemma:tier-order). The canonical core depends on the answers
alone, which the limits leave room for (the shipped rulebook's attempts need at most a fifth of
theirs). The cost, a few nlsat calls per name, is paid once per query: the core is stored with its
certificate, a witness per name from the refuting attempts (core_cache.py, certificates.py), so a
later run checks it in milliseconds instead of trusting or recomputing it.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import z3

from . import core_cache
from .certificates import certificate, certifies, collecting
from .solving import (NOT_MINIMAL, CheckResult, _as_bool, _assert_all, _core_names, _grouped,
                      _main_model, _Tracked, _tracking, minimise_from, nlsat_solver)

RL_TRACKED = 1_500_000  # the tracked first attempt of a proof (successes need <= 0.8M, varying by 40% with the
# process's history; the few failures need >= 2M and then ask the default solver)
RL_DEFAULT = 300_000  # the default solver's tracked attempt when the first is cut (it gives cores cheaply)
# each deletion attempt: the shipped rulebook's decided attempts need up to 1.73M (one of
# INV-covered/set_mark_price; the next 0.73M). Not more: past about 2M the undecided attempt of
# INV-add-moves-away/add_margin's short mark-basis case enters a step of nlsat that counts no work
# (at 3M it took 33 s, cut by the --timeout safety net; at 2M 0.5 s), and it stays undecided up to
# 8M at least (5M in a new context, where its entry-basis twin is decided: NlsatQuery.decide)
RL_DELETE = 2_000_000


class NlsatQuery:
    """One query in a fresh context: the hard terms, and each named assumption (grouped by name,
    sorted) either tracked by a literal `@name` or asserted plainly. Each `check` is a new solver
    over the same translated terms."""

    def __init__(self, hard: Sequence[Any], assumptions: Sequence[tuple[str, Any]], timeout: float | None):
        groups = _grouped(assumptions)
        self.names = [n for n, _ in groups]
        self.hard = list(hard)
        self._terms = self.hard + [a for _, a in groups]
        self.n_hard = len(hard)
        self.timeout = timeout
        self.s: z3.Solver | None = None
        self.terms_hard: list = []
        self._fresh()

    def _fresh(self) -> None:
        """The query in a new context. A check cut short by its work limit leaves the context in a
        state in which the next check can take another path (once: minutes instead of 50 ms); after
        one, the next check starts in a new context."""
        self.ctx, self.vec, self.terms, self.lits = _tracking(self._terms, self.n_hard, self.names)
        self.terms_hard = [self.vec[i] for i in range(self.n_hard)]
        self.cut = False
        self.used = False  # has a check run in this context?
        self.slowest_cut = getattr(self, "slowest_cut", 0.0)  # seconds of the longest undecided check

    def check(self, names: Sequence[str], rlimit: int, track: bool) -> tuple[Any, list[str]]:
        """(z3 answer, the core of an unsat answer (tracked) or `names`)."""
        if self.cut:
            self._fresh()
        self.used = True
        self.s = s = nlsat_solver(self.ctx, self.timeout, rlimit)
        if track:
            s.set("unsat_core", True)
        _assert_all(s, self.vec, 0, self.n_hard)
        for n in names:
            s.add(z3.Implies(self.lits[n], self.terms[n]) if track else self.terms[n])
        t0 = time.perf_counter()
        try:
            r = s.check(*[self.lits[n] for n in names]) if track else s.check()
        except z3.Z3Exception:  # e.g. an integer slipped in: not for nlsat
            r = z3.unknown
        core = list(names)
        self.cut = r == z3.unknown
        if self.cut:
            self.slowest_cut = max(self.slowest_cut, time.perf_counter() - t0)
        if r == z3.unsat and track:
            core = _core_names(s, self.lits, names)
        return r, core

    def decide(self, names: Sequence[str], rlimit: int) -> tuple[Any, list[str]]:
        """An untracked deletion attempt. One cut in a context that earlier attempts have used is
        asked once more in a new context: the earlier attempts can lead nlsat astray (the shipped
        rulebook has an INV-add-moves-away attempt that its query's context leaves undecided at 2M
        and a new context decides with 0.25M); a cut in a new context stands."""
        fresh = not self.used or self.cut
        r, core = self.check(names, rlimit, track=False)
        if r == z3.unknown and not fresh:
            r, core = self.check(names, rlimit, track=False)
        return r, core


def nlsat_proof(claim, assumptions: Sequence[tuple[str, Any]] = (), facts: Sequence[Any] = (),
                timeout: float | None = 10.0, rlimit: int = 25_000_000, minimise: bool = True) -> CheckResult:
    """Prove `claim` with nlsat (RELAXED goals only: no integers), with a minimal core (see the
    module docstring; a core computed before for the same query comes from core_cache.py). 'proved'
    carries the core, and in `reason` why it may not be minimal ("" when it is); 'violated' a model
    of the relaxed problem; 'unknown' Z3's reason."""
    t0 = time.perf_counter()
    q = NlsatQuery(list(facts) + [z3.Not(_as_bool(claim))], assumptions, timeout)
    k = core_cache.key(q.vec, q.n_hard, q.names, "canonical")
    hit = core_cache.get(k) if minimise else None
    if hit is not None and certifies(q.ctx, q.terms_hard, q.terms, q.names, hit[0], hit[1], canonical=True):
        r, _ = q.check(hit[0], rlimit, track=False)
        if r == z3.unsat:  # the stored core proves it and its witnesses hold: the core computing gives
            return CheckResult("proved", core=hit[0], seconds=time.perf_counter() - t0, engine="nlsat")
    if hit is not None:  # a rejected entry: checking it built terms in the query's context, compute in a new one
        q.cut = True
    # a core whose deletion a work limit cut: stored as such for this Z3 and these limits (the
    # computation is then the same: the limits count Z3's work, not seconds)
    unconfirmed = core_cache.key(q.vec, q.n_hard, q.names, f"unconfirmed|{z3.get_version_string()}|"
                                 f"{RL_TRACKED},{RL_DEFAULT},{RL_DELETE},{rlimit}")
    hit = core_cache.get(unconfirmed) if minimise else None
    if hit is not None and hit[0] == q.names and q.check(q.names, rlimit, track=False)[0] == z3.unsat:
        return CheckResult("proved", core=list(q.names), reason=NOT_MINIMAL, seconds=time.perf_counter() - t0,
                           engine="nlsat")
    if hit is not None:
        q.cut = True
    default: list[_Tracked] = []  # the same query for Z3's default solver, built on first use

    def by_default(names, rl):
        if not default:
            default.append(_Tracked(q.hard, assumptions, timeout, rl))
        return default[0].check(names, rl)

    r, core = q.check(q.names, RL_TRACKED, track=True)
    why = ""
    if r == z3.unknown:  # the default solver's core (tracking costs it little), else untracked: no core
        r, core = by_default(q.names, RL_DEFAULT)
        if r != z3.unsat:
            r, core = q.check(q.names, rlimit, track=False)
            why = NOT_MINIMAL if q.names else ""
    if r == z3.sat:
        return CheckResult("violated", model=_main_model(q.s), seconds=time.perf_counter() - t0,
                           engine="nlsat")
    if r == z3.unknown:
        return CheckResult("unknown", reason=q.s.reason_unknown(), seconds=time.perf_counter() - t0, engine="nlsat")
    if minimise and not why:
        witnesses, refuted = collecting(lambda: q.s.model())  # each refuting attempt's model

        # the first undecided attempt settles it (not minimal: every assumption given): ask no further
        core, minimal = minimise_from(q.decide, q.names, core, RL_DELETE, undecided=1, refuted=refuted)
        if not minimal:  # which attempts stay undecided can vary (see above): every assumption given
            core, why = list(q.names), NOT_MINIMAL
            if timeout is None or q.slowest_cut < timeout / 2:  # cut by the work limit, not the clock
                core_cache.put(unconfirmed, core, {})
        else:  # only what every answer decided, each name with its witness, checked as a hit will be
            cert = certificate(q.ctx, q.terms_hard, q.terms, q.names, core, witnesses, canonical=True)
            if cert is not None:
                core_cache.put(k, core, cert)
    return CheckResult("proved", core=core, reason=why, seconds=time.perf_counter() - t0, engine="nlsat")

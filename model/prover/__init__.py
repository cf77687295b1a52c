"""The prover: proof obligations generated from the rulebook and discharged with Z3.

The package holds one concern per module, and `Prover` composes them:

    results          statuses, work limits, kinds, `exit_code`, Obligation / Goal / Result records
    base             shared state (rulebook, options, EXACT/RELAXED backends, cache), `be_contract`
    obligations      obligation generation from the rulebook
    discharge        one obligation: the portfolio of encodings and solvers per case, vacuity
    worlds           symbolic states and steps (fresh, after reset, one action, one BMC step)
    goals            goals of the state-level kinds (initial ... equivalence)
    isolation        frame goals over one symbolic state for all symbols (arrays indexed by symbol)
    parameters       goals and counterexamples of the contract-level kinds (parameter, parametric)
    anycontract      the symbolic contract of ANY number of tiers (every-contract proofs), its soundness
    lemmas           the induction lemmas on tiers those proofs rest on
    counterexamples  a violation searched again from reset as a reachable scenario
    minimise         small readable numbers for a scenario
    replay           scenarios replayed by the interpreter, confirmation, conformance vectors
    sequences        bounded model checking from reset
    cumulative       `sequence` formulas by induction over ghost variables (runs of any length)
    runtime_safety   definedness in the interpreter's evaluation order; finite-decimal replies
    render           counterexamples as text for people
    sanity           warnings: a conclusion restating an assumption, an --against assumption pinning an input
    against          `--against` definitions
    crosscheck       the proof queries re-checked by a second solver (cvc5) and written as SMT-LIB 2
    envs             environments reading `old.X` / `init.X`

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
    cumulative    a `sequence` formula proved by induction over ghost totals, for runs of any length
    safety        an action never makes the reference engine answer INTERNAL (runtime_safety.py)

Each obligation is split in cases (per side, per pair of symbols, per step); each case ends
PROVED (the unsat core names the assumptions used: `check:ID`, `arg:ACTION.ARG`, `hyp:INV` (a
state invariant in the state before), `assume:INV`, `SYMBOL.tiers[k]`, `domain:PARAM`, ..., and
for transition, preservation and fact goals the definitions and updates the conclusion reads:
`rule:NAME` (a derived value's definition) and `effect:ACTION.FIELD` (envs._NamedEnv)),
VIOLATED (with a counterexample), VACUOUS (the assumptions alone are unsatisfiable), UNKNOWN
(time-out or incompleteness: never shown as proved) or ERROR.

How a case is decided (encodings and their cost are measured in bench/bench_prove.py):
1. the goal is built twice from the same AST: EXACT (rounding through ToInt, enums as integers)
   and RELAXED (a rounded value is a fresh real with its defining inequalities, enums are reals:
   pure nonlinear real arithmetic, an over-approximation, so a proof there is a proof);
2. RELAXED with Z3's default solver and tracked assumptions (the core comes with the proof) and
   RELAXED with nlsat (complete for real arithmetic; core minimised by deletion) — a general goal
   nlsat first, its core nlsat's own minimised within (nlsat_core.py, cached per query by
   core_cache.py; a frame goal the default solver first: equalities through the write-back) —
   then EXACT with the default solver
   (built only when needed); valid lemmas about the roundings (bounds, monotonicity) are added;
3. vacuity: the EXACT assumptions must be satisfiable (a witness is found; for a general goal on a
   concrete contract first, once per action and side); the sanity warnings (sanity.py) of a proved
   case are settled at that witness when its conclusion fails there;
4. a violation is only believed in EXACT; it is searched again from reset (bounded model checking
   over the rulebook's own actions, up to `prefix_depth` requests before the step under proof) so
   that the counterexample is a reachable scenario, minimised toward small grid-aligned decimals,
   replayed through the exact interpreter (which must confirm it: else ERROR, a backend
   disagreement) and turned into a conformance vector. Without a reachable scenario the result is
   UNKNOWN (the invariant may hold without being inductive).
Every query goes through `solving.py`: a fresh Z3 context per query, a fixed seed, work slices
that are Z3 resource limits (rlimit), not seconds, and minimal unsat cores (deletion in sorted
order: over every assumption for a per-contract goal, within the solver's own core for a general
one, where a core the work limits leave unconfirmed says "unsat core not minimised (work limit)"),
so the report is the same for any --jobs, on a busy machine, run after run;
`timeout` (seconds) is only a safety net of each call (UNKNOWN). With `--cross-check cvc5` /
`--smt2-out DIR` each obligation's unsat queries are re-checked / written (crosscheck.py).
"""

from __future__ import annotations

from ..formal import FormalError, Names, load_formal  # noqa: F401 - re-exported
from .against import load_against
from .base import ProverBase, be_contract
from .counterexamples import CounterexamplesMixin
from .crosscheck import CrossCheckMixin
from .cumulative import CumulativeMixin
from .discharge import DischargeMixin
from .goals import GoalsMixin
from .isolation import IsolationMixin
from .lemmas import LemmasMixin
from .minimise import MinimiseMixin
from .obligations import ObligationsMixin
from .parameters import ParametersMixin
from .replay import ReplayMixin, contract_json
from .runtime_safety import RuntimeSafetyMixin
from .results import (ERROR, KINDS, PROVED, RL_CORE, RL_MINIMISE, RL_NLSAT, RL_RELAXED, RL_SPLIT, STATUSES, UNKNOWN,
                      VACUOUS, VIOLATED, CaseResult, Goal, Obligation, Result, SymWorld, exit_code)
from .sanity import SanityMixin
from .sequences import SequencesMixin
from .worlds import WorldsMixin


class Prover(ObligationsMixin, DischargeMixin, IsolationMixin, GoalsMixin, LemmasMixin, ParametersMixin, WorldsMixin,
             CounterexamplesMixin, MinimiseMixin, ReplayMixin, SequencesMixin, CumulativeMixin, RuntimeSafetyMixin,
             SanityMixin, CrossCheckMixin, ProverBase):
    """Generates the obligations of a rulebook and discharges them (see the package docstring)."""


__all__ = ["ERROR", "KINDS", "PROVED", "RL_CORE", "RL_MINIMISE", "RL_NLSAT", "RL_RELAXED", "RL_SPLIT", "STATUSES",
           "UNKNOWN", "VACUOUS", "VIOLATED", "CaseResult", "FormalError", "Goal", "Names", "Obligation", "Prover",
           "Result", "SymWorld", "be_contract", "contract_json", "exit_code", "load_against", "load_formal"]

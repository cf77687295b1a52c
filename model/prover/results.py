"""The prover's plain data: statuses, work limits, obligation kinds, the exit code, and the records
an obligation, a goal, a case and a result are (picklable, JSON-ready).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any, Iterable

from ..formal import Formal
from ..numbers import exact_text
from ..z3terms import SV


PROVED, VIOLATED, UNKNOWN, VACUOUS, ERROR = "PROVED", "VIOLATED", "UNKNOWN", "VACUOUS", "ERROR"
# Work slices of the portfolio, in Z3's deterministic resource units (about 1M/s for the default
# solver, 11M/s for nlsat on this kind of problem): what is decided depends on them alone; --timeout
# is only a wall-clock safety net of each call (an answer it cuts short is UNKNOWN).
RL_RELAXED = 1_500_000  # relaxed encoding, default solver (tracked assumptions)
RL_NLSAT = 25_000_000  # relaxed encoding, nlsat
RL_RELAXED_GENERAL = 300_000  # the same first try for a general goal (nlsat usually decides those)
RL_CORE = 300_000  # each nlsat deletion attempt when minimising a core (nlsat overruns larger limits)
RL_SPLIT = 1_000_000  # each case of a split (sequences)
RL_EXACT = 10_000_000  # exact encoding, default solver (the last resort of a case)
RL_SEARCH = 2_000_000  # each search for a scenario from reset (counterexamples)
RL_MINIMISE = 400_000  # each attempt to simplify one number of a counterexample
STATUSES = (PROVED, VIOLATED, UNKNOWN, VACUOUS, ERROR)
_RANK = {PROVED: 0, UNKNOWN: 1, VACUOUS: 2, VIOLATED: 3, ERROR: 4}
KINDS = ("parameter", "lemma", "fact", "parametric", "initial", "preservation", "transition", "frame",
         "reachability", "sequence", "equivalence", "cumulative", "safety")


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
        return exact_text(x)
    if isinstance(x, dict):
        return {k: _dec(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_dec(v) for v in x]
    return x


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
    # sanity (sanity.py): a conclusion restating an assumption, an assumption pinning an input
    warnings: list[str] = field(default_factory=list)
    assumed: list[str] = field(default_factory=list)  # every assumption of an equivalence goal, named
    scope: str = ""  # every-contract | contract:SYMBOL | contracts:A,B (see Obligation.scope)
    cross_check: dict | None = None  # the second solver's verdicts (only with --cross-check)

    def to_json(self) -> dict:
        d = asdict(self)
        if d["cross_check"] is None:
            del d["cross_check"]
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

    @property
    def scope(self) -> str:
        """What a PROVED result covers: every contract satisfying the family-8 invariants (no contract
        named: the obligation is over the symbolic contract of any number of tiers), or the named ones."""
        if not self.contracts:
            return "every-contract"
        if len(self.contracts) == 1:
            return f"contract:{self.contracts[0]}"
        return "contracts:" + ",".join(self.contracts)


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


class _Found:
    """A search's outcome shaped like `satisfiable`'s (status, model, solver, core, reason)."""

    def __init__(self, model, solver, status: str = "sat", core=(), reason: str = ""):
        self.model = model
        self.solver = solver
        self.status = status
        self.core = list(core)
        self.reason = reason

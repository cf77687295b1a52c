"""The prover's shared state (rulebook, options, backends, cache) and `be_contract`, the concrete
symbolic contract of a symbol.
"""

from __future__ import annotations

from typing import Sequence

from ..formal import Formal
from ..interpreter import Interpreter
from ..rulebook import Contract, Rulebook
from ..z3backend import EXACT, Backend
from ..z3env import SymContract
from .anycontract import ANY, AnyContract, TierBackend, is_any


class ProverBase:
    """What every concern of the prover shares: the rulebook, its formal invariants, the options, the
    two backends (EXACT / RELAXED, one active at a time) and a cache of built goals."""

    def __init__(self, rb: Rulebook, *, depth: int = 3, timeout: float = 60.0, contracts: Sequence[str] | None = None,
                 against: Sequence[dict] | None = None, prefix_depth: int = 3, minimize: bool = True,
                 per_contract: bool = False):
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
        self._anys: dict = {}  # the AnyContracts of the goal being built, by (symbol, mode)
        self._any_fixed: dict = {}  # the enum-valued parameters the case being built fixes
        self.variants: dict[str, Contract] = {}  # contracts made for counterexamples (counterexamples.py)
        self.debug = False
        self.per_contract = per_contract

    @property
    def be(self) -> Backend:
        """The active backend: EXACT (ToInt rounding, integer enums) or RELAXED (pure real arithmetic)."""
        b = self._backends.get(self._mode)
        if b is None:
            b = self._backends[self._mode] = TierBackend(self.rb, self._mode)
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

    def contract_of(self, sym: str) -> Contract:
        """A contract by symbol: the rulebook's, or a variant built for a counterexample search."""
        return self.variants.get(sym) or self.rb.contracts[sym]

    def subject(self, ob) -> str:
        """The symbol an obligation is about: its contract, or ANY (every contract) for a general one."""
        return ob.contracts[0] if ob.contracts else ANY

    def own_checks(self, action: str):
        return [c for c in self.rb.actions[action].checks if c.origin is None]


def be_contract(p: ProverBase, sym: str) -> SymContract:
    """The concrete contract of a symbol (`SYM#2`: a second symbol with the same profile)."""
    sym = sym.split("#", 1)[0]
    if is_any(sym):  # a fresh AnyContract per goal (its slots are the goal's own)
        key = (sym, p._mode)
        if key not in p._anys:
            p._anys[key] = AnyContract(p.be, sym, p._any_fixed if sym == ANY else None)
        return p._anys[key]
    key = ("contract", sym, p._mode)
    if key not in p._cache:
        p._cache[key] = p.be.concrete_contract(p.contract_of(sym))
    return p._cache[key]

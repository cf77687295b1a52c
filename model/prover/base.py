"""The prover's shared state (rulebook, options, backends, cache) and `be_contract`, the concrete
symbolic contract of a symbol.
"""

from __future__ import annotations

from typing import Sequence

from ..formal import Formal
from ..interpreter import Interpreter
from ..rulebook import Rulebook
from ..z3backend import EXACT, Backend, SymContract


class ProverBase:
    """What every concern of the prover shares: the rulebook, its formal invariants, the options, the
    two backends (EXACT / RELAXED, one active at a time) and a cache of built goals."""

    def __init__(self, rb: Rulebook, *, depth: int = 3, timeout: float = 60.0, contracts: Sequence[str] | None = None,
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


def be_contract(p: ProverBase, sym: str) -> SymContract:
    """The concrete contract of a symbol (`SYM#2`: a second symbol with the same profile)."""
    sym = sym.split("#", 1)[0]
    key = ("contract", sym, p._mode)
    if key not in p._cache:
        p._cache[key] = p.be.concrete_contract(sym)
    return p._cache[key]

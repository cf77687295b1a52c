"""The symbolic contract, environment and action run of the Z3 backend.

`SymContract` holds a contract's parameters and tiers as Z3 terms (concrete or symbolic, built by
`Backend.concrete_contract` / `symbolic_contract`); `SymEnv` gives symbolic values by name, derived
values computed lazily by the backend's compiler, mirroring the interpreter's Env; `ActionRun` (with
a `CheckRun` per check) is what `Backend.run_action` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from . import ast
from .rulebook import Contract
from .z3terms import SV

if TYPE_CHECKING:
    from .z3backend import Backend


# ----------------------------------------------------------------------------------------- contracts
@dataclass
class SymContract:
    """A contract's parameters and tiers as Z3 terms.

    `params`: name -> term; `tiers`: one {field: term} per tier; `facts`: named assumptions that
    a proof over this contract may need ((name, Bool) pairs: parameter domains, tier values).
    """

    symbol: str
    params: dict[str, Any]
    tiers: list[dict[str, Any]]
    facts: list[tuple[str, Any]] = field(default_factory=list)
    concrete: Contract | None = None
    enums: dict[str, str] = field(default_factory=dict)  # enum-valued parameter -> its enumeration

    def sv(self, name: str) -> SV:
        """A parameter as a symbolic value (an enum-valued one as its value's index)."""
        e = self.enums.get(name)
        return SV(self.params[name], kind="enum", enum=e) if e else SV(self.params[name])

    def values(self) -> dict[str, SV]:
        out = {k: self.sv(k) for k in self.params}
        for k, v in self.tiers[0].items():
            out[f"first_tier.{k}"] = SV(v)
        for k, v in self.tiers[-1].items():
            out[f"last_tier.{k}"] = SV(v)
        return out


# ----------------------------------------------------------------------------------------- env
class SymEnv:
    """Symbolic values by name, mirroring the interpreter's Env.

    `values` are given; `lazy` maps names (derived values, lets) to AST expressions computed on
    first use *in this env* and cached; `parent` supplies every other name (its own lazies are
    computed there). `contract` gives the tiers for `tier(...)` and `solve_tier(...)`.
    """

    __slots__ = ("backend", "values", "lazy", "parent", "contract")

    def __init__(self, backend: "Backend", values: Mapping[str, SV], lazy: Mapping[str, ast.Expr] | None = None,
                 parent: "SymEnv | None" = None, contract: SymContract | None = None):
        self.backend = backend
        self.values = dict(values)
        self.lazy = lazy or {}
        self.parent = parent
        self.contract = contract if contract is not None else (parent.contract if parent is not None else None)

    def __getitem__(self, name: str) -> SV:
        v = self.values.get(name)
        if v is not None:
            return v
        e = self.lazy.get(name)
        if e is not None:
            v = self.backend.compile_expr(e, self)
        elif self.parent is not None:
            v = self.parent[name]
        else:
            raise KeyError(f"'{name}' has no value here")
        self.values[name] = v
        return v

    def __contains__(self, name: str) -> bool:
        try:
            self[name]
        except KeyError:
            return False
        return True

    def child(self, values: Mapping[str, SV], lazy: Mapping[str, ast.Expr] | None = None) -> "SymEnv":
        return SymEnv(self.backend, values, lazy, self, self.contract)


# ----------------------------------------------------------------------------------------- runs
@dataclass
class CheckRun:
    """One check of a symbolic run: `reached` (every earlier check passed), `applies` (its `when`),
    `passes` (`when` false or `require` true), `refuses` (reached, applies and `require` false)."""

    id: str
    error: str
    origin: str | None
    reached: Any
    applies: Any
    require: Any
    passes: Any
    refuses: Any


@dataclass
class ActionRun:
    """The symbolic run of an action.

    `valid`: every argument present satisfies its `valid` condition (else INVALID_ARGUMENT);
    `checks`: one CheckRun per check in order; `ok`: every check passes (validity not included);
    `errors`: (check id, error code, condition under which that check is the first to refuse);
    `pre`: the pre-state, `post`: the state after the effects (state fields only, meaningful
    under `ok`); `locals`: lets, `liquidated`, `fill_price`; `result`: the reply's fields (a
    view is a dict of SVs); `env`: the pre-state env (derived values and lets by name);
    `post_env`: an env over the post-state (derived values by name).
    """

    action: str
    valid: Any
    checks: list[CheckRun]
    ok: Any
    errors: list[tuple[str, str, Any]]
    pre: dict[str, SV]
    post: dict[str, SV]
    locals: dict[str, SV]
    result: dict[str, Any]
    liquidated: Any
    env: SymEnv
    post_env: SymEnv


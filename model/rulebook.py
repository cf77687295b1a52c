"""The typed rulebook: what spec/*.yaml says, as frozen dataclasses (the one AST every backend reads).

`load_rulebook(path)` returns a frozen `Rulebook` or raises `SpecError` listing every problem found
(file:line:col and what is wrong), never just the first; the checking lives in `loader`, the
reading of contract values shared with contracts files in `spec_values`.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

from . import ast
from .diagnostics import Mark
from .types import Ty, UnitSystem
from .yamlsafe import mark_of

LIQUIDATION_LOCALS = ("liquidated", "fill_price")


# ----------------------------------------------------------------------------------------- model
@dataclass(frozen=True)
class Unit:
    name: str
    dims: tuple[int, ...]
    description: str


@dataclass(frozen=True)
class Param:
    """A contract parameter or tier field. `unit` names the unit of a number, or the enumeration
    of an enum-valued parameter (`enum` set, values and default are then its value names)."""

    name: str
    unit: str
    domain: ast.Expr
    default: Fraction | str | None
    description: str
    enum: str | None = None
    optional: bool = False  # a protocol addition: left out of CONTRACT at its default


@dataclass(frozen=True)
class StateField:
    name: str
    scope: str  # account | symbol | position
    ty: Ty
    type_name: str  # the unit, enum or 'bool'
    initial: Any
    description: str


@dataclass(frozen=True)
class Derived:
    name: str
    ty: Ty
    type_name: str
    expr: ast.Expr
    symbol: str | None
    description: str
    sources: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Arg:
    name: str
    ty: Ty
    type_name: str
    optional: bool
    valid: ast.Expr | None


@dataclass(frozen=True)
class Check:
    id: str
    require: ast.Expr
    error: str
    message: str
    when: ast.Expr | None = None
    with_: tuple[tuple[str, ast.Expr], ...] = ()
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    origin: str | None = None  # the callee's check id when inlined from a call


@dataclass(frozen=True)
class Effect:
    kind: str  # set | create_position | remove_position | liquidate_if
    assignments: tuple[tuple[str, ast.Expr], ...] = ()
    cond: ast.Expr | None = None  # for liquidate_if
    when: ast.Expr | None = None
    origin: str | None = None  # the callee action when inlined from a call


@dataclass(frozen=True)
class ResultField:
    name: str
    expr: ast.Expr | None
    view: tuple[str, ...] | None
    when: ast.Expr | None
    omit_null: bool


@dataclass(frozen=True)
class Call:
    """Where an action's checks or effects inline another action's (kept for the docs)."""

    id: str
    action: str
    args: tuple[tuple[str, ast.Expr], ...]
    when: ast.Expr | None


@dataclass(frozen=True)
class Action:
    name: str
    description: str
    args: tuple[Arg, ...]
    lets: tuple[tuple[str, ast.Expr], ...]
    checks: tuple[Check, ...]
    effects: tuple[Effect, ...]
    result: tuple[ResultField, ...]
    sources: tuple[str, ...]
    notes: tuple[str, ...]
    calls: tuple[Call, ...] = ()
    let_types: Mapping[str, Ty] = field(default_factory=dict)


@dataclass(frozen=True)
class Liquidation:
    description: str
    lets: tuple[tuple[str, ast.Expr], ...]
    effects: tuple[Effect, ...]
    sources: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class CommonCheck:
    id: str
    error: str
    message: str
    text: str
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Invariant:
    id: str
    family: int
    title: str
    statement: str
    sources: tuple[str, ...]
    extra: Mapping[str, Any]  # further keys (formal content the prover reads)


@dataclass(frozen=True)
class Source:
    id: str
    text: str
    covered_by: tuple[str, ...]


@dataclass(frozen=True)
class Note:
    id: str
    title: str
    text: str
    why: str


@dataclass(frozen=True)
class Flag:
    """A conformance flag (spec/flags.yaml): a kind of fault vector cases target."""

    name: str
    meaning: str
    if_wrong: str


@dataclass(frozen=True)
class Contract:
    """A contract's parameters as exact numbers (an enum-valued parameter as its value name);
    `tiers` is a tuple of {field: value} mappings."""

    symbol: str
    params: Mapping[str, Fraction | str]
    tiers: tuple[Mapping[str, Fraction], ...]


@dataclass(frozen=True)
class Rulebook:
    name: str
    version: str
    title: str
    summary: str
    path: str
    units: UnitSystem
    unit_defs: tuple[Unit, ...]
    enums: Mapping[str, tuple[str, ...]]
    enum_descriptions: Mapping[str, str]
    errors: Mapping[str, str]
    params: tuple[Param, ...]
    tier_fields: tuple[Param, ...]
    state: tuple[StateField, ...]
    derived: tuple[Derived, ...]  # in dependency order
    position_view: tuple[str, ...]
    common_checks: tuple[CommonCheck, ...]
    actions: Mapping[str, Action]
    liquidation: Liquidation
    invariants: tuple[Invariant, ...]
    sources: tuple[Source, ...]
    notes: tuple[Note, ...]
    contracts: Mapping[str, Contract]
    flags: tuple[Flag, ...] = ()  # spec/flags.yaml (optional section)
    # The invariants' formal statements, parsed and type-checked (formal.Formal by invariant id),
    # and the invariants whose statement does not parse or type-check (a message naming the place).
    formals: Mapping[str, Any] = field(default_factory=dict)
    formal_errors: Mapping[str, str] = field(default_factory=dict)
    # The source text (a marked Scalar) of every parsed expression, by id() of its AST root, so a
    # later check (e.g. divisions.py) can name file:line:col of a node inside it.
    expr_texts: Mapping[int, Any] = field(default_factory=dict, compare=False, repr=False)

    def mark_of_node(self, root: ast.Expr, node: ast.Expr):
        """file:line:col of `node` inside the expression whose AST root is `root` (None if unknown)."""
        text = self.expr_texts.get(id(root))
        return expr_mark(text, getattr(node, "pos", 0)) if text is not None else None

    def state_field(self, name: str) -> StateField:
        return next(f for f in self.state if f.name == name)

    def derived_by_name(self) -> dict[str, Derived]:
        return {d.name: d for d in self.derived}

    def checks(self):
        """Every check of every action, in order (common checks excluded)."""
        for a in self.actions.values():
            yield from a.checks

    def rule_ids(self) -> set[str]:
        """Every id that docs, proofs and vectors may cite."""
        ids = set(self.actions) | {c.id for c in self.checks()} | {d.name for d in self.derived}
        ids |= {p.name for p in self.params} | {f.name for f in self.tier_fields} | {s.name for s in self.state}
        ids |= {c.id for c in self.common_checks} | {"liquidation"} | {i.id for i in self.invariants}
        ids |= {n.id for n in self.notes} | set(self.errors) | {s.id for s in self.sources}
        ids |= {c.id for a in self.actions.values() for c in a.calls}
        return ids



def expr_mark(text, pos: int) -> Mark | None:
    """The mark of offset `pos` in an expression's marked YAML text (its start when the text is
    folded over lines, where offsets no longer map to columns)."""
    m = mark_of(text)
    if m is None:
        return None
    style = getattr(text, "style", None)
    if style in (None, "'", '"') and "\n" not in str(text):
        return m.shifted(pos + (1 if style else 0))
    return m


# ----------------------------------------------------------------------------------------- loading
def default_spec_dir() -> Path:
    """The rulebook shipped with the package (spec/ in a checkout, marginspec/spec when installed)."""
    return Path(str(importlib.resources.files("marginspec.spec")))


def load_rulebook(path: str | Path | None = None) -> Rulebook:
    """Load and check the rulebook in directory `path` (default: the shipped one)."""
    from .loader import build_rulebook  # the loader builds these classes: imported when first used

    return build_rulebook(Path(path) if path is not None else default_spec_dir())

"""The formal statements of the invariants (spec/invariants.yaml): parsed and type-checked once,
by the loader, into `Formal`s that the prover, the vector generator and the docs read.

Keys an invariant may carry besides its words: kind (state, transition, fact, parameter, frame),
formula, assume, forall, with, over, actions / except_actions, define / define_for, sequence,
initial_assume. A transition formula reads the pre-state as `old.X`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from . import ast
from .diagnostics import Diagnostic, Mark
from .parser import ParseError, parse
from .printer import to_text
from .rulebook import Invariant, Rulebook
from .types import BOOL, Checker, Scope, Ty, TypeErr
from .yamlsafe import mark_of


class FormalError(Exception):
    """A formal statement that does not read; `diagnostic` is the problem at its place, for a
    caller that collects every problem of a file (`prove --against`) instead of stopping at one."""

    def __init__(self, message: str, mark: Mark | None = None):
        super().__init__(f"{mark}: {message}" if mark is not None else message)
        self.diagnostic = Diagnostic(mark, message)


@dataclass
class Formal:
    """An invariant's formal content, parsed and type-checked (see spec/invariants.yaml)."""

    inv: Invariant
    kind: str
    formula: ast.Expr | None = None
    assume: ast.Expr | None = None
    sequence: ast.Expr | None = None
    initial_assume: ast.Expr | None = None
    forall: tuple[tuple[str, Ty, str], ...] = ()
    with_: tuple[tuple[str, ast.Expr], ...] = ()
    over: str | None = None
    actions: tuple[str, ...] = ()
    define: tuple[tuple[str, ast.Expr], ...] = ()
    define_for: Mapping[str, tuple[tuple[str, ast.Expr], ...]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.inv.id

    def defines(self, action: str | None) -> dict[str, ast.Expr]:
        out = dict(self.define)
        if action is not None:
            out.update(dict(self.define_for.get(action, ())))
        return out

    def text(self) -> str:
        return to_text(self.formula) if self.formula is not None else ""


class Names:
    """The types of the names an invariant formula may use."""

    def __init__(self, rb: Rulebook):
        self.rb = rb
        self.units = rb.units
        self.checker = Checker(rb.units)
        self.base: dict[str, Ty] = {}
        for p in rb.params:
            self.base[p.name] = Ty("enum", enum=p.enum) if p.enum else rb.units.num(p.unit)
        for f in rb.state:
            self.base[f.name] = f.ty
        for d in rb.derived:
            self.base[d.name] = d.ty
        self.tier_tys = {f.name: rb.units.num(f.unit) for f in rb.tier_fields}
        self.state_names = [f.name for f in rb.state] + [d.name for d in rb.derived]

    def scope(self, extra: Mapping[str, Ty]) -> Scope:
        return Scope(dict(self.base), self.rb.enums, self.tier_tys, False, dict(extra))

    def type_of(self, unit: str) -> Ty:
        if unit == "bool":
            return BOOL
        if unit in self.rb.enums:
            return Ty("enum", enum=unit)
        if unit in self.units.units:
            return self.units.num(unit)
        raise FormalError(f"unknown unit or type '{unit}'")

    def action_extra(self, action: str) -> dict[str, Ty]:
        a = self.rb.actions[action]
        extra = {f"arg.{x.name}": x.ty.but_nullable(x.optional) for x in a.args}
        extra.update(a.let_types)
        extra["liquidated"] = BOOL
        extra["fill_price"] = self.units.num("price", nullable=True)
        return extra


def _where(node) -> str:
    m = mark_of(node)
    return f"{m}: " if m is not None else ""


def _typed(names: Names, text, extra: Mapping[str, Ty], what: str, want_bool: bool = False) -> tuple[ast.Expr, Ty]:
    try:
        e = parse(str(text))
    except ParseError as pe:
        raise FormalError(f"{what}: syntax error in '{text}': {pe.message}", mark_of(text)) from None
    try:
        t = names.checker.check(e, names.scope(extra))
    except TypeErr as te:
        raise FormalError(f"{what}: {te.message} (in '{text}')", mark_of(text)) from None
    if want_bool and t.kind != "bool":
        raise FormalError(f"{what}: '{text}' must be a condition", mark_of(text))
    return e, t


_FORMAL_KEYS = {"kind", "formula", "assume", "sequence", "initial_assume", "forall", "with", "over", "actions",
                "except_actions", "define", "define_for"}


def load_formal(rb: Rulebook, inv: Invariant, names: Names | None = None) -> Formal:
    """Parse and type-check an invariant's formal keys; FormalError names file:line:col."""
    names = names or Names(rb)
    x = inv.extra
    unknown = set(x) - _FORMAL_KEYS
    if unknown:
        raise FormalError(f"{inv.id}: unknown keys {', '.join(sorted(unknown))} (known: {', '.join(sorted(_FORMAL_KEYS))})")
    kind = str(x.get("kind", ""))
    if kind not in ("state", "transition", "fact", "parameter", "frame"):
        raise FormalError(f"{_where(x.get('kind'))}{inv.id}: kind must be one of state, transition, fact, parameter, frame"
                          f" (found {kind or 'nothing'})")
    f = Formal(inv, kind)
    if kind == "frame":
        return f
    if "formula" not in x:
        raise FormalError(f"{inv.id}: a {kind} invariant needs a formula")
    forall = []
    for n, u in (x.get("forall") or {}).items():
        try:
            forall.append((str(n), names.type_of(str(u)), str(u)))
        except FormalError as fe:
            raise FormalError(f"{_where(u)}{inv.id}, forall {n}: {fe}") from None
    f.forall = tuple(forall)
    fa = {n: t for n, t, _ in forall}
    defines_raw = dict(x.get("define") or {})
    dfor_raw = {str(k): dict(v) for k, v in (x.get("define_for") or {}).items()}
    for a in dfor_raw:
        if a not in rb.actions:
            raise FormalError(f"{inv.id}: define_for names unknown action '{a}'")
    if kind == "state":
        f.formula, _ = _typed(names, x["formula"], {}, f"{inv.id}, formula", True)
        if "initial_assume" in x:
            f.initial_assume, _ = _typed(names, x["initial_assume"], {}, f"{inv.id}, initial_assume", True)
        return f
    if kind == "parameter":
        over = str(x.get("over", "contract"))
        if over not in ("tiers", "tier_pairs", "contract"):
            raise FormalError(f"{_where(x.get('over'))}{inv.id}: over must be tiers, tier_pairs or contract")
        f.over = over
        extra = dict(fa)
        if over in ("tiers", "tier_pairs"):
            extra.update({f"tier.{k}": t for k, t in names.tier_tys.items()})
        if over == "tier_pairs":
            extra.update({f"next_tier.{k}": t for k, t in names.tier_tys.items()})
        f.formula, _ = _typed(names, x["formula"], extra, f"{inv.id}, formula", True)
        if "assume" in x:
            f.assume, _ = _typed(names, x["assume"], extra, f"{inv.id}, assume", True)
        return f
    if kind == "fact":
        extra = dict(fa)
        defs = []
        for n, text in defines_raw.items():
            e, t = _typed(names, text, extra, f"{inv.id}, define {n}")
            defs.append((str(n), e))
            extra[str(n)] = t
        f.define = tuple(defs)
        ws = []
        for fld, text in (x.get("with") or {}).items():
            if fld not in {s.name for s in rb.state}:
                raise FormalError(f"{_where(text)}{inv.id}: with sets '{fld}', which is not a state field")
            e, t = _typed(names, text, extra, f"{inv.id}, with {fld}")
            ws.append((str(fld), e))
        f.with_ = tuple(ws)
        f.formula, _ = _typed(names, x["formula"], extra, f"{inv.id}, formula", True)
        if "assume" in x:
            f.assume, _ = _typed(names, x["assume"], extra, f"{inv.id}, assume", True)
        return f
    # transition
    acts = [str(a) for a in (x.get("actions") or list(rb.actions))]
    for a in acts + [str(a) for a in (x.get("except_actions") or [])]:
        if a not in rb.actions:
            raise FormalError(f"{inv.id}: unknown action '{a}'")
    excl = {str(a) for a in (x.get("except_actions") or [])}
    f.actions = tuple(a for a in acts if a not in excl)
    seq_checked = False
    for a in f.actions:
        extra = names.action_extra(a)
        extra.update({f"old.{n}": t for n, t in names.base.items() if n in names.state_names})
        dfs = dict(defines_raw)
        dfs.update(dfor_raw.get(a, {}))
        order = list(defines_raw) + [k for k in dfor_raw.get(a, {}) if k not in defines_raw]
        defs = []
        for n in order:
            # a define may read the other defines in either state (old.held): type them in order
            e, t = _typed(names, dfs[n], extra, f"{inv.id}, define {n} for {a}")
            defs.append((n, e))
            extra[n] = t
            extra[f"old.{n}"] = t
        f.formula, _ = _typed(names, x["formula"], extra, f"{inv.id}, formula for {a}", True)
        if "assume" in x:
            f.assume, _ = _typed(names, x["assume"], extra, f"{inv.id}, assume for {a}", True)
        if "sequence" in x and not seq_checked:
            sx = dict(extra)
            sx.update({f"init.{n}": t for n, t in names.base.items() if n in names.state_names})
            sx.update({f"total.{n}": extra[n] for n in dfs})
            f.sequence, _ = _typed(names, x["sequence"], sx, f"{inv.id}, sequence", True)
            seq_checked = True
    f.define = tuple((str(n), parse(str(t))) for n, t in defines_raw.items())
    f.define_for = {a: tuple((str(n), parse(str(t))) for n, t in d.items()) for a, d in dfor_raw.items()}
    return f

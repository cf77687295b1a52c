"""The contract of ANY number of tiers: the symbolic contract behind the "every contract" proofs.

A rulebook formula meets the tier table only through `tier(x).f` (the first tier whose
max_notional >= x, else the last), `solve_tier(v, c)` (v with `tier.*` bound to the first tier
whose condition c holds, else the last), `first_tier.f` and `last_tier.f`. `AnyContract` compiles
each of these to a *slot*: one symbolic tier (its own fields, `lo` = the previous tier's
max_notional, flags `first` / `last`), with no table around it. The parameters are symbolic too.
Nothing fixes the number of tiers; a slot stands for whichever tier the semantics picks.

What a proof over this contract assumes (named assumptions, so the unsat core shows which):

    domain:P, domain:tiers     each parameter's and each slot's field domains (spec/parameters.yaml)
    def:tier                   tier(x) is a slot with (first or lo < x) and (last or x <= max_notional)
    def:solve_tier             solve_tier picks a slot R whose condition holds (or R is last) and whose
                               predecessor's condition fails (or R is first); def:solve_tier-earlier:
                               so does the condition in every other slot before R — the real choice (the FIRST tier whose
                               condition holds) satisfies this, so it over-approximates
    hyp:INV-... (family 8)     the `over: tiers` invariants at every slot; the `over: tier_pairs`
                               invariants between each slot and its predecessor (when not first)
    lemma:tier-order           for two slots a, b: equal max_notional -> the same tier (equal fields);
                               a's max_notional < b's -> a comes first: a.max_notional <= b.lo, b is
                               not the first tier, a not the last
    lemma:mm                   for slots a, b and notionals x in a's range, y in b's range, x <= y:
                               0 <= MM_b(y) - MM_a(x) <= y - x, strictly below y - x when x < y
                               (MM_t(x): the rulebook's maintenance_margin at notional x in tier t)

Soundness (why a proof here covers every contract with any number n >= 1 of tiers): take any
concrete contract satisfying the family-8 invariants and any state, arguments and free values.
Interpret every slot as the tier the interpreter's semantics actually picks (for solve_tier: the
first tier whose condition holds, else the last), its `lo` as the previous tier's max_notional and
its predecessor as the previous tier. Every assumption above is then TRUE of that contract: the
domains and family-8 instances because the contract satisfies them at every tier and every pair of
consecutive tiers; `def:*` by the definition of the lookups; the two lemmas because they are
theorems about every tier table satisfying family 8 — each proved by induction on the distance
between the two tiers by the obligations `lemma/...` (base: the same or consecutive tiers; step:
from tiers (i, j) to (i, j+1), through the boundary max_notional_j, using INV-tiers-ordered,
INV-mm-continuous and the field domains / INV-born-safe of tier j+1). So every concrete instance is
a model of the assumptions, and a goal that follows from them (unsat of its negation) holds for
it. The number of tiers never enters: the slots are the only tiers a formula reads.

The parameters are symbolic within their domains: any taker_fee_rate (family 8 then gives
1/max_leverage > mmr + taker_fee_rate at every slot), any steps and multiplier. An enum-valued
parameter (maintenance_basis) is either symbolic or, in the general obligations, fixed per case
(`fixed`: the case label "long, maintenance_basis=entry"); the cases of an obligation cover every
value of the enumeration, so together they cover every contract.

The converse does not hold: a model of the assumptions need not be a real contract (tiers between
two slots are left out), so a violation found here is only believed once a concrete contract and a
scenario from reset reproduce it in the interpreter (see counterexamples.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import z3

from .. import ast
from ..z3backend import Backend
from ..z3env import SymContract, SymEnv
from ..z3terms import SV, as_bool

#: the name of the solve_tier facts about every earlier slot (a proof tries without them first)
EARLIER = "def:solve_tier-earlier"
_TEMPLATES: dict = {}  # compiled tier formulas over placeholders (AnyContract._template)

#: The symbols of the general obligations: any contract, and a second, independent one (frames).
ANY, ANY2 = "*", "*2"
HI = "max_notional"  # the field that orders the tiers (the lookups read it)


def is_any(sym: str | None) -> bool:
    return sym in (ANY, ANY2)


def mm_argument(rb) -> str:
    """The name maintenance_margin looks its tier up by (`tier(NAME).f`; "maintenance_notional" with
    the venue parameters, "notional" before them): MM as a function of that notional."""
    names = {n.notional.name for n in ast.walk(rb.derived_by_name()["maintenance_margin"].expr)
             if isinstance(n, ast.TierField) and isinstance(n.notional, ast.Name)}
    if len(names) != 1:
        raise ValueError("maintenance_margin must look up its tier at one named notional")
    return names.pop()


@dataclass(eq=False)
class Slot:
    """One tier the formulas read: its fields, `lo` (the previous tier's max_notional, meaningful
    when not `first`), a notional `at` known to lie in its range (when there is one), its
    predecessor (a Slot with free fields but `max_notional == lo`) and its defining conditions."""

    name: str
    kind: str  # lookup | solve | first | last | pred
    fields: dict[str, Any]
    first: Any
    last: Any
    lo: Any
    at: Any = None
    pred: "Slot | None" = None
    defn: list = field(default_factory=list)
    cond: Any = None  # solve slots: tier -> solve_tier's condition in that tier
    cond_term: Any = None  # ... and that condition over the placeholder tier (what `cond` instantiates)

    @property
    def hi(self):
        return self.fields[HI]

    def range(self, x):
        """x is in this tier's notional range (the last tier's reaches beyond its max_notional)."""
        return z3.And(z3.Or(self.first, self.lo < x), z3.Or(self.last, x <= self.hi))


class AnyContract(SymContract):
    """A contract with symbolic parameters and an unknown number of tiers (see the module docstring)."""

    def __init__(self, be: Backend, name: str, fixed: dict[str, str] | None = None):
        """`fixed`: values of enum-valued parameters this case fixes (a case split over them)."""
        rb = be.rb
        fixed = fixed or {}
        enums = {p.name: p.enum for p in rb.params if p.enum}
        params = {}
        for p in rb.params:
            if p.name in fixed:
                params[p.name] = be.enum_val(be.enum_index[p.enum][fixed[p.name]])
            elif p.enum and be.enum_sort == "int":
                params[p.name] = z3.Int(f"{name}.{p.name}")
            else:
                params[p.name] = z3.Real(f"{name}.{p.name}")
        super().__init__(name, params, [], [], None, enums)
        self.fixed = dict(fixed)
        penv = SymEnv(be, {k: self.sv(k) for k in params})
        self.facts = [(f"domain:{p.name}", as_bool(be.compile_expr(p.domain, penv).v)) for p in rb.params
                      if p.name not in fixed]
        self.be = be
        self.slots: list[Slot] = []
        self._lookups: dict[int, Slot] = {}
        self._solves: dict[tuple, tuple] = {}  # (slot, value, and the keyed terms: kept alive, ids stay theirs)
        self._ph = {f.name: z3.Real(f"{name}.tier?.{f.name}") for f in rb.tier_fields}
        self.first_slot = self._slot("first")
        self.first_slot.defn.append(self.first_slot.first)
        self.last_slot = self._slot("last")
        self.last_slot.defn.append(self.last_slot.last)

    def clone(self) -> "AnyContract":
        """A copy whose slots can grow apart from this one's (a slot never changes once made, so the
        copies share them): the state of a goal's contract after a part of the goal that many
        goals build alike (prover/worlds.py, `world_and_step`)."""
        c = copy.copy(self)
        c.slots, c._lookups, c._solves = list(self.slots), dict(self._lookups), dict(self._solves)
        return c

    # -- slots -------------------------------------------------------------------------------------
    def _slot(self, kind: str) -> Slot:
        k = len(self.slots) + 1
        tag = f"{self.symbol}.slot{k}"
        pred_fields = {f.name: z3.Real(f"{tag}.prev.{f.name}") for f in self.be.rb.tier_fields}
        pred = Slot(f"{tag}.prev", "pred", pred_fields, z3.Bool(f"{tag}.prev.first"), z3.BoolVal(False),
                    z3.Real(f"{tag}.prev.lo"))
        s = Slot(tag, kind, {f.name: z3.Real(f"{tag}.{f.name}") for f in self.be.rb.tier_fields},
                 z3.Bool(f"{tag}.first"), z3.Bool(f"{tag}.last"), pred_fields[HI], pred=pred)
        self.slots.append(s)
        return s

    def values(self) -> dict[str, SV]:
        out = {k: self.sv(k) for k in self.params}
        for k, v in self.first_slot.fields.items():
            out[f"first_tier.{k}"] = SV(v)
        for k, v in self.last_slot.fields.items():
            out[f"last_tier.{k}"] = SV(v)
        return out

    def lookup(self, notional) -> Slot:
        """The slot of `tier(notional)` (one per notional term: Z3 shares equal terms)."""
        key = notional.get_id()  # the slot keeps `notional` alive, so the id stays its own
        s = self._lookups.get(key)
        if s is None:
            s = self._lookups[key] = self._slot("lookup")
            s.at = notional
            s.defn.append(s.range(notional))
        return s

    def solve(self, be: Backend, e: ast.SolveTier, env: SymEnv) -> SV:
        """`solve_tier(value, cond)`: compiled once with placeholder tier fields, then instantiated at
        a slot R (value and condition) and at R's predecessor (condition): cond_R or R last, and
        not cond_pred or R first."""
        sub = env.child({f"tier.{k}": SV(v) for k, v in self._ph.items()})
        val = be.compile_expr(e.value, sub)
        if val.v is None:
            return val
        sub.values["value"] = val
        cond = as_bool(be.compile_expr(e.cond, sub).v)
        at = None
        c = e.cond
        if isinstance(c, ast.Compare) and c.op in ("<=", "<") and isinstance(c.right, ast.Name) \
                and c.right.name == f"tier.{HI}":
            at = be._n(be.compile_expr(c.left, sub))
        null = val.null
        key = (val.v.get_id(), cond.get_id(), null.get_id() if z3.is_expr(null) else bool(null))
        hit = self._solves.get(key)
        if hit is not None:
            return hit[1]
        r = self._slot("solve")

        def at_slot(t, fields):
            return z3.substitute(t, *[(self._ph[k], fields[k]) for k in self._ph])

        out = SV(at_slot(val.v, r.fields), at_slot(null, r.fields) if z3.is_expr(null) else null, val.kind, val.enum)
        r.at = at_slot(at, r.fields) if at is not None else None
        r.defn.append(z3.Or(at_slot(cond, r.fields), r.last))
        r.defn.append(z3.Or(r.first, z3.Not(at_slot(cond, r.pred.fields))))
        r.cond = lambda t: at_slot(cond, t.fields)  # the condition in another tier (assumptions())
        r.cond_term = cond
        self._solves[key] = (r, out, val.v, cond, null)
        return out

    # -- what a proof over this contract assumes ---------------------------------------------------
    # Each formula about a tier is compiled once per backend, contract name and fixed parameters,
    # over placeholder tiers A (and B) and a placeholder notional X, then instantiated at a slot by
    # substitution: building goals is Python time, and every goal has many slots.
    def _template(self, key, build):
        """The compiled template `key` (built by `build(placeholders)` on first use) and its placeholders."""
        cache = _TEMPLATES.setdefault((id(self.be), self.symbol, tuple(sorted(self.fixed.items()))),
                                      {"backend": self.be})  # the backend is kept: its id stays its own
        if "A" not in cache:
            for tag in "AB":
                cache[tag] = {f.name: z3.Real(f"{self.symbol}.tpl{tag}.{f.name}") for f in self.be.rb.tier_fields}
            cache["X"] = z3.Real(f"{self.symbol}.tplX")
        if key not in cache:
            cache[key] = build(cache)
        return cache[key], cache

    @staticmethod
    def _at(template, *slots, x=None):
        term, cache = template
        pairs = [(cache[tag][k], t.fields[k]) for tag, t in zip("AB", slots) for k in cache[tag]]
        if x is not None:
            pairs.append((cache["X"], x))
        return z3.substitute(term, *pairs)

    def mm_at(self, s: Slot, x):
        """The rulebook's maintenance_margin at notional x, in tier `s` (the derived value's own
        formula, read in a one-tier view of the contract)."""
        def build(ph):
            one = SymContract(self.symbol, self.params, [ph["A"]], [], None, self.enums)
            env = SymEnv(self.be, {**one.values(), mm_argument(self.be.rb): SV(ph["X"])}, self.be.derived, None, one)
            return self.be._n(env["maintenance_margin"])
        return self._at(self._template("mm", build), s, x=x)

    def domains(self, t: Slot):
        """The domains of a tier's fields (spec/parameters.yaml `tier_fields`)."""
        def build(ph):
            tenv = SymEnv(self.be, {k: SV(v) for k, v in ph["A"].items()})
            return z3.And(*[as_bool(self.be.compile_expr(f.domain, tenv).v) for f in self.be.rb.tier_fields])
        return self._at(self._template("domains", build), t)

    def instance(self, f, t: Slot, nxt: Slot | None = None):
        """A family-8 invariant (`over: tiers` at t, `over: tier_pairs` at (t, nxt)) as a Z3 Bool."""
        def build(ph):
            # the parameters only (the same terms in every AnyContract of this key), never a slot
            vals = {**{k: self.sv(k) for k in self.params}, **{f"tier.{k}": SV(v) for k, v in ph["A"].items()}}
            if nxt is not None:
                vals.update({f"next_tier.{k}": SV(v) for k, v in ph["B"].items()})
            return as_bool(self.be.compile_expr(f.formula, SymEnv(self.be, vals, {}, None, None)).v)
        return self._at(self._template(("instance", f.id, nxt is not None), build), *([t, nxt] if nxt else [t]))

    def mm_relation(self, s: Slot, x, t: Slot, y):
        """What lemma:mm says of (s, x) and (t, y): for x in s's range, y in t's range and x <= y,
        0 <= MM_t(y) - MM_s(x) <= y - x, strictly below y - x when x < y."""
        d = self.mm_at(t, y) - self.mm_at(s, x)
        return z3.Implies(z3.And(s.range(x), t.range(y), x <= y),
                          z3.And(d >= 0, d <= y - x, z3.Implies(x < y, d < y - x)))

    def _memo(self, key, build):
        """A term about named slots, built once per backend, contract name and fixed parameters: a
        slot's variables are named after its place (`*.slot3.max_notional`), so the same key gives
        the same term in every goal. A key naming other terms (a notional, a condition) by id is
        stored with them (kept alive, the ids stay theirs)."""
        cache = _TEMPLATES.setdefault((id(self.be), self.symbol, tuple(sorted(self.fixed.items()))),
                                      {"backend": self.be})
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = build()
        return hit[0]

    def assumptions(self, parameter_formals) -> list[tuple[str, Any]]:
        """Every assumption about the slots built so far, grouped by name (call after the goal is built)."""
        groups: dict[str, list] = {}

        def add(name, x):
            groups.setdefault(name, []).append(x)

        memo = self._memo
        for s in self.slots:
            for d in s.defn:
                add("def:solve_tier" if s.kind == "solve" else "def:tier", d)
            for t in (s, s.pred):
                add("domain:tiers", memo(("domains", t.name), lambda: (self.domains(t),)))
            for f in parameter_formals:
                if f.over == "tiers":
                    add(f"hyp:{f.id}", memo(("tiers", f.id, s.name), lambda: (self.instance(f, s),)))
                    add(f"hyp:{f.id}", memo(("tiers-pred", f.id, s.name), lambda: (
                        z3.Implies(z3.Not(s.first), self.instance(f, s.pred)),)))
                elif f.over == "tier_pairs":
                    add(f"hyp:{f.id}", memo(("pairs", f.id, s.name), lambda: (
                        z3.Implies(z3.Not(s.first), self.instance(f, s.pred, s)),)))
        for r in self.slots:  # every tier before the one solve_tier picks fails its condition
            if r.cond is not None:
                for t in self.slots:
                    if t is not r:
                        add(EARLIER, memo(("earlier", r.name, t.name, r.cond_term.get_id()), lambda: (
                            z3.Implies(t.hi < r.hi, z3.Not(r.cond(t))), r.cond_term)))
        for i, a in enumerate(self.slots):
            for b in self.slots[i + 1:]:
                for x in memo(("order", a.name, b.name), lambda: (self._order(a, b),)):
                    add("lemma:tier-order", x)
        pts = [s for s in self.slots if s.at is not None]
        for i, a in enumerate(pts):
            for b in pts[i + 1:]:
                for s, t in ((a, b), (b, a)):
                    add("lemma:mm", memo(("mm", s.name, t.name, s.at.get_id(), t.at.get_id()), lambda: (
                        self.mm_relation(s, s.at, t, t.at), s.at, t.at)))
        out = list(self.facts)
        for name in sorted(groups):
            out.append((name, z3.And(*groups[name]) if len(groups[name]) > 1 else groups[name][0]))
        if self.symbol != ANY:  # a second contract (frames): its own names
            out = [(f"{n}@{self.symbol}", x) for n, x in out]
        return out

    @staticmethod
    def _order(a: Slot, b: Slot) -> list:
        """lemma:tier-order for slots a, b: equal max_notional, the same tier; a smaller one, earlier."""
        same = z3.And(*[a.fields[k] == b.fields[k] for k in a.fields], a.first == b.first, a.last == b.last,
                      z3.Implies(z3.Not(a.first), z3.And(*[a.pred.fields[k] == b.pred.fields[k]
                                                           for k in a.pred.fields])))
        out = [z3.Implies(a.hi == b.hi, same)]
        for x, y in ((a, b), (b, a)):
            out.append(z3.Implies(x.hi < y.hi, z3.And(x.hi <= y.lo, z3.Not(y.first), z3.Not(x.last))))
        return out


class TierBackend(Backend):
    """The Z3 backend with `tier(...)` and `solve_tier(...)` read through an AnyContract's slots when
    the contract is one (every other contract: the backend's own unrolling over its tiers)."""

    def tier_lookup(self, contract: SymContract, notional, fld: str):
        if isinstance(contract, AnyContract):
            return contract.lookup(notional).fields[fld]
        return super().tier_lookup(contract, notional, fld)

    def _c_SolveTier(self, e, env):
        if isinstance(env.contract, AnyContract):
            return env.contract.solve(self, e, env)
        return super()._c_SolveTier(e, env)

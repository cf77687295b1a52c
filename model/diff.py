"""`marginspec diff A B`: where two venues' (or contract files') liquidation rules disagree, decided
by Z3 over every position, and by how much.

For each contract symbol in both A and B, over one symbolic position (side, size, entry, margin,
mark) in the domain below, Z3 decides whether the liquidation decision (`liquidatable` at the mark)
and the liquidation root (`liquidation_root`) are the same under both. Where they are not, a small
readable position that tells them apart is shown (both roots and prices, both decisions), checked
with the exact interpreter. The largest relative difference of the root, |L_A - L_B| / L_B, over
the domain is given as a proved bound: for two contracts that differ only in the taker fee rate
(mark basis, same tiers) it is the closed form max over tiers of |f_A - f_B| / (1 - mmr_k - f_A)
(long) and |f_A - f_B| / (1 + mmr_k + f_A) (short) — the root's ratio in one tier is
(1 - mmr - f_B) / (1 - mmr - f_A), and concavity of equity - maintenance margin bounds it across
tiers — and Z3 shows that no position exceeds it (unsat) and that one attains it (sat). For other
pairs Z3 either finds positions beyond any stated size (no finite bound) or encloses the supremum
between two proved values.

The domain: size > 0, entry > 0, margin > 0, mark > 0; leverage at entry (N·E / margin) between 1
and 100; the entry notional within the last tier of both contracts; for the root, both roots
positive (both venues show a liquidation price).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import z3

from .numbers import exact_text, format_decimal, round_to
from .rulebook import Contract, Rulebook

LEVERAGE = (Fraction(1), Fraction(100))
LARGE = Fraction(10) ** 6  # "no finite bound": Z3 finds positions beyond this relative difference
EPSILON = Fraction(1, 10 ** 9)  # "approached": some position comes this close to a bound
# Each query is bounded by Z3's work counter, so its answer (unknown included) is the same on any
# machine, under any load and for any --jobs; the seconds are only a safety net far beyond it. The
# shipped table's queries use at most 0.21M; the hardest decided one of an 8-tier contract
# (bench/diff/btc8.yaml) 3.58M; a short-side bound there needs about 20M (90 s) and stays unknown.
RLIMIT = 5_000_000
TIMEOUT = 600.0
DOMAIN = ("size > 0, entry > 0, margin > 0, mark > 0; leverage at entry (N·E / margin) from 1 to 100; entry "
          "notional within the last tier of both contracts; for roots: both roots > 0; every tier, both sides")


# ----------------------------------------------------------------------------------------- model
@dataclass(frozen=True)
class Position:
    side: str
    size: Fraction
    entry: Fraction
    margin: Fraction
    mark: Fraction


@dataclass(frozen=True)
class Witness:
    """A position that tells A and B apart, with what each says about it."""

    position: Position
    root_a: Fraction
    root_b: Fraction
    price_a: Fraction | None
    price_b: Fraction | None
    liquidatable_a: bool
    liquidatable_b: bool


@dataclass(frozen=True)
class Bound:
    """The largest relative difference of the root over the domain.

    kind: 'zero' (roots equal), 'exact' (value proved: none exceeds it, one attains it),
    'unbounded' (positions beyond `value` exist), 'enclosed' (the supremum lies in [lo, value]),
    'unknown' (Z3 reached its work limit, RLIMIT)."""

    kind: str
    value: Fraction | None = None
    lo: Fraction | None = None
    formula: str = ""
    attained: str = ""


@dataclass(frozen=True)
class PairDiff:
    symbol: str
    params_a: Mapping[str, Any]
    params_b: Mapping[str, Any]
    decisions: str  # 'equal' | 'differ' | 'unknown'
    roots: str
    witness: Witness | None
    bound: Bound

    @property
    def verdict(self) -> str:
        """'unknown' when Z3 left a question of this contract open, else 'equal' or 'differ'."""
        if "unknown" in (self.decisions, self.roots, self.bound.kind):
            return "unknown"
        return "equal" if self.decisions == self.roots == "equal" else "differ"


@dataclass(frozen=True)
class DiffReport:
    a: str
    b: str
    pairs: tuple[PairDiff, ...]
    only_a: tuple[str, ...] = ()
    only_b: tuple[str, ...] = ()
    domain: str = DOMAIN

    @property
    def equal(self) -> bool:
        return all(p.decisions == "equal" and p.roots == "equal" for p in self.pairs)

    @property
    def undecided(self) -> bool:
        return any("unknown" in (p.decisions, p.roots) for p in self.pairs)


# ----------------------------------------------------------------------------------------- Z3
@dataclass
class _Encoding:
    """One symbolic position read under contract A and contract B (same variables)."""

    side: str
    facts: list
    liq_a: Any
    liq_b: Any
    root_a: Any
    root_b: Any
    vars: dict = field(default_factory=dict)


def _encode(rb: Rulebook, a: Contract, b: Contract, side: str) -> _Encoding:
    from .z3backend import EXACT, Backend
    from .z3terms import SV, as_bool

    be = Backend(rb, EXACT)
    ca, cb = be.concrete_contract(a), be.concrete_contract(b)
    st = be.symbolic_state("diff.", side=side, has_position=True)
    st["mark_price"] = SV(st["mark_price"].v)  # a mark is set (not null)
    ea, eb = be.env(ca, st), be.env(cb, st)
    size, entry, margin, mark = (st[n].v for n in ("size", "entry_price", "isolated_margin", "mark_price"))
    n_a = size * ca.params["contract_multiplier"]
    facts = [size > 0, entry > 0, margin > 0, mark > 0,
             n_a * entry >= LEVERAGE[0] * margin, n_a * entry <= LEVERAGE[1] * margin,
             size * ca.params["contract_multiplier"] * entry <= ca.tiers[-1]["max_notional"],
             size * cb.params["contract_multiplier"] * entry <= cb.tiers[-1]["max_notional"]]
    enc = _Encoding(side, facts, as_bool(ea["liquidatable"].v), as_bool(eb["liquidatable"].v),
                    ea["liquidation_root"].v, eb["liquidation_root"].v,
                    {"size": size, "entry": entry, "margin": margin, "mark": mark})
    enc.facts += be.take_facts()
    return enc


def _sat(formula, facts) -> tuple[str, Any]:
    from .solving import satisfiable

    r = satisfiable(formula, (), facts, TIMEOUT, rlimit=RLIMIT)
    return r.status, r.model


def _rel_gt(enc: _Encoding, v: Fraction, strict: bool = True):
    """|L_A - L_B| > v·L_B (or >= when not strict), both roots positive."""
    from .z3terms import q

    d = enc.root_a - enc.root_b
    lim = q(v) * enc.root_b
    cmp = (lambda x: x > lim) if strict else (lambda x: x >= lim)
    return z3.And(enc.root_a > 0, enc.root_b > 0, z3.Or(cmp(d), cmp(-d)))


# ----------------------------------------------------------------------------------------- compare
Side = tuple[str, Mapping[str, Contract]]  # a venue or file's name, and its contracts by symbol


def compare(rb: Rulebook, a_name: str, a: Mapping[str, Contract], b_name: str, b: Mapping[str, Contract],
            jobs: int = 1, done: Callable[[PairDiff], None] | None = None) -> DiffReport:
    return compare_pairs(rb, [((a_name, a), (b_name, b))], jobs, done)[0]


def compare_pairs(rb: Rulebook, pairs: Sequence[tuple[Side, Side]], jobs: int = 1,
                  done: Callable[[PairDiff], None] | None = None) -> list[DiffReport]:
    """A report per pair (A, B): each symbol of both compared (a unit), the units of every pair in
    `jobs` processes (diff_jobs.py), `done(unit's result)` as each is decided; the same reports for
    any `jobs`."""
    from .diff_jobs import decide_units

    units = [(s, a[s], b[s]) for (_, a), (_, b) in pairs for s in a if s in b]
    decided = iter(decide_units(rb, units, jobs, done))
    return [DiffReport(an, bn, tuple(next(decided) for s in a if s in b), tuple(s for s in a if s not in b),
                       tuple(s for s in b if s not in a)) for (an, a), (bn, b) in pairs]


def units_of(pairs: Sequence[tuple[Side, Side]]) -> int:
    """How many units `compare_pairs` decides (for a progress display)."""
    return sum(1 for (_, a), (_, b) in pairs for s in a if s in b)


def compare_contracts(rb: Rulebook, symbol: str, a: Contract, b: Contract) -> PairDiff:
    sides = _sides(rb)
    encs = {s: _encode(rb, a, b, s) for s in sides}
    dec, roots = [], []
    for s, e in encs.items():
        dec.append(_sat(z3.Xor(e.liq_a, e.liq_b), e.facts)[0])
        roots.append(_sat(z3.And(e.root_a != e.root_b, e.root_a > 0, e.root_b > 0), e.facts)[0])
    decisions, root_status = _verdict(dec), _verdict(roots)
    witness = None
    if "differ" in (decisions, root_status):
        witness = readable_witness(rb, symbol, a, b) or _model_witness(rb, symbol, a, b, encs)
    bound = Bound("zero") if root_status == "equal" else largest_relative_difference(rb, a, b, encs)
    return PairDiff(symbol, _venue_params(rb, a), _venue_params(rb, b), decisions, root_status, witness, bound)


def _sides(rb: Rulebook) -> tuple[str, ...]:
    f = next(f for f in rb.state if f.scope == "position" and f.ty.kind == "enum")
    return rb.enums[f.ty.enum]


def _verdict(statuses) -> str:
    if "sat" in statuses:
        return "differ"
    return "unknown" if "unknown" in statuses else "equal"


def _venue_params(rb: Rulebook, c: Contract) -> dict:
    return {p.name: c.params[p.name] for p in rb.params if p.optional}


# ----------------------------------------------------------------------------------------- bound
def fee_only(rb: Rulebook, a: Contract, b: Contract) -> bool:
    """A and B differ only in taker_fee_rate, both on the mark basis, with the same tiers."""
    same = all(a.params[p.name] == b.params[p.name] for p in rb.params if p.name != "taker_fee_rate")
    return same and a.tiers == b.tiers and a.params.get("maintenance_basis", "mark") == "mark" and \
        "taker_fee_rate" in a.params


def closed_form_candidates(a: Contract, b: Contract) -> list[tuple[Fraction, str, str]]:
    """Per tier and side, the relative difference of the roots when both lie in that tier:
    long |fA - fB| / (1 - mmr - fA), short |fA - fB| / (1 + mmr + fA); largest first."""
    fa, fb = a.params["taker_fee_rate"], b.params["taker_fee_rate"]
    out = []
    for k, t in enumerate(a.tiers, 1):
        m = t["maintenance_margin_rate"]
        out.append((abs(fa - fb) / (1 - m - fa), "long", f"|{_d(fa)} - {_d(fb)}| / (1 - {_d(m)} - {_d(fa)})"
                                                            f", long with both roots in tier {k}"))
        out.append((abs(fa - fb) / (1 + m + fa), "short", f"|{_d(fa)} - {_d(fb)}| / (1 + {_d(m)} + {_d(fa)})"
                                                             f", short with both roots in tier {k}"))
    return sorted(out, key=lambda x: -x[0])


def largest_relative_difference(rb: Rulebook, a: Contract, b: Contract, encs: Mapping[str, _Encoding]) -> Bound:
    if fee_only(rb, a, b):
        for v, side, text in closed_form_candidates(a, b):
            st, _ = _sat(_rel_gt(encs[side], v, strict=False), encs[side].facts)
            if st == "unknown":
                return Bound("unknown", formula=text)
            if st != "sat":
                continue  # no position of the domain has both roots in that tier
            beyond = [_sat(_rel_gt(e, v), e.facts)[0] for e in encs.values()]
            if beyond == ["unsat"] * len(beyond):
                return Bound("exact", v, formula=text.split(",")[0], attained="attained by a " + text.split(", ", 1)[1])
            return Bound("unknown", formula=f"{text}: Z3 did not confirm it as the bound ({beyond})")
    return _enclose(encs)


class _Exceeded:
    """Does some position of the domain have a relative root difference above v (`strict`), or at
    least v: 'sat' when some side's query is sat, else 'unknown' when one is, else 'unsat'.

    One 'sat' side decides whatever the others would say, so the sides are asked in turn and the
    rest skipped after a 'sat', the side last found beyond first (in a bisection it is mostly the
    same side, and the other side's unsat proof is the expensive query: 1 to 8 s each on an
    8-tier contract, at each of the 20 steps); and a value asked twice (the bracket's end taken as
    the candidate) is answered once. Each query is decided alone, in a fresh context, with a work
    limit (solving.py), so neither the order nor what is skipped changes an answer: the same
    bound, sooner (bench/profile_diff.py)."""

    def __init__(self, encs: Mapping[str, _Encoding]):
        self.encs = encs
        self.order = list(encs)
        self.seen: dict[tuple[Fraction, bool], str] = {}

    def __call__(self, v: Fraction, strict: bool = True) -> str:
        if (v, strict) not in self.seen:
            self.seen[v, strict] = self._ask(v, strict)
        return self.seen[v, strict]

    def _ask(self, v: Fraction, strict: bool) -> str:
        out = "unsat"
        for side in list(self.order):
            e = self.encs[side]
            st, _ = _sat(_rel_gt(e, v, strict), e.facts)
            if st == "sat":
                self.order.remove(side)
                self.order.insert(0, side)
                return "sat"
            if st == "unknown":
                out = "unknown"
        return out


def _enclose(encs: Mapping[str, _Encoding], steps: int = 20) -> Bound:
    """A proved bound without a closed form: the least power of two not exceeded, bisection to a
    bracket [lo, hi], then the simplest fraction in it, accepted when Z3 shows that no position
    exceeds it and that some come within EPSILON of it; else the bracket itself."""
    exceeded = _Exceeded(encs)
    hi = Fraction(1)
    while (st := exceeded(hi)) == "sat":
        hi *= 2
        if hi > LARGE:
            return Bound("unbounded", LARGE, formula="positions whose roots differ by more than 10^6 times L_B exist")
    if st == "unknown":
        return Bound("unknown", formula=f"Z3 could not decide whether {_d(hi)} is exceeded")
    lo = hi / 2 if hi > 1 else Fraction(0)
    for _ in range(steps):
        mid = (lo + hi) / 2
        st = exceeded(mid)
        if st == "unknown":
            break
        lo, hi = (mid, hi) if st == "sat" else (lo, mid)
    cand = _simplest(lo, hi)
    if exceeded(cand) == "unsat" and exceeded(cand - EPSILON) == "sat":
        attained = exceeded(cand, strict=False)
        how = "attained by a position" if attained == "sat" else f"approached within {_d(EPSILON)}, not attained"
        return Bound("exact", cand, formula="", attained=how)
    return Bound("enclosed", hi, lo, formula=f"the supremum lies in [{_d(lo)}, {_d(hi)}] (Z3: a position exceeds "
                                             f"the first, none the second)")


def _simplest(lo: Fraction, hi: Fraction) -> Fraction:
    """The fraction with the smallest denominator in [lo, hi] (Stern-Brocot descent)."""
    a, b, c, d = 0, 1, 1, 0  # lo side a/b, hi side c/d
    while True:
        m = Fraction(a + c, b + d)
        if m < lo:
            a, b = a + c, b + d
        elif m > hi:
            c, d = a + c, b + d
        else:
            return m


# ----------------------------------------------------------------------------------------- witnesses
def _state(engine, symbol: str) -> dict:
    w = engine.world
    return {**w.contract_values[symbol], **w.account, **w.symbols[symbol]}


def _at(rb: Rulebook, symbol: str, c: Contract, pos: Position, mark: Fraction | None = None):
    """The derived values of `pos` under contract `c` at `mark` (None: refused at open)."""
    from .engine import ReferenceEngine, contract_json

    e = ReferenceEngine(rb)
    e.handle({"id": 0, "op": "reset", "args": {"contracts": {symbol: contract_json(c, rb)},
                                               "available_balance": format_decimal(pos.margin * 2 + 1)}})
    e.handle({"id": 1, "op": "set_mark_price", "args": {"symbol": symbol, "price": format_decimal(pos.entry)}})
    r = e.handle({"id": 2, "op": "open_position", "args": {"symbol": symbol, "side": pos.side,
                                                          "size": format_decimal(pos.size),
                                                          "margin": format_decimal(pos.margin)}})
    if not r["ok"]:
        return None
    vals = _state(e, symbol)
    vals["mark_price"] = pos.mark if mark is None else mark
    return e.interp.derived_values(vals)


def _witness(rb: Rulebook, symbol: str, a: Contract, b: Contract, pos: Position) -> Witness | None:
    da, db = _at(rb, symbol, a, pos), _at(rb, symbol, b, pos)
    if da is None or db is None:
        return None
    return Witness(pos, da["liquidation_root"], db["liquidation_root"], da["liquidation_price"],
                   db["liquidation_price"], bool(da["liquidatable"]), bool(db["liquidatable"]))


def readable_witness(rb: Rulebook, symbol: str, a: Contract, b: Contract) -> Witness | None:
    """A position with round numbers, openable under both contracts, whose roots differ and whose
    mark lies between them (so the decisions differ): tier by tier, both sides, a few leverages."""
    from .vectors.market import Market, reference_mark

    m = Market(symbol, a, reference_mark(a))  # the mark is derived from the contract, never named
    for k in range(1, len(a.tiers) + 1):
        for side in _sides(rb):
            for lev in (10, 5, 20, 2):
                size = m.mid_size(k)
                margin = round_to(m.notional(size) / lev, m.money, "up")
                pos = Position(side, size, m.mark, margin, m.mark)
                w = _witness(rb, symbol, a, b, pos)
                if w is None or w.root_a == w.root_b or min(w.root_a, w.root_b) <= 0:
                    continue
                lo, hi = sorted((w.root_a, w.root_b))
                mark = round_to((lo + hi) / 2, m.tick, "down")
                if not lo < mark < hi and not (side == "long" and mark == hi) and not (side == "short" and mark == lo):
                    mark = (lo + hi) / 2
                w = _witness(rb, symbol, a, b, Position(side, size, m.mark, margin, mark))
                if w is not None and w.liquidatable_a != w.liquidatable_b:
                    return w
    return None


def _model_witness(rb, symbol, a, b, encs) -> Witness | None:
    """The solver's own distinguishing position (when no round one was found), checked exactly."""
    from .z3terms import to_fraction

    for side, e in encs.items():
        st, model = _sat(z3.Xor(e.liq_a, e.liq_b), e.facts)
        if st != "sat":
            continue
        vals = {k: to_fraction(model.eval(v, model_completion=True)) for k, v in e.vars.items()}
        if None in vals.values():
            continue
        w = _witness(rb, symbol, a, b, Position(side, vals["size"], vals["entry"], vals["margin"], vals["mark"]))
        if w is not None:
            return w
    return None


# ----------------------------------------------------------------------------------------- inputs
def _d(x) -> str:
    from .wellformed import show

    return show(x)


def load_contracts_file(rb: Rulebook, path: str | Path) -> dict[str, Contract]:
    """A contracts file (model/contracts.py: YAML or JSON, SYMBOL to CONTRACT, every contract
    judged as `reset` judges it); problems are SpecErrors naming file:line:col."""
    from .contracts import load_contracts

    return dict(load_contracts(path, rb, wellformed=True))


def resolve(rb: Rulebook, arg: str) -> dict[str, Contract]:
    """A venue name (its parameters on the rulebook's contracts) or a contracts file."""
    from .venues import apply_venue, load_venues

    venues = load_venues(rb)
    if arg in venues.venues:
        return dict(apply_venue(rb, arg, venues).contracts)
    p = Path(arg)
    if p.is_file():
        return load_contracts_file(rb, arg)
    if p.suffix or "/" in arg or os.sep in arg:  # meant as a file: say why it cannot be read
        import errno

        code = errno.EISDIR if p.is_dir() else errno.ENOENT
        raise ValueError(f"{arg}: cannot read: {os.strerror(code)} (taken for a contracts file, "
                         f"having a suffix or a slash; the venues are {', '.join(venues.venues)})")
    venues.get(arg)  # raises with a "did you mean"
    raise AssertionError("unreachable")


# ----------------------------------------------------------------------------------------- output
def to_json(r: DiffReport) -> dict:
    def w(x: Witness | None):
        if x is None:
            return None
        p = x.position
        return {"side": p.side, "size": _d(p.size), "entry_price": _d(p.entry), "isolated_margin": _d(p.margin),
                "mark_price": _d(p.mark), "a": {"root": _d(x.root_a), "liquidation_price": _d(x.price_a) if
                                                  x.price_a is not None else None, "liquidatable": x.liquidatable_a},
                "b": {"root": _d(x.root_b), "liquidation_price": _d(x.price_b) if x.price_b is not None else None,
                      "liquidatable": x.liquidatable_b}}

    return {"a": r.a, "b": r.b, "equal": r.equal, "domain": r.domain, "only_in_a": list(r.only_a),
            "only_in_b": list(r.only_b),
            "contracts": [{"symbol": p.symbol, "parameters": {"a": {k: _d(v) for k, v in p.params_a.items()},
                                                              "b": {k: _d(v) for k, v in p.params_b.items()}},
                           "liquidation_decisions": p.decisions, "liquidation_roots": p.roots,
                           "distinguishing_position": w(p.witness),
                           "largest_relative_root_difference": {
                               "kind": p.bound.kind, "value": _d(p.bound.value) if p.bound.value is not None else None,
                               "value_fraction": str(p.bound.value) if p.bound.value is not None else None,
                               "lower": _d(p.bound.lo) if p.bound.lo is not None else None,
                               "formula": p.bound.formula, "attained": p.bound.attained}}
                          for p in r.pairs]}


def render_text(r: DiffReport) -> str:
    lines = [f"marginspec diff {r.a} {r.b}: {'EQUAL' if r.equal else 'DIFFERENT'}", f"domain: {r.domain}",
             "relative difference of the root: |L_A - L_B| / L_B (A = {}, B = {})".format(r.a, r.b)]
    for s in r.only_a:
        lines.append(f"{s}: only in {r.a}")
    for s in r.only_b:
        lines.append(f"{s}: only in {r.b}")
    for p in r.pairs:
        lines.append("")
        changed = [k for k in p.params_a if p.params_a[k] != p.params_b.get(k)]
        lines.append(f"{p.symbol}: " + (", ".join(f"{k} {_d(p.params_a[k])} vs {_d(p.params_b[k])}" for k in changed)
                                        or "same venue parameters"))
        lines.append(f"  liquidation decisions: {p.decisions.upper()}; liquidation roots: {p.roots.upper()}")
        if p.witness:
            x, pos = p.witness, p.witness.position
            lines.append(f"  a distinguishing position: {pos.side}, size {_d(pos.size)}, entry {_d(pos.entry)}, margin "
                         f"{_d(pos.margin)}, mark {_d(pos.mark)}")
            for name, root, price, liq in ((r.a, x.root_a, x.price_a, x.liquidatable_a),
                                           (r.b, x.root_b, x.price_b, x.liquidatable_b)):
                lines.append(f"    {name}: root {exact_text(root, 8)}, liquidation price {_d(price) if price is not None else 'none'}"
                             f", at the mark {'liquidated' if liq else 'not liquidated'}")
        b = p.bound
        if b.kind == "zero":
            lines.append("  largest relative difference of the root: 0 (the roots are equal)")
        elif b.kind == "exact":
            lines.append(f"  largest relative difference of the root: {b.formula + ' = ' if b.formula else ''}"
                         f"{exact_text(b.value, 8)} (exact: {b.attained}; Z3: no position exceeds it)")
        elif b.kind == "unbounded":
            lines.append(f"  largest relative difference of the root: no finite bound: {b.formula}")
        elif b.kind == "enclosed":
            lines.append(f"  largest relative difference of the root: {b.formula}")
        else:
            lines.append(f"  largest relative difference of the root: unknown ({b.formula or 'solver work limit'})")
    return "\n".join(lines) + "\n"

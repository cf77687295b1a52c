"""The lemmas the every-contract proofs rest on, each proved by induction on tiers (kind `lemma`).

Tiers are numbered 1..n (any n >= 1); tier j's `lo` is tier j-1's max_notional. Both lemmas relate
two tiers i <= j and are proved by induction on j - i, each step a quantifier-free Z3 query over
symbolic tiers (fresh fields, symbolic parameters) that assumes only the family-8 invariants at
the tiers involved and the field domains:

lemma/tier-order   for tiers i < j: max_notional_i <= lo_j and max_notional_i < max_notional_j.
    base  j = i+1: lo_j = max_notional_i by definition; INV-tiers-ordered at (i, j).
    step  (i, j) -> (i, j+1): the claim for (i, j) and INV-tiers-ordered at (j, j+1).
    Hence (anycontract.py, `lemma:tier-order`): two tiers with the same max_notional are the same
    tier; the one with the smaller max_notional comes first (so it is not the last tier, the other
    not the first: by numbering).
lemma/mm           for tiers i <= j, x in tier i's notional range, y in tier j's, x <= y:
                   0 <= MM_j(y) - MM_i(x) <= y - x, and < y - x when x < y
                   (MM_t(x): the rulebook's maintenance_margin at notional x in tier t).
    base  i = j: one tier (MM is then the derived value's formula with that tier's fields), from
          the field domains and INV-born-safe of that tier.
    step  (i, j) -> (i, j+1): with z = max_notional_j (in tier j's range, by INV-tiers-ordered at
          (j-1, j)), the claim for (i, x) and (j, z) (x <= z by lemma/tier-order), INV-mm-continuous
          at (j, j+1), and the base fact for tier j+1 between z and y (y > z = lo_{j+1}).
INV-mm-monotone is the monotone half of lemma/mm; the every-contract proofs use lemma/mm.
"""

from __future__ import annotations

import z3

from .anycontract import AnyContract, Slot
from .results import Goal

#: name -> (title, cases)
LEMMAS = {
    "tier-order": ("tiers with a larger index have a larger max_notional (by induction on tiers)", ("base", "step")),
    "mm": ("maintenance margin is non-decreasing in notional and grows slower than notional (by induction on tiers)",
           ("base", "step")),
}


class LemmasMixin:
    """Goals of the induction lemmas (see the module docstring)."""

    def _goal_lemma(self, ob, label: str) -> Goal:
        be = self.be
        c = AnyContract(be, "lemma")
        fam = {f.id: f for f in self.of_kind("parameter")}
        pairs = [f for f in fam.values() if f.over == "tier_pairs"]
        singles = [f for f in fam.values() if f.over == "tiers"]
        asm = list(c.facts)
        name = ob.data

        def tier(tag: str) -> Slot:
            s = c._slot("lookup")
            s.name = f"lemma.{tag}"
            return s

        def consecutive(t: Slot, u: Slot, what: str):
            """u follows t: u.lo is t's max_notional, u is not the first tier nor t the last."""
            asm.append((f"def:{what}", z3.And(u.lo == t.hi, z3.Not(u.first), z3.Not(t.last))))
            for f in pairs:
                asm.append((f"hyp:{f.id}", c.instance(f, t, u)))

        def tier_facts(t: Slot):
            asm.append(("domain:tiers", c.domains(t)))
            for f in singles:
                asm.append((f"hyp:{f.id}", c.instance(f, t)))

        if name == "tier-order":
            i, j = tier("i"), tier("j")
            if label == "base":
                consecutive(i, j, "tier j = tier i + 1")
                goal = z3.And(i.hi <= j.lo, i.hi < j.hi)
            else:
                k = tier("j+1")
                asm.append(("induction hypothesis (i, j)", z3.And(i.hi <= j.lo, i.hi < j.hi)))
                consecutive(j, k, "tier j+1")
                goal = z3.And(i.hi <= k.lo, i.hi < k.hi)
            return Goal(goal, asm, be.take_facts())
        x, y = z3.Real("lemma.x"), z3.Real("lemma.y")
        if label == "base":
            t = tier("i")
            tier_facts(t)
            d = c.mm_at(t, y) - c.mm_at(t, x)
            goal = z3.Implies(x <= y, z3.And(d >= 0, d <= y - x, z3.Implies(x < y, d < y - x)))
            return Goal(goal, asm, be.take_facts())
        i, j, k = tier("i"), tier("j"), tier("j+1")
        z = j.hi
        for t in (i, j, k):
            tier_facts(t)
        consecutive(j, k, "tier j+1")
        # z is in tier j's range: INV-tiers-ordered between j's predecessor and j
        for f in pairs:
            asm.append((f"hyp:{f.id}", z3.Implies(z3.Not(j.first), c.instance(f, j.pred, j))))
        asm.append(("lemma:tier-order (i <= j)", z3.And(i.hi <= j.hi, z3.Implies(i.hi < j.hi, z3.Not(i.last)),
                                                       z3.Implies(i.hi == j.hi, i.last == j.last))))
        asm.append(("induction hypothesis (i, j)", c.mm_relation(i, x, j, z)))
        asm.append(("x in tier i, y in tier j+1", z3.And(i.range(x), k.range(y))))
        return Goal(c.mm_relation(i, x, k, y), asm, be.take_facts())

"""Obligation generation: every obligation of a rulebook (kinds, cases, contracts), read from its
invariants' formal content, its actions and checks and the contracts under proof.
"""

from __future__ import annotations



from ..printer import to_text
from .results import Obligation


class ObligationsMixin:
    """Generates the obligations of a rulebook."""

    def obligations(self) -> list[Obligation]:
        """Every obligation, generated from the rulebook's invariants, actions, checks and contracts."""
        rb, out = self.rb, []
        for inv in rb.invariants:
            if inv.id in self.formal_errors:
                out.append(Obligation(f"{inv.id}/formal", "fact", inv.title, (inv.id,), inv.family,
                                      statement=inv.statement, data=self.formal_errors[inv.id]))
        sides = tuple(s or "any" for s in self.sides)
        for f in self.of_kind("parameter"):
            for c in self.contracts:
                out.append(Obligation(f"{f.id}/{c}", "parameter", f.inv.title, (f.id,), f.inv.family, None, (c,), f,
                                      ("tiers",), f.text()))
        for f in self.of_kind("fact"):
            for c in self.contracts:
                out.append(Obligation(f"{f.id}/{c}", "fact", f.inv.title, (f.id,), f.inv.family, None, (c,), f, sides,
                                      f.text()))
        tier_counts = sorted({len(rb.contracts[c].tiers) for c in self.contracts})
        for f in self.of_kind("fact"):
            for n in tier_counts:
                out.append(Obligation(f"{f.id}/any-{n}-tiers", "parametric", f.inv.title, (f.id,), f.inv.family, None,
                                      (), f, self.enum_param_cases(sides), f.text(), data=n))
        for f in self.state_invariants():
            for c in self.contracts:
                out.append(Obligation(f"{f.id}/reset/{c}", "initial", f.inv.title, (f.id,), f.inv.family, None, (c,),
                                      f, ("reset",), f.text()))
            for a in rb.actions:
                for c in self.contracts:
                    out.append(Obligation(f"{f.id}/{a}/{c}", "preservation", f.inv.title, (f.id,), f.inv.family, a,
                                          (c,), f, sides, f.text()))
        for f in self.of_kind("transition"):
            for a in f.actions:
                for c in self.contracts:
                    out.append(Obligation(f"{f.id}/{a}/{c}", "transition", f.inv.title, (f.id,), f.inv.family, a,
                                          (c,), f, sides, f.text()))
        pairs = [(a, b) for a in self.contracts for b in self.contracts if a != b] or \
                [(self.contracts[0], self.contracts[0])]
        for f in self.of_kind("frame"):
            for a in rb.actions:
                out.append(Obligation(f"{f.id}/{a}", "frame", f.inv.title, (f.id,), f.inv.family, a,
                                      tuple(self.contracts), f, tuple(f"{x}>{y}" for x, y in pairs), f.inv.statement))
        for a, act in rb.actions.items():
            for c in self.contracts:
                for chk in self.own_checks(a):
                    out.append(Obligation(f"reach/{chk.id}/{c}", "reachability", f"{chk.id} can pass and refuse", (),
                                          None, a, (c,), None, ("pass", "refuse"),
                                          f"{to_text(chk.require)} -> {chk.error}", data=("check", chk.id)))
                for call in act.calls:
                    out.append(Obligation(f"reach/{call.id}/{c}", "reachability",
                                          f"{call.id} ({call.action} inlined) can run and refuse", (), None, a, (c,),
                                          None, ("pass", "refuse"), f"{call.action} when {to_text(call.when) if call.when else 'always'}",
                                          data=("call", call.id)))
        out += self.cumulative_obligations()
        out += self.safety_obligations()
        if self.depth > 0:
            invs = tuple(sorted({f.id for f in self.formals.values() if f.kind in ("state", "transition")}))
            for c in self.contracts:
                out.append(Obligation(f"sequence/depth-{self.depth}/{c}", "sequence",
                                      f"every sequence of {self.depth} actions from reset keeps every invariant",
                                      invs, None, None, (c,), None, ("bmc",), "", data=self.depth))
        for entry in self.against:
            for c in self.contracts:
                out.append(Obligation(f"against/{entry['name']}/{c}", "equivalence",
                                      f"{entry['name']} equals the auditor's formula", tuple(entry.get("invariants", ())),
                                      None, None, (c,), None, ("any",),
                                      entry["text"] + (f"  (assuming {entry['assume_text']})" if entry.get("assume_text") else ""),
                                      data=entry))
        return out

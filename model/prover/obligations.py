"""Obligation generation: every obligation of a rulebook (kinds, cases, contracts), read from its
invariants' formal content, its actions and checks and the contracts under proof.

Two scopes. By default (`general_obligations`) every obligation about states, actions and facts is
generated ONCE, over the symbolic contract of any number of tiers (anycontract.py; no contract
named: scope "every-contract"), with the induction lemmas it rests on (kind `lemma`); each concrete
contract then gets only its family-8 parameter obligations (scope "contract:SYMBOL").
Reachability, the bounded sequences from reset, the cumulative loss cap's induction
(cumulative.py) and runtime safety (runtime_safety.py) stay per contract (on the first
SAMPLE_CONTRACTS contracts; the report's scope says so): over the symbolic contract a witness need not be a real contract,
and the sequences' many tier lookups make the symbolic encoding too slow to be useful. With
`per_contract` (CLI `--per-contract`) every obligation is generated per contract profile, as
proofs about that profile only, plus the family-3 facts over any table of n tiers (`parametric`).
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Mapping

from .. import ast
from ..printer import to_text
from .anycontract import ANY, ANY2
from .lemmas import LEMMAS
from .results import Obligation

#: the general run checks reachability and bounded sequences on the first contracts only (per
#: contract, with that scope): they are sanity checks and bounded searches, not the proofs
SAMPLE_CONTRACTS = 2


class ObligationsMixin:
    """Generates the obligations of a rulebook."""

    def obligations(self) -> list[Obligation]:
        """Every obligation, generated from the rulebook's invariants, actions, checks and contracts."""
        return self.per_contract_obligations() if self.per_contract else self.general_obligations()

    def _formal_errors(self) -> list[Obligation]:
        return [Obligation(f"{inv.id}/formal", "fact", inv.title, (inv.id,), inv.family, statement=inv.statement,
                           data=self.formal_errors[inv.id]) for inv in self.rb.invariants if inv.id in self.formal_errors]

    def general_obligations(self) -> list[Obligation]:
        """Family 8 per contract; everything else once, for every contract satisfying family 8."""
        rb = self.rb
        out = self._formal_errors()
        plain = tuple(s or "any" for s in self.sides)

        def sides(*read):  # each side, and each value of an enum-valued parameter the obligation reads
            return self.enum_param_cases(plain) if self.reads_enum_parameter(*read) else plain
        out += self._parameters()
        family8 = tuple(f.id for f in self.of_kind("parameter"))
        for name, (title, cases) in LEMMAS.items():
            out.append(Obligation(f"lemma/{name}", "lemma", title, family8, 8, None, (), None, cases, title, data=name))
        for f in self.of_kind("fact"):
            out.append(Obligation(f.id, "fact", f.inv.title, (f.id,), f.inv.family, None, (), f, sides(f), f.text()))
        for f in self.state_invariants():
            out.append(Obligation(f"{f.id}/reset", "initial", f.inv.title, (f.id,), f.inv.family, None, (), f,
                                  ("reset",), f.text()))
            for a in rb.actions:
                out.append(Obligation(f"{f.id}/{a}", "preservation", f.inv.title, (f.id,), f.inv.family, a, (), f,
                                      sides(f, rb.actions[a]), f.text()))
        for f in self.of_kind("transition"):
            for a in f.actions:
                out.append(Obligation(f"{f.id}/{a}", "transition", f.inv.title, (f.id,), f.inv.family, a, (), f,
                                      sides(f, rb.actions[a]), f.text()))
        for f in self.of_kind("frame"):
            for a in rb.actions:
                out.append(Obligation(f"{f.id}/{a}", "frame", f.inv.title, (f.id,), f.inv.family, a, (), f,
                                      (f"{ANY}>{ANY2}",), f.inv.statement))
        sample = self.contracts[:SAMPLE_CONTRACTS]
        out += self._reachability(sample)
        out += self._sequences(sample)
        out += self.cumulative_obligations(sample)
        out += self.safety_obligations(sample)
        for entry in self.against:
            out.append(self._against(entry, ()))
        return out

    def reads_enum_parameter(self, *things) -> bool:
        """Whether an invariant or action reads (through derived values, lets and, for an action
        that can liquidate, the liquidation section) an enum-valued contract parameter. Only then
        are its cases split by that parameter's values: a proof with the parameter symbolic covers
        every value as well, the split only makes the solver's work smaller where it matters."""
        enum_params = {p.name for p in self.rb.params if p.enum}
        derived = self.rb.derived_by_name()
        exprs: list = []
        todo = list(things)
        while todo:
            x = todo.pop()
            if isinstance(x, ast.Expr):
                exprs.append(x)
            elif isinstance(x, (list, tuple)):
                todo += list(x)
            elif isinstance(x, Mapping):
                todo += list(x.values())
            elif is_dataclass(x) and not isinstance(x, type):
                todo += [getattr(x, f.name) for f in fields(x)]
                if getattr(x, "kind", None) == "liquidate_if":
                    todo.append(self.rb.liquidation)
        seen: set[str] = set()
        while exprs:
            for n in ast.names(exprs.pop()):
                if n in enum_params:
                    return True
                if n in derived and n not in seen:
                    seen.add(n)
                    exprs.append(derived[n].expr)
        return False

    def _against(self, entry: dict, contracts: tuple[str, ...]) -> Obligation:
        return Obligation(f"against/{entry['name']}" + "".join(f"/{c}" for c in contracts), "equivalence",
                          f"{entry['name']} equals the auditor's formula", tuple(entry.get("invariants", ())),
                          None, None, contracts, None, ("any",) if contracts else self.enum_param_cases(("any",)),
                          entry["text"] + (f"  (assuming {entry['assume_text']})" if entry.get("assume_text") else ""),
                          data=entry)

    def _parameters(self) -> list[Obligation]:
        """Each contract's family-8 obligations ("parameters well formed")."""
        return [Obligation(f"{f.id}/{c}", "parameter", f.inv.title, (f.id,), f.inv.family, None, (c,), f, ("tiers",),
                           f.text()) for f in self.of_kind("parameter") for c in self.contracts]

    def _sequences(self, contracts) -> list[Obligation]:
        """Bounded model checking from reset, per contract: a check over concrete contracts only (over
        the symbolic contract it is too slow to be useful); the general run samples the contracts."""
        if self.depth <= 0:
            return []
        invs = tuple(sorted({f.id for f in self.formals.values() if f.kind in ("state", "transition")}))
        return [Obligation(f"sequence/depth-{self.depth}/{c}", "sequence",
                           f"every sequence of {self.depth} actions from reset keeps every invariant",
                           invs, None, None, (c,), None, ("bmc",), "", data=self.depth) for c in contracts]

    def _reachability(self, contracts) -> list[Obligation]:
        """Each check can both pass and refuse (a sanity check that no check is dead), witnessed on
        the given contracts (per contract; the general run samples the contracts)."""
        out = []
        for a, act in self.rb.actions.items():
            for c in contracts:
                for chk in self.own_checks(a):
                    out.append(Obligation(f"reach/{chk.id}/{c}", "reachability", f"{chk.id} can pass and refuse", (),
                                          None, a, (c,), None, ("pass", "refuse"),
                                          f"{to_text(chk.require)} -> {chk.error}", data=("check", chk.id)))
                for call in act.calls:
                    out.append(Obligation(f"reach/{call.id}/{c}", "reachability",
                                          f"{call.id} ({call.action} inlined) can run and refuse", (), None, a, (c,),
                                          None, ("pass", "refuse"), f"{call.action} when {to_text(call.when) if call.when else 'always'}",
                                          data=("call", call.id)))
        return out

    def per_contract_obligations(self) -> list[Obligation]:
        """Every obligation per contract profile (proofs about those profiles only)."""
        rb = self.rb
        out = self._formal_errors()
        sides = tuple(s or "any" for s in self.sides)
        out += self._parameters()
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
        out += self._reachability(self.contracts)
        out += self._sequences(self.contracts)
        out += self.cumulative_obligations(self.contracts)
        out += self.safety_obligations(self.contracts)
        for entry in self.against:
            out += [self._against(entry, (c,)) for c in self.contracts]
        return out

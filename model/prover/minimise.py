"""Minimisation of counterexamples: each numeric input in turn fixed to the simplest value that
keeps the scenario a counterexample (small, grid-aligned decimals).
"""

from __future__ import annotations

from fractions import Fraction

import z3

from ..numbers import is_terminating
from ..z3terms import SV, b_or, q, to_fraction
from .results import RL_MINIMISE


_ORDER = {"size": 10, "price": 20, "leverage": 25, "money": 30, "rate": 35}


class MinimiseMixin:
    """Picks small readable numbers for a scenario."""

    def _inputs(self, prob, model, with_units: bool = False) -> list:
        """The numeric inputs of a scenario (reset balance, the requests' arguments, free variables)
        with their grid, in the order they are minimised (sizes, prices, leverages, money, rates).
        Without a model: the arguments of every possible request of each step."""
        out = []
        for f in self.rb.state:
            if f.scope == "account" and f.initial is None and not f.ty.nullable:
                v = z3.Real(f"{prob['tag']}.reset.{f.name}")
                out.append((f"reset.{f.name}", SV(v), self._grid(f.type_name, prob["symbols"][0]), 50, f.type_name))
        for i, info in enumerate(prob["steps"]):
            if model is not None:
                runs = [info["runs"][int(to_fraction(model.eval(info["sel"], model_completion=True)))]]
            else:
                runs = info["runs"]
            for r in runs:
                for x in self.rb.actions[r["action"]].args:
                    if x.ty.kind == "num":
                        out.append((f"step {i + 1}.{x.name}", r["args"][x.name], self._grid(x.type_name, r["symbol"]),
                                    _ORDER.get(x.type_name, 40), x.type_name))
        fin = prob["final"] or {}
        if "args" in fin:
            for x in self.rb.actions[fin["action"]].args:
                if x.ty.kind == "num":
                    out.append((f"last.{x.name}", fin["args"][x.name], self._grid(x.type_name, fin["symbol"]),
                                _ORDER.get(x.type_name, 40), x.type_name))
        for n, sv in (fin.get("forall") or {}).items():
            if sv.kind == "num":
                unit = (fin.get("forall_units") or {}).get(n, "price")
                out.append((f"forall.{n}", sv, self._grid(unit, fin["symbol"]), _ORDER.get(unit, 40), unit))
        out.sort(key=lambda t: t[3])
        if with_units:
            return [(n, sv, g, u) for n, sv, g, _, u in out]
        return [(n, sv, g) for n, sv, g, _, _ in out]

    def _grid(self, unit: str, symbol: str) -> Fraction:
        """The grid a value of `unit` is aligned to: the contract parameter of that unit (tick_size
        for prices, lot_size for sizes, money_step for money), 1 for leverage, 0.0001 for rates."""
        c = self.contract_of(symbol)
        cands = [p.name for p in self.rb.params if p.unit == unit]
        if unit == "leverage":
            return Fraction(1)
        if len(cands) == 1 and unit not in ("rate",):
            return c.params[cands[0]]
        return Fraction(1, 10000)

    def _concrete_scenario(self, prob, r, tag: str):
        """Fix the requests Z3 chose, minimise the numbers one by one, and read the scenario off the
        model: (model, starting balance, [(action, symbol, args)])."""
        be = self.be
        model = r.model
        s = r.solver
        for info in prob["steps"]:
            s.add(info["sel"] == model.eval(info["sel"], model_completion=True))
        model = self._minimise(s, model, self._inputs(prob, model))
        balance_name = next((f.name for f in self.rb.state if f.scope == "account" and f.initial is None), None)
        balance = be.value(model, SV(z3.Real(f"{tag}.reset.{balance_name}"))) if balance_name else Fraction(0)
        steps = []
        for info in prob["steps"]:
            j = int(to_fraction(model.eval(info["sel"], model_completion=True)))
            rr = info["runs"][j]
            steps.append((rr["action"], rr["symbol"], {k: be.value(model, v) for k, v in rr["args"].items()}))
        return model, balance, steps

    def _minimise(self, s, model, inputs):
        """Each input in turn (sizes, prices, leverages, money, rates) fixed to the simplest value
        that keeps the scenario a counterexample (`_nice`), preferring values that leave every input
        still free on a fine decimal grid (requests carry decimals; prices need not be
        tick-aligned, N-mark-precision); then any input still not a finite decimal is snapped to the
        nearest value with k decimals."""
        be = self.be
        fine = Fraction(1, 10 ** 8)

        def decimal(sv, grid):
            g = grid if grid and grid >= fine else fine
            k = sv.v / q(g)
            return b_or(sv.null, z3.ToReal(z3.ToInt(k)) == k)

        s.set("rlimit", RL_MINIMISE)
        if self.minimize:
            for idx, (name, sv, grid) in enumerate(inputs):
                cur = be.value(model, sv)
                if cur is None:
                    continue
                rest = [decimal(v, g) for _, v, g in inputs[idx + 1:]]
                chosen = None
                for with_rest in (True, False):
                    for cand in _nice(cur, grid):
                        s.push()
                        s.add(sv.v == q(cand))
                        if with_rest:
                            s.add(*rest)
                        if s.check() == z3.sat:
                            model = s.model()
                            chosen = cand
                        s.pop()
                        if chosen is not None:
                            break
                    if chosen is not None:
                        break
                if chosen is not None:
                    s.add(sv.v == q(chosen))
        s.set("rlimit", 0)
        for name, sv, grid in inputs:
            cur = be.value(model, sv)
            if not isinstance(cur, Fraction) or is_terminating(cur):
                continue
            model = _fix_first(s, sv, (Fraction(round(cur * 10 ** k), 10 ** k) for k in range(0, 19))) or model
        return model


def _fix_first(s, sv: SV, candidates):
    """Fix `sv` in solver `s` to the first candidate the constraints allow (the equation stays
    asserted); the new model, or None when no candidate fits."""
    for cand in candidates:
        s.push()
        s.add(sv.v == q(cand))
        if s.check() == z3.sat:
            model = s.model()
            s.pop()
            s.add(sv.v == q(cand))
            return model
        s.pop()
    return None


def _nice(x: Fraction, grid: Fraction) -> list[Fraction]:
    """Candidate values for a counterexample's number `x`, simplest first: powers of ten up to its
    magnitude (on the grid), then `x` with 1, 2, 3... significant digits, then `x` on the grid."""
    import math
    if not isinstance(x, Fraction):
        return []
    if x == 0:
        return [Fraction(0)]
    sign = -1 if x < 0 else 1
    ax = abs(x)
    g = grid if grid and grid > 0 else Fraction(1, 10 ** 8)

    def on_grid(v: Fraction) -> Fraction:
        return round(v / g) * g

    out: list[Fraction] = []

    def add(v: Fraction) -> None:
        v = on_grid(v)
        if v > 0 and sign * v not in out:
            out.append(sign * v)

    e = math.floor(math.log10(float(ax)))
    lo = math.floor(math.log10(float(g)))
    for k in list(range(0, e + 2)) + list(range(-1, lo - 1, -1)):  # 1, 10, ..., then 0.1, 0.01, ...
        add(Fraction(10) ** k)
    for digits in range(1, 6):
        unit = Fraction(10) ** (e - digits + 1)
        add(round(ax / unit) * unit)
        add((ax // unit + 1) * unit)
    add(ax)
    on = out[:24]
    # then off the grid (a mark price need not be tick-aligned): a few significant digits
    g = Fraction(1, 10 ** 8)
    extra: list[Fraction] = []
    for digits in range(1, 7):
        unit = Fraction(10) ** (e - digits + 1)
        for v in (round(ax / unit) * unit, (ax // unit + 1) * unit):
            if v > 0 and sign * v not in on and sign * v not in extra:
                extra.append(sign * v)
    return on + extra[:8]

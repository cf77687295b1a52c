"""The sections of the generated rulebook that present its own definitions, walked from the loaded
Rulebook: the notation legend, units, enums, state, parameters and contract profiles, derived values
(with their roundings), actions (arguments, lets, checks, inlined calls, effects, result) and
liquidation.

Nothing here is written by hand per rule: a rule added to spec/ appears in these sections.
"""

from __future__ import annotations

from fractions import Fraction

from . import ast
from .docs_ccxt import CCXT
from .docs_values import fmt
from .docs_view import View
from .interpreter import Env, EvalError, Interpreter
from .mathml import Formula, Ident, MathRenderer, Op, row, symbol_box
from .printer import to_text
from .rulebook import Action, Check, Effect


def _mm_at(derived, cv: dict, notional: Fraction | None) -> Fraction | None:
    """The rulebook's maintenance margin of a position whose notional (mark and maintenance alike)
    is `notional`: its formula, taker fee reserve included, not a copy of it; None if it needs more."""
    if notional is None:
        return None
    try:
        return Env({**cv, "notional": notional, "maintenance_notional": notional}, derived)["maintenance_margin"]
    except (EvalError, KeyError):
        return None


class RuleSections(View):
    """One method per section (or per item of a section) of the rulebook's definitions."""

    def legend(self) -> list[dict]:
        demo = [
            (ast.Round(ast.Name("x"), ast.Name("s"), "up"), "x rounded up to a multiple of s (towards +∞)"),
            (ast.Round(ast.Name("x"), ast.Name("s"), "down"), "x rounded down to a multiple of s (towards −∞)"),
            (ast.Round(ast.Name("x"), ast.Name("s"), "half_away"),
             "x rounded to the nearest multiple of s, a half away from zero"),
            (ast.TierField(ast.Name("n"), "f"),
             "field f of the risk tier of notional n: the first tier whose max_notional ≥ n, else the last"),
            (ast.Name("tier.f"), "field f of tier k, the tier being tried when a formula is solved tier by tier"),
            (ast.Name("first_tier.f"), "field f of the first tier"),
            (ast.Name("last_tier.f"), "field f of the last tier"),
            (ast.Name("arg.x"), "the argument x of the request"),
        ]
        out = [{"formula": self.fbox(self.math.box(e), to_text(e)), "text": t} for e, t in demo]
        out.append({"formula": self.fbox(row(Ident("x"), Op(":="), Ident("e"))),
                    "text": "an effect: x takes the value of e (all right-hand sides of one step are read first)"})
        return out

    def units(self) -> list[dict]:
        rb = self.rb
        out = []
        for u in rb.unit_defs:
            parts = [(dim, "" if exp == 1 else str(exp).replace("-", "−"))
                     for dim, exp in zip(rb.units.dimensions, u.dims) if exp]
            used = sorted({p.name for p in rb.params + rb.tier_fields if p.unit == u.name}
                          | {s.name for s in rb.state if s.type_name == u.name}
                          | {d.name for d in rb.derived if d.type_name == u.name})
            out.append({"id": f"unit-{u.name}", "name": u.name, "dims": parts,
                        "description": self.prose(u.description), "used_by": used})
        return out

    def enums(self) -> list[dict]:
        return [{"id": f"enum-{k}", "name": k, "choices": list(v), "description": self.prose(self.rb.enum_descriptions.get(k, ""))}
                for k, v in self.rb.enums.items()]

    def state(self) -> list[dict]:
        titles = {"account": "Account (shared by every symbol)", "symbol": "Per symbol", "position": "Per position (at most one per symbol)"}
        out = []
        for scope in ("account", "symbol", "position"):
            fields = [{"name": s.name, "type": self.unit_text(s.type_name, s.ty.nullable),
                       "initial": "—" if s.initial is None and scope in ("position",) else
                       ("given by reset" if s.initial is None and scope == "account" else fmt(s.initial)),
                       "description": self.prose(s.description)}
                      for s in self.rb.state if s.scope == scope]
            out.append({"scope": scope, "title": titles[scope], "fields": fields})
        return out

    def params(self, params) -> list[dict]:
        return [{"name": p.name, "unit": p.unit, "domain": self.f(p.domain),
                 "default": fmt(p.default) if p.default is not None else "—", "description": self.prose(p.description)}
                for p in params]

    def profiles(self) -> list[dict]:
        out = []
        derived = Interpreter(self.rb).derived
        for sym, c in self.rb.contracts.items():
            cv = Interpreter.contract_values(c)
            params = [{"name": p.name, "value": fmt(c.params[p.name]), "unit": p.unit} for p in self.rb.params
                      if p.name in c.params]
            tiers, prev = [], Fraction(0)
            for k, t in enumerate(c.tiers, 1):
                mx, lev = t.get("max_notional"), t.get("max_leverage")
                cells = []
                for f in self.rb.tier_fields:
                    v = t.get(f.name)
                    note = f"{fmt(v * 100)} %" if f.unit == "rate" and v is not None else ""
                    cells.append({"value": fmt(v), "note": note})
                tiers.append({"k": k, "from": fmt(prev) if mx is not None else "", "cells": cells,
                              "min_margin_rate": fmt(1 / lev) if lev else "",
                              "mm_at_max": fmt(mm) if (mm := _mm_at(derived, cv, mx)) is not None else ""})
                prev = mx if mx is not None else prev
            out.append({"symbol": sym, "anchor": f"profile-{sym}", "params": params, "tiers": tiers,
                        "tier_columns": [f.name for f in self.rb.tier_fields]})
        return out

    # -- derived ---------------------------------------------------------------------------
    def roundings(self, e: ast.Expr, cond: ast.Expr | None = None, otherwise: bool = False) -> list[dict]:
        if isinstance(e, ast.If):
            return self.roundings(e.then, e.cond, False) + self.roundings(e.otherwise, None, True)
        if isinstance(e, ast.Round):
            words = {"up": "up", "down": "down", "half_away": "half away from zero"}[e.direction]
            return [{"direction": words, "value": self.f(e.value), "step": self.f(e.step),
                     "cond": self.f(cond), "otherwise": otherwise and cond is None}]
        out = []
        for c in e.children():
            out += self.roundings(c)
        return out

    def derived(self) -> list[dict]:
        rounded = set()
        out = []
        for d in self.rb.derived:
            rnd = self.roundings(d.expr)
            if rnd:
                rounded.add(d.name)
            inherits = sorted((ast.names(d.expr) & rounded) - {d.name})
            out.append({
                "name": d.name, "symbol": self.fbox(symbol_box(d.symbol), d.symbol) if d.symbol else None,
                "unit": d.type_name, "nullable": d.ty.nullable, "description": self.prose(d.description),
                "formula": Formula.of(MathRenderer(self.symbols, d.symbol).definition(d.name, d.expr),
                                      f"{d.name} = {to_text(d.expr)}"),
                "source_text": to_text(d.expr), "roundings": rnd, "inherits": inherits,
                "sources": list(d.sources), "notes": list(d.notes),
                "vectors": len(self.vec_by_rule.get(d.name, ())),
            })
        return out

    # -- actions ---------------------------------------------------------------------------
    def common_checks(self) -> list[dict]:
        return [{"id": c.id, "error": c.error, "message": c.message, "text": self.prose(c.text), "notes": list(c.notes)}
                for c in self.rb.common_checks]

    def check(self, n: int, c: Check) -> dict:
        return {"n": n, "id": c.id, "require": self.f(c.require), "when": self.f(c.when),
                "with": [self.assign(name, e) for name, e in c.with_], "error": c.error, "message": c.message,
                "origin": c.origin, "sources": list(c.sources), "notes": list(c.notes),
                "vectors": len(self.vec_by_rule.get(c.id, ()))}

    def effect(self, e: Effect) -> dict:
        if e.kind == "set":
            what, formulas = "set", [self.assign(n, x) for n, x in e.assignments]
        elif e.kind == "create_position":
            what, formulas = "open a position with", [self.assign(n, x) for n, x in e.assignments]
        elif e.kind == "remove_position":
            what, formulas = "remove the position", []
        else:
            what, formulas = "liquidate if", [self.f(e.cond)]
        return {"kind": e.kind, "what": what, "formulas": formulas, "when": self.f(e.when), "origin": e.origin}

    def action(self, a: Action) -> dict:
        checks, rows, n = list(a.checks), [], 0
        calls = {c.id: c for c in a.calls}
        seen_calls = set()
        for c in checks:
            call_id = c.id.rsplit(".", 1)[0] if c.origin else None
            if call_id in calls and call_id not in seen_calls:
                seen_calls.add(call_id)
                call = calls[call_id]
                rows.append({"call": True, "id": call.id, "action": call.action, "when": self.f(call.when),
                             "args": [self.fbox(row(Ident(name), Op("="), self.math.box(e)), f"{name} = {to_text(e)}")
                                      for name, e in call.args]})
            n += 1
            rows.append({"call": False, **self.check(n, c)})
        for call in a.calls:  # a call whose callee has no checks still gets its anchor
            if call.id not in seen_calls:
                rows.append({"call": True, "id": call.id, "action": call.action, "when": self.f(call.when),
                             "args": [self.fbox(row(Ident(name), Op("="), self.math.box(e)), f"{name} = {to_text(e)}")
                                      for name, e in call.args]})
        args = [{"name": x.name, "type": x.type_name, "optional": x.optional, "valid": self.f(x.valid),
                 "choices": list(self.rb.enums.get(x.type_name, ()))} for x in a.args]
        result = []
        for r in a.result:
            result.append({"name": r.name, "expr": self.f(r.expr), "view": list(r.view) if r.view else None,
                           "when": self.f(r.when), "omit_null": r.omit_null})
        return {"name": a.name, "description": self.prose(a.description), "args": args,
                "lets": [self.assign(n, e, "=", stacked=True) for n, e in a.lets], "checks": rows,
                "effects": [self.effect(e) for e in a.effects], "result": result, "sources": list(a.sources),
                "notes": list(a.notes), "vectors": len(self.vec_by_rule.get(a.name, ())),
                "ccxt": CCXT.get(a.name, ("—", "", ""))[0]}

    def liquidation(self) -> dict:
        liq = self.rb.liquidation
        return {"description": self.prose(liq.description), "lets": [self.assign(n, e, "=", stacked=True) for n, e in liq.lets],
                "effects": [self.effect(e) for e in liq.effects], "sources": list(liq.sources), "notes": list(liq.notes),
                "triggers": [{"action": a.name, "cond": self.f(e.cond)} for a in self.rb.actions.values()
                             for e in a.effects if e.kind == "liquidate_if"]}

"""Replay: a scenario run through the reference engine (the exact interpreter), the invariant
evaluated on the replayed states to confirm a violation, and the conformance vector it becomes.
"""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from typing import Any, Mapping

from .. import ast
from ..engine import ReferenceEngine
from ..engine import contract_json as engine_contract_json
from ..formal import Formal
from ..interpreter import Env
from ..interpreter import compile_expr as icompile
from ..numbers import format_decimal
from ..rulebook import Rulebook
from .envs import _CEnv
from .render import _human, _render_scenario
from .results import VIOLATED, ERROR, _dec


class ReplayMixin:
    """Confirms counterexamples with the interpreter and writes their vectors."""

    def _run_scenario(self, symbols, balance, steps):
        """Replay steps through the reference engine (the exact interpreter) after a reset. Returns the
        engine and one record per step: request, reply, the interpreter's Outcome, and the step
        symbol's values before and after."""
        eng = ReferenceEngine(self.rb)
        contracts = {s: engine_contract_json(self.contract_of(s), self.rb) for s in symbols}
        eng.handle({"id": 0, "op": "reset", "args": {"contracts": contracts, "available_balance": format_decimal(balance)}})
        records = []
        for i, (op, sym, args) in enumerate(steps):
            req = {"op": op, "args": {"symbol": sym, **{k: _req_value(v) for k, v in args.items() if v is not None}}}
            pre = self._values(eng, sym)
            world_pre = eng.world  # replaced, never mutated: the whole state before this request
            reply = eng.handle({"id": i + 1, **req})
            records.append({"request": req, "reply": {k: v for k, v in reply.items() if k != "id"},
                            "outcome": eng.last_outcome, "pre": pre, "post": self._values(eng, sym),
                            "world_pre": world_pre})
        return eng, records

    def _replay(self, ob, label, symbols, balance, steps, last_index, forall, prob) -> dict:
        """Run the scenario through the reference engine (the exact interpreter) and confirm the
        violation there; return the counterexample record."""
        eng, records = self._run_scenario(symbols, balance, steps)
        trace = [{"request": rec["request"], "reply": rec["reply"]} for rec in records]
        pre_vals = post_vals = outcome = None
        if last_index is not None:
            last = records[last_index]
            pre_vals, post_vals, outcome = last["pre"], last["post"], last["outcome"]
        sym = prob["final"].get("symbol", symbols[0]) if prob["final"] else symbols[0]
        f = ob.formal
        confirmed, values = False, {}
        try:
            if ob.kind in ("transition", "preservation"):
                ok_reply = trace[last_index]["reply"]["ok"]
                ev_ok, values = self._eval_transition(f, ob.action, pre_vals, post_vals, outcome, steps[last_index][2])
                confirmed = ok_reply and ev_ok is False
            elif ob.kind == "initial":
                vals = self._values(eng, sym)
                confirmed = icompile(f.formula)(Env(vals, self.interp.derived)) is False
                values = {"state": self._named(vals)}
            elif ob.kind == "fact":
                vals = self._values(eng, sym)
                held, values = self._eval_fact(f, vals, forall)
                confirmed = held is False
            elif ob.kind == "equivalence":
                vals = self._values(eng, sym)
                env = Env(vals, self.interp.derived)
                mine = env[ob.data["name"]]
                alt = icompile(ob.data["expr"])(env)
                values = {"state": self._named(vals), f"rulebook {ob.data['name']}": _dec(mine),
                          "auditor's formula": _dec(alt)}
                confirmed = mine != alt
            elif ob.kind == "frame":
                other = prob["final"]["other"]
                wp = records[last_index]["world_pre"]  # the other symbol as it was before the step
                before = {**wp.contract_values[other], **wp.account, **wp.symbols[other]}
                after = self._values(eng, other)
                eb, ea = Env(before, self.interp.derived), Env(after, self.interp.derived)
                diffs = {n: {"before": _dec(eb[n]), "after": _dec(ea[n])} for n in prob["final"]["names"]
                         if _safe(eb, n) != _safe(ea, n)}
                values = {"other symbol": other, "changed": diffs,
                          "formula": f"every field and derived value of {other} unchanged  ->  {_human(not diffs)}"}
                confirmed = bool(diffs)
            elif ob.kind == "cumulative":
                confirmed, values = self._confirm_cumulative(ob, eng, records, sym)
            elif ob.kind == "safety":
                confirmed, values = self._confirm_safety(eng, records, last_index, sym)
        except Exception as e:
            values["error"] = f"{type(e).__name__}: {e}"
        inv = ",".join(ob.invariants) or ob.id
        if ob.kind == "equivalence":
            note = f"the auditor's formula differs from the rulebook's {ob.data['name']} on this input"
        else:
            note = f"{inv} is violated" + (f" by {ob.action}" if ob.action else "") + f" ({label})"
        if ob.kind == "safety":
            note = f"the reference engine answers INTERNAL to {ob.action} ({label})"
        if not confirmed:
            note = "the interpreter does not confirm the violation found by Z3 (a backend disagreement)"
        cx = {"case": label, "invariant": inv, "confirmed": confirmed, "status": VIOLATED if confirmed else ERROR,
              "note": note, "formula": f.text() if f else (ob.statement or ""),
              "balance": _dec(balance), "steps": trace, "last_step": (last_index + 1) if last_index is not None else None,
              "free": {k: _dec(v) for k, v in forall.items()}, "values": values}
        title = f"counterexample to {inv}" + (f" after {ob.action}" if ob.action else "") + f" ({ob.contracts and ob.contracts[0] or ''} {label})"
        vec_steps = [(st["request"]["op"], st["request"]["args"]["symbol"],
                      {k: v for k, v in st["request"]["args"].items() if k != "symbol"}) for st in trace]
        if ob.kind == "fact" and f.with_:  # the state's derived values, then the state `with` describes
            vec_steps.append(("query", sym, {}))
            vec_steps += self._realise_with(f, sym, forall, eng)
        vec_steps.append(("query", sym, {}))
        if ob.kind == "frame":  # the other symbol, which the step should have left alone
            vec_steps.append(("query", prob["final"]["other"], {}))
        if ob.kind != "safety":  # no conformance vector expects INTERNAL
            cx["vector"] = self._vector_from_steps(ob, symbols, balance, vec_steps, inv, title)
        cx["text"] = _render_scenario(cx)
        return cx

    def _realise_with(self, f: Formal, sym: str, forall: dict, eng) -> list:
        """The requests that put a fact's `with` overrides into the state (an action whose effect sets
        the field from its single argument), so the vector shows the hypothetical state."""
        out = []
        vals = self._values(eng, sym)
        for fld, e in f.with_:
            env = Env({**vals, **forall}, self.interp.derived)
            try:
                v = icompile(e)(env)
            except Exception:
                continue
            for name, act in self.rb.actions.items():
                if len(act.args) == 1 and not act.checks and any(
                        ef.kind == "set" and ef.when is None and any(n == fld and isinstance(x, ast.Name) and x.name == f"arg.{act.args[0].name}"
                                                                     for n, x in ef.assignments) for ef in act.effects):
                    if isinstance(v, Fraction) and v > 0:
                        try:
                            format_decimal(v)
                            out.append((name, sym, {act.args[0].name: v}))
                        except ValueError:
                            rounded = Fraction(round(v * 10 ** 8), 10 ** 8)
                            out.append((name, sym, {act.args[0].name: rounded}))
                    break
        return out

    def _values(self, eng: ReferenceEngine, sym: str) -> dict:
        w = eng.world
        return {**w.contract_values[sym], **w.account, **w.symbols[sym]}

    def _named(self, vals: Mapping[str, Any]) -> dict:
        """State fields and every derived value (where defined), for people."""
        env = Env(vals, self.interp.derived)
        out = {}
        for f in self.rb.state:
            if f.name in vals:
                out[f.name] = _dec(vals[f.name])
        if vals.get("has_position"):
            for d in self.rb.derived:
                out[d.name] = _dec(_safe(env, d.name))
        return out

    def _eval_transition(self, f: Formal, action, pre_vals, post_vals, outcome, args):
        """The formula on the replayed step (interpreter semantics); returns (value, named values)."""
        a = self.rb.actions[action]
        defs = {n: icompile(e) for n, e in f.defines(action).items()} if f.kind == "transition" else {}
        lazy_pre = {**self.interp.derived, **{n: icompile(e) for n, e in a.lets}, **defs}
        pre = Env({**pre_vals, **{f"arg.{k}": v for k, v in args.items()}}, lazy_pre)
        locals_ = {"liquidated": False, "fill_price": None}
        locals_.update(outcome.locals or {} if outcome is not None else {})
        lets = {n: pre[n] for n, _ in a.lets}
        post = _CEnv({**post_vals, **locals_, **lets, **{f"arg.{k}": v for k, v in args.items()}},
                     {**self.interp.derived, **defs}, None, old=pre)
        value = icompile(f.formula)(post)
        named = {"before": self._named(pre_vals), "after": self._named(post_vals),
                 "arguments": {k: _dec(v) for k, v in args.items() if v is not None}}
        if defs:
            named["defined"] = {n: {"before": _dec(_safe(pre, n)), "after": _dec(_safe(post, n))} for n in defs}
        if outcome is not None and outcome.locals:
            named["locals"] = {k: _dec(v) for k, v in outcome.locals.items()}
        if a.lets:
            named["lets"] = {k: _dec(v) for k, v in lets.items()}
        named["formula"] = f"{f.text()}  ->  {_human(value)}"
        return value, named

    def _eval_fact(self, f: Formal, vals, forall):
        defs = {n: icompile(e) for n, e in f.defines(None).items()}
        base = Env({**vals, **forall}, {**self.interp.derived, **defs})
        if f.assume is not None and not icompile(f.assume)(base):
            return None, {"note": "the assumption does not hold on the replayed state"}
        if f.with_:
            over = {n: icompile(e)(base) for n, e in f.with_}
            hyp = Env({**vals, **forall, **over}, {**self.interp.derived, **defs}, base)
        else:
            over, hyp = {}, base
        value = icompile(f.formula)(hyp)
        named = {"state": self._named(vals), "free": {k: _dec(v) for k, v in forall.items()}}
        if over:
            named["with"] = {k: _dec(v) for k, v in over.items()}
            named["in that state"] = {d.name: _dec(_safe(hyp, d.name)) for d in self.rb.derived}
        named["formula"] = f"{f.text()}  ->  {_human(value)}"
        return value, named

    def _vector_from_steps(self, ob, symbols, balance, steps, inv, title) -> dict | None:
        """A conformance vector case (format marginspec-vectors/1) replaying `steps`, the expected
        replies computed by the reference engine (the rulebook's semantics)."""
        eng = ReferenceEngine(self.rb)
        contracts = {s: engine_contract_json(self.contract_of(s), self.rb) for s in symbols}
        r0 = eng.handle({"id": 0, "op": "reset", "args": {"contracts": contracts, "available_balance": format_decimal(balance)}})
        requests = [{"op": op, "args": {"symbol": sym, **{k: _req_value(v) for k, v in args.items() if v is not None}}}
                    for op, sym, args in steps]
        if not r0.get("ok"):
            # a contract breaking a parameter invariant: reset refuses it (N-reset). The case pins that
            # refusal, after a reset with the rulebook's contracts that reset accepts, and the state kept.
            good = {s: contract_json(self.rb, s) for s in sorted(self.rb.contracts) if s not in symbols}
            good = {s: c for s, c in good.items()
                    if eng.handle({"id": 0, "op": "reset", "args": {"contracts": {s: c}, "available_balance": "0"}})["ok"]}
            if not good:
                return None
            requests = [{"op": "reset", "args": {"contracts": contracts, "available_balance": format_decimal(balance)}},
                        {"op": "query", "args": {"symbol": next(iter(good))}}]
            contracts = good
            eng.handle({"id": 0, "op": "reset", "args": {"contracts": good, "available_balance": format_decimal(balance)}})
        vsteps = []
        for i, req in enumerate(requests):
            reply = eng.handle({"id": i + 1, **req})
            expect = {"ok": True, "result": reply["result"]} if reply["ok"] else {"ok": False, "error": reply["error"]["code"]}
            vsteps.append({"request": req, "expect": expect})
        rules = [x for x in (list(ob.invariants) + ([ob.action] if ob.action else [])) if x]
        body = json.dumps({"contracts": contracts, "balance": format_decimal(balance), "steps": vsteps}, sort_keys=True)
        cid = "cx-" + hashlib.sha1(body.encode()).hexdigest()[:12]
        case = {"id": cid, "title": title, "rules": rules or [ob.id.split("/")[0]], "flags": [], "level": "MUST",
                "source": "counterexample",
                "comment": f"prover obligation {ob.id}: the rulebook's replies (replayed by the interpreter) on the "
                           f"scenario that violates {inv}",
                "steps": vsteps}
        return {"group": {"title": title, "contracts": contracts, "available_balance": format_decimal(balance),
                          "cases": [case]}, "steps": vsteps}


def contract_json(rb: Rulebook, symbol: str) -> dict:
    return engine_contract_json(rb.contracts[symbol], rb)


def _req_value(v):
    if isinstance(v, Fraction):
        try:
            return format_decimal(v)
        except ValueError:
            return format_decimal(Fraction(round(v * 10 ** 12), 10 ** 12))
    return v


def _safe(env, name):
    try:
        return env[name]
    except Exception:
        return None

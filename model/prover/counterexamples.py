"""Counterexample search: a violation found in the EXACT encoding is searched again from reset
(bounded, over the rulebook's own actions) so that it becomes a reachable scenario.
"""

from __future__ import annotations

import traceback
from dataclasses import replace
from fractions import Fraction

import z3

from ..parser import parse
from ..rulebook import Contract
from ..solving import isolated, satisfiable
from ..z3terms import SV, as_bool, b_not, b_or, q, sv_equal
from .base import be_contract
from .render import _render_values
from .results import UNKNOWN, ERROR, RL_SEARCH, _dec, Obligation, Goal, _Found


#: how many of the contracts under proof a general violation is searched on (in their order)
CX_CONTRACTS = 3


class CounterexamplesMixin:
    """Turns a Z3 model of a violation into a reachable, replayed scenario."""

    def counterexample(self, ob: Obligation, label: str, g: Goal, model) -> dict:
        """A readable counterexample: searched from reset, minimised, replayed, as a vector case."""
        try:
            if ob.kind == "parameter":
                return self._cx_parameter(ob, label, g, model)
            if ob.kind == "parametric":
                return self._cx_parametric(ob, label, g, model)
            if not ob.contracts:
                return self._cx_general(ob, label, g, model)
            return self._cx_scenario(ob, label, g, model)
        except Exception as e:  # pragma: no cover - reported, never hidden
            return {"confirmed": False, "status": ERROR, "note": f"counterexample construction failed: {e}",
                    "trace": traceback.format_exc(limit=8)}

    def _witness(self, g: Goal, model) -> dict:
        fin = g.final or {}
        out = {}
        if "run" in fin:
            be = self.be
            st = fin["world"].view(fin["symbol"])
            out["state"] = {k: _dec(be.value(model, v)) for k, v in st.items()}
            out["args"] = {k: _dec(be.value(model, v)) for k, v in fin["args"].items()}
        return out

    def _cx_raw(self, ob, label, g, model, note, status, confirmed):
        be = self.be
        fin = g.final or {}
        vals = {}
        for k, v in (fin.get("forall") or {}).items():
            vals[k] = _dec(be.value(model, v))
        if "state" in fin:
            vals.update({k: _dec(be.value(model, v)) for k, v in fin["state"].items()})
        if "contract" in fin:
            c = fin["contract"]
            vals["contract"] = {k: _dec(be.value(model, c.sv(k))) for k in c.params}
            vals["tiers"] = [{k: _dec(be.value(model, SV(v))) for k, v in t.items()} for t in c.tiers]
        if "world" in fin and "symbol" in fin:
            st = fin["world"].view(fin["symbol"])
            vals["state"] = {k: _dec(be.value(model, v)) for k, v in st.items()}
        return {"case": label, "invariant": ",".join(ob.invariants), "confirmed": confirmed, "status": status,
                "note": note, "values": vals, "text": _render_values(vals)}

    def _cx_general(self, ob, label, g, model) -> dict:
        """A violation over the symbolic contract (anycontract.py over-approximates) is only believed
        on a concrete contract: the scenario search from reset runs on the contracts under proof in
        turn (at most CX_CONTRACTS of them); the first scenario the interpreter confirms wins."""
        tried = [self.case_contract(c, label) for c in self.contracts[:CX_CONTRACTS]]
        for sym in tried:
            lbl = label
            if ob.kind == "frame":
                other = next((c for c in self.contracts if c != sym), None)
                if other is None:
                    continue
                lbl = f"{sym}>{other}"
            cx = self._cx_scenario(replace(ob, contracts=(sym,)), lbl, g, model)
            if cx.get("confirmed"):
                cx["contract"] = sym
                cx["note"] = f"{cx.get('note', '')} on contract {sym}".strip()
                return cx
        return self._cx_raw(ob, label, g, model, status=UNKNOWN, confirmed=False,
                            note=("not proved for every contract satisfying the family-8 invariants: the symbolic "
                                  "contract admits a violation, but no scenario of up to "
                                  f"{self.prefix_depth} requests from reset on contract(s) {', '.join(tried) or '-'} "
                                  "reproduces it (the violation may need another contract, or the state may be "
                                  "unreachable)"))

    def case_contract(self, sym: str, label: str) -> str:
        """`sym`, or a variant of it with the enum-valued parameters the case fixes (e.g.
        maintenance_basis=entry) when the contract has other values: a violation in that case
        is searched on a contract of that case. Variants are named SYMBOL-value."""
        fixed = self._enum_case(label)
        c = self.rb.contracts[sym]
        if all(c.params.get(k) == v for k, v in fixed.items()):
            return sym
        name = "-".join([sym] + [v for k, v in sorted(fixed.items()) if c.params.get(k) != v])
        self.variants[name] = Contract(name, {**c.params, **fixed}, c.tiers)
        return name

    def _cx_scenario(self, ob, label, g, model) -> dict:
        found = None
        for d in range(0, self.prefix_depth + 1):
            if ob.kind == "initial" and d > 0:
                break
            if ob.kind in ("fact", "equivalence") and d == 0:
                continue  # no position at reset
            prob = self._bmc_problem(ob, label, d)
            if prob is None:
                continue
            r = satisfiable(prob["target"], prob["path"], prob["facts"], self.timeout, rlimit=RL_SEARCH,
                            minimise=False)
            if r.status == "unknown":
                r = self._guided(prob)
            if r is not None and r.status == "sat":
                found = (prob, r)
                break
        if found is None:
            raw = self._cx_raw(ob, label, g, model, status=UNKNOWN, confirmed=False,
                               note=(f"the induction step fails from a state satisfying the state invariants, but "
                                     f"no scenario of up to {self.prefix_depth} requests from reset reaches a "
                                     f"violation: the invariant may hold on reachable states without being inductive"))
            return raw
        prob, r = found
        return self._scenario(ob, label, prob, r)

    def _bmc_problem(self, ob, label, depth) -> dict | None:
        """From reset, `depth` requests of any kind, then the obligation's own step; `target` is the
        violation."""
        be = self.be
        side = self._side(label)
        if ob.kind == "frame":
            a_sym, b_sym = label.split(">")
            symbols = [a_sym] if a_sym == b_sym else [a_sym, b_sym]
        else:
            a_sym = ob.contracts[0]
            symbols = [a_sym]
        tag = f"cx{depth}"
        w, path = self.reset_world(symbols, tag)
        w0 = w
        steps = []
        for i in range(depth):
            w, taken, info = self.bmc_step(w, self.prefix_choices(symbols), f"{tag}.s{i + 1}")
            path.append((f"step {i + 1}", taken))
            steps.append(info)
        facts = be.take_facts()
        c = be_contract(self, a_sym)
        final = None
        if side is not None and ob.kind in ("transition", "preservation", "fact", "equivalence"):
            st = w.view(a_sym)
            fld = next(f.name for f in self.rb.state if f.scope == "position" and f.ty.kind == "enum")
            path.append(("side", as_bool(b_or(b_not(st["has_position"].v),
                                              st[fld].v == be.enum_val(be.enum_index[self.side_enum][side])))))
        if ob.kind in ("transition", "preservation"):
            args, run, asm, afacts = self._action_step(ob.action, c, w.view(a_sym), f"{tag}.last", side)
            env = self._trans_env(ob.formal, ob.action, c, run)
            target = b_not(as_bool(be.compile_expr(ob.formal.formula, env).v))
            if ob.formal.assume is not None and ob.formal.kind == "transition":
                path.append(("assume", as_bool(be.compile_expr(ob.formal.assume, env).v)))
            path += asm
            facts += afacts
            final = {"action": ob.action, "symbol": a_sym, "args": args, "run": run, "env": env, "world": w}
        elif ob.kind == "initial":
            env = be.env(c, w.view(a_sym))
            target = b_not(as_bool(be.compile_expr(ob.formal.formula, env).v))
            final = {"world": w, "symbol": a_sym}
        elif ob.kind == "fact":
            fvars, assume, goal, base, hyp = self._fact_env(ob.formal, c, w.view(a_sym), f"{tag}.v")
            if assume is not None:
                path.append(("assume", assume))
            target = b_not(goal)
            final = {"symbol": a_sym, "forall": fvars, "world": w, "fact_env": (base, hyp),
                     "forall_units": {n: u for n, _, u in ob.formal.forall}}
        elif ob.kind == "equivalence":
            env = be.env(c, w.view(a_sym))
            entry = ob.data
            mine, alt = env[entry["name"]], be.compile_expr(entry["expr"], env)
            path.append(("position open", as_bool(env["has_position"].v)))
            if entry.get("assume") is not None:
                path.append(("assume", as_bool(be.compile_expr(entry["assume"], env).v)))
            if side is not None:
                path.append(("side", as_bool(be.compile_expr(parse(f"side == '{side}'"), env).v)))
            target = b_not(sv_equal(mine, alt))
            final = {"symbol": a_sym, "world": w, "against": (mine, alt, env)}
        elif ob.kind == "frame":
            b_sym = label.split(">")[1]
            if b_sym == a_sym:
                return None
            args, run, asm, afacts = self._action_step(ob.action, c, w.view(a_sym), f"{tag}.last")
            cb = be_contract(self, b_sym)
            before = be.env(cb, w.view(b_sym))
            post_account = {k: v for k, v in run.post.items() if k in w.account}
            after = be.env(cb, {**post_account, **w.symbols[b_sym]})
            names = [f.name for f in self.rb.state if f.scope in ("symbol", "position")] + [d.name for d in self.rb.derived]
            target = b_not(self.frame_equal(before, after, names))
            path += asm
            facts += afacts
            final = {"action": ob.action, "symbol": a_sym, "other": b_sym, "args": args, "run": run, "world": w,
                     "before": before, "after": after, "names": names}
        elif ob.kind == "cumulative":
            target, asm, afacts, final = self._bmc_cumulative(ob, label, c, w0, w, steps, tag)
            path += asm
            facts += afacts
        elif ob.kind == "safety":
            target, afacts, final = self._bmc_safety(ob, label, c, w, tag)
            facts += afacts
        else:
            return None
        facts += be.take_facts()
        return {"target": as_bool(target), "path": path, "facts": facts, "steps": steps, "final": final,
                "symbols": symbols, "reset": w, "tag": tag, "depth": depth}

    def _guided(self, prob):
        """When the plain search for a scenario does not finish (nonlinear integer problems, e.g. an
        exact equality of equity and maintenance margin), fix the sizes and then the prices of the
        requests to round values one by one (each fixed product N x P makes the rest linear), checking
        after each: the first satisfiable problem wins. A fix that makes it unsatisfiable is undone."""
        s = isolated(list(prob["facts"]) + [a for _, a in prob["path"]] + [prob["target"]], self.timeout, RL_SEARCH)
        for name, sv, grid, unit in self._inputs(prob, None, with_units=True):
            if unit not in ("size", "price"):
                continue
            cands = [grid * k for k in (1, 10, 100)] if unit == "size" else \
                [round(Fraction(10) ** k / grid) * grid for k in range(0, 6)]
            for cand in cands:
                s.push()
                s.add(sv.v == q(cand))
                r = s.check()
                if r == z3.sat:
                    return _Found(s.model(), s)
                if r == z3.unsat:
                    s.pop()
                    continue
                break  # unknown: keep this value, fix the next input too
        return None

    def _scenario(self, ob, label, prob, r) -> dict:
        be = self.be
        model, balance, steps = self._concrete_scenario(prob, r, prob["tag"])
        symbols = prob["symbols"]
        fin = prob["final"] or {}
        last_index = None
        if "action" in fin:
            steps.append((fin["action"], fin["symbol"], {k: be.value(model, v) for k, v in fin["args"].items()}))
            last_index = len(steps) - 1
        forall = {k: be.value(model, v) for k, v in (fin.get("forall") or {}).items()}
        return self._replay(ob, label, symbols, balance, steps, last_index, forall, prob)

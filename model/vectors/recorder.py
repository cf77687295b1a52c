"""Running cases on an in-process engine: expected replies for new cases, and what each step covered.

`record` turns a CaseSpec into a case of the vector format by running it on the reference engine:
every `expect` is the reference engine's reply (the whole result, so queries pin the whole state).
`replay` runs a case's requests and returns, per step, the reply and what the interpreter did (the
checks it evaluated with their outcomes, a liquidation, the tier and side of every open position);
`covered` turns that into rule ids. Coverage and the mutation run use the same functions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any, Iterable

from .. import ast
from ..engine import ReferenceEngine
from ..interpreter import tier_index
from ..rulebook import Rulebook
from .cases import CaseSpec, contracts_for


@dataclass(frozen=True)
class StepTrace:
    request: dict
    reply: dict
    checks: tuple[tuple[str, str], ...] | None  # None: refused before the action's own checks ran
    liquidated: bool
    positions: tuple[tuple[str, int, str], ...]  # (symbol, tier number from 1, side) after the step


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def case_id(prefix: str, contracts: dict, balance: str, steps: Iterable[dict]) -> str:
    """A stable id from the case's content: the group's reset and the requests (not the replies)."""
    body = canonical({"contracts": contracts, "available_balance": balance, "requests": list(steps)})
    return f"{prefix}-{hashlib.sha256(body.encode()).hexdigest()[:16]}"


def replay(engine: ReferenceEngine, contracts: dict, balance: str, requests: Iterable[dict],
           positions: bool = True) -> list[StepTrace]:
    """Reset `engine` and run `requests`; raises if the reset is refused."""
    reply = engine.handle({"id": 0, "op": "reset", "args": {"contracts": contracts, "available_balance": balance}})
    if not reply["ok"]:
        raise ValueError(f"reset refused: {reply['error']}")
    out = []
    for i, request in enumerate(requests, 1):
        engine.last_outcome = None
        reply = engine.handle({"id": i, "op": request["op"], "args": request.get("args", {})})
        oc = engine.last_outcome
        out.append(StepTrace(request, reply, None if oc is None else oc.checks, bool(oc and oc.liquidated),
                             open_positions(engine) if positions else ()))
    return out


def open_positions(engine: ReferenceEngine) -> tuple[tuple[str, int, str], ...]:
    w = engine.world
    out = []
    for sym, st in w.symbols.items():
        if not st.get("has_position") or st.get("mark_price") is None:
            continue
        cv = w.contract_values[sym]
        env = engine.interp.derived_values({**cv, **w.account, **st})
        tiers = cv["__tiers__"]
        out.append((sym, tier_index(tiers, env["notional"]) + 1, st["side"]))
    return tuple(out)


def expect_of(reply: dict) -> dict:
    if reply.get("ok"):
        return {"ok": True, "result": reply.get("result", {})}
    return {"ok": False, "error": reply["error"]["code"]}


# -- rule ids a step covers ---------------------------------------------------------------------
_CLOSURES: dict[int, tuple[Rulebook, dict]] = {}


def _closures(rb: Rulebook) -> dict:
    hit = _CLOSURES.get(id(rb))
    if hit is None or hit[0] is not rb:
        if len(_CLOSURES) > 64:
            _CLOSURES.clear()
        hit = _CLOSURES[id(rb)] = (rb, _compute_closures(rb))
    return hit[1]


def _compute_closures(rb: Rulebook) -> dict:
    """For each action: derived/let names each check and the unconditional effects reach."""
    derived = {d.name: d.expr for d in rb.derived}

    def reach(exprs, lets) -> frozenset[str]:
        seen, todo = set(), [n for e in exprs if e is not None for n in ast.names(e)]
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            src = derived.get(n) or lets.get(n)
            if src is not None:
                todo.extend(ast.names(src))
        return frozenset(n for n in seen if n in derived)

    out = {}
    for name, a in rb.actions.items():
        lets = dict(a.lets)
        checks = {c.id: reach([c.require, c.when, *[e for _, e in c.with_]], lets) for c in a.checks}
        eff = [x for e in a.effects if e.when is None for x in (*[v for _, v in e.assignments], e.cond)]
        eff += [r.expr for r in a.result]
        out[name] = (checks, reach(eff, lets))
    liq = dict(rb.liquidation.lets)
    out["__liquidation__"] = reach([v for e in rb.liquidation.effects for _, v in e.assignments], liq)
    out["__view__"] = reach([ast.Name(v) for v in rb.position_view], {})
    return out


def covered(rb: Rulebook, steps: Iterable[StepTrace]) -> set[str]:
    """Rule ids the steps exercised: actions, common checks and checks evaluated (passed or failed),
    derived values they read, liquidation, the error codes returned."""
    cl = _closures(rb)
    ids: set[str] = set()
    common = [c.id for c in rb.common_checks]
    for st in steps:
        op = st.request["op"]
        if op not in rb.actions:
            continue
        ids.add(op)
        ok = st.reply.get("ok")
        if not ok:
            ids.add(st.reply["error"]["code"])
        if st.checks is None:
            if not ok:  # refused by a common check
                code = st.reply["error"]["code"]
                failing = next((c.id for c in rb.common_checks if c.error == code), common[-1])
                ids.update(common[:common.index(failing) + 1])
            continue
        ids.update(common)
        checks, effects = cl[op]
        for cid, verdict in st.checks:
            if verdict != "skip":
                ids.add(cid)
                ids.update(checks.get(cid, ()))
        if ok:
            ids.update(effects)
            if op == "query" and st.reply["result"].get("position"):
                ids.update(cl["__view__"])
        if st.liquidated:
            ids.add("liquidation")
            ids.update(cl["__liquidation__"])
    return ids


# -- recording ----------------------------------------------------------------------------------
PREFIX = {"boundary": "bnd", "error": "err", "trace": "trc", "mutant": "mut", "counterexample": "cex",
          "known_answer": "ka", "venue": "ven"}


def _publish(step: dict, path: str, value: str, tol: str, title: str) -> None:
    """Put a venue's published value into a step's expectation, with its tolerance; the reference
    engine's value must lie within it (else the rulebook does not reproduce the example)."""
    from decimal import Decimal

    parent, key = step["expect"]["result"], path.split(".")
    for part in key[:-1]:
        parent = parent[part]
    got = parent[key[-1]]
    if got is None or abs(Decimal(got) - Decimal(value)) > Decimal(tol):
        raise ValueError(f"{title}: the reference engine gives {path} = {got}, the venue publishes {value} "
                         f"(tolerance {tol})")
    parent[key[-1]] = value
    if Decimal(tol) != 0:
        step["tolerance"] = {path: tol}


def record(rb: Rulebook, spec: CaseSpec, engine: ReferenceEngine | None = None) -> tuple[str, str, dict, dict]:
    """(group title, balance, contracts, case) for `spec`, every expectation from the reference engine."""
    engine = engine or ReferenceEngine(rb)
    contracts = dict(spec.contracts or contracts_for(rb, spec.steps))
    if spec.balance is None:
        from .cases import dec
        from .market import big_funds

        spec = replace(spec, balance=dec(max(big_funds(rb.contracts[s]) for s in contracts)))
    trace = replay(engine, contracts, spec.balance, spec.steps)
    rules = covered(rb, trace) | set(spec.rules)
    case = {
        "id": case_id(PREFIX[spec.source], contracts, spec.balance, spec.steps),
        "title": spec.title,
        "rules": sorted(rules),
        "flags": sorted(set(spec.flags)),
        "level": spec.level,
        "source": spec.source,
        "steps": [{"request": {"op": s.request["op"], "args": s.request.get("args", {})},
                   "expect": expect_of(s.reply)} for s in trace],
    }
    for i, path, value, tol in spec.published:
        _publish(case["steps"][i], path, value, tol, spec.title)
    if spec.comment:
        case["comment"] = spec.comment
    title = spec.group or f"{' and '.join(contracts)}, available balance {spec.balance}"
    return title, spec.balance, contracts, case

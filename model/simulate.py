"""`marginspec simulate`: run a list of protocol requests and show each reply and the positions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, SpecError
from .engine import ReferenceEngine
from .yamlsafe import load_yaml_text


def _plain(v: Any) -> Any:
    """Marked YAML values as plain JSON-like values (numbers stay strings)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, str):
        return str(v)
    return v


def read_requests(text: str, name: str) -> list[dict]:
    """Requests from YAML or JSON: a list, or a mapping with `requests:`; ids are added when missing."""
    doc = _plain(load_yaml_text(text, name))
    if isinstance(doc, dict) and "requests" in doc:
        doc = doc["requests"]
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise SpecError([Diagnostic(None, f"{name}: expected a list of requests ({{op, args}} objects)")])
    out = []
    for i, r in enumerate(doc, 1):
        out.append({"id": r.get("id", i), "op": r.get("op"), "args": r.get("args", {})})
    return out


def default_reset(rb, balance: str = "10000") -> dict:
    """A reset with every contract profile of the rulebook."""
    from .engine import contract_json
    contracts = {s: contract_json(c, rb) for s, c in rb.contracts.items()}
    return {"id": 0, "op": "reset", "args": {"contracts": contracts, "available_balance": balance}}


def simulate(path: str, text: str | None = None, balance: str = "10000", engine: ReferenceEngine | None = None):
    """Run the requests (after a default reset unless the first is a reset); return (replies, engine)."""
    engine = engine or ReferenceEngine()
    if text is None:
        text = Path(path).read_text(encoding="utf-8")
    requests = read_requests(text, path)
    if not requests or requests[0].get("op") != "reset":
        engine.handle(default_reset(engine.rb, balance))
    return [(r, engine.handle(r)) for r in requests], engine


def positions(engine: ReferenceEngine) -> dict[str, dict]:
    """Every symbol's query result, for the closing table."""
    return {s: engine.handle({"id": 0, "op": "query", "args": {"symbol": s}})["result"] for s in engine.world.contracts}


def render_text(pairs, engine, console) -> None:
    from rich.table import Table

    log = Table(title="Requests", show_lines=False)
    for col in ("#", "op", "args", "reply"):
        log.add_column(col, overflow="fold")
    for req, rep in pairs:
        args = " ".join(f"{k}={v}" for k, v in req.get("args", {}).items() if k != "contracts")
        if rep["ok"]:
            reply = "ok " + " ".join(f"{k}={v}" for k, v in rep["result"].items() if k != "position") if rep["result"] else "ok"
        else:
            reply = f"[red]{rep['error']['code']}[/red]: {rep['error']['message']}"
        log.add_row(str(req["id"]), str(req["op"]), args, reply)
    console.print(log)
    pos = positions(engine)
    acct = next(iter(pos.values()), None)
    if acct:
        console.print(f"available_balance {acct['available_balance']}   insurance_fund {acct['insurance_fund']}")
    open_ = {sym: q for sym, q in pos.items() if q["position"] is not None}
    if not open_:
        console.print("no open positions")
        return
    table = Table(title="Positions")
    table.add_column("")
    for sym in open_:
        table.add_column(sym, justify="right")
    table.add_row("margin_mode", *[q["margin_mode"] for q in open_.values()])
    table.add_row("mark_price", *[str(q["mark_price"]) for q in open_.values()])
    for f in engine.rb.position_view:
        table.add_row(f, *["—" if q["position"][f] is None else str(q["position"][f]) for q in open_.values()])
    console.print(table)


def render_json(pairs, engine) -> str:
    return json.dumps({"replies": [rep for _, rep in pairs], "state": positions(engine)}, indent=2)

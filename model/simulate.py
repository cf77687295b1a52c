"""`marginspec simulate`: run a list of protocol requests and show each reply and the positions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, SpecError
from .engine import ReferenceEngine
from .jsonmarks import load_json_text
from .yamlsafe import load_yaml_text, read_yaml_bytes


def _plain(v: Any) -> Any:
    """Marked YAML values as plain JSON-like values (numbers stay strings)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, str):
        return str(v)
    return v


#: The keys of a request in a simulate file (the protocol's, PROTOCOL.md).
REQUEST_KEYS = ("id", "op", "args")


def read_requests(text: str, name: str, ops=None, fmt: str = "yaml", args_of=None) -> list[dict]:
    """Requests from YAML or JSON (`fmt`): a list, or a mapping with `requests:`; ids are added when
    missing. Every problem of the file is a SpecError at file:line:col, all at once: an entry that
    is not a mapping, an unknown key, an op that is not one of `ops` (with a "did you mean"), args
    that are not a mapping; a key that is an argument of the request's op (`args_of`: op -> names)
    is said to belong under args. A bad file is bad input, not requests for the engine to refuse."""
    from .diagnostics import Mark, did_you_mean
    from .yamlsafe import mark_of

    doc = load_json_text(text, name) if fmt == "json" else load_yaml_text(text, name)
    if isinstance(doc, dict) and "requests" in doc:
        doc = doc["requests"]
    start = Mark(name, 1, 1)
    if not isinstance(doc, list):
        raise SpecError([Diagnostic(mark_of(doc, start), "expected a list of requests ({op, args} mappings), "
                                                         "or a mapping with requests: such a list")])
    found: list[Diagnostic] = []
    for i, r in enumerate(doc, 1):
        here = mark_of(r, mark_of(doc, start))
        if not isinstance(r, dict):
            found.append(Diagnostic(here, f"request {i}: expected a mapping {{op, args}}, got {_written(r)}"))
            continue
        marks = getattr(r, "key_marks", {})
        for key in r:
            if key not in REQUEST_KEYS and key in (args_of or {}).get(r.get("op"), ()):
                found.append(Diagnostic(marks.get(key, here), f"request {i}: '{key}' is an argument of {r['op']}: "
                                                              "put it under args"))
            elif key not in REQUEST_KEYS:
                found.append(Diagnostic(marks.get(key, here), f"request {i}: unknown key '{key}'"
                                                              + (did_you_mean(str(key), REQUEST_KEYS) or
                                                                 " (a request has id, op and args)")))
        op = r.get("op")
        op_at = mark_of(op, marks.get("op", here))
        if "op" not in r:
            found.append(Diagnostic(here, f"request {i}: no op"))
        elif not isinstance(op, str) or op.strip() != op or not op:
            found.append(Diagnostic(op_at, f"request {i}: op must be an op name, got {_written(op)}"))
        elif ops is not None and op not in ops:
            found.append(Diagnostic(op_at, f"request {i}: unknown op '{op}'" + (did_you_mean(op, ops) or
                                                                                f" (ops: {', '.join(ops)})")))
        args = r.get("args")
        if args is not None and not isinstance(args, dict):
            found.append(Diagnostic(mark_of(args, marks.get("args", here)),
                                    f"request {i}: args must be a mapping, got {_written(args)}"))
    if found:
        raise SpecError(sorted(found, key=lambda d: (d.mark.line, d.mark.col) if d.mark else (0, 0)))
    doc = _plain(doc)
    return [{"id": r.get("id", i), "op": r.get("op"), "args": r.get("args") or {}} for i, r in enumerate(doc, 1)]


def _written(v: Any) -> str:
    """A value of the file for a message, roughly as written (JSON's words for the rest)."""
    return str(v) if isinstance(v, str) else json.dumps(_plain(v), ensure_ascii=False)


def file_format(path: str) -> str:
    """'json' for a .json name (parsed as JSON: a trailing comma is an error there), else 'yaml'."""
    return "json" if Path(path).suffix.lower() == ".json" else "yaml"


def default_reset(rb, balance: str = "10000") -> dict:
    """A reset with every contract profile of the rulebook."""
    from .engine import contract_json
    contracts = {s: contract_json(c, rb) for s, c in rb.contracts.items()}
    return {"id": 0, "op": "reset", "args": {"contracts": contracts, "available_balance": balance}}


def simulate(path: str, text: str | None = None, balance: str = "10000", engine: ReferenceEngine | None = None):
    """Run the requests (after a default reset unless the first is a reset); return (replies, engine)."""
    engine = engine or ReferenceEngine()
    fmt = "yaml"
    if text is None:
        text, fmt = read_yaml_bytes(Path(path), path), file_format(path)
    args_of = {op: {x.name for x in a.args} | {"symbol"} for op, a in engine.rb.actions.items()}
    args_of["query"] = {"symbol"}
    requests = read_requests(text, path, engine.ops(), fmt, args_of)
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
    from rich.markup import escape

    for step, (req, rep) in enumerate(pairs, 1):
        args = " ".join(f"{k}={show(v)}" for k, v in (req.get("args") or {}).items() if k != "contracts") \
            if isinstance(req.get("args"), dict) else show(req.get("args"))
        if rep["ok"]:
            reply = "ok " + " ".join(f"{k}={show(v)}" for k, v in rep["result"].items()) if rep["result"] else "ok"
            reply = escape(reply)
        else:
            message = argument_error(engine, step, req, rep) or rep["error"]["message"]
            reply = f"[red]{escape(rep['error']['code'])}[/red]: {escape(message)}"
        label = str(step) if req["id"] == step else f"{step} (id {show(req['id'])})"  # the step, never two alike
        log.add_row(label, escape(str(req["op"])), escape(args), reply)
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
    table.add_row("mark_price", *[show(q["mark_price"]) for q in open_.values()])
    for f in engine.rb.position_view:
        table.add_row(f, *["—" if q["position"][f] is None else show(q["position"][f]) for q in open_.values()])
    console.print(table)


def show(value: Any) -> str:
    """A reply value as JSON writes it (true/false/null, numbers as their decimal strings, a
    position as its fields)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={show(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False, default=str)


#: What a number argument counts, by its unit, and the contract parameter giving its grid.
UNIT_HINTS = {
    "size": ("size counts contracts", "lot_size"),
    "money": ("{name} is money in the settlement currency", "money_step"),
    "price": ("{name} is a price", "tick_size"),
}


def argument_error(engine: ReferenceEngine, step: int, request: dict, reply: dict) -> str | None:
    """For an INVALID_ARGUMENT reply to an action: the step and op, the engine's message, and what
    the argument counts with its grid from the symbol's contract ("size counts contracts;
    lot_size is 1")."""
    if reply.get("ok") or reply.get("error", {}).get("code") != "INVALID_ARGUMENT":
        return None
    op = request.get("op")
    message = reply["error"]["message"]
    head = f"step {step} ({op}): {message}"
    action = engine.rb.actions.get(op) if isinstance(op, str) else None
    args = request.get("args") if isinstance(request.get("args"), dict) else {}
    contract = engine.world.contracts.get(args.get("symbol")) if isinstance(args.get("symbol"), str) else None
    if action is None or contract is None:
        return head
    name = message.split(":", 1)[0].replace("missing argument ", "").strip()
    arg = next((a for a in action.args if a.name == name), None)
    unit = arg.type_name if arg is not None else None
    hint = UNIT_HINTS.get(str(unit)) if unit is not None else None
    if hint is None:
        return head
    text, param = hint
    from .numbers import format_decimal

    value = contract.params.get(param)
    grid = f"; {param} is {format_decimal(value)}" if value is not None else ""
    return f"{head}; {text.format(name=name)}{grid}"


def render_json(pairs, engine) -> str:
    notes = [n for n in (argument_error(engine, i, req, rep) for i, (req, rep) in enumerate(pairs, 1)) if n]
    return json.dumps({"replies": [rep for _, rep in pairs], "state": positions(engine),
                       **({"argument_errors": notes} if notes else {})}, indent=2)

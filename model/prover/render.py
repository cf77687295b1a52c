"""Rendering for people: counterexample values and scenarios as indented text, solver reasons.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any, Mapping




def _why(reason: str) -> str:
    """Z3's reason for unknown, for people (a time-out says so)."""
    if "canceled" in reason or "timeout" in reason or "resource limit" in reason:
        return f"solver time-out or work limit reached: {reason}"
    return reason


def _render_values(vals: Mapping, indent: str = "    ") -> str:
    lines = []
    for k, v in vals.items():
        if isinstance(v, dict):
            lines.append(f"{indent}{k}:")
            lines.append(_render_values(v, indent + "  "))
        elif isinstance(v, list):
            lines.append(f"{indent}{k}: {', '.join(_human(x) for x in v)}")
        else:
            lines.append(f"{indent}{k}: {_human(v)}")
    return "\n".join(x for x in lines if x)


def _human(v: Any) -> str:
    """A value for people, as the protocol's JSON writes it (true/false/null, decimal strings
    unquoted); an exact fraction also gets its decimal approximation."""
    if isinstance(v, str) and "/" in v:
        try:
            return f"{v} (~{float(Fraction(v)):.10g})"
        except (ValueError, ZeroDivisionError):
            return v
    if isinstance(v, str):
        return v
    if v is None or isinstance(v, bool):
        return json.dumps(v)
    return str(v)


def _fmt_args(args: Mapping) -> str:
    return " ".join(f"{k}={_human(v)}" for k, v in args.items())


def _fmt_reply(reply: Mapping) -> str:
    if not reply.get("ok"):
        return f"refused {reply['error']['code']}"
    res = reply.get("result") or {}
    flat = {k: v for k, v in res.items() if not isinstance(v, dict)}
    return "ok" + (" " + _fmt_args(flat) if flat else "")


_SHOW = ("notional", "unrealized_pnl", "equity", "maintenance_margin", "minimum_margin", "liquidatable", "leverage",
         "liquidation_root", "liquidation_price", "bankruptcy_price")


def _render_scenario(cx: dict) -> str:
    lines = [f"    reset available_balance={cx.get('balance')}"] if cx.get("steps") else []
    for i, st in enumerate(cx.get("steps") or [], 1):
        req = st["request"]
        args = {k: v for k, v in req["args"].items() if k != "symbol"}
        mark = "  <- the step under proof" if cx.get("last_step") == i and cx.get("case") != "bmc" else ""
        lines.append(f"    {i}. {req['op']} {req['args'].get('symbol', '')} {_fmt_args(args)}  ->  "
                     f"{_fmt_reply(st['reply'])}{mark}")
    if cx.get("free"):
        lines.append(f"    for {_fmt_args(cx['free'])}")
    vals = cx.get("values") or {}
    for part in ("before", "after", "state", "in that state", "final state"):
        if part in vals and isinstance(vals[part], dict):
            shown = {k: v for k, v in vals[part].items() if k in _SHOW or k in ("isolated_margin", "mark_price",
                                                                                  "available_balance", "insurance_fund",
                                                                                  "size", "entry_price", "side",
                                                                                  "has_position")}
            lines.append(f"    {part}: " + ", ".join(f"{k}={_human(v)}" for k, v in shown.items()))
    for part in ("with", "defined", "lets", "locals", "changed"):
        if part in vals and vals[part]:
            lines.append(f"    {part}: {json.dumps(vals[part], sort_keys=True)}")
    if "formula" in vals:
        lines.append(f"    {vals['formula']}")
    for k in vals:
        if k.startswith("rulebook ") or k == "auditor's formula":
            lines.append(f"    {k} = {_human(vals[k])}")
    return "\n".join(lines)

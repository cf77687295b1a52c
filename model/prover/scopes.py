"""Proof scopes in a report: which results hold for every contract satisfying the family-8 invariants
and, per contract, whether its parameters are well formed (read by `prove` and the docs)."""

from __future__ import annotations

from .results import _RANK, PROVED


def _worst(statuses) -> str:
    return max(statuses, key=lambda st: _RANK.get(st, max(_RANK.values())), default=PROVED)


def scopes(rb, results: list[dict]) -> dict:
    """What the report covers: the obligations proved once for every contract satisfying the
    family-8 invariants (and which those are), and per contract whether its parameters are well
    formed (its family-8 obligations) — the two together are what a contract's guarantee rests on."""
    family8 = [i.id for i in rb.invariants if i.family == 8]
    general = [r for r in results if r.get("scope") == "every-contract"]
    per: dict[str, list[dict]] = {}
    for r in results:
        if r.get("kind") == "parameter" and r.get("contracts"):
            per.setdefault(str(r["contracts"][0]), []).append(r)
    contracts = {}
    for c in sorted(per):
        st = _worst(r["status"] for r in per[c])
        contracts[c] = {"parameters": "well formed" if st == PROVED else f"not well formed ({st})",
                        "status": st, "failing": [(r.get("invariants") or [r.get("id")])[0] for r in per[c] if r["status"] != PROVED]}
    return {"every-contract": {"assuming": family8, "obligations": len(general),  # status None: none run
                               "status": _worst(r["status"] for r in general) if general else None},
            "contracts": contracts}


def scope_lines(doc_scopes: dict, limit: int = 20) -> list[str]:
    """The scopes for people: what is proved for every contract, and each contract's parameters."""
    g = doc_scopes["every-contract"]
    lines = []
    if g["obligations"]:
        head = "PROVED" if g["status"] == PROVED else f"NOT all proved ({g['status']})"
        lines.append(f"{head} for every contract satisfying {', '.join(g['assuming'])}: {g['obligations']} obligations")
    cs = doc_scopes["contracts"]
    bad = {c: d for c, d in cs.items() if d["status"] != PROVED}
    if len(cs) <= limit:
        lines += [f"  {c}: parameters {d['parameters']}" + (f": {', '.join(d['failing'])}" if d["failing"] else "")
                  for c, d in cs.items()]
    elif cs:
        lines.append(f"  parameters well formed: {len(cs) - len(bad)} of {len(cs)} contracts")
        lines += [f"  {c}: parameters {d['parameters']}: {', '.join(d['failing'])}" for c, d in list(bad.items())[:limit]]
    return lines

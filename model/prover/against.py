"""`--against`: an auditor's alternative definitions of derived values, read and type-checked
against the rulebook's declarations (their equivalence obligations are built in goals.py).
"""

from __future__ import annotations

from pathlib import Path

from ..diagnostics import SpecError
from ..formal import FormalError, Names, _typed, _where
from ..printer import to_text
from ..rulebook import Rulebook
from ..yamlsafe import load_yaml_file


def load_against(rb: Rulebook, path: str | Path) -> list[dict]:
    """Alternative definitions: `NAME: {expr: ..., assume: ...}` (or `NAME: "expr"`), NAME a derived
    value of the rulebook; each expression type-checked against the rulebook's declaration."""
    doc = load_yaml_file(Path(path))
    names = Names(rb)
    if isinstance(doc, dict) and "definitions" in doc:
        doc = doc["definitions"]
    if not isinstance(doc, dict):
        raise SpecError([])  # pragma: no cover
    out = []
    derived = rb.derived_by_name()
    for name, spec in doc.items():
        if name not in derived:
            raise FormalError(f"{_where(name)}--against: '{name}' is not a derived value of the rulebook")
        if isinstance(spec, str):
            spec = {"expr": spec}
        e, t = _typed(names, spec["expr"], {}, f"--against {name}")
        decl = derived[name].ty
        if t.kind != decl.kind or (t.kind == "num" and t.dims is not None and t.dims != decl.dims):
            raise FormalError(f"{_where(spec['expr'])}--against {name}: the formula is "
                              f"{names.units.describe(t)}, the rulebook's {name} is {names.units.describe(decl)}")
        assume = None
        if spec.get("assume") is not None:
            assume, _ = _typed(names, spec["assume"], {}, f"--against {name}, assume", True)
        out.append({"name": str(name), "expr": e, "assume": assume, "text": to_text(e),
                    "assume_text": to_text(assume) if assume is not None else None,
                    "invariants": [str(x) for x in spec.get("invariants", [])] if isinstance(spec.get("invariants"), list) else []})
    return out

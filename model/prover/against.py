"""`--against`: an auditor's alternative definitions of derived values, read and type-checked
against the rulebook's declarations (their equivalence obligations are built in goals.py).

The file is someone else's input: every problem of it is reported at once, each at its
file:line:col, and nothing in it is ignored (a misspelled `assume:` would otherwise drop the
assumption and the proof would fail for a reason the auditor cannot see).
"""

from __future__ import annotations

from pathlib import Path

from ..diagnostics import Diagnostic, Mark, SpecError, did_you_mean
from ..formal import FormalError, Names, _typed
from ..printer import to_text
from ..rulebook import Rulebook
from ..yamlsafe import load_yaml_file, mark_of

#: The keys of an entry: the formula, the condition it is claimed under, the invariants it is
#: reported with.
ENTRY_KEYS = ("expr", "assume", "invariants")

_SHAPE = "a mapping of derived values to formulas (NAME: {expr: ..., assume: ...})"


def _shown(value) -> str:
    """What a value of the wrong shape is, in the file's words."""
    if value is None:
        return "nothing"
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else f"'{value}'"


def _checked(names: Names, text, what: str, want_bool: bool, found: list[Diagnostic]):
    """The expression `text` parsed and typed, or (None, None) when absent or wrong (the problem
    goes to `found`, so the file's other expressions are checked too)."""
    if text is None:
        return None, None
    try:
        return _typed(names, text, {}, what, want_bool)
    except FormalError as fe:
        found.append(fe.diagnostic)
        return None, None


def load_against(rb: Rulebook, path: str | Path) -> list[dict]:
    """Alternative definitions: `NAME: {expr: ..., assume: ..., invariants: [...]}` (or `NAME: "expr"`),
    optionally under `definitions:`, NAME a derived value of the rulebook; each expression
    type-checked against the rulebook's declaration. SpecError lists every problem of the file."""
    doc = load_yaml_file(Path(path))
    start = Mark(str(path), 1, 1)
    found: list[Diagnostic] = []
    if isinstance(doc, dict) and "definitions" in doc:
        found += [Diagnostic(doc.key_marks[k], f"--against: '{k}' next to definitions: (put every definition "
                                               "under definitions:)") for k in doc if k != "definitions"]
        doc = doc["definitions"]
    if not isinstance(doc, dict):
        raise SpecError(found + [Diagnostic(mark_of(doc, start), f"--against: expected {_SHAPE}, got {_shown(doc)}")])
    names = Names(rb)
    derived = rb.derived_by_name()
    out = []
    for name, spec in doc.items():
        here = doc.key_marks.get(name, mark_of(doc, start))
        if name not in derived:
            found.append(Diagnostic(here, f"--against: '{name}' is not a derived value of the rulebook"
                                          + did_you_mean(str(name), derived)))
        if isinstance(spec, str):
            spec = {"expr": spec}
        if not isinstance(spec, dict):
            found.append(Diagnostic(mark_of(spec, here), f"--against {name}: expected the formula, or a mapping "
                                                         f"with expr: (and assume:, invariants:), got {_shown(spec)}"))
            continue
        marks = getattr(spec, "key_marks", {})
        for key in spec:
            if key not in ENTRY_KEYS:
                found.append(Diagnostic(marks.get(key, here), f"unknown key '{key}'" + (
                    did_you_mean(str(key), ENTRY_KEYS) or " (an entry has expr, assume and invariants)")))
        invariants = spec.get("invariants", [])
        if not isinstance(invariants, list):
            found.append(Diagnostic(mark_of(invariants, marks.get("invariants", here)),
                                    f"--against {name}: invariants must be a list of invariant ids"))
        if "expr" not in spec:
            found.append(Diagnostic(here, f"--against {name}: no expr (the formula to prove equal)"))
        e, t = _checked(names, spec.get("expr"), f"--against {name}", False, found)
        assume, _ = _checked(names, spec.get("assume"), f"--against {name}, assume", True, found)
        if e is None or name not in derived or (assume is None and spec.get("assume") is not None):
            continue
        decl = derived[name].ty
        if t.kind != decl.kind or (t.kind == "num" and t.dims is not None and t.dims != decl.dims):
            found.append(Diagnostic(mark_of(spec["expr"]), f"--against {name}: the formula is {names.units.describe(t)}, "
                                                           f"the rulebook's {name} is {names.units.describe(decl)}"))
            continue
        out.append({"name": str(name), "expr": e, "assume": assume, "text": to_text(e),
                    "assume_text": to_text(assume) if assume is not None else None,
                    "invariants": [str(x) for x in invariants] if isinstance(invariants, list) else []})
    if found:
        raise SpecError(found)
    return out

"""What `conform --rule/--flag/--case` may name, "did you mean" for names no vector knows, the
order of a `--rule` selection (the cases whose purpose is the rule first), and `conform --list`.

The selections:
- `--rule R`: the cases that exercise a rule id starting with R (every rule a case's replay covered:
  its actions, the checks evaluated, the derived values read, the invariants and notes it
  illustrates); among them, the cases whose purpose is R (R named in the case's title, e.g. the
  boundary cases of the check R) come first.
- `--flag F`: the cases carrying flag F (the kind of mistake they catch).
- `--case ID`: that case, or the cases whose id matches a glob (`bnd-*`).
Several values of one option are alternatives; different options combine with "and".
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from typing import Iterable, Sequence

from .loader import Case, VectorFile, is_glob


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


def unknown_names(files: Sequence[VectorFile], cases: Sequence[Case], *, rule: Sequence[str] = (),
                  flag: Sequence[str] = (), case: Sequence[str] = ()) -> list[str]:
    """A message for each name that selects nothing on its own (a glob that matches nothing is
    not an error: it is reported as "no case selected")."""
    rules = {r for c in cases for r in c.rules}
    flags = {f for vf in files for f in vf.flags} | {f for c in cases for f in c.flags}
    ids = {c.id for c in cases}
    out = []
    for r in rule or ():
        if not any(x.startswith(r) for x in rules):
            out.append(f"--rule {r}: no case exercises a rule id starting with {r!r}{_suggest(r, rules)}")
    for f in flag or ():
        if f not in flags:
            out.append(f"--flag {f}: no such flag{_suggest(f, flags)}")
    for c in case or ():
        if not is_glob(c) and c not in ids:
            out.append(f"--case {c}: no such case{_suggest(c, ids)}")
    return out


def _purpose_pattern(rules: Sequence[str]) -> re.Pattern | None:
    if not rules:
        return None
    alts = "|".join(re.escape(r) for r in rules)
    return re.compile(rf"(?<![\w.])(?:{alts})")


def is_purpose(case: Case, rules: Sequence[str]) -> bool:
    """Whether the case is about one of the rules (the title names it), not only passing through."""
    pattern = _purpose_pattern(rules)
    return bool(pattern and pattern.search(case.title))


def order_by_purpose(cases: Sequence[Case], rules: Sequence[str]) -> list[Case]:
    """The cases whose purpose is one of `rules` first, each part in the original order."""
    pattern = _purpose_pattern(rules)
    if pattern is None:
        return list(cases)
    first = [c for c in cases if pattern.search(c.title)]
    return first + [c for c in cases if not pattern.search(c.title)]


def listing(files: Sequence[VectorFile], cases: Sequence[Case]) -> dict:
    """The flags (with meaning), rules and cases of a selection, with how many cases each has."""
    meanings: dict[str, str] = {}
    for vf in files:
        for name, entry in vf.flags.items():
            meanings.setdefault(name, entry.get("meaning", "") if isinstance(entry, dict) else "")
    flag_counts = Counter(f for c in cases for f in c.flags)
    rule_counts = Counter(r for c in cases for r in c.rules)
    purpose = Counter(r for c in cases for r in c.rules if is_purpose(c, [r]))
    return {
        "flags": [{"flag": f, "cases": n, "meaning": meanings.get(f, "")}
                  for f, n in sorted(flag_counts.items(), key=lambda kv: (-kv[1], kv[0]))],
        "rules": [{"rule": r, "cases": n, "purpose": purpose.get(r, 0)}
                  for r, n in sorted(rule_counts.items(), key=lambda kv: (-kv[1], kv[0]))],
        "cases": [{"id": c.id, "file": c.file, "steps": len(c.steps), "flags": list(c.flags), "title": c.title}
                  for c in cases],
    }


def render_listing(doc: dict) -> str:
    lines = [f"{len(doc['flags'])} flags (cases carrying each; meaning):"]
    w = max((len(f["flag"]) for f in doc["flags"]), default=4)
    lines += [f"  {f['flag']:<{w}}  {f['cases']:>6,}  {f['meaning']}" for f in doc["flags"]]
    lines.append(f"{len(doc['rules'])} rules (cases exercising each; of which about it, by title):")
    w = max((len(r["rule"]) for r in doc["rules"]), default=4)
    lines += [f"  {r['rule']:<{w}}  {r['cases']:>6,}  {r['purpose']:>6,}" for r in doc["rules"]]
    lines.append(f"{len(doc['cases'])} cases (id, file, steps, title):")
    w = max((len(c["id"]) for c in doc["cases"]), default=4)
    lines += [f"  {c['id']:<{w}}  {c['file']}  {c['steps']}  {c['title']}" for c in doc["cases"]]
    return "\n".join(lines) + "\n"

"""Vector files as bytes: the documents, their canonical JSON, writing them and `--check`.

Output is byte-identical from run to run: keys sorted, one-space indentation, a final newline, no
timestamps, case ids derived from content, cases in generation order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..rulebook import Rulebook

FORMAT = "marginspec-vectors/1"


def dumps(doc) -> bytes:
    import json

    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def document(rb: Rulebook, stem: str, description: str, recorded: Iterable[tuple[str, str, dict, dict]],
             seen: set[str]) -> dict:
    """A vector file from recorded cases (group title, balance, contracts, case); ids in `seen` are
    skipped (the same scenario from an earlier generator or file) and added to it."""
    groups: dict[tuple, dict] = {}
    used: set[str] = set()
    n = 0
    for title, balance, contracts, case in recorded:
        if case["id"] in seen:
            continue
        seen.add(case["id"])
        key = (title, balance, tuple(sorted(contracts)))
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"title": title, "contracts": contracts, "available_balance": balance, "cases": []}
        g["cases"].append(case)
        used.update(case["flags"])
        n += 1
    table = {f.name: {"meaning": f.meaning, "if_wrong": f.if_wrong} for f in rb.flags}
    missing = sorted(used - set(table))
    if missing:
        raise ValueError(f"flags used by {stem} cases but not in spec/flags.yaml: {', '.join(missing)}")
    return {
        "schema": FORMAT,
        "rulebook": {"name": rb.name, "version": rb.version},
        "file": stem,
        "description": description,
        "flags": {k: table[k] for k in sorted(used)},
        "number_of_cases": n,
        "groups": list(groups.values()),
    }


@dataclass(frozen=True)
class CheckResult:
    stale: tuple[str, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.stale or self.missing or self.extra)


def _replace(p: Path, data: bytes) -> None:
    """Write `data` to `p` atomically with the shared writer (atomic.py): a reader never sees half a
    file, an interrupted run leaves the old file, and a new file gets 0666 less the umask."""
    from ..atomic import write_atomic

    write_atomic(p, data)


def write(files: dict[str, bytes], out: Path, extra_dir_files: dict[Path, bytes] | None = None) -> list[Path]:
    """Write `files` ({name: bytes}) into `out` and `extra_dir_files` ({path: bytes}), each
    atomically and only when its bytes change; return what changed. Nothing else is touched: a
    file this run does not produce is never deleted (`extras` names such files)."""
    changed = []
    for p, data in [*((out / n, d) for n, d in files.items()), *(extra_dir_files or {}).items()]:
        if not p.is_file() or p.read_bytes() != data:
            _replace(p, data)
            changed.append(p)
    return changed


def extras(files: dict[str, bytes], out: Path, extra_dir_files: dict[Path, bytes] | None = None) -> tuple[str, ...]:
    """*.json files in `out` that this run does not produce (left in place; `--check` fails on them,
    since the conformance runner would read them as vectors)."""
    ours = set(files) | {p.name for p in (extra_dir_files or {}) if p.parent == out}
    return tuple(str(p) for p in sorted(out.glob("*.json")) if p.name not in ours) if out.is_dir() else ()


def check(files: dict[str, bytes], out: Path, extra_dir_files: dict[Path, bytes] | None = None) -> CheckResult:
    """Compare what would be written with what is there: stale, missing and extra files."""
    stale, missing = [], []
    for name, data in files.items():
        p = out / name
        if not p.is_file():
            missing.append(str(p))
        elif p.read_bytes() != data:
            stale.append(str(p))
    for p, data in (extra_dir_files or {}).items():
        if not p.is_file():
            missing.append(str(p))
        elif p.read_bytes() != data:
            stale.append(str(p))
    return CheckResult(tuple(stale), tuple(missing), extras(files, out, extra_dir_files))

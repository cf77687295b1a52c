"""A persistent store of the minimal unsat cores of the every-contract proofs (nlsat_core.py, and
`solving.check` with `minimise="within"`), keyed by the query, each with its certificate
(certificates.py): minimising a core costs a solver call per name, checking a stored one an unsat
query and an exact evaluation per name.

Minimal cores are stored each with a witness per name (a model showing the name is needed): every
answer behind one was decided within its work limit, so no wall-clock cut (the safety net
`--timeout`, a loaded machine) can have shaped it. A proof whose deletion a work limit cut (its
core is every assumption, "not minimised") is stored too, without witnesses, under a key that
adds Z3's version and the limits: the limits count Z3's work, so that solver with those limits
cuts it again, and a hit still proves the claim from every assumption; one a clock may have cut
(an undecided check that ran half the safety net) is not stored.

What a hit changes: nothing in any report (on the Z3 the entry was made with; on another, a
certified core may be minimal where that Z3's limits would cut an attempt). The proof is always
asked again, from the stored core alone (a smaller query: usually faster than the full one). A
canonical or "within" core's witnesses are evaluated against this query, so its minimality is
checked, not trusted (certificates.py says why the checks pin a canonical core); an entry that
fails (stale, colliding, edited by hand, or another query's) is ignored and the core computed as
without a store. The entries without witnesses (below) rest on their key: the same query, the
same Z3 version and the same limits, under which the computation is the same.

Where: the user's store, $MARGINSPEC_CACHE_DIR, else $XDG_CACHE_HOME/marginspec, else
~/.cache/marginspec (one small JSON file per query, written atomically: parallel workers may share
it), then the certificates shipped for the shipped rulebook (data/core-certificates.json).
MARGINSPEC_CACHE_DIR=off turns both off (every core computed); MARGINSPEC_SHIPPED_CORES=off only
the shipped ones (to refresh them: run `prove` so into an empty directory, then `pack` it).
Deleting the directory is always safe.

    python -m marginspec.core_cache pack DIR FILE   # the entries in DIR as one sorted JSON file
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

import z3

VERSION = "cores-3"  # bump when what a core means or how its entry is written changes
SHIPPED = Path(__file__).parent / "data" / "core-certificates.json"
_shipped: dict | None = None


def directory() -> Path | None:
    """The cache directory, or None when the cache is off."""
    env = os.environ.get("MARGINSPEC_CACHE_DIR")
    if env:
        return None if env.lower() in ("off", "0", "none", "false") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "marginspec"


def key(terms: z3.AstVector, n_hard: int, names: Sequence[str], kind: str) -> str:
    """The query's key: the structural hash of each term (Z3's hash follows a term's structure:
    names, operators, numerals; the same in every process), the names of the assumptions (one term
    each, after the `n_hard` hard terms) and the kind of core (canonical or "within"). Not Z3's
    version nor the work limits: a hit is checked against the query (certificates.py)."""
    h = hashlib.sha256()
    h.update(f"{VERSION}|{kind}|{n_hard}|{list(names)}|".encode())
    ref, vec = terms.ctx.ref(), terms.vector
    h.update(",".join(str(z3.Z3_get_ast_hash(ref, z3.Z3_ast_vector_get(ref, vec, i)))
                      for i in range(len(terms))).encode())
    return h.hexdigest()


def _path(k: str) -> Path | None:
    d = directory()
    return None if d is None else d / VERSION / k[:2] / f"{k}.json"


Entry = tuple[list[str], dict[str, dict[str, str]]]  # (core, witness per name)


def _entry(data) -> Entry | None:
    """An entry read back, or None unless well formed (a core is a sorted list of distinct names)."""
    try:
        core = data["core"]
        if not isinstance(core, list) or not all(isinstance(n, str) for n in core) or core != sorted(set(core)):
            return None
        wit = {str(n): {str(a): str(b) for a, b in w.items()} for n, w in data["witnesses"].items()}
        return list(core), wit
    except (KeyError, TypeError, AttributeError):
        return None


def _shipped_entries() -> dict:
    global _shipped
    if _shipped is None:
        try:
            _shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            _shipped = {}
        if not isinstance(_shipped, dict):
            _shipped = {}
    return _shipped


def shipped_z3() -> str | None:
    """The Z3 version the shipped certificates were made with."""
    v = _shipped_entries().get("z3")
    return v if isinstance(v, str) else None


def get(k: str) -> Entry | None:
    """(core, witnesses) stored for key `k` (the user's store first, then the shipped
    certificates), or None. Not yet checked: the caller checks it against its query."""
    p = _path(k)
    if p is None:
        return None
    try:
        return _entry(json.loads(p.read_text(encoding="utf-8")))
    except (OSError, ValueError, RecursionError):
        pass
    if os.environ.get("MARGINSPEC_SHIPPED_CORES", "").lower() in ("off", "0", "none", "false"):
        return None
    data = _shipped_entries().get(k)
    return _entry(data) if data is not None else None


def put(k: str, core: Sequence[str], witnesses: dict[str, dict[str, str]]) -> None:
    """Store a minimal core with its witnesses (best effort: a store that cannot be written is no
    store)."""
    p = _path(k)
    if p is None:
        return
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"core": list(core), "witnesses": witnesses}, sort_keys=True), encoding="utf-8")
        os.replace(tmp, p)
    except OSError:
        pass


def pack(directory_: Path, out: Path) -> int:
    """Write the entries of a store directory as one JSON file, sorted (the shipped certificates:
    run `prove` with MARGINSPEC_SHIPPED_CORES=off and MARGINSPEC_CACHE_DIR set to an empty
    directory, then pack it). Returns the number of entries."""
    entries = {}
    for p in sorted((directory_ / VERSION).rglob("*.json")):
        try:
            e = _entry(json.loads(p.read_text(encoding="utf-8")))
        except (OSError, ValueError, RecursionError):
            e = None
        if e is not None:
            entries[p.stem] = {"core": e[0], "witnesses": e[1]}
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [f'"z3": {json.dumps(z3.get_version_string())}']  # what made it (the version-keyed entries' Z3)
    lines += [f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(entries.items())]
    text = "{\n" + ",\n".join(lines)
    out.write_text(text + "\n}\n", encoding="utf-8")
    return len(entries)


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 4 or sys.argv[1] != "pack":
        print("usage: python -m marginspec.core_cache pack DIR FILE", file=sys.stderr)
        sys.exit(2)
    print(f"{pack(Path(sys.argv[2]), Path(sys.argv[3]))} entries -> {sys.argv[3]}")

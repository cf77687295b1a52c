"""A persistent cache of the minimal unsat cores of the every-contract proofs (nlsat_core.py, and
`solving.check` with `minimise="within"`), keyed by the query: minimising a core costs a few solver
calls per name, paid once per query instead of once per run (most queries do not change between
two runs of `prove`).

Only minimal cores are stored: every answer behind one was decided within its work limit, so no
wall-clock cut (the safety net `--timeout`, a loaded machine) can have shaped it.

What a hit changes: nothing in any report. The proof is still asked, from the cached core alone (a
smaller query: usually faster than the full one), and a hit whose core does not prove the claim is
ignored (the core is then computed as without a cache). So a stale or colliding entry can never
make a claim PROVED; the key (the query's structure, the names, Z3's version and the work limits)
makes it the same query, so the core and its "minimal" flag are those the computation gives.

Where: $MARGINSPEC_CACHE_DIR, else $XDG_CACHE_HOME/marginspec, else ~/.cache/marginspec; one small
JSON file per query, written atomically (parallel workers may share it). MARGINSPEC_CACHE_DIR=off
turns the cache off. Deleting the directory is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

import z3

VERSION = "cores-2"  # bump when what a core means or how it is computed changes


def directory() -> Path | None:
    """The cache directory, or None when the cache is off."""
    env = os.environ.get("MARGINSPEC_CACHE_DIR")
    if env:
        return None if env.lower() in ("off", "0", "none", "false") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "marginspec"


def key(terms: z3.AstVector, n_hard: int, names: Sequence[str], limits: Sequence[int]) -> str:
    """The query's key: the structural hash of each term (Z3's hash follows a term's structure:
    names, operators, numerals; the same in every process), the names of the assumptions (one term
    each, after the `n_hard` hard terms), Z3's version and the work limits."""
    h = hashlib.sha256()
    h.update(f"{VERSION}|{z3.get_version_string()}|{n_hard}|{list(limits)}|{list(names)}|".encode())
    ref, vec = terms.ctx.ref(), terms.vector
    h.update(",".join(str(z3.Z3_get_ast_hash(ref, z3.Z3_ast_vector_get(ref, vec, i)))
                      for i in range(len(terms))).encode())
    return h.hexdigest()


def _path(k: str) -> Path | None:
    d = directory()
    return None if d is None else d / VERSION / k[:2] / f"{k}.json"


def get(k: str) -> tuple[list[str], bool] | None:
    """(core, minimal?) stored for key `k`, or None."""
    p = _path(k)
    if p is None:
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        return [str(n) for n in data["core"]], bool(data["minimal"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def put(k: str, core: Sequence[str], minimal: bool) -> None:
    """Store a core (best effort: a cache that cannot be written is no cache)."""
    p = _path(k)
    if p is None:
        return
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"core": list(core), "minimal": minimal}), encoding="utf-8")
        os.replace(tmp, p)
    except OSError:
        pass

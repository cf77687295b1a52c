"""Where the time of `marginspec prove` with every core computed goes (a rulebook of one's own,
or changed rules; the shipped rules come with their cores' certificates, core_cache.py): the
solver calls behind the canonical minimal cores of the every-contract goals (nlsat_core.py,
solving.minimise_within).

    python bench/profile_cores.py [--jobs-free options for marginspec prove ...]

Runs `prove --jobs 1` in this process with the core cache off (MARGINSPEC_CACHE_DIR=off: every
core computed) and counts, by wrapping the functions (nothing in the prover changes), each
nlsat_proof's tracked first attempt and deletion attempts: refutations (sat: the name stays),
drops and narrowing re-asks (unsat), undecided ones (work limit), with their seconds; then the
frame goals' `minimise_within` attempts. Measured on the shipped rulebook (2-core machine, load
1.6; 23.5 s in all): 246 tracked first attempts 2.6 s; 1290 deletion attempts 10.2 s (819
refutations, one per name of the final cores, 6.1 s; 469 drops and narrowing re-asks 3.1 s; 2
undecided 1.1 s; such a case, not minimal, is now stored too, under Z3's version and the
limits); 57
`minimise_within` attempts 1.6 s. Each attempt is Z3's own work (about 1 ms of building and
asserting, 3-4 ms of preprocessing, the rest nlsat's search), and no attempt's answer follows from
an earlier one's (by inclusion), so under the canonical definition the count is near its floor.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import os
import sys
import tempfile
import time

os.environ["MARGINSPEC_CACHE_DIR"] = "off"

import z3  # noqa: E402

from marginspec import nlsat_core, solving  # noqa: E402
from marginspec.cli import main as prove  # noqa: E402

COUNTS: collections.Counter = collections.Counter()
SECONDS: collections.Counter = collections.Counter()


def _note(kind: str, dt: float) -> None:
    COUNTS[kind] += 1
    SECONDS[kind] += dt


def _wrap() -> None:
    """Count the attempts (the wrapped functions return what the originals do)."""
    check = nlsat_core.NlsatQuery.check

    def counted_check(self, names, rlimit, track):
        t = time.perf_counter()
        r, core = check(self, names, rlimit, track)
        if track:
            _note("tracked first attempt", time.perf_counter() - t)
        return r, core

    nlsat_core.NlsatQuery.check = counted_check
    for module, name in ((nlsat_core, "minimise_from"), (solving, "minimise_within")):
        orig = getattr(module, name)

        def counted(ask, names, *rest, _orig=orig, _name=name, **kw):
            def ask2(trial, rl):
                t = time.perf_counter()
                r, used = ask(trial, rl)
                kind = "refutation" if r == z3.sat else "unsat (drop or re-ask)" if r == z3.unsat else "undecided"
                _note(f"{_name}: {kind}", time.perf_counter() - t)
                return r, used

            return _orig(ask2, names, *rest, **kw)

        setattr(module, name, counted)


def main() -> int:
    _wrap()
    with tempfile.TemporaryDirectory() as tmp:
        sys.argv = (["marginspec", "prove", "--jobs", "1", "--output", os.path.join(tmp, "report.json"),
                     "--format", "json"] + sys.argv[1:])
        t0 = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                prove()
        except SystemExit:
            pass
        wall = time.perf_counter() - t0
        with open(os.path.join(tmp, "report.json"), encoding="utf-8") as f:
            summary = json.load(f)["summary"]
    statuses = ", ".join(f"{summary[k]} {k}" for k in ("PROVED", "VIOLATED", "VACUOUS", "UNKNOWN", "ERROR") if summary[k])
    print(f"prove --jobs 1, core cache off: {wall:.2f} s wall in this process ({statuses}; load average "
          f"{os.getloadavg()[0]:.2f})")
    for kind in sorted(COUNTS):
        print(f"  {kind:<46} {COUNTS[kind]:>5}  {SECONDS[kind]:7.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

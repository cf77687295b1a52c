"""The proof report says the same thing for any --jobs, any load and any run (issue: 21-23 of 199
results' assumption lists used to change between -j 1, 2 and 4): each query is checked in a fresh
Z3 context with a fixed seed, work is bounded by resource limits, and unsat cores are minimal and
canonical. Timings are the only thing that may differ, and `--output` ignores them: the file
written by one run is left byte for byte as it is by the others."""

from __future__ import annotations

import json
import subprocess
import sys

from prover_support import run_prove

SELECTION = ("--only", "INV-liq-root/*", "--only", "INV-covered/open_position/*", "--only", "INV-add-moves-away/*",
             "--only", "INV-loss-cap/add_margin/*")


def _busy(n: int) -> list[subprocess.Popen]:
    """Processes that keep the CPUs busy (artificial load)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def test_reports_are_byte_identical_for_any_jobs_and_load(tmp_path, monkeypatch):
    monkeypatch.setenv("MARGINSPEC_CACHE_DIR", "off")  # every core computed in each run, none read back
    out = tmp_path / "proof-report.json"
    code, _, err = run_prove(*SELECTION, "--per-contract", "--jobs", "1", "--output", str(out))
    assert code == 0, err
    first = out.read_bytes()
    code, _, err = run_prove(*SELECTION, "--per-contract", "--jobs", "2", "--output", str(out))
    assert code == 0, err
    assert out.read_bytes() == first  # the same content: the file is not rewritten
    load = _busy(3)
    try:
        code, stdout, err = run_prove(*SELECTION, "--per-contract", "--jobs", "2", "--output", str(out), "--format", "json")
    finally:
        for p in load:
            p.kill()
            p.wait()
    assert code == 0, err
    assert out.read_bytes() == first
    loaded = json.loads(stdout)
    original = json.loads(first)
    for a, b in zip(original["results"], loaded["results"]):
        assert (a["id"], a["status"], a["assumptions"], a["counterexample"]) == \
               (b["id"], b["status"], b["assumptions"], b["counterexample"])
    ids = {r["id"]: r for r in original["results"]}
    # minimal cores: the liquidation root needs only the state domain, not INV-covered, and names
    # the definitions it reads
    rules = ["rule:equity", "rule:liquidation_root", "rule:maintenance_margin"]
    assert ids["INV-liq-root/BTCUSDT"]["assumptions"] == ["contract:BTCUSDT", "hyp:INV-state-domain", *rules]
    assert ids["INV-liq-root/ETHUSDT"]["assumptions"] == ["contract:ETHUSDT", "hyp:INV-state-domain", *rules]
    assert ids["INV-covered/open_position/BTCUSDT"]["assumptions"] == [
        "contract:BTCUSDT", "arg:open_position.size", "check:open_position.mark_price",
        "check:open_position.min_margin", "effect:open_position.entry_price", "effect:open_position.isolated_margin",
        "effect:open_position.size", "hyp:INV-state-domain", "rule:equity", "rule:maintenance_margin"]
    parametric = ids["INV-liq-root/any-4-tiers"]["assumptions"]
    assert "hyp:INV-covered" not in parametric and "hyp:INV-mm-continuous" in parametric


def test_canonical_core_is_minimal_and_ignores_the_starting_core():
    """Deletion in sorted order: the same minimal core whatever sufficient core the solver found."""
    import z3

    from marginspec.solving import canonical_core, check

    x, y = z3.Reals("x y")
    assumptions = [("a:x>1", x > 1), ("b:y>1", y > 1), ("c:x>2", x > 2), ("d:x*y>0", x * y > 0)]
    claim = x > 0  # follows from a alone and from c alone: deletion in order drops a first, keeps c
    for start in (None, ["a:x>1"], ["c:x>2"], ["a:x>1", "b:y>1", "c:x>2", "d:x*y>0"]):
        assert canonical_core(claim, assumptions, start=start) == (["c:x>2"], True)
    r = check(claim, assumptions, vacuity=False)
    assert r.status == "proved" and r.core == ["c:x>2"]
    r = check(x * y > 1, assumptions, vacuity=False)
    assert r.status == "proved" and r.core == ["b:y>1", "c:x>2"]

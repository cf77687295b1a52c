"""Benchmark: `marginspec prove` over 900 contracts against `prove` over the two shipped profiles.

    python bench/bench_prove_contracts.py [--contracts 900] [--seed 8] [--jobs N] [--keep DIR]

Synthesises N well-formed contracts (seeded `random`: 3 to 12 tiers each, increasing max notional,
increasing maintenance rates (below 0.3), max leverage below 1 / rate, maintenance amounts that make
maintenance margin continuous, decimal steps), writes them as a contracts file for `--contracts FILE` (JSON) when the command has that option,
else as the contracts of a copy of the shipped rulebook (a replaced rulebook, JSON text as YAML),
runs `marginspec prove` on it and on the shipped rulebook (fresh processes, as a user would) and
prints both wall times and their ratio (target: <= 3).

Why it can be cheap: every obligation about states, actions and facts is proved once, for the
symbolic contract of any number of tiers, whatever the number of contracts; a contract adds only
its four family-8 obligations, each decided by ONE Z3 query over its concrete values (PROVED from
unsat, with the tiers used as the core). Reachability and the bounded sequences are per contract
but run on the first two contracts only (their scope says so).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from marginspec.numbers import format_decimal
from marginspec.rulebook import default_spec_dir


def contract(rng: random.Random) -> dict:
    """One well-formed contract: family 8 by construction (ordered tiers, 1/max_leverage above the
    rate, continuous maintenance margin)."""
    n = rng.randint(3, 12)
    mult = rng.choice(["0.001", "0.01", "0.1", "1", "10"])
    tick = rng.choice(["0.1", "0.01", "0.001", "0.0001", "0.00001"])
    hi = Fraction(rng.choice([5000, 10000, 20000, 50000]))
    rate = Fraction(rng.choice([4, 5, 6, 10]), 1000)
    amount = Fraction(0)
    tiers = []
    prev_hi, prev_rate = None, None
    for k in range(n):
        if k:
            hi = prev_hi * rng.choice([2, 3, 4, 5])
            rate = prev_rate + Fraction(rng.choice([1, 2, 5, 10, 25]), 1000)
            amount += prev_hi * (rate - prev_rate)
        lev = max(1, min(125, int(1 / (rate * Fraction(5, 4)))))
        while Fraction(1, lev) <= rate:
            lev -= 1
        tiers.append({"max_notional": hi, "maintenance_margin_rate": rate, "max_leverage": Fraction(lev),
                      "maintenance_amount": amount})
        prev_hi, prev_rate = hi, rate
    return {"contract_multiplier": mult, "tick_size": tick, "lot_size": "1", "money_step": "0.0001",
            "liquidation_buffer_rate": "0.005",
            "tiers": [{k: format_decimal(v) for k, v in t.items()} for t in tiers]}


def synthesise(n: int, seed: int) -> dict:
    rng = random.Random(seed)
    return {f"C{i:04d}USDT": contract(rng) for i in range(n)}


def write_spec(root: Path, contracts: dict) -> Path:
    """A copy of the shipped rulebook whose contracts are `contracts` (JSON is YAML)."""
    spec = root / "spec"
    shutil.copytree(default_spec_dir(), spec, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    (spec / "contracts.yaml").write_text(json.dumps({"contracts": contracts}, indent=1) + "\n", encoding="utf-8")
    return spec


def has_contracts_option() -> bool:
    """Whether this marginspec has `--contracts FILE` (then the bench uses it, as a user would)."""
    out = subprocess.run([sys.executable, "-m", "marginspec", "prove", "--help"], capture_output=True, text=True).stdout
    return "--contracts" in out


def prove(spec: Path | None, jobs: int, out: Path, contracts: Path | None = None) -> tuple[float, dict, int]:
    cmd = [sys.executable, "-m", "marginspec", "prove", "--jobs", str(jobs), "--format", "json", "--output", str(out)]
    if spec is not None:
        cmd += ["--spec", str(spec)]
    if contracts is not None:
        cmd += ["--contracts", str(contracts)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    return wall, json.loads(out.read_text(encoding="utf-8")), proc.returncode


def by_kind(report: dict) -> str:
    per: dict[str, list[float]] = {}
    for r in report["results"]:
        per.setdefault(r["kind"], []).append(r["seconds"])
    return ", ".join(f"{k} {len(v)} ({sum(v):.1f} s)" for k, v in sorted(per.items()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contracts", type=int, default=900)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--keep", help="keep the synthesised rulebook in this folder")
    a = ap.parse_args()
    root = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="bench-contracts-"))
    root.mkdir(parents=True, exist_ok=True)
    contracts = synthesise(a.contracts, a.seed)
    if has_contracts_option():  # a contracts file (JSON), in force instead of the shipped profiles
        spec, cfile = None, root / "contracts.json"
        cfile.write_text(json.dumps(contracts, indent=1) + "\n", encoding="utf-8")
        how = f"--contracts {cfile}"
    else:  # a replaced rulebook: the shipped one with these contracts
        spec, cfile = write_spec(root, contracts), None
        how = f"--spec {spec}"
    print(f"marginspec prove, --jobs {a.jobs} ({os.cpu_count()} CPUs); {a.contracts} synthesised contracts: {how}")
    w_ship, r_ship, c_ship = prove(None, a.jobs, root / "shipped.json")
    print(f"  shipped profiles ({len(r_ship['scopes']['contracts'])} contracts): {w_ship:7.1f} s, exit {c_ship}, "
          f"{r_ship['summary']['obligations']} obligations: {by_kind(r_ship)}")
    w_many, r_many, c_many = prove(spec, a.jobs, root / "many.json", cfile)
    sc = r_many["scopes"]
    good = sum(1 for d in sc["contracts"].values() if d["status"] == "PROVED")
    print(f"  {a.contracts} contracts:         {w_many:7.1f} s, exit {c_many}, "
          f"{r_many['summary']['obligations']} obligations: {by_kind(r_many)}")
    print(f"  every-contract obligations: {sc['every-contract']['status']}; parameters well formed: "
          f"{good} of {len(sc['contracts'])} contracts")
    print(f"  ratio: {w_many / w_ship:.2f} (target <= 3)")
    if not a.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if c_many == 0 and c_ship == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

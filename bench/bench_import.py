"""Benchmark of `marginspec import-tiers` on a venue-sized tier file, and the files for the
900-contract benchmarks of the other commands.

    python bench/bench_import.py OUT_DIR [--symbols 900] [--seed 8]

Writes OUT_DIR/tiers.json (ccxt's fetch_leverage_tiers() shape: symbol -> tiers with `info.cum`),
OUT_DIR/markets.json (load_markets() shape: contractSize, precision in TICK_SIZE mode), through the
real command in a fresh process OUT_DIR/contracts.yaml, and the same contracts as
OUT_DIR/contracts.json; prints the time of each step.

The tiers are synthetic but shaped like a real venue's (seeded `random`, so the same files every
run): 3 to 12 tiers per symbol, caps growing by 2x-5x, leverage falling along Binance's usual
ladder with its usual maintenance rates (125x at 0.4% ... 1x at 50%), and `cum` the exact amounts
that make maintenance margin continuous, written as floats whose shortest text is that decimal.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

# leverage -> maintenance margin rate, the ladder Binance's USDT-M brackets use
LADDER = [(125, "0.004"), (100, "0.005"), (75, "0.0065"), (50, "0.01"), (25, "0.02"), (20, "0.025"), (10, "0.05"),
          (5, "0.1"), (4, "0.125"), (3, "0.15"), (2, "0.25"), (1, "0.5")]
TICKS = ["0.1", "0.01", "0.001", "0.0001", "0.00001", "0.0000001"]
LOTS = ["0.001", "0.01", "0.1", "1", "10"]


def as_float(x: Fraction) -> float:
    """A float whose shortest text is exactly the decimal `x` (checked, so the import reads back `x`)."""
    d = Decimal(x.numerator) / Decimal(x.denominator)
    f = float(d)
    assert Decimal(repr(f)) == d, (x, f)
    return f


def symbol_tiers(rng: random.Random, n: int) -> list[dict]:
    rungs = sorted(rng.sample(range(len(LADDER)), n))
    cap = Fraction(rng.choice([5000, 10000, 25000, 50000]))
    tiers, cum, prev = [], Fraction(0), None
    for k, r in enumerate(rungs, 1):
        lev, mmr = LADDER[r][0], Fraction(LADDER[r][1])
        if prev is not None:
            cum += prev[0] * (mmr - prev[1])
        low = prev[0] if prev else Fraction(0)
        tiers.append({"tier": k, "currency": "USDT", "minNotional": as_float(low), "maxNotional": as_float(cap),
                      "maintenanceMarginRate": as_float(mmr), "maxLeverage": lev,
                      "info": {"bracket": k, "initialLeverage": lev, "notionalCap": as_float(cap),
                               "notionalFloor": as_float(low), "maintMarginRatio": as_float(mmr),
                               "cum": as_float(cum)}})
        prev = (cap, mmr)
        cap *= rng.choice([2, Fraction(5, 2), 4, 5])
    return tiers


def build(out: Path, symbols: int, seed: int) -> tuple[Path, Path]:
    rng = random.Random(seed)
    tiers, markets = {}, {}
    for i in range(symbols):
        sym = f"C{i:04d}/USDT:USDT"
        tiers[sym] = symbol_tiers(rng, rng.randint(3, 12))
        markets[sym] = {"symbol": sym, "type": "swap", "contract": True, "linear": True, "inverse": False,
                        "contractSize": float(rng.choice(["1", "0.001", "10", "1000"])),
                        "precision": {"price": float(rng.choice(TICKS)), "amount": float(rng.choice(LOTS))}}
    out.mkdir(parents=True, exist_ok=True)
    tp, mp = out / "tiers.json", out / "markets.json"
    tp.write_text(json.dumps(tiers, indent=1, sort_keys=True) + "\n")
    mp.write_text(json.dumps(markets, indent=1, sort_keys=True) + "\n")
    return tp, mp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--symbols", type=int, default=900)
    ap.add_argument("--seed", type=int, default=8)
    a = ap.parse_args()
    t0 = time.perf_counter()
    tp, mp = build(a.out, a.symbols, a.seed)
    t1 = time.perf_counter()
    n_tiers = sum(len(v) for v in json.loads(tp.read_text()).values())
    print(f"built {tp} and {mp}: {a.symbols} symbols, {n_tiers} tiers in {t1 - t0:.2f} s")
    cmd = [sys.executable, "-m", "marginspec", "import-tiers", str(tp), "--markets", str(mp), "--money-step", "0.0001",
           "--out", str(a.out / "contracts.yaml")]
    t2, cpu0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    t3, cpu1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    if proc.returncode:
        sys.exit(f"import-tiers failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    print(f"marginspec import-tiers: {a.symbols} contracts checked (domains and parameter invariants) and written "
          f"to {a.out / 'contracts.yaml'} in {t3 - t2:.2f} s wall, {cpu:.2f} s CPU "
          f"({cpu / a.symbols * 1000:.1f} ms CPU per contract; wall exceeds CPU when the machine is shared)")
    # the same contracts as JSON, which loads about 3x faster than YAML (for the 900-contract benchmarks)
    from marginspec.contracts import dumps_contracts, load_contracts
    from marginspec.rulebook import load_rulebook

    t4 = time.perf_counter()
    contracts = load_contracts(a.out / "contracts.yaml", load_rulebook(), wellformed=False)
    t5 = time.perf_counter()
    (a.out / "contracts.json").write_text(dumps_contracts(contracts, "json"))
    print(f"read back {a.out / 'contracts.yaml'} in {t5 - t4:.2f} s; wrote the same as {a.out / 'contracts.json'}")


if __name__ == "__main__":
    main()

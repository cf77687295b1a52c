"""Benchmark of the reference engine (issue 2).

    python bench/bench_engine.py [--requests N]

Prints (1) requests per second in-process for the reference engine (the YAML rulebook, interpreted)
and the hand-written Fraction baseline (bench/baseline_engine.py), and (2) time per request over
stdin/stdout for `marginspec engine` and the baseline served the same way, with their ratio.
Targets: >= 10,000 requests/s in-process; stdio ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baseline_engine import BaselineEngine  # noqa: E402
from workload import requests  # noqa: E402

from marginspec.engine import ReferenceEngine  # noqa: E402


def in_process(engine, reqs) -> float:
    t0 = time.perf_counter()
    for r in reqs:
        engine.handle(r)
    return len(reqs) / (time.perf_counter() - t0)


def over_stdio(cmd: list[str], reqs) -> float:
    """Seconds per request, requests pipelined through the engine's stdin/stdout."""
    lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in reqs).encode()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1 << 16)
    # warm up: start-up is not part of the per-request cost
    proc.stdin.write(b'{"id":0,"op":"hello","args":{}}\n')
    proc.stdin.flush()
    proc.stdout.readline()
    t0 = time.perf_counter()
    writer = threading.Thread(target=lambda: (proc.stdin.write(lines), proc.stdin.flush()))
    writer.start()
    for _ in reqs:
        if not proc.stdout.readline():
            raise RuntimeError(f"{cmd} stopped early")
    dt = time.perf_counter() - t0
    writer.join()
    proc.stdin.close()
    proc.wait()
    return dt / len(reqs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    n = ap.parse_args().requests
    reqs = requests(n)
    for r in reqs[:2000]:  # warm both up
        pass
    ref = ReferenceEngine()
    base = BaselineEngine()
    in_process(ref, reqs[:2000])
    in_process(base, reqs[:2000])
    rps_ref = max(in_process(ReferenceEngine(), reqs) for _ in range(3))
    rps_base = max(in_process(BaselineEngine(), reqs) for _ in range(3))
    print(f"in-process   reference {rps_ref:>9,.0f} req/s   baseline {rps_base:>9,.0f} req/s   "
          f"(target >= 10,000 req/s for the reference)")
    ref_cmd = [sys.executable, "-m", "marginspec", "engine"]
    base_cmd = [sys.executable, str(HERE / "baseline_engine.py")]
    t_ref = min(over_stdio(ref_cmd, reqs) for _ in range(3))
    t_base = min(over_stdio(base_cmd, reqs) for _ in range(3))
    print(f"stdin/stdout reference {t_ref * 1e6:>8.1f} us/req   baseline {t_base * 1e6:>8.1f} us/req   "
          f"ratio {t_ref / t_base:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""How fast is ``marginspec fuzz``? Steps per second against the reference engine over a pipe.

    python bench/bench_fuzz.py [--seconds N] [--seed S]

A *step* is one generated request; each is followed by a ``query`` of its symbol, so the engine
answers two requests per step (plus one ``reset`` per trace). Measured: (a) the reference engine as
a process, ``python -m marginspec engine``, over stdin/stdout (the target: >= 3,000 steps/s);
(b) the reference engine in process (generation, the expected replies and the engine under test
share one interpreter); (c) generation alone (the reference's own replies and the boundary
targeting, no engine under test): the ceiling of (a).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from marginspec.fuzz.driver import Fuzzer
from marginspec.rulebook import load_rulebook


def measure(rb, engine, seconds: float, seed: str) -> tuple[int, int, float]:
    fuzzer = Fuzzer(rb, engine, seed=seed)
    try:
        fuzzer.runner._ensure_started()  # start-up is not fuzzing time
        result = fuzzer.run(seconds)
    finally:
        fuzzer.close()
    if result.found is not None or result.error:
        sys.exit(f"unexpected: {result.error or result.found.result.reason}")
    return result.traces, result.steps, result.seconds


def generation_only(rb, seconds: float, seed: str) -> tuple[int, int, float]:
    fuzzer = Fuzzer(rb, "reference", seed=seed)
    t0 = time.perf_counter()
    n = steps = 0
    while time.perf_counter() - t0 < seconds:
        trace, _ = fuzzer.generate(n)
        n += 1
        steps += len(trace.requests)
    return n, steps, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--seed", default="bench")
    args = ap.parse_args()
    rb = load_rulebook()
    pipe = shlex.join([sys.executable, "-m", "marginspec", "engine"])
    rows = [
        ("reference engine over a pipe", measure(rb, pipe, args.seconds, args.seed)),
        ("reference engine in process", measure(rb, "reference", args.seconds, args.seed)),
        ("generation alone (no engine under test)", generation_only(rb, args.seconds, args.seed)),
    ]
    print(f"marginspec fuzz, seed {args.seed!r}, {args.seconds:g} s each (a step: one request and its query)")
    for name, (traces, steps, secs) in rows:
        print(f"  {name:<42} {steps / secs:>8,.0f} steps/s  ({steps:,} steps, {traces:,} traces, {secs:.1f} s)")


if __name__ == "__main__":
    main()

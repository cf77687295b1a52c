"""Where the time of `marginspec diff` goes: each Z3 query, by the step that asks it and its answer.

    python bench/profile_diff.py CONTRACTS_FILE A B      # one pair, e.g. bench/diff/btc8.yaml binance bybit
    python bench/profile_diff.py CONTRACTS_FILE --all-pairs

Runs the comparison in this process (venue presets set on the file's contracts, as `diff A B
--contracts FILE` does), wrapping marginspec.diff._sat (nothing in diff changes), and prints the CPU
seconds per (asking function, answer) and per contract unit, then every query in order with the
side it was about. Measured on bench/diff/btc8.yaml, binance vs bybit (mark vs entry basis), before
the bisection skipped decided sides: 52 queries, 103 s CPU, of which 21 were short-side queries
asked after the long side's cheap 'sat' (0.03 s) had already decided the value (20 unsat proofs,
63 s, and one cut by the 30 s safety net, 30 s), and 2 repeated the value 1 (4 s); after: 29
queries, 6.7 s. The fee-only pairs (phemex or bitget vs binance) spend theirs in the closed
form's check: on that contract the short side's "no position exceeds it" runs into the 30 s
safety net (its unsat takes about 90 s of CPU with no net), so their bound is 'unknown'.
"""

from __future__ import annotations

import collections
import sys
import time

from marginspec import diff
from marginspec.commands.contracts_option import apply_contracts
from marginspec.rulebook import load_rulebook


def main(argv: list[str]) -> None:
    rb = apply_contracts(load_rulebook(), argv[0])
    log: list[tuple[str, str, str, str, float]] = []
    unit = [""]
    real_sat, real_rel, real_unit = diff._sat, diff._rel_gt, diff.compare_contracts
    about = [""]

    def rel(e, v, strict=True):
        about[0] = f"{e.side} {'>' if strict else '>='} {v}"
        return real_rel(e, v, strict)

    def sat(formula, facts):
        caller = sys._getframe(1).f_code.co_name
        if caller.startswith("<"):
            caller = sys._getframe(2).f_code.co_name
        t0 = time.process_time()
        r = real_sat(formula, facts)
        log.append((unit[0], caller, r[0], about[0], time.process_time() - t0))
        about[0] = ""
        return r

    def per_unit(rb_, symbol, a, b):
        unit[0] = f"{symbol} {_params(a)} vs {_params(b)}"
        t0 = time.process_time()
        out = real_unit(rb_, symbol, a, b)
        print(f"unit {unit[0]}: {time.process_time() - t0:.2f} s CPU, bound {out.bound.kind}", flush=True)
        return out

    diff._sat, diff._rel_gt, diff.compare_contracts = sat, rel, per_unit
    t0 = time.process_time()
    if argv[1:] == ["--all-pairs"]:
        from marginspec.docs_venues import diff_table

        diff_table(rb)
    else:
        a, b = argv[1], argv[2]
        diff.compare(rb, a, diff.resolve(rb, a), b, diff.resolve(rb, b))
    total = time.process_time() - t0
    by: dict = collections.defaultdict(lambda: [0, 0.0])
    for _, caller, status, _, dt in log:
        by[caller, status][0] += 1
        by[caller, status][1] += dt
    print(f"\n{len(log)} queries, {total:.2f} s CPU in all")
    for (caller, status), (n, dt) in sorted(by.items(), key=lambda x: -x[1][1]):
        print(f"  {caller:28s} {status:8s} {n:4d} queries {dt:8.2f} s")
    print()
    for u, caller, status, what, dt in log:
        print(f"  {u:40s} {caller:28s} {what:28s} {status:8s} {dt:7.2f} s")


def _params(c) -> str:
    return f"{c.params.get('taker_fee_rate')}/{c.params.get('maintenance_basis', 'mark')}"


if __name__ == "__main__":
    main(sys.argv[1:])

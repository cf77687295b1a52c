#!/usr/bin/env python3
"""What do the worst inputs cost? Peak memory and the time to answer each, for `marginspec engine`
on pipes and for the loaders (issue 10: under 200 MB, each bad line answered within 1 s).

    python bench/bench_robustness.py [--quick]

For the engine, one process serves every input in turn; after each line the time to its reply
and the process's peak resident memory so far (VmHWM from /proc) are printed. For the loaders,
each command runs as a process of its own and its wall time and peak memory (wait4's rusage of
the child, which includes the few MB of this script at the fork) are printed. --quick skips the 50 MB line and the 50,000 resets.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def vm_hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Engine:
    def __init__(self) -> None:
        self.p = subprocess.Popen([sys.executable, "-m", "marginspec", "engine"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, bufsize=0)
        self.buf = b""

    def ask(self, line: bytes) -> tuple[float, bytes]:
        """Send one line (in a thread-free way: write, then read) and time its reply."""
        fd_in, fd_out = self.p.stdin.fileno(), self.p.stdout.fileno()
        os.set_blocking(fd_in, False)
        data = memoryview(line + b"\n")
        t0 = time.perf_counter()
        while True:
            if len(data):
                _, w, _ = select.select([], [fd_in], [], 0.05)
                if w:
                    try:
                        data = data[os.write(fd_in, data[:1 << 20]):]
                    except BlockingIOError:
                        pass
            r, _, _ = select.select([fd_out], [], [], 0 if len(data) else 30)
            if r:
                chunk = os.read(fd_out, 1 << 16)
                if not chunk:
                    raise RuntimeError("engine exited")
                self.buf += chunk
                if b"\n" in self.buf:
                    reply, self.buf = self.buf.split(b"\n", 1)
                    return time.perf_counter() - t0, reply
            elif not len(data):
                raise RuntimeError("no reply within 30 s")

    def close(self) -> None:
        self.p.stdin.close()
        self.p.wait(timeout=10)


def contract(k: int = 0, tiers: int = 1) -> dict:
    return {"contract_multiplier": "0.001", "tick_size": "0.1", "lot_size": "1", "money_step": "0.01",
            "liquidation_buffer_rate": "0.005",
            "tiers": [{"max_notional": str(1000000 * (t + 1) + k), "maintenance_margin_rate": "0.004",
                       "max_leverage": "125", "maintenance_amount": "0"} for t in range(tiers)]}


def req(rid, op, **args) -> bytes:
    return json.dumps({"id": rid, "op": op, "args": args}).encode()


def engine_inputs(quick: bool):
    yield "hello", req(1, "hello")
    yield "1,000 nested [", b"[" * 1000 + b"]" * 1000
    yield "4 MB of [ (within the line limit)", b"[" * (4 * 1024 * 1024 - 10)
    yield '4 MB of \\" (string scanner worst case)', b'"' + b'\\"' * (2 * 1024 * 1024 - 4)
    yield 'id "\\ud800"', b'{"id":"\\ud800","op":"hello","args":{}}'
    yield "non-UTF-8 bytes", b'{"id":2,"op":"hello","args":{"x":"\xff\xfe"}}'
    yield "id 1e999999", b'{"id":1e999999,"op":"hello","args":{}}'
    yield "4,301-digit JSON number", b'{"id":3,"op":"hello","args":{"n":' + b"1" * 4301 + b"}}"
    yield "2,500-digit decimal balance", req(4, "reset", contracts={"BTCUSDT": contract()}, available_balance="1" * 2500)
    yield "100,000 tiers", req(5, "reset", contracts={"BTCUSDT": contract(tiers=100_000)}, available_balance="1")
    yield "101 contracts", req(6, "reset", contracts={f"S{k}": contract() for k in range(101)}, available_balance="1")
    yield "100 contracts x 100 tiers (the largest allowed reset)", \
        req(7, "reset", contracts={f"S{k}": contract(k, 100) for k in range(100)}, available_balance="100000")
    yield "set_mark_price with 100 tiers", req(8, "set_mark_price", symbol="S0", price="50000")
    yield "open_position with 100 tiers", req(9, "open_position", symbol="S0", side="long", size="1000", margin="5000")
    yield "query with 100 tiers", req(10, "query", symbol="S0")
    if not quick:
        yield "50 MB line", b'{"id":11,"op":"hello","args":{"x":"' + b"x" * (50 * 1024 * 1024) + b'"}}'
    yield "hello after all that", req(12, "hello")


def bench_engine(quick: bool) -> None:
    e = Engine()
    print(f"\n{'engine input':<55} {'reply':>9} {'peak RSS':>10}  answer")
    try:
        for name, line in engine_inputs(quick):
            dt, reply = e.ask(line)
            r = json.loads(reply)
            what = "ok" if r.get("ok") else r["error"]["code"] + ": " + r["error"]["message"][:60]
            print(f"{name:<55} {dt * 1000:>7.1f}ms {vm_hwm_mb(e.p.pid):>8.1f}MB  id={r['id']!r} {what}")
        if not quick:
            n = 50_000
            t0 = time.perf_counter()
            worst = 0.0
            for k in range(n):
                dt, _ = e.ask(req(100 + k, "reset", contracts={"BTCUSDT": contract(k)}, available_balance="1"))
                worst = max(worst, dt)
            total = time.perf_counter() - t0
            print(f"{f'{n:,} resets with distinct contracts':<55} {worst * 1000:>7.1f}ms {vm_hwm_mb(e.p.pid):>8.1f}MB  "
                  f"(worst reply; {n / total:,.0f} resets/s)")
    finally:
        e.close()


def run_child(args: list[str], stdin: bytes | None = None) -> tuple[float, float, int, str]:
    """(seconds, peak RSS of this child in MB, exit code, last line of output)."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        _, status, usage = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        lines = out.read().decode("utf-8", "replace").strip().splitlines()
    return dt, usage.ru_maxrss / 1024, p.returncode, (lines[-1] if lines else "")[:100]


def bench_loaders() -> None:
    from marginspec.rulebook import default_spec_dir

    laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{chr(97 + i)}{i}: &{chr(97 + i)} [" + ",".join(["*" + chr(96 + i)] * 9) + "]\n" for i in range(1, 9))
    ms = [sys.executable, "-m", "marginspec"]
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        spec = t / "spec"
        shutil.copytree(default_spec_dir(), spec, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
        (spec / "rulebook.yaml").write_text((spec / "rulebook.yaml").read_text() + laughs)
        (t / "laughs.yaml").write_text(laughs)
        (t / "deep.yaml").write_text("a: " + "[" * 3000 + "]" * 3000 + "\n")
        sum500 = t / "spec500"
        shutil.copytree(default_spec_dir(), sum500, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
        d = sum500 / "derived.yaml"
        d.write_text(d.read_text().replace('expr: "isolated_margin + unrealized_pnl"',
                                           'expr: "isolated_margin + unrealized_pnl' + " + 0" * 498 + '"'))
        cases = [
            (f"check with {len(laughs)} bytes of aliases in rulebook.yaml", ms + ["check", str(spec)], None),
            ("simulate FILE: the same aliases", ms + ["simulate", str(t / "laughs.yaml")], None),
            ("prove --against FILE: the same aliases", ms + ["prove", "--against", str(t / "laughs.yaml")], None),
            ("simulate FILE: 3,000 nesting levels", ms + ["simulate", str(t / "deep.yaml")], None),
            ("check: a sum of 500 terms", ms + ["check", str(sum500)], None),
            ("conform --vectors /dev/zero", ms + ["conform", "--vectors", "/dev/zero"], None),
        ]
        print(f"{'loader input (a process each)':<55} {'time':>9} {'peak RSS':>10}  exit, last line")
        for name, args, stdin in cases:
            dt, peak, code, last = run_child(args, stdin)
            print(f"{name:<55} {dt:>8.2f}s {peak:>8.1f}MB  {code}, {last}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 50 MB line and the 50,000 resets")
    a = ap.parse_args()
    bench_loaders()  # first, while this process is small (a child's peak counts its parent's pages at fork)
    bench_engine(a.quick)


if __name__ == "__main__":
    main()

"""marginspec fuzz: the shrinker, determinism by seed, every faulty engine found and shrunk, nothing
found against the reference and the Node engine, the vector file it writes, the command's exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from marginspec.conformance.loader import load_vector_file
from marginspec.conformance.runner import run_conformance
from marginspec.fuzz.driver import Fuzzer, signature
from marginspec.fuzz.generator import decimal_rate
from marginspec.fuzz.report import to_json, write_vector
from marginspec.fuzz.shrinker import shrink, simpler_decimals
from marginspec.fuzz.trace import Trace
from marginspec.numbers import round_to

ROOT = Path(__file__).resolve().parents[2]
FAULTY = ROOT / "tests" / "fixtures" / "engines" / "faulty_engine.py"
NODE = ROOT / "conformance" / "examples" / "node-engine" / "engine.js"


def faulty(fault: str) -> str:
    return f"{sys.executable} {FAULTY} {fault}"


# --------------------------------------------------------------------------- the shrinker


def test_a_50_request_trace_shrinks_to_the_requests_that_matter():
    noise = [{"op": "set_mark_price", "args": {"symbol": "ETHUSDT", "price": str(2000 + i)}} for i in range(47)]
    key = [{"op": "open_position", "args": {"symbol": "BTCUSDT", "side": "long", "size": "10"}},
           {"op": "set_leverage", "args": {"symbol": "BTCUSDT", "leverage": "5"}},
           {"op": "reduce_margin", "args": {"symbol": "BTCUSDT", "amount": "12.3456"}}]
    requests = noise[:10] + key[:1] + noise[10:30] + key[1:2] + noise[30:] + key[2:]
    assert len(requests) == 50
    calls = []

    def fails(t: Trace) -> bool:  # fails while the three key requests are there, in order
        calls.append(1)
        ops = [r["op"] for r in t.requests if r["op"] != "set_mark_price"]
        amount = next((r["args"]["amount"] for r in t.requests if r["op"] == "reduce_margin"), "0")
        return ops == ["open_position", "set_leverage", "reduce_margin"] and Fraction(amount) > 10

    small = shrink(Trace({"BTCUSDT": {}, "ETHUSDT": {}}, "100", tuple(requests)), fails, seconds=None)
    assert [r["op"] for r in small.requests] == ["open_position", "set_leverage", "reduce_margin"]
    assert small.requests[2]["args"]["amount"] == "20"  # one significant digit, still above 10
    assert small.requests[0]["args"]["size"] == "10" and len(calls) < 400


def test_simpler_decimals_come_simplest_first():
    assert list(simpler_decimals("45180.8"))[:3] == ["50000", "40000", "45000"]
    assert "45180" in simpler_decimals("45180.8") and "45180.8" not in simpler_decimals("45180.8")
    assert list(simpler_decimals("7")) == [] and list(simpler_decimals("BTCUSDT")) == []


def test_funding_rate_closed_form_lands_on_the_fee():
    notional, step = Fraction("27750"), Fraction("0.0001")
    for fee in (Fraction("111.0001"), Fraction("-3.5"), Fraction("2774.9445")):
        rate = decimal_rate(fee, notional, step)
        assert rate is not None and round_to(notional * rate, step, "half_away") == fee


# --------------------------------------------------------------------------- determinism


def test_the_same_seed_gives_the_same_traces(rulebook):
    a, b, c = (Fuzzer(rulebook, "reference", seed=s) for s in ("7", "7", "8"))
    try:
        first = [a.generate(n) for n in range(6)]
        assert first == [b.generate(n) for n in range(6)]
        assert [t for t, _ in first] != [c.generate(n)[0] for n in range(6)]
        ops = {r["op"] for t, _ in first for r in t.requests}
        assert {"set_mark_price", "open_position"} <= ops
    finally:
        for f in (a, b, c):
            f.close()


# --------------------------------------------------------------------------- faulty engines

#: fault -> a check of the shrunk finding (the fault is what the trace shows)
FAULTS = {
    "liq-rounded-down": lambda f: f.result.diffs[0].field.endswith("liquidation_price"),
    "liquidate-below": lambda f: any(d.field.endswith("liquidated") and d.expected is True for d in f.result.diffs),
    "funding-wrong-side": lambda f: any(r["op"] == "apply_funding" for r in f.trace.requests),
    "mode-unlocked": lambda f: f.trace.requests[-1]["op"] == "set_margin_mode",
    "crash": lambda f: f.result.kind == "crash" and f.trace.requests[-1]["op"] == "add_margin",
    "hang": lambda f: f.result.kind == "timeout" and f.trace.requests[-1]["op"] == "add_margin",
    "wrong-id": lambda f: f.result.kind == "wrong_id" and f.trace.requests[-1]["op"] == "reduce_margin",
    "reduce-at-maintenance": lambda f: f.trace.requests[-1]["op"] == "reduce_margin",
    "funding-no-liquidation": lambda f: f.trace.requests[-1]["op"] == "apply_funding"
    and any(d.field.endswith("liquidated") for d in f.result.diffs),
    "short-pays-positive": lambda f: any(r["op"] == "apply_funding" and not r["args"]["rate"].startswith("-")
                                         for r in f.trace.requests)
    and any(r["args"].get("side") == "short" for r in f.trace.requests),
    "tier-by-margin": lambda f: f.result.diffs[0].field.endswith("maintenance_margin"),
    "no-maintenance-amount": lambda f: f.result.diffs[0].field.endswith("maintenance_margin"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_faulty_engine_is_found_and_shrunk(rulebook, fault):
    fuzzer = Fuzzer(rulebook, faulty(fault), seed="1", timeout=1.0)
    try:
        result = fuzzer.run(60, shrink_seconds=20)
        assert result.error is None and result.found is not None, fault
        small = result.shrunk
        assert len(small.trace.requests) <= min(6, len(result.found.trace.requests)), small.trace.requests
        assert FAULTS[fault](small), (small.result.reason, small.trace.requests)
        for i in range(len(small.trace.requests)):  # 1-minimal: no single request can go
            shorter = small.trace.with_requests(small.trace.requests[:i] + small.trace.requests[i + 1:])
            verdict = fuzzer.judge(shorter)
            assert verdict.status != "failed" or signature(verdict) != small.signature, (i, small.trace.requests)
    finally:
        fuzzer.close()


def test_the_finding_is_a_vector_file_conform_replays(rulebook, tmp_path):
    fuzzer = Fuzzer(rulebook, faulty("reduce-at-maintenance"), seed="1", timeout=2.0)
    try:
        result = fuzzer.run(60, shrink_seconds=20)
    finally:
        fuzzer.close()
    path = write_vector(rulebook, result.shrunk, result.seed, tmp_path)
    vf = load_vector_file(path)  # valid against vectors.schema.json
    assert len(vf.cases) == 1 and vf.cases[0].id.startswith("fuzz-") and Path(path).stem == vf.cases[0].id
    assert len(vf.cases[0].steps) == 2 * len(result.shrunk.trace.requests)
    assert run_conformance(faulty("reduce-at-maintenance"), [path], out=_Sink(), err=_Sink()) == 1
    assert run_conformance("reference", [path], out=_Sink(), err=_Sink()) == 0
    doc = to_json(rulebook, result, path)
    assert doc["found"] is True and doc["vector_file"] == path and doc["replay"].endswith(path)
    assert any(row["differs"] and "reduce_margin" in row["rules"] for row in doc["trace"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [Path(path).name]  # nothing else written


class _Sink:
    def write(self, text):
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


# --------------------------------------------------------------------------- correct engines


def test_nothing_found_against_the_reference(rulebook):
    fuzzer = Fuzzer(rulebook, "reference", seed="2")
    try:
        result = fuzzer.run(30, max_traces=40)
    finally:
        fuzzer.close()
    assert result.error is None and result.found is None and result.traces == 40 and result.steps >= 200


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_nothing_found_against_the_node_engine(rulebook):
    fuzzer = Fuzzer(rulebook, f"node {NODE}", seed="3")
    try:
        result = fuzzer.run(30, max_traces=60)
    finally:
        fuzzer.close()
    assert result.error is None and result.found is None and result.traces == 60


# --------------------------------------------------------------------------- the command


def ms(*args, cwd):
    return subprocess.run([sys.executable, "-m", "marginspec", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_command_exit_codes_and_json(tmp_path):
    r = ms("fuzz", "--engine", "reference", "--max-traces", "5", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["found"] is False and doc["traces"] == 5 and doc["seed"] == "0"
    r = ms("fuzz", "--engine", "/nonexistent/engine", "--seconds", "5", cwd=tmp_path)
    assert r.returncode == 2 and "cannot start engine '/nonexistent/engine'" in r.stdout
    r = ms("fuzz", "--engine", faulty("mode-unlocked"), "--seconds", "30", "--out", "found", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "DISAGREEMENT" in r.stdout and "set_margin_mode" in r.stdout and "replay: marginspec conform" in r.stdout
    # the step numbers (requests even, their queries odd) are explained above the table
    assert "each request (even step) is followed by a query (odd step, shown where it differs, marked !)" in " ".join(r.stdout.split())
    assert len(list((tmp_path / "found").glob("fuzz-*.json"))) == 1


def test_contracts_file(tmp_path, rulebook):
    from marginspec.engine import contract_json

    c = contract_json(rulebook.contracts["ETHUSDT"])
    (tmp_path / "c.json").write_text(json.dumps({"XYZ": c}))
    r = ms("fuzz", "--engine", "reference", "--max-traces", "3", "--format", "json", "--contracts", "c.json",
           cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (tmp_path / "bad.yaml").write_text("XYZ: {tick_size: '0.01'}\n")
    r = ms("fuzz", "--engine", "reference", "--contracts", "bad.yaml", cwd=tmp_path)
    assert r.returncode == 2 and "bad.yaml:1:6: XYZ: missing section: 'tiers' is a required property" in r.stderr


def test_the_same_seed_finds_and_shrinks_the_same_trace(rulebook):
    found = []
    for _ in range(2):
        fuzzer = Fuzzer(rulebook, faulty("no-maintenance-amount"), seed="5")
        try:
            result = fuzzer.run(60, shrink_seconds=20)
        finally:
            fuzzer.close()
        found.append((result.traces, result.found.trace, result.shrunk.trace))
    assert found[0] == found[1]


def test_only_the_ops_an_engine_declares_are_sent(rulebook):
    from marginspec.engine import ReferenceEngine

    class NoModes:
        """The reference without set_margin_mode, and saying so in hello."""

        def __init__(self):
            self.inner = ReferenceEngine(rulebook)

        def handle(self, request):
            reply = self.inner.handle(request)
            if request.get("op") == "hello":
                reply["result"]["ops"] = [o for o in reply["result"]["ops"] if o != "set_margin_mode"]
            if request.get("op") == "set_margin_mode":
                return {"id": request.get("id"), "ok": False, "error": {"code": "UNSUPPORTED", "message": "no"}}
            return reply

    fuzzer = Fuzzer(rulebook, lambda: NoModes(), seed="4")
    try:
        result = fuzzer.run(30, max_traces=40)
        sent = {r["op"] for n in range(40) for r in fuzzer.generate(n)[0].requests}
    finally:
        fuzzer.close()
    assert result.error is None and result.found is None and result.traces == 40
    assert "set_margin_mode" not in sent and {"open_position", "reduce_margin", "apply_funding"} <= sent

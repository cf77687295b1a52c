"""Real engines against the committed vectors: the reference through `marginspec engine`, the
independent Node engine, and hand-made faulty engines that must fail on the cases targeting their fault."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from marginspec.conformance.loader import load_vectors
from marginspec.conformance.runner import run_cases

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "conformance" / "vectors"
FAULTY = ROOT / "tests" / "fixtures" / "engines" / "faulty_engine.py"
NODE = ROOT / "conformance" / "examples" / "node-engine" / "engine.js"


@pytest.fixture(scope="module")
def cases():
    return [c for f in load_vectors([VECTORS]) for c in f.cases]


def test_reference_through_marginspec_engine_passes_every_vector(cases):
    run = run_cases(f"{sys.executable} -m marginspec engine", cases, timeout=30)
    assert (run.passed, run.failed, run.skipped) == (len(cases), 0, 0)
    assert run.engine_starts == 1  # one process served every case


def test_independent_node_engine_passes_every_vector(cases):
    _need_node()
    run = run_cases(f"node {NODE}", cases, timeout=30)
    failed = [(r.id, r.reason) for r in run.results if r.status != "passed"]
    assert failed == []
    assert run.hello["engine"] == "marginspec-node-example"


def _need_node() -> None:
    if shutil.which("node") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is required in CI")
        pytest.skip("node is not installed")


@pytest.mark.parametrize("given, symbols", [
    (ROOT / "tests" / "fixtures" / "contracts" / "three.yaml", ["ONEUSDT", "TWELVEUSDT", "TINYUSDT"]),
    (ROOT / "tests" / "fixtures" / "contracts" / "three-variety.yaml", ["SOLOUSDT", "DOZENUSDT", "TINYUSDT"]),
    (VECTORS / "known_answers.json", ["BTCUSDT", "ETHUSDT"]),
])
def test_node_selftest_walks_the_contracts_it_is_given(given, symbols):
    """The Node example's self-test takes the random walk's symbols from a contracts or vector file
    (in the file's order) and the two engines agree on them."""
    _need_node()
    selftest = NODE.parent / "selftest.py"
    spec = importlib.util.spec_from_file_location("selftest", selftest)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert list(mod.load_contracts(str(given))) == symbols
    r = subprocess.run([sys.executable, str(selftest), "--steps", "300", "--contracts", str(given), "-v"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{len(symbols)} contract(s), identical replies" in r.stdout
    walk = r.stdout.split("random walk:", 1)[1]  # positions opened on the given symbols, none unknown
    assert "open_position:ok:" in walk and "UNKNOWN_SYMBOL" not in walk


def _default_venue(case) -> bool:
    """A case whose contracts leave the venue parameters at their defaults: the hand-written
    baseline (and so every faulty engine made from it) implements only those and refuses the rest."""
    contracts = [*case.contracts.values(), *(c for step in case.steps if step.op == "reset"
                                             for c in step.args.get("contracts", {}).values())]
    return all(str(c.get("taker_fee_rate", "0")) in ("0", "0.0") and c.get("maintenance_basis", "mark") == "mark"
               for c in contracts if isinstance(c, dict))


def faulty(fault: str, cases, timeout: float = 10.0):
    cases = [c for c in cases if _default_venue(c)]
    run = run_cases(f"{sys.executable} {FAULTY} {fault}", cases, timeout=timeout)
    return run, [r for r in run.results if r.status == "failed"]


def diff_fields(result) -> set[str]:
    return {d.field for d in result.diffs}


def test_long_liquidation_price_rounded_down_is_caught(cases):
    run, failed = faulty("liq-rounded-down", cases)
    assert failed
    targeted = [r for r in failed if "result.position.liquidation_price" in diff_fields(r)]
    assert targeted and all("liquidation_price" in r.case.rules for r in targeted)
    assert any("LiquidationPrice" in r.case.flags or "WrongRounding" in r.case.flags for r in targeted)
    # only that value is wrong: every failure is a liquidation price of a long
    for r in failed:
        assert diff_fields(r) == {"result.position.liquidation_price"}, (r.id, r.diffs)


def test_liquidation_only_below_maintenance_is_caught(cases):
    run, failed = faulty("liquidate-below", cases)
    assert failed
    assert any("MissedLiquidation" in r.case.flags for r in failed)
    assert any(("result.liquidated" in diff_fields(r)) for r in failed)


def test_funding_charged_to_the_wrong_side_is_caught(cases):
    run, failed = faulty("funding-wrong-side", cases)
    assert failed
    assert all("apply_funding" in r.case.rules or any(d.op == "apply_funding" for d in r.diffs) for r in failed[:20])
    assert any("FundingDirection" in r.case.flags for r in failed)
    # the fee is reported right; the margin moves the wrong way
    assert any(d.field == "result.position.isolated_margin" for r in failed for d in r.diffs)


def test_mode_switchable_with_a_position_is_caught(cases):
    run, failed = faulty("mode-unlocked", cases)
    assert failed
    for r in failed:
        assert any(d.op == "set_margin_mode" for d in r.diffs), (r.id, r.diffs)
    assert any("set_margin_mode.no_position" in r.case.rules and "ModeLock" in r.case.flags for r in failed)


@pytest.mark.parametrize("fault,kind", [("crash", "crash"), ("hang", "timeout"), ("wrong-id", "wrong_id")])
def test_misbehaving_process_fails_the_case_in_progress_and_the_run_goes_on(cases, fault, kind):
    subset = [c for c in cases if c.file == "errors"][:120]
    touched = {c.id for c in subset if any(s.op == ("reduce_margin" if fault == "wrong-id" else "add_margin")
                                           for s in c.steps)}
    assert touched and len(touched) < len(subset)
    run, failed = faulty(fault, subset, timeout=0.5 if fault == "hang" else 10.0)
    assert {r.id for r in failed} == touched
    for r in failed:
        assert r.kind == kind, (r.reason, r.kind)
        assert r.reason
    assert run.passed == len(subset) - len(touched)  # restarted, and everything else still passes
    assert run.engine_starts > 1


@pytest.mark.parametrize("fault, op", [("set-leverage-tier-at-max", "set_leverage"), ("reduce-tier-at-max", "reduce_margin")])
def test_a_tier_read_past_its_boundary_by_set_leverage_or_reduce_margin_is_caught(cases, fault, op):
    """The max leverage of a position whose notional equals a tier's max_notional is that tier's:
    boundary cases of set_leverage.max_leverage and reduce_margin.max_leverage catch an engine that
    takes the next tier's there (every vector passed it before they were added)."""
    from marginspec.rulebook import load_rulebook

    caps = {s: {t["max_notional"] for t in c.tiers} for s, c in load_rulebook().contracts.items()}
    picked = [c for c in cases if c.title.startswith(f"{op}.max_leverage") and "(at max_notional)" in c.title]
    where = {(c.title.split(": ")[1].split(" ")[0], c.title.split(" tier ")[1][0], " long " in c.title) for c in picked}
    assert len(where) == 2 * 4 * 2  # both contracts, every tier, both sides
    for c in picked:  # the position's notional is exactly a tier's max_notional
        symbol = c.title.split(": ")[1].split(" ")[0]
        (opened,) = [s for s in c.steps if s.op == "open_position"]
        mark = next(s for s in c.steps if s.op == "set_mark_price").args["price"]
        multiplier = Fraction(c.contracts[symbol]["contract_multiplier"])
        assert Fraction(opened.args["size"]) * multiplier * Fraction(mark) in caps[symbol], c.title
    run, failed = faulty(fault, picked)
    assert failed and all("TierBoundary" in r.case.flags for r in failed)
    assert all(any(d.op == op for d in r.diffs) for r in failed)
    # the engine refuses what the rulebook allows: LEVERAGE_TOO_HIGH where ok was expected
    assert all([(d.field, d.got) for d in r.diffs if d.op == op][:1] == [("ok", False)] for r in failed)

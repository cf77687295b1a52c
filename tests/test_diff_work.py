"""How much `marginspec diff` asks Z3 (marginspec.diff): the same answers with fewer queries.

The bisection of `_enclose` asks, at each value, whether some side's relative root difference
exceeds it; one 'sat' side decides, so the other sides (whose unsat proofs are the expensive
queries) are not asked, and no value is asked twice. These tests hold the answers to what asking
every side gives, so they fail if a skipped query could have changed a status."""

from __future__ import annotations

import json
from fractions import Fraction as F

import pytest

from marginspec import diff
from marginspec.contracts import with_contracts
from marginspec.rulebook import load_rulebook
from marginspec.venues import apply_venue

ONE_TIER = {"SOL": {"contract_multiplier": "0.1", "tick_size": "0.01", "lot_size": "1", "money_step": "0.0001",
                    "liquidation_buffer_rate": "0.005",
                    "tiers": [{"max_notional": "100000", "maintenance_margin_rate": "0.01", "max_leverage": "50",
                               "maintenance_amount": "0"}]}}


@pytest.fixture(scope="module")
def one_tier(tmp_path_factory):
    """The rulebook with a one-tier contract (fast to decide) in force."""
    path = tmp_path_factory.mktemp("contracts") / "one.json"
    path.write_text(json.dumps(ONE_TIER), encoding="utf-8")
    rb = load_rulebook()
    return with_contracts(rb, diff.load_contracts_file(rb, path))


def test_enclose_skips_the_sides_a_sat_side_decides_and_asks_no_value_twice(one_tier, monkeypatch):
    rb = one_tier
    a, b = (apply_venue(rb, v).contracts["SOL"] for v in ("binance", "bybit"))
    encs = {s: diff._encode(rb, a, b, s) for s in diff._sides(rb)}
    asked: list[tuple[str, F, bool, str]] = []
    real_rel, real_sat = diff._rel_gt, diff._sat
    current: list = []

    def rel(e, v, strict=True):
        current[:] = [(e.side, v, strict)]
        return real_rel(e, v, strict)

    def sat(formula, facts):
        r = real_sat(formula, facts)
        asked.append((*current[0], r[0]))
        return r

    made: list = []

    class Spy(diff._Exceeded):
        def __init__(self, encs):
            super().__init__(encs)
            made.append(self)

    monkeypatch.setattr(diff, "_rel_gt", rel)
    monkeypatch.setattr(diff, "_sat", sat)
    monkeypatch.setattr(diff, "_Exceeded", Spy)
    bound = diff._enclose(encs)
    monkeypatch.undo()

    # the bound the mark and entry bases have (as on the shipped contracts): sup 1, not attained
    assert bound.kind == "exact" and bound.value == 1 and "not attained" in bound.attained
    keys = [(side, v, strict) for side, v, strict, _ in asked]
    assert len(keys) == len(set(keys)), "a side was asked the same value twice"
    values = {(v, strict) for _, v, strict, _ in asked}
    for v, strict in values:
        answers = [st for _, w, s, st in asked if (w, s) == (v, strict)]
        assert "sat" not in answers[:-1], f"a side was asked at {v} after another was found beyond it"
        # the status the bisection used is the one asking every side gives
        every = [diff._sat(diff._rel_gt(e, v, strict), e.facts)[0] for e in encs.values()]
        want = "sat" if "sat" in every else ("unknown" if "unknown" in every else "unsat")
        assert made[0].seen[v, strict] == want, (v, strict, every)
    assert len(asked) < len(encs) * len(values)  # fewer queries than asking every side at every value


# -- --jobs -------------------------------------------------------------------------------------
TWO = {**ONE_TIER, "ETH": {**ONE_TIER["SOL"], "contract_multiplier": "0.01", "tiers": [
    {"max_notional": "100000", "maintenance_margin_rate": "0.005", "max_leverage": "100", "maintenance_amount": "0"},
    {"max_notional": "1000000", "maintenance_margin_rate": "0.01", "max_leverage": "50", "maintenance_amount": "500"}]}}


def test_units_run_in_worker_processes_and_come_back_in_order(one_tier, monkeypatch):
    """compare_pairs with jobs=2 decides each unit in a forked process (the results say where they
    were made) and puts them back in the units' order; with jobs=1 all in this process."""
    import dataclasses
    import os

    rb = one_tier
    parent, real = os.getpid(), diff.compare_contracts

    def where(rb_, symbol, a, b):
        r = real(rb_, symbol, a, b)
        return dataclasses.replace(r, symbol=f"{symbol}@{'parent' if os.getpid() == parent else 'child'}")

    monkeypatch.setattr(diff, "compare_contracts", where)
    monkeypatch.setattr(diff, "_enclose", lambda encs: diff.Bound("unknown"))  # the order, not the bound, is tested
    pairs = [((v, apply_venue(rb, v).contracts), (w, apply_venue(rb, w).contracts))
             for v, w in (("phemex", "bitget"), ("binance", "bybit"), ("phemex", "binance"))]
    seen: list = []
    for jobs, place in ((1, "parent"), (2, "child")):
        reports = diff.compare_pairs(rb, pairs, jobs, done=seen.append)
        assert [(r.a, r.b, [p.symbol for p in r.pairs]) for r in reports] == [
            ("phemex", "bitget", [f"SOL@{place}"]), ("binance", "bybit", [f"SOL@{place}"]),
            ("phemex", "binance", [f"SOL@{place}"])]
    assert len(seen) == 6  # `done` saw every unit of both runs


def test_diff_output_is_the_same_for_any_jobs(tmp_path):
    """--all-pairs (JSON table and text) and a two-argument diff of two contracts: -j1 and -j2
    byte-identical."""
    from click.testing import CliRunner

    from marginspec.cli import main

    path = tmp_path / "two.json"
    path.write_text(json.dumps(TWO), encoding="utf-8")
    runs = {}
    for j in ("1", "2"):
        out = tmp_path / f"table-{j}.json"
        r = CliRunner().invoke(main, ["diff", "--all-pairs", "--contracts", str(path), "--output", str(out), "-j", j])
        assert r.exit_code == 0, r.output
        r2 = CliRunner().invoke(main, ["diff", "binance", "bybit", "--contracts", str(path), "--jobs", j])
        assert r2.exit_code == 1, r2.output
        runs[j] = (out.read_bytes(), r.output, r2.output)
    assert runs["1"] == runs["2"]
    table = json.loads(runs["1"][0])
    assert [len(p["contracts"]) for p in table["pairs"]] == [2] * 6  # both contracts in each of the 6 pairs
    text = runs["1"][2]
    assert text.index("\nETH: maintenance_basis mark vs entry") < text.index("\nSOL: maintenance_basis mark vs entry")


# -- progress -----------------------------------------------------------------------------------
def test_progress_on_a_terminal_only_one_step_a_unit(tmp_path, monkeypatch):
    """diff shows prove's progress helper (one step a unit, counting equal/differ/unknown) and, when
    standard error is not a terminal, nothing: the same stdout, an empty stderr."""
    from click.testing import CliRunner

    from marginspec import progress
    from marginspec.cli import main

    path = tmp_path / "two.json"
    path.write_text(json.dumps(TWO), encoding="utf-8")
    args = ["diff", "binance", "bybit", "--contracts", str(path), "-j", "2"]
    plain = CliRunner().invoke(main, args)  # CliRunner's stderr is not a terminal
    assert plain.exit_code == 1 and plain.stderr == ""

    steps: list = []
    real = progress.stderr_progress

    class Display:
        def __init__(self, total, label):
            self.bar = real(total, label, enabled=True)  # the real bar, shown as on a terminal
            steps.append((total, label))

        def advance(self, status=None):
            steps.append(status)
            self.bar.advance(status)

        def close(self):
            steps.append("closed")
            self.bar.close()

    monkeypatch.setattr(progress, "stderr_progress", lambda total, label: Display(total, label))
    shown = CliRunner().invoke(main, args)
    assert shown.exit_code == 1 and shown.stdout == plain.stdout
    assert steps == [(2, "diff"), "differ", "differ", "closed"]
    steps.clear()
    r = CliRunner().invoke(main, ["diff", "phemex", "bitget", "--contracts", str(path), "-j", "1"])
    assert r.exit_code == 0 and steps == [(2, "diff"), "equal", "equal", "closed"]


def test_readme_gives_diff_jobs_and_its_speed():
    """The command reference's diff row names --jobs for both forms, and the Speed section times
    diff with -j1 and -j2 on the shipped table and on the 8-tier bench contract."""
    from pathlib import Path

    from marginspec.commands.diff import command

    assert "jobs" in {p.name for p in command.params}
    lines = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8").splitlines()
    row = next(line for line in lines if line.startswith("| `marginspec diff A B"))
    assert row.count("[--jobs N]") == 2
    speed = lines[next(i for i, line in enumerate(lines) if line.startswith("## Speed")):]
    speed = speed[:next(i for i, line in enumerate(speed[1:], 1) if line.startswith("## "))]
    rows = [line for line in speed if line.startswith("| `marginspec diff")]
    assert any("--all-pairs --check -j1" in r and "-j2" in r for r in rows)
    assert any("bench/diff/btc8.yaml" in r and "-j1" in r and "-j2" in r for r in rows)
    assert (Path(__file__).resolve().parents[1] / "bench" / "diff" / "btc8.yaml").is_file()


def test_a_query_is_bounded_by_work_not_by_the_clock(one_tier, monkeypatch):
    """diff's answers (unknown included) come from Z3's work counter: with almost no work allowed
    every query is unknown at once, however many seconds it may take; the seconds are a safety net
    far beyond the work limit (a query cut by the clock made a status depend on the machine)."""
    rb = one_tier
    a, b = (apply_venue(rb, v).contracts["SOL"] for v in ("binance", "bybit"))
    assert diff.TIMEOUT >= 600 and diff.RLIMIT == 5_000_000
    assert diff.compare_contracts(rb, "SOL", a, b).decisions == "differ"
    monkeypatch.setattr(diff, "RLIMIT", 1)
    r = diff.compare_contracts(rb, "SOL", a, b)
    assert (r.decisions, r.roots, r.bound.kind) == ("unknown", "unknown", "unknown")

"""conform reports that say what to fix: per failing case the requests and the flags' meaning, the
summary grouped by rule and by flag (most frequent first, simplest case each), --list, "did you
mean" for unknown names, and --rule putting the cases about the rule first."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from marginspec.commands.conform import command as conform_command
from marginspec.conformance.loader import load_vectors, select_cases
from marginspec.conformance.report import render_text, to_json
from marginspec.conformance.runner import run_cases, run_conformance
from marginspec.conformance.summary import flag_meanings, groups
from marginspec.ast import names
from marginspec.engine import ReferenceEngine
from marginspec.fuzz.trace import expected
from marginspec.rulebook import load_rulebook
from tests.support import contract_json

ROOT = Path(__file__).resolve().parents[2]
FAULTY = ROOT / "tests" / "fixtures" / "engines" / "faulty_engine.py"


@pytest.fixture(scope="module")
def shipped():
    files = load_vectors()
    return files, [c for vf in files for c in vf.cases]


@pytest.fixture(scope="module")
def tier_run(shipped):
    """The tier-by-margin faulty engine on the known answers and the liquidation vectors."""
    files, cases = shipped
    chosen = [c for c in cases if c.file in ("known_answers", "liquidation")]
    run = run_cases(f"{sys.executable} {FAULTY} tier-by-margin", chosen, timeout=10)
    run.flag_meanings = flag_meanings(files)
    return run


def test_summary_groups_by_rule_and_flag_most_frequent_first(tier_run):
    g = groups(tier_run.results, tier_run.flag_meanings)
    counts = [row["cases"] for row in g["by_rule"]]
    assert counts == sorted(counts, reverse=True) and sum(counts) == tier_run.failed > 0
    top = g["by_rule"][0]
    assert top["rule"] == "maintenance_margin"
    failing = [r for r in tier_run.results if r.status == "failed"]
    mm = [r for r in failing if r.diffs[0].field.endswith("maintenance_margin")]
    assert top["cases"] == len(mm)
    assert top["simplest"] == min(mm, key=lambda r: (len(r.case.steps), len(r.diffs), r.case.id)).case.id
    flags = [row["cases"] for row in g["by_flag"]]
    assert flags == sorted(flags, reverse=True)
    lp = next(row for row in g["by_flag"] if row["flag"] == "LiquidationPrice")
    assert lp["meaning"].startswith("The reported liquidation price is the exact root")
    assert lp["cases"] == sum(1 for r in failing if "LiquidationPrice" in r.case.flags)


def test_text_report_says_what_to_fix(tier_run):
    text = render_text(tier_run)
    lines = text.splitlines()
    assert lines[-1].startswith(f"{tier_run.passed} passed, {tier_run.failed} failed")
    head = next(i for i, ln in enumerate(lines) if ln.startswith("What to fix ("))
    assert lines[head + 1].startswith("  maintenance_margin: ")
    assert any(ln.startswith("  flag LiquidationPrice: ") for ln in lines[head:])
    first = next(i for i, ln in enumerate(lines) if ln.startswith("FAILED "))
    block = lines[first:next(i for i in range(first + 1, len(lines)) if lines[i].startswith(("FAILED", "What")))]
    assert "    requests (after the reset):" in block
    assert any(ln.lstrip().startswith("!") and '"symbol": ' in ln for ln in block)  # the differing step, with args
    assert any(ln.startswith("    flag ") and ": " in ln for ln in block)  # a flag with its meaning


def test_json_report_carries_the_groups(tier_run):
    doc = json.loads(json.dumps(to_json(tier_run)))
    assert doc["what_to_fix"]["by_rule"][0]["rule"] == "maintenance_margin"
    assert {"flag", "cases", "simplest", "example", "meaning"} <= set(doc["what_to_fix"]["by_flag"][0])


def test_an_expected_refusal_is_grouped_under_its_check():
    from marginspec.conformance.compare import Diff
    from marginspec.conformance.summary import rule_of

    class Step:
        expect_ok, expect_error = False, "INSUFFICIENT_COVERAGE"

    class Case:
        steps = [Step(), Step(), Step()]

    d = Diff(2, "reduce_margin", "ok", False, True)
    assert rule_of(d, "mismatch", Case(), [d]) == "reduce_margin.coverage"
    assert rule_of(Diff(1, "query", "result.position.liquidation_price", "1", "2")) == "liquidation_price"
    assert rule_of(Diff(1, "set_mark_price", "result.liquidated", True, False)) == "liquidation (missed)"
    assert rule_of(Diff(1, "apply_funding", "result.liquidated", False, True)) == "liquidation (premature)"
    assert rule_of(Diff(1, "set_mark_price", "result.fill_price", "1", "2")) == "liquidation"
    assert rule_of(Diff(1, "add_margin", "reply", "a reply", "<crash>"), "crash") == "engine: crash"


# --------------------------------------------------------------------------- selection


def conform(*args):
    return CliRunner().invoke(conform_command, list(args))


def test_list_counts(shipped):
    files, cases = shipped
    r = conform("--list", "--format", "json", "--rule", "reduce_margin.coverage")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    chosen = select_cases(cases, rule=["reduce_margin.coverage"])
    assert len(doc["cases"]) == len(chosen)
    row = next(x for x in doc["rules"] if x["rule"] == "reduce_margin.coverage")
    assert row["cases"] == len(chosen) and 0 < row["purpose"] < len(chosen)
    flag = next(x for x in doc["flags"] if x["flag"] == "InsufficientCoverage")
    assert flag["cases"] == sum(1 for c in chosen if "InsufficientCoverage" in c.flags) and flag["meaning"]
    text = conform("--list").output
    assert text.startswith(f"{len({f for c in cases for f in c.flags})} flags")
    assert f"{len(cases)} cases (id, file, steps, title):" in text


@pytest.mark.parametrize("args, message", [
    (("--rule", "reduce_margn.coverage"), "--rule reduce_margn.coverage: no case exercises a rule id starting with "
                                          "'reduce_margn.coverage'; did you mean 'reduce_margin.coverage' or "),
    (("--flag", "WrongRoundin"), "--flag WrongRoundin: no such flag; did you mean 'WrongRounding'"),
    (("--case", "bnd-fbbf7318166f758"), "--case bnd-fbbf7318166f758: no such case; did you mean 'bnd-fbbf7318166f758d'"),
])
def test_did_you_mean(args, message):
    err = io.StringIO()
    assert run_conformance("reference", None, **{args[0][2:]: [args[1]]}, out=io.StringIO(), err=err) == 2
    assert message in err.getvalue()
    r = conform("--list", *args)
    assert r.exit_code == 2


def test_a_glob_matching_nothing_is_still_nothing_selected():
    err = io.StringIO()
    assert run_conformance("reference", None, case=["zzz-*"], out=io.StringIO(), err=err) == 3


def test_rule_selection_puts_the_cases_about_the_rule_first(shipped):
    out = io.StringIO()
    assert run_conformance("reference", None, rule=["reduce_margin.coverage"], fmt="json", out=out,
                           err=io.StringIO()) == 0
    titles = [c["title"] for c in json.loads(out.getvalue())["cases"]]
    about = [("reduce_margin.coverage" in t) for t in titles]
    k = about.index(False)
    assert k > 0 and not any(about[k:])
    assert len(titles) == len(select_cases(shipped[1], rule=["reduce_margin.coverage"]))


def test_help_says_what_each_selection_means_and_where_the_example_is():
    text = conform("--help").output
    flat = " ".join(text.split())
    assert "the cases that exercise a rule id starting with this" in flat and "the cases about it" in flat
    assert "only the cases carrying this flag" in flat
    assert 'node "$(marginspec conform --example-path node-engine)/engine.js"' in text
    path = Path(conform("--example-path", "node-engine").output.strip())
    assert (path / "engine.js").is_file() and (path / "selftest.py").is_file()
    assert conform("--example-path", "nope").exit_code == 2


# --------------------------------------------------------------------------- the most basic field first


def _entry_fee_engine(spec_copy) -> str:
    """The reference engine on a rulebook that drops the taker fee from maintenance margin on the
    entry basis (the planted bug of a new-user tryout: maintenance margin and liquidation price
    both differ, maintenance margin is the cause)."""
    spec_copy.edit("derived.yaml", "maintenance_notional * (tier(maintenance_notional).maintenance_margin_rate + taker_fee_rate)",
                   "maintenance_notional * (tier(maintenance_notional).maintenance_margin_rate"
                   " + (if maintenance_basis == 'entry' then 0 else taker_fee_rate))")
    return f"{sys.executable} -m marginspec engine --spec {spec_copy.path}"


def test_the_summary_leads_with_the_field_the_others_are_derived_from(spec_copy):
    """The vector files write their keys sorted (liquidation_price before maintenance_margin); the
    summary and the case's first difference still name maintenance_margin, which
    liquidation_price is derived from."""
    files = load_vectors()
    chosen = [c for vf in files for c in vf.cases if "VenueParameters" in c.flags]
    run = run_cases(_entry_fee_engine(spec_copy), chosen, timeout=20)
    failing = [r for r in run.results if r.status == "failed"]
    assert failing and all(r.kind == "mismatch" for r in failing)
    both = [r for r in failing if {d.field.rsplit(".", 1)[-1] for d in r.diffs} >= {"maintenance_margin", "liquidation_price"}]
    assert both
    for r in both:
        assert r.diffs[0].field == "result.position.maintenance_margin", r.reason
        assert "result.position.maintenance_margin expected" in r.reason
    lines = render_text(run).splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("What to fix ("))
    assert lines[head + 1].startswith(f"  maintenance_margin: {len(failing)} case")
    assert not any(ln.startswith("  liquidation_price: ") for ln in lines[head:])


def test_fuzz_and_conform_name_the_same_first_difference(spec_copy):
    """A fuzz finding's case (keys in the reference engine's order) and the same case read back
    from its vector file (keys sorted) fail on the same first field."""
    from marginspec.conformance.runner import Runner
    from marginspec.fuzz.driver import to_case
    from marginspec.fuzz.trace import Trace

    venue = {"taker_fee_rate": "0.0006", "maintenance_basis": "entry"}
    rb = load_rulebook()
    contracts = {s: {**contract_json(rb, s), **venue} for s in sorted(rb.contracts)}
    trace = Trace(contracts, "100000", ({"op": "set_mark_price", "args": {"symbol": "BTCUSDT", "price": "50000"}},
                                         {"op": "open_position", "args": {"symbol": "BTCUSDT", "side": "long",
                                                                          "size": "1000", "margin": "1000"}}))
    replies = expected(ReferenceEngine(rb), trace)
    case = to_case(trace, replies, "fuzz")
    sorted_case = to_case(trace, json.loads(json.dumps(replies, sort_keys=True)), "fuzz")
    runner = Runner(_entry_fee_engine(spec_copy), timeout=20)
    try:
        firsts = [runner.run_case(c).diffs[0].field for c in (case, sorted_case)]
    finally:
        runner.close()
    assert firsts == ["result.position.maintenance_margin"] * 2


def test_field_order_follows_the_rulebook_dependencies():
    from marginspec.conformance.compare import Diff
    from marginspec.conformance.field_order import ordered

    rb = load_rulebook()
    fields = ["liquidation_price", "maintenance_margin", "equity", "isolated_margin", "leverage", "notional"]
    diffs = [Diff(3, "query", f"result.position.{f}", "1", "2") for f in sorted(fields)]
    got = [d.field.rsplit(".", 1)[-1] for d in ordered([Diff(4, "query", "result.available_balance", "1", "2")] + diffs)]
    assert got[-1] == "available_balance"  # a later step comes later, whatever its field
    position = {d.name: i for i, d in enumerate(rb.derived)}
    deps = {d.name: names(d.expr) for d in rb.derived}
    for i, a in enumerate(got[:-1]):
        for b in got[i + 1:-1]:  # nothing comes before a field it is derived from
            assert a not in deps or b not in deps[a], (a, b)
    assert got[0] == "isolated_margin" and got.index("maintenance_margin") < got.index("liquidation_price")
    assert sorted(got[1:-1], key=position.get) == got[1:-1]


# --------------------------------------------------------------------------- the flag section says what it lists


def _summary(engine: str, files, cases) -> list[str]:
    run = run_cases(engine, cases, timeout=10)
    run.flag_meanings = flag_meanings(files)
    lines = render_text(run).splitlines()
    return lines[next(i for i, ln in enumerate(lines) if ln.startswith("What to fix (")):]


def test_a_missed_liquidation_is_named_as_such_and_the_flags_as_what_they_are(shipped):
    files, cases = shipped
    chosen = [c for c in cases if c.file == "liquidation"]
    lines = _summary(f"{sys.executable} {FAULTY} liquidate-below", files, chosen)
    failing = int(lines[1].split(": ", 1)[1].split(" ", 1)[0])
    assert lines[1].startswith("  liquidation (missed): ") and failing > 0
    assert not any(ln.startswith("  liquidation (premature)") for ln in lines)
    assert lines[2] == ("The failing cases by the flags their vectors carry (what those cases test, not which "
                        "mistake the engine made: a case counts under each of its flags):")
    carrying = sum(1 for c in chosen if "PrematureLiquidation" in c.flags)
    row = next(ln for ln in lines if ln.startswith("  flag PrematureLiquidation: "))
    assert row.startswith(f"  flag PrematureLiquidation: {failing} failing of {carrying} carrying it (")
    assert not any("the kind of mistake" in ln for ln in lines)


def test_a_crashing_engine_is_not_reported_as_a_funding_mistake(shipped):
    files, cases = shipped
    chosen = [c for c in cases if "FundingDirection" in c.flags and "add_margin" in c.ops]
    assert len(chosen) > 5  # the crash engine dies at its first add_margin
    lines = _summary(f"{sys.executable} {FAULTY} crash", files, chosen)
    assert lines[1].startswith("  engine: crash: ")
    assert lines[2].startswith("The failing cases by the flags their vectors carry (what those cases test, not")
    assert any(ln.startswith("  flag FundingDirection: ") and f" failing of {len(chosen)} carrying it " in ln for ln in lines)


def test_readme_says_what_the_flag_section_lists():
    text = " ".join((ROOT / "README.md").read_text().split())
    assert "with the flags that say what the mistake means" not in text
    assert "the same cases by the flags their vectors carry" in text
    assert "says which kinds of test fail, not which mistake was made" in text


def test_each_rule_group_names_the_requests_its_differences_show_after(shipped):
    """A flipped funding sign shows on the margin and on missed liquidations: two rule groups, but
    both say they show after apply_funding, which is where the bug is."""
    files, cases = shipped
    chosen = [c for c in cases if c.file in ("liquidation", "known_answers", "traces")]
    run = run_cases(f"{sys.executable} {FAULTY} funding-wrong-side", chosen, timeout=10)
    g = groups(run.results)
    assert [row["rule"] for row in g["by_rule"]] == ["isolated_margin", "liquidation (missed)"]
    assert all(row["after"] == {"apply_funding": row["cases"]} for row in g["by_rule"])
    lines = _summary(f"{sys.executable} {FAULTY} funding-wrong-side", files, chosen)
    assert lines[1].startswith(f"  isolated_margin: {g['by_rule'][0]['cases']} cases (after apply_funding "
                               f"{g['by_rule'][0]['cases']}); simplest: ")
    # the tier fault shows after the requests that open and move positions, most frequent first
    tier = run_cases(f"{sys.executable} {FAULTY} tier-by-margin", [c for c in cases if c.file == "known_answers"], timeout=10)
    after = groups(tier.results)["by_rule"][0]["after"]
    assert list(after.values()) == sorted(after.values(), reverse=True) and "open_position" in after

"""The command's options: --against, --timeout, --list, --kind, --vectors-out, exit codes."""

from __future__ import annotations

import json

from fractions import Fraction
from pathlib import Path

from prover_support import FIXTURES, by_id, run_prove, run_prove_json

AGAINST = FIXTURES / "against"


def test_against_a_closed_form_is_proved_for_every_contract_only_under_its_venue_assumptions(tmp_path):
    """Without the fee-free, mark-basis assumption the same closed form is wrong for some contracts:
    VIOLATED, shown on a contract of the failing case and replayed by the interpreter."""
    text = (AGAINST / "correct-long-tier1.yaml").read_text().replace("taker_fee_rate == 0 and maintenance_basis == 'mark' and ", "")
    (tmp_path / "any-venue.yaml").write_text(text)
    code, report, _ = run_prove_json("--against", str(tmp_path / "any-venue.yaml"))
    (r,) = report["results"]
    assert code == 1 and r["status"] == "VIOLATED" and r["counterexample"]["confirmed"] is True
    assert r["counterexample"]["contract"] == "BTCUSDT-entry"


def test_against_a_correct_closed_form_is_proved():
    code, report, _ = run_prove_json("--against", str(AGAINST / "correct-long-tier1.yaml"))
    assert code == 0
    assert [r["id"] for r in report["results"]] == ["against/liquidation_root"]
    for r in report["results"]:
        assert r["scope"] == "every-contract"
        assert r["kind"] == "equivalence" and r["status"] == "PROVED"
        assert "assume:against" in r["assumptions"]


def test_against_the_published_long_formula_is_violated_with_a_distinguishing_input(tmp_path):
    code, report, _ = run_prove_json("--against", str(AGAINST / "published-long.yaml"), "--contract", "BTCUSDT",
                                     "--vectors-out", str(tmp_path))
    assert code == 1
    r = by_id(report)["against/liquidation_root"]
    assert r["status"] == "VIOLATED" and r["counterexample"]["contract"] == "BTCUSDT"
    cx = r["counterexample"]
    assert cx["confirmed"] is True
    values = cx["values"]
    assert values["state"]["side"] == "long"
    mine, theirs = values["rulebook liquidation_root"], values["auditor's formula"]
    assert Fraction(mine) != Fraction(theirs)
    # the distinguishing input: (E*Q + M) / (Q*(1 - mmr)) against the rulebook's root
    st = values["state"]
    q = Fraction(st["size"]) * Fraction("0.001")
    assert Fraction(theirs) == (Fraction(st["entry_price"]) * q + Fraction(st["isolated_margin"])) / (q * Fraction("0.996"))
    assert "rulebook liquidation_root =" in cx["text"] and "auditor's formula =" in cx["text"]
    # values as the protocol's JSON writes them, not Python's True/False/None
    assert "ok liquidated=false" in cx["text"] and "has_position=true" in cx["text"]
    assert not {"False", "True", "None"} & set(cx["text"].replace(",", " ").replace("=", " ").split())
    assert (tmp_path / "counterexamples.json").is_file()


def test_the_readme_against_example_is_proved_as_the_readme_shows(tmp_path):
    """README's `mine.yaml`, taken from the README itself (so the two cannot drift apart), run with
    the README's command line on the shipped rulebook: PROVED, as the comment there promises."""
    import re
    import shlex

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    m = re.search(r"cat > mine\.yaml <<'EOF'\n(.*?)\nEOF\n(marginspec prove --against mine\.yaml[^#\n]*)#", readme, re.S)
    assert m, "README no longer shows the mine.yaml example for prove --against"
    (tmp_path / "mine.yaml").write_text(m.group(1) + "\n", encoding="utf-8")
    args = shlex.split(m.group(2))[2:]
    code, report, err = run_prove_json(*args, cwd=tmp_path)
    assert code == 0, err
    assert [(r["id"], r["scope"], r["status"]) for r in report["results"]] == [
        ("against/liquidation_root", "every-contract", "PROVED")]


def test_a_tiny_timeout_is_unknown_never_proved():
    code, report, _ = run_prove_json("--timeout", "0.001", "--only", "INV-add-moves-away/*",
                                     "--only", "INV-liq-safe/*", "--jobs", "1")
    assert code == 2
    assert report["results"] and all(r["status"] == "UNKNOWN" for r in report["results"])
    assert all(r["assumptions"] == [] for r in report["results"])
    assert "unknown" in report["results"][0]["message"]


def test_list_and_selection():
    code, out, err = run_prove("--list", "--kind", "parameter")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 8 and all("\tparameter\t" in line for line in lines)
    assert "8 obligations" in err
    code, out, _ = run_prove("--list", "--only", "INV-covered")  # an invariant id: every obligation establishing it
    ids = [line.split("\t")[0] for line in out.strip().splitlines()]
    assert code == 0 and all(i.startswith(("INV-covered/", "sequence/")) for i in ids)
    assert "INV-covered/apply_funding" in ids and "sequence/depth-3/ETHUSDT" in ids


def test_bad_usage():
    code, _, err = run_prove("--contract", "DOGEUSDT")
    assert code == 2 and "unknown contract" in err
    code, _, err = run_prove("--contract", "BTCUSTD")
    assert code == 2 and ("error: --contract BTCUSTD: unknown contract (did you mean 'BTCUSDT'?); the rulebook has "
                          "BTCUSDT, ETHUSDT") in err
    code, _, err = run_prove("--only", "no-such-obligation")
    assert code == 2 and "--only no-such-obligation: no obligation or invariant has this id" in err
    code, _, err = run_prove("--only", "INV-los-cap")
    assert code == 2 and "(did you mean 'INV-loss-cap'?)" in err
    # known names (or a glob) whose combination selects nothing: nothing to run, 3 as for conform
    code, _, err = run_prove("--only", "INV-loss-cap", "--kind", "equivalence")
    assert code == 3 and "no obligation selected" in err
    code, _, err = run_prove("--only", "nothing-*")
    assert code == 3 and "no obligation selected" in err
    code, _, err = run_prove("--spec", "/nonexistent")
    # a path that is not a rulebook directory is bad input, 2 as for every command (issue 12); a
    # directory whose rulebook has errors is still 1
    assert code == 2 and "/nonexistent: no such directory" in err


def test_depth_is_configurable():
    code, report, _ = run_prove_json("--kind", "sequence", "--depth", "2", "--contract", "BTCUSDT")
    assert code == 0
    (r,) = report["results"]
    assert r["id"] == "sequence/depth-2/BTCUSDT" and [c["label"] for c in r["cases"]] == ["step 1", "step 2"]


def test_output_for_the_docs(tmp_path):
    out = tmp_path / "generated_docs" / "proof-report.json"
    code, _, _ = run_prove("--only", "INV-mode-lock/*", "--output", str(out))
    import json
    doc = json.loads(Path(out).read_text())
    assert code == 0 and doc["invariants"]["INV-mode-lock"]["status"] == "PROVED"
    assert all(r["invariants"] == ["INV-mode-lock"] for r in doc["results"])


def test_a_broken_rulebook_fails_a_bounded_sequence_with_a_confirmed_scenario(tmp_path):
    """The bounded-sequence check finds the shortfall-from-balance bug on its own, replayed from reset."""
    from prover_support import patched_spec

    spec = patched_spec("shortfall-from-balance", tmp_path)
    code, report, _ = run_prove_json("--spec", str(spec), "--kind", "sequence", "--contract", "BTCUSDT")
    assert code == 1
    (r,) = report["results"]
    assert r["id"] == "sequence/depth-3/BTCUSDT" and r["status"] == "VIOLATED"
    cx = r["counterexample"]
    assert cx["confirmed"] is True and "INV-loss-cap" in cx["invariant"]
    ops = [s["request"]["op"] for s in cx["steps"]]
    assert "open_position" in ops and ops[-1] == "set_mark_price"
    assert cx["steps"][-1]["reply"]["result"]["liquidated"] is True


def test_output_report_is_left_alone_when_only_timings_differ(tmp_path):
    """Re-running the prover must not churn the report the docs are built from."""
    from marginspec.commands.prove import write_report

    out = tmp_path / "proof-report.json"
    code, _, _ = run_prove("--kind", "parameter", "--output", str(out))
    assert code == 0
    first = out.read_bytes()
    code, _, _ = run_prove("--kind", "parameter", "--output", str(out))
    assert code == 0 and out.read_bytes() == first
    doc = json.loads(first)
    assert "path" not in doc["rulebook"]
    doc["results"][0]["seconds"] += 1.0
    assert write_report(out, doc) is False and out.read_bytes() == first
    doc["results"][0]["status"] = "UNKNOWN"  # a change of substance is written
    assert write_report(out, doc) is True and json.loads(out.read_text())["results"][0]["status"] == "UNKNOWN"


def test_a_run_without_every_contract_obligations_claims_no_every_contract_status():
    """--kind parameter runs per-contract obligations only: the every-contract scope has none, so its
    status is null (it said PROVED over 0 obligations) and the text names no every-contract proof."""
    code, report, _ = run_prove_json("--kind", "parameter")
    assert code == 0
    assert report["scopes"]["every-contract"]["obligations"] == 0
    assert report["scopes"]["every-contract"]["status"] is None
    assert set(report["scopes"]["contracts"]) == {"BTCUSDT", "ETHUSDT"}
    code, out, _ = run_prove("--kind", "parameter")
    assert code == 0 and "for every contract satisfying" not in out and "BTCUSDT: parameters well formed" in out

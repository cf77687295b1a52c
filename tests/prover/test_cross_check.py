"""`prove --cross-check cvc5`: the second solver's ladder (exact text, division-relaxed, sub-query),
the SMT-LIB text helpers it rests on, and a small cross-check of each kind of obligation (the full
cross-check of the shipped rulebook is CI's separate step: `.ci/run`)."""

from __future__ import annotations

import json

import pytest
import z3
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from marginspec import secondsolver
from marginspec.prover import crosscheck
from marginspec.prover.results import PROVED, CaseResult
from marginspec.secondsolver import EXACT, RELAXED, Opinion, opinion, relax_division
from marginspec.subquery import assertion_core, commands, sub_query
from prover_support import run_prove_json

pytest.importorskip("cvc5")

DECLS = "(set-logic QF_NRA)\n(declare-fun x () Real)\n(declare-fun y () Real)\n(declare-fun z () Real)\n"


def _cvc5_parsed(text: str):
    """(term manager, a cvc5 solver holding the assertions of `text`), as secondsolver parses them."""
    import cvc5

    tm = cvc5.TermManager()
    parsed = cvc5.Solver(tm)
    sm = cvc5.SymbolManager(tm)
    p = cvc5.InputParser(parsed, sm)
    p.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, text.replace("(check-sat)\n", ""), "t")
    while not (cmd := p.nextCommand()).isNull():
        cmd.invoke(parsed, sm)
    return tm, parsed

def test_an_unsat_query_agrees_on_the_exact_text():
    text = DECLS + "(assert (> (* x x) 0.0))\n(assert (= x 0.0))\n(check-sat)\n"
    assert opinion(text, "QF_NRA") == Opinion("unsat", f"{EXACT}, coverings")
    linear = "(set-logic QF_LRA)\n(declare-fun x () Real)\n(assert (> x 1.0))\n(assert (< x 0.0))\n(check-sat)\n"
    assert opinion(linear, "QF_LRA") == Opinion("unsat", f"{EXACT}, default")


def test_a_satisfiable_query_is_a_disagreement():
    """What z3 claims unsat but is not: cvc5 says sat on the exact text (the cross-check can fail)."""
    text = DECLS + "(assert (> (* x y) 1.0))\n(assert (> x 0.0))\n(check-sat)\n"
    assert opinion(text, "QF_NRA").answer == "sat"


def test_rounding_queries_use_linearisation():
    """to_int (the roundings) with a product: QF_NIRA goes to incremental linearisation."""
    text = ("(set-logic QF_NIRA)\n(declare-fun s () Real)\n(declare-fun v () Real)\n"
            "(assert (> s 0.0))\n"
            "(assert (let ((r (to_real (to_int (+ (/ v s) 0.5))))) (not (<= (- (* r s) v) (/ s 2.0)))))\n(check-sat)\n")
    op = opinion(text, "QF_NIRA")
    assert op.answer == "unsat" and op.form.endswith("linearisation"), op


def test_division_relaxation_is_weaker_never_stronger():
    """`(/ x 0)` is a function of x: two divisions of x by zero are equal. The relaxation forgets
    that, so this unsat query becomes satisfiable relaxed: a relaxed 'sat' proves nothing."""
    text = DECLS + "(assert (= y 0.0))\n(assert (= z 0.0))\n(assert (not (= (/ x y) (/ x z))))\n(check-sat)\n"
    tm, parsed = _cvc5_parsed(text)
    relaxed = relax_division(tm, parsed, "QF_NRA", ())
    assert relaxed.checkSat().isSat()
    assert opinion(text, "QF_NRA").answer == "unsat"  # the exact text decides it


def test_a_weaker_form_never_disagrees(monkeypatch):
    """Only 'sat' on the exact text is a disagreement; the relaxed form's 'sat' moves on."""
    seen = []

    def fake(text, logic, form, engine, rlimit):
        seen.append(form)
        return ("unknown", "RESOURCEOUT") if form == EXACT else ("sat", "")

    monkeypatch.setattr(secondsolver, "_attempt", fake)
    text = DECLS + "(assert (> (/ x y) 1.0))\n(assert (< x 0.0))\n(assert (> y 0.0))\n(assert (> z 0.0))\n(check-sat)\n"
    op = opinion(text, "QF_NRA")
    assert op.answer == "unknown", op
    assert seen == [EXACT, RELAXED, EXACT, RELAXED]  # the text, then the sub-query without (> z 0.0)


def test_an_attempt_that_never_returns_is_unknown(monkeypatch):
    """cvc5 can spin inside one polynomial factorisation that checks no limit: the attempt's CPU cap
    stops it, and the attempt is 'unknown' with that reason (the next form runs)."""
    def spin(*args):
        while True:
            pass

    monkeypatch.setattr(secondsolver, "_cvc5", spin)
    monkeypatch.setattr(secondsolver, "CPU_CAP", 1)
    assert secondsolver._attempt("", "QF_NRA", EXACT, (), 1) == ("unknown", "CPU cap (1 s)")


@given(a=st.integers(-3, 3), b=st.integers(-3, 3), c=st.integers(-3, 3))
@settings(max_examples=25, deadline=None)
def test_division_relaxation_keeps_every_model(a, b, c):
    """Soundness of the relaxed form: a satisfiable query never becomes unsat relaxed (every model
    extends: q := x / y). Queries over x / y and y / (x - z) pinned near integers a, b, c."""
    text = DECLS + (f"(assert (>= (/ x y) {a}.0))\n(assert (<= (+ (/ y (- x z)) (/ x y)) {b + c}.0))\n"
                    f"(assert (= y {b}.0))\n(assert (>= x {c}.0))\n(check-sat)\n")
    s = z3.Solver()
    s.from_string(text)
    tm, parsed = _cvc5_parsed(text)
    relaxed = relax_division(tm, parsed, "QF_NRA", (("nl-cov", "true"), ("nl-ext", "none")))
    r = relaxed.checkSat()
    if s.check() == z3.sat:
        assert not r.isUnsat(), text


def test_commands_and_sub_queries_keep_the_text():
    text = ('; header\n(set-logic QF_LRA)\n(declare-fun |a b| () Real)\n(declare-fun c () Real)\n'
            '(assert (> |a b| 1.0)) ; one\n(assert (< |a b| 0.0))\n(assert (= c 2.0))\n'
            '(set-info :source "a ) string")\n(check-sat)\n')
    cs = commands(text)
    assert cs[0] == "(set-logic QF_LRA)" and cs[1] == "(declare-fun |a b| () Real)"
    assert cs[-2] == '(set-info :source "a ) string")' and cs[-1] == "(check-sat)"
    sub = sub_query(text, {0, 1})
    assert "(assert (> |a b| 1.0))" in sub and "(assert (< |a b| 0.0))" in sub and "(= c 2.0)" not in sub
    assert "(declare-fun c () Real)" in sub and sub.rstrip().endswith("(check-sat)")
    assert assertion_core(text) == (frozenset({0, 1}), 3)
    assert assertion_core(text.replace("(< |a b| 0.0)", "(< |a b| 5.0)")) is None  # satisfiable: no core


def _agree_everywhere(report: dict) -> None:
    for r in report["results"]:
        c = r["cross_check"]
        assert r["status"] == "PROVED", r["id"]
        assert c["verdict"] == "agree" and c["agree"] == c["queries"] >= 1, (r["id"], c)
        assert sum(c["forms"].values()) == c["queries"], (r["id"], c)


def test_every_contract_and_per_contract_obligations_agree():
    """Each kind once: facts over the symbolic contract of any number of tiers (every-contract, one
    query needs the division-relaxed form), a transition, a parameter obligation on concrete values."""
    code, report, err = run_prove_json("--only", "INV-liq-root", "--only", "INV-mode-lock/open_position",
                                       "--only", "INV-born-safe/BTCUSDT", "--cross-check", "cvc5",
                                       "--require-agreement")
    assert code == 0, err
    assert {r["scope"] for r in report["results"]} == {"every-contract", "contract:BTCUSDT"}
    _agree_everywhere(report)
    forms = by_form(report)
    assert forms.get("exact", 0) >= 5


def test_parametric_and_sequence_obligations_agree():
    """--per-contract: a fact per contract, a parametric one (any 4 tiers: a symbolic tier table)
    and a bounded sequence from reset (depth 1). (The parametric liquidation-price obligations'
    maintenance_basis=mark cases are beyond cvc5: 'unknown', see the README.)"""
    code, report, err = run_prove_json("--per-contract", "--depth", "1", "--only", "INV-liq-root/BTCUSDT",
                                       "--only", "INV-bankruptcy-price/any-4-tiers", "--only", "sequence/*",
                                       "--contract", "BTCUSDT", "--cross-check", "cvc5", "--require-agreement")
    assert code == 0, err
    assert {r["kind"] for r in report["results"]} == {"fact", "parametric", "sequence"}
    _agree_everywhere(report)


def by_form(report: dict) -> dict:
    out: dict[str, int] = {}
    for r in report["results"]:
        for k, n in r["cross_check"]["forms"].items():
            out[k] = out.get(k, 0) + n
    return out


def test_an_undecided_query_is_unknown_never_agreement():
    """cvc5 out of work on a query it cannot decide (no positive integer cubes x^3 + y^3 = z^3):
    'unknown', with the reason."""
    text = ("(set-logic QF_NIA)\n(declare-fun x () Int)\n(declare-fun y () Int)\n(declare-fun z () Int)\n"
            "(assert (>= x 1))\n(assert (>= y 1))\n(assert (>= z 1))\n"
            "(assert (= (+ (* x x x) (* y y y)) (* z z z)))\n(check-sat)\n")
    assert opinion(text, "QF_NIA", rlimit=20_000) == Opinion("unknown", f"{EXACT}, linearisation", "RESOURCEOUT")


def test_require_agreement_fails_when_the_second_solver_cannot_confirm(monkeypatch):
    """Planted: cvc5 out of work on every attempt (its queries here are decided by preprocessing,
    which no resource limit stops): the verdict is 'unknown', with the queries named, the proofs
    stand (exit 0), and --require-agreement exits 2."""
    from marginspec.cli import main

    monkeypatch.setattr(secondsolver, "_attempt", lambda text, logic, form, engine, rlimit: ("unknown", "RESOURCEOUT"))
    args = ["prove", "--jobs", "1", "--only", "INV-mode-lock/open_position", "--cross-check", "cvc5"]
    loose = CliRunner().invoke(main, args + ["--format", "json"])
    assert loose.exit_code == 0, loose.output  # z3's proofs stand; the report says what cvc5 did not confirm
    doc = json.loads(loose.stdout)
    assert {r["cross_check"]["verdict"] for r in doc["results"]} == {"unknown"}
    assert doc["summary"]["exit_code"] == 0 and doc["summary"]["cross_check"]["verdicts"]["unknown"] == 1
    strict = CliRunner().invoke(main, args + ["--require-agreement"])
    assert strict.exit_code == 2
    assert "not confirmed by cvc5: INV-mode-lock/open_position" in strict.output
    assert "INV-mode-lock/open_position: unknown (0 agree" in strict.output
    doc = json.loads(CliRunner().invoke(main, args + ["--require-agreement", "--format", "json"]).stdout)
    assert doc["summary"]["exit_code"] == 2 and doc["options"]["require_agreement"] is True


def test_a_disagreement_is_an_error(monkeypatch):
    from marginspec.cli import main

    monkeypatch.setattr(secondsolver, "opinion", lambda text, logic, rlimit=None: Opinion("sat", EXACT))
    out = CliRunner().invoke(main, ["prove", "--jobs", "1", "--only", "INV-mode-lock/open_position",
                                    "--cross-check", "cvc5", "--format", "json"])
    assert out.exit_code == 2
    r = json.loads(out.stdout)["results"][0]
    assert r["status"] == "ERROR" and r["cross_check"]["verdict"] == "disagree"
    assert "cvc5 finds satisfiable what z3 proved unsatisfiable" in r["message"]


def test_a_proved_case_without_a_query_is_not_agreement():
    """A witness case needs no unsat query; any other proved case must have one (a sequence step's
    queries are labelled `step i: goal`): else the obligation is 'not covered', never 'agree'."""
    class Q:
        def __init__(self, case):
            self.case = case

    cases = [CaseResult("long", PROVED, 0.0), CaseResult("short", PROVED, 0.0),
             CaseResult("pass", PROVED, 0.0, witness={"state": {}}), CaseResult("step 1", PROVED, 0.0),
             CaseResult("step 2", PROVED, 0.0), CaseResult("refuse", "VIOLATED", 0.0)]
    queries = [Q("long"), Q("step 1: INV-a (after step 1)"), Q("step 10: INV-a")]
    assert crosscheck.uncovered(cases, queries) == ["short", "step 2"]
    c = crosscheck.cross_check("cvc5", [], ["short"])
    assert c["verdict"] == "not covered" and c["uncovered_cases"] == ["short"]
    assert crosscheck.cross_check("cvc5", [])["verdict"] == "no unsat query"
    results = [{"id": "A", "cross_check": c}, {"id": "B", "cross_check": crosscheck.cross_check("cvc5", [])}]
    assert crosscheck.unconfirmed(results) == ["A"]
    assert crosscheck.summary(results)["verdicts"]["not covered"] == 1
    assert "    no query recorded for the proved case short" in crosscheck.text_lines(results)


def test_require_agreement_fails_when_a_proof_records_no_query(monkeypatch):
    """A proof path that forgets to record its query (planted: recording switched off) is caught:
    'not covered', and --require-agreement exits 2."""
    from marginspec import solving
    from marginspec.cli import main
    from marginspec.prover import discharge

    monkeypatch.setattr(solving, "proved", lambda *a, **k: None)
    monkeypatch.setattr(discharge, "proved", lambda *a, **k: None)
    args = ["prove", "--jobs", "1", "--only", "INV-mode-lock/open_position", "--cross-check", "cvc5"]
    doc = json.loads(CliRunner().invoke(main, args + ["--format", "json"]).stdout)
    c = doc["results"][0]["cross_check"]
    assert c["verdict"] == "not covered" and c["queries"] == 0 and c["uncovered_cases"], c
    assert doc["summary"]["exit_code"] == 0  # without the flag the proofs stand
    strict = CliRunner().invoke(main, args + ["--require-agreement"])
    assert strict.exit_code == 2, strict.output
    assert "INV-mode-lock/open_position: not covered" in strict.output


def test_require_agreement_needs_a_second_solver():
    from marginspec.cli import main

    out = CliRunner().invoke(main, ["prove", "--only", "INV-mode-lock/open_position", "--require-agreement"])
    assert out.exit_code == 2 and "--require-agreement needs --cross-check" in out.output

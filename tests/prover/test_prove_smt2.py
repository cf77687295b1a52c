"""`prove --smt2-out DIR` writes the exact unsat queries as SMT-LIB 2 with their logic, the same
bytes for any --jobs; `--cross-check cvc5` re-checks them and reports agreement per obligation."""

from __future__ import annotations

import json

import z3

from marginspec.smt2 import file_name, logic_of
from prover_support import run_prove

# Per-contract obligations: their files are named after the contract, and cvc5 re-checks them.
ONLY = ("--per-contract", "--only", "INV-liq-root/BTCUSDT", "--only", "INV-mode-lock/add_margin/BTCUSDT")


def test_smt2_files_are_the_queries_with_their_logic_and_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_prove(*ONLY, "--jobs", "1", "--smt2-out", str(a))[0] == 0
    assert run_prove(*ONLY, "--jobs", "2", "--smt2-out", str(b))[0] == 0
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert "INV-liq-root_BTCUSDT.long.000.smt2" in names and "INV-liq-root_BTCUSDT.short.000.smt2" in names
    for n in names:
        text = (a / n).read_text()
        assert text == (b / n).read_text()
        assert "(set-logic QF_" in text and text.rstrip().endswith("(check-sat)")
        assert "(set-info :status unsat)" in text
        s = z3.Solver()  # the file alone is unsatisfiable: it is the whole query
        s.from_string(text)
        assert s.check() == z3.unsat, n
    liq = (a / "INV-liq-root_BTCUSDT.long.000.smt2").read_text()
    assert "(set-logic QF_NRA)" in liq  # size x price: nonlinear
    assert "from: contract" not in liq and "hyp:INV-state-domain" in liq.splitlines()[1]


def test_logic_of_names_the_fragment():
    x, y = z3.Reals("x y")
    i = z3.Int("i")
    assert logic_of([x + 2 * y > 1]) == "QF_LRA"
    assert logic_of([x * y > 1]) == "QF_NRA"
    assert logic_of([x / y > 1]) == "QF_NRA"
    assert logic_of([x / 2 > 1, z3.ToReal(i) == x]) == "QF_LIRA"
    assert logic_of([z3.ToInt(x * y) > 1]) == "QF_NIRA"
    assert file_name("INV-a/b c", "step 1: X (after step 1)", 3) == "INV-a_b_c.step_1_X_after_step_1.003.smt2"


def test_cross_check_reports_agreement(tmp_path):
    code, out, err = run_prove(*ONLY, "--cross-check", "cvc5", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["options"]["cross_check"].startswith("cvc5 ")
    for r in doc["results"]:
        assert r["cross_check"]["verdict"] == "agree" and r["cross_check"]["agree"] == r["cross_check"]["queries"] >= 1
    code, out, _ = run_prove(*ONLY, "--cross-check", "cvc5")
    assert code == 0 and "cross-check with cvc5: 2 of 2 obligations agree" in out

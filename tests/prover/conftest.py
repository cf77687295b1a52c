"""Fixtures of the prover's tests: one full `marginspec prove` of the shipped rulebook per session."""

from __future__ import annotations

import json

import pytest

from prover_support import run_prove_json


@pytest.fixture(scope="session")
def shipped(tmp_path_factory):
    """The shipped rulebook proved once: (exit code, the JSON report, the --output file, the JUnit
    file). The cvc5 cross-check of every obligation is CI's own step after pytest (.ci/run: about
    ten minutes); test_cross_check.py cross-checks a few obligations of each kind."""
    d = tmp_path_factory.mktemp("prove")
    out, junit = d / "report.json", d / "junit.xml"
    code, report, _ = run_prove_json("--jobs", "2", "--output", str(out), "--junit", str(junit))
    return code, report, json.loads(out.read_text()), junit

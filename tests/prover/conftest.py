"""Fixtures of the prover's tests: one full `marginspec prove` of the shipped rulebook per session."""

from __future__ import annotations

import json

import pytest

from prover_support import run_prove_json


@pytest.fixture(scope="session")
def shipped_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("prove")


@pytest.fixture(scope="session")
def shipped(shipped_dir):
    """The shipped rulebook proved once: (exit code, the JSON report, the --output file, the JUnit
    file). The cvc5 cross-check of every obligation is CI's own step after pytest (.ci/run: about
    ten minutes); test_cross_check.py cross-checks a few obligations of each kind. The run's core
    store starts empty (`shipped_store`: what it computed, test_certificates.py)."""
    d = shipped_dir
    out, junit = d / "report.json", d / "junit.xml"
    code, report, _ = run_prove_json("--jobs", "2", "--output", str(out), "--junit", str(junit),
                                     env={"MARGINSPEC_CACHE_DIR": str(d / "store")})
    return code, report, json.loads(out.read_text()), junit


@pytest.fixture(scope="session")
def shipped_store(shipped, shipped_dir):
    """The core store of the `shipped` run: the cores it computed (none came from the shipped
    certificates)."""
    return shipped_dir / "store"

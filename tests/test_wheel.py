"""From a wheel in a fresh venv, run from an unrelated folder: `vectors --check` and `all` succeed,
the regenerated vectors are byte-identical to the committed ones, and nothing (no `.hypothesis/`)
is written into the current folder. The wheel is built and installed once per session (about
40 s here: `pip wheel`, `python -m venv` without system site-packages, `pip install` of the wheel
and its dependencies from the configured index and the pip cache)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "conformance" / "vectors"

# one worker builds the wheel for all three tests
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]


def _run(args, cwd, timeout=900):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Path:
    """The `marginspec` script of a fresh venv holding only the wheel and its dependencies."""
    d = tmp_path_factory.mktemp("wheel")
    # built from a copy of the tree: setuptools lists the files, then copies them through build/, and
    # a test in the other worker writing a file atomically (a `.NAME.*.tmp` renamed away) in between
    # failed the build with "No such file or directory"
    src = d / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                                               ".*.tmp", "node_modules"))
    r = _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(d / "dist")], d)
    assert r.returncode == 0, r.stderr[-3000:]
    wheels = list((d / "dist").glob("marginspec-*.whl"))
    assert len(wheels) == 1
    r = _run([sys.executable, "-m", "venv", str(d / "venv")], d)
    assert r.returncode == 0, r.stderr
    py = d / "venv" / "bin" / "python"
    r = _run([str(py), "-m", "pip", "install", "-q", str(wheels[0])], d)
    assert r.returncode == 0, r.stderr[-3000:]
    return d / "venv" / "bin" / "marginspec"


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    cwd = tmp_path / "somewhere"
    cwd.mkdir()
    return cwd


def test_the_wheel_carries_no_source_tree(installed):
    py = installed.parent / "python"
    r = _run([str(py), "-c", "import marginspec, sys; print(marginspec.__file__)"], installed.parent)
    assert r.returncode == 0 and "site-packages" in r.stdout and str(ROOT) not in r.stdout, r.stdout + r.stderr
    r = _run([str(py), "-c", "import hypothesis"], installed.parent)
    assert r.returncode != 0  # vector generation needs no Hypothesis


def test_vectors_check_from_a_wheel_and_byte_identical_regeneration(installed, elsewhere):
    """`vectors --check` regenerates every file in memory and compares bytes with the files the wheel
    carries; those are compared here with the checkout's (one generation, not two)."""
    import json

    r = _run([str(installed), "vectors", "--check", "--format", "json"], elsewhere)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    summary = json.loads(r.stdout)
    assert summary["check"] == {"stale": [], "missing": [], "extra": []}
    packaged = Path(summary["out"])
    assert "site-packages" in str(packaged) and str(ROOT) not in str(packaged)
    committed = sorted(p.name for p in VECTORS.glob("*.json"))
    assert sorted(p.name for p in packaged.glob("*.json")) == committed
    for name in committed:
        assert (packaged / name).read_bytes() == (VECTORS / name).read_bytes(), name
    cov = Path(summary["coverage_file"])
    assert cov.read_bytes() == (ROOT / "conformance" / "coverage.json").read_bytes()
    assert list(elsewhere.iterdir()) == []  # no .hypothesis, nothing else


def test_all_from_a_wheel(installed, elsewhere):
    r = _run([str(installed), "all"], elsewhere)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    # outside a checkout the docs (and the proof report they show) go to ./generated_docs; nothing else
    assert sorted(p.name for p in elsewhere.iterdir()) == ["generated_docs"]
    assert {p.name for p in (elsewhere / "generated_docs").iterdir()} >= {"rulebook.md", "index.html", "proof-report.json"}

"""Broken rulebooks for the prover's tests: small edit lists (tests/fixtures/prover/*.yaml) applied
to a temporary copy of the shipped spec/ (never a full copy in the repository)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from marginspec.rulebook import default_spec_dir

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "prover"


def fixture(name: str) -> dict:
    return yaml.safe_load((FIXTURES / f"{name}.yaml").read_text(encoding="utf-8"))


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.yaml"))


def patched_spec(name: str, root: Path) -> Path:
    """A copy of spec/ in `root`/spec with fixture `name`'s edits applied; each edit replaces exactly
    one occurrence of `old` (the first one after `after`, when given)."""
    spec = root / "spec"
    shutil.copytree(default_spec_dir(), spec, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    for e in fixture(name)["edits"]:
        p = spec / e["file"]
        text = p.read_text(encoding="utf-8")
        start = text.index(e["after"]) if e.get("after") else 0
        head, tail = text[:start], text[start:]
        if e.get("after"):
            assert e["old"] in tail, f"{name}: {e['old']!r} not found after {e['after']!r}"
            tail = tail.replace(e["old"], e["new"], 1)
        else:
            assert text.count(e["old"]) == 1, f"{name}: {e['old']!r} occurs {text.count(e['old'])} times in {e['file']}"
            tail = tail.replace(e["old"], e["new"])
        p.write_text(head + tail, encoding="utf-8")
    return spec


def run_prove(*args: str, cwd: str | Path | None = None, env: dict | None = None) -> tuple[int, str, str]:
    """`python -m marginspec prove ARGS` in a fresh process (`env`: variables set for it): (exit
    code, stdout, stderr)."""
    import os
    import subprocess
    import sys

    # a hang guard only (statuses rest on resource limits, not seconds): the shipped run shares two
    # cores with the other xdist worker, so it gets room for a loaded machine
    p = subprocess.run([sys.executable, "-m", "marginspec", "prove", *args], capture_output=True, text=True,
                       cwd=cwd, timeout=600, env={**os.environ, **(env or {})})
    return p.returncode, p.stdout, p.stderr


def run_prove_json(*args: str, cwd: str | Path | None = None, env: dict | None = None) -> tuple[int, dict, str]:
    import json

    code, out, err = run_prove(*args, "--format", "json", cwd=cwd, env=env)
    assert out.strip(), err
    return code, json.loads(out), err


def by_id(report: dict) -> dict:
    return {r["id"]: r for r in report["results"]}

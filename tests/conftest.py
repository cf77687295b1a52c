"""Shared fixtures: the shipped rulebook, engines, and edited copies of spec/."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from marginspec.engine import ReferenceEngine
from marginspec.rulebook import default_spec_dir, load_rulebook

from tests.support import Client, contract_json

SPEC = default_spec_dir()


def pytest_configure(config):
    """The prover's core cache (core_cache.py) of this run, empty at its start: the tests never read
    or fill the user's ~/.cache, and what one run of the suite proves does not rest on another's
    cache. Set once in the controlling process; pytest-xdist's workers inherit it."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        os.environ["MARGINSPEC_CACHE_DIR"] = tempfile.mkdtemp(prefix="marginspec-cores-")
        config.add_cleanup(lambda d=os.environ["MARGINSPEC_CACHE_DIR"]: shutil.rmtree(d, ignore_errors=True))


@pytest.fixture(scope="session")
def rulebook():
    return load_rulebook()


@pytest.fixture
def client(rulebook) -> Client:
    """A reference engine reset with both shipped profiles and a balance of 10000."""
    c = Client(ReferenceEngine(rulebook))
    c.ok("reset", contracts={s: contract_json(rulebook, s) for s in rulebook.contracts}, available_balance="10000")
    return c


@pytest.fixture
def spec_copy(tmp_path):
    """A function making an edited copy of spec/: edit(file, old, new) replaces text exactly once."""
    root = tmp_path / "spec"
    shutil.copytree(SPEC, root, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))

    class Copy:
        path = root

        def edit(self, file: str, old: str, new: str) -> "Copy":
            p = root / file
            text = p.read_text()
            assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {file}"
            p.write_text(text.replace(old, new))
            return self

        def line_of(self, file: str, needle: str) -> int:
            for i, line in enumerate((root / file).read_text().splitlines(), 1):
                if needle in line:
                    return i
            raise AssertionError(f"{needle!r} not in {file}")

    return Copy()


# Session fixtures that cost minutes are built once per pytest-xdist worker that needs them: the
# tests using one are kept on one worker (`--dist loadgroup` in pyproject.toml), the rest spread.
_EXPENSIVE = ("shipped", "generated")


def pytest_collection_modifyitems(config, items):
    for item in items:
        used = [f for f in _EXPENSIVE if f in getattr(item, "fixturenames", ())]
        if used:
            item.add_marker(pytest.mark.xdist_group(used[0]))

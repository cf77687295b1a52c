"""Fixtures for the vector tests: the committed vector documents and one fresh generation."""

from __future__ import annotations

import json

import pytest
from vectors_support import VECTORS

from marginspec.rulebook import load_rulebook
from marginspec.vectors import generate


@pytest.fixture(scope="session")
def rb():
    return load_rulebook()


@pytest.fixture(scope="session")
def committed() -> dict[str, dict]:
    """The committed vector files, by stem."""
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(VECTORS.glob("*.json"))}


@pytest.fixture(scope="session")
def generated(rb):
    """One in-process generation (the same code `marginspec vectors` runs)."""
    return generate(rb)

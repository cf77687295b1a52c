"""Fixtures for the runner's tests (helpers live in conform_support.py)."""

from __future__ import annotations

import pytest

from conform_support import BASIC, MORE, load_canned_module


@pytest.fixture
def cases():
    from marginspec.conformance.loader import load_vectors

    return [c for vf in load_vectors([BASIC, MORE]) for c in vf.cases]


@pytest.fixture(scope="session")
def canned_module():
    return load_canned_module()

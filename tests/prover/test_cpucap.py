"""cpucap.capped: a call that never returns is stopped by its CPU cap (the second solver's
backstop against a cvc5 step that checks no limit); answers and errors come back as they are."""

from __future__ import annotations

import os

import pytest

from marginspec.cpucap import capped


def _spin() -> None:
    while True:
        pass


def _fail() -> None:
    raise ValueError("bad text")


def test_an_answer_comes_back():
    assert capped(sorted, [3, 1, 2], cpu_seconds=5) == (True, [1, 2, 3])


def test_an_error_comes_back_as_text():
    assert capped(_fail, cpu_seconds=5) == (False, "ValueError: bad text")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the cap needs fork")
def test_a_call_that_never_returns_is_stopped_by_its_cpu_cap():
    assert capped(_spin, cpu_seconds=1) == (False, "CPU cap (1 s)")

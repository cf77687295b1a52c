"""Helpers for the runner's tests: the hand-made vector files and the canned fake engine."""

from __future__ import annotations

import importlib.util
import shlex
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VECTORS = FIXTURES / "vectors"
ENGINES = FIXTURES / "engines"
BASIC = VECTORS / "basic.json"
MORE = VECTORS / "more.json"
CANNED = ENGINES / "canned_engine.py"

# The cases of the fixture files, in file order (ids are derived from their content).
BASIC_IDS = ["ka-953f9dcd", "err-2cfdbfea", "fund-2fb58b28", "liq-b41d23f1"]
MORE_IDS = ["mode-c0750b40", "unk-a53e5cef", "close-efe742e0"]
ALL_IDS = BASIC_IDS + MORE_IDS


def canned_command(*options: str, vectors=(BASIC, MORE)) -> str:
    """The command line of the canned engine answering from ``vectors``, with options."""
    argv = [sys.executable, str(CANNED), *map(str, vectors), *options]
    return shlex.join(argv)


def load_canned_module():
    spec = importlib.util.spec_from_file_location("canned_engine", CANNED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

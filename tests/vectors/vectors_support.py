"""Shared helpers of the vector tests (paths of the committed files, running the CLI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from marginspec.vectors import default_out_dir

VECTORS = default_out_dir()
COVERAGE = VECTORS.parent / "coverage.json"


def cli(*args: str, cwd: Path | None = None):
    return subprocess.run([sys.executable, "-m", "marginspec", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)

"""Where the rendered rulebook that ships with marginspec is: `generated_docs/` of the checkout in
an editable install, else the package data `marginspec.generated_docs` of an installed wheel (the
rulebook docs and the proof report travel with the package)."""

from __future__ import annotations

from pathlib import Path

from .docs import PROOF_REPORT, checkout_root
from .rulebook import default_spec_dir


def shipped_docs_dir() -> Path | None:
    """The folder holding rulebook.md, index.html and proof-report.json of the shipped rulebook."""
    root = checkout_root(default_spec_dir())
    if root is not None and (root / "generated_docs").is_dir():
        return root / "generated_docs"
    import importlib.util

    try:  # a folder of package data without __init__.py: a namespace package, found by its spec
        spec = importlib.util.find_spec("marginspec.generated_docs")
    except (ModuleNotFoundError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        folder = Path(location)
        if (folder / "rulebook.md").is_file():
            return folder
    return None


def shipped_proof_report() -> Path | None:
    """The proof report of the shipped rulebook, when it travels with the package."""
    folder = shipped_docs_dir()
    if folder is None or not (folder / PROOF_REPORT).is_file():
        return None
    return folder / PROOF_REPORT

"""Errors that point at a place in the rulebook: file:line:col and what is wrong."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Mark:
    """A position in a source file (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def shifted(self, offset: int) -> "Mark":
        """The mark `offset` characters further on the same line (for errors inside an expression)."""
        return Mark(self.file, self.line, self.col + offset)


@dataclass(frozen=True)
class Diagnostic:
    mark: Mark | None
    message: str

    def __str__(self) -> str:
        return f"{self.mark}: {self.message}" if self.mark else self.message


class SpecError(Exception):
    """One or more problems in a rulebook; `diagnostics` lists every one found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = in_file_order(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def in_file_order(diagnostics) -> list[Diagnostic]:
    """The diagnostics by file (in the order the files first come up; those without a place first
    if they come first), and within a file by line:col, as a reader goes through it; found in
    whatever order the checks ran."""
    files: dict[str | None, int] = {}
    for d in diagnostics:
        files.setdefault(d.mark.file if d.mark else None, len(files))
    return sorted(diagnostics, key=lambda d: (files[d.mark.file], d.mark.line, d.mark.col) if d.mark
                  else (files[None], 0, 0))


def did_you_mean(name: str, candidates) -> str:
    """A ' (did you mean X?)' suffix when a close candidate exists, else ''."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""

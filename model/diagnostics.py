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
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def did_you_mean(name: str, candidates) -> str:
    """A ' (did you mean X?)' suffix when a close candidate exists, else ''."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""

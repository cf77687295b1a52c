"""Progress on standard error for long commands (`prove`): a rich bar when stderr is a terminal,
nothing at all otherwise (so redirected output and JSON stay exactly as they were)."""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any


class _Silent:
    def advance(self, status: str | None = None) -> None:
        pass

    def close(self) -> None:
        pass


class _Bar:
    def __init__(self, total: int, label: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.counts: Counter = Counter()
        self.progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                                 console=Console(stderr=True), transient=True)
        self.task = self.progress.add_task(label, total=total, status="")
        self.progress.start()

    def advance(self, status: str | None = None) -> None:
        if status:
            self.counts[status] += 1
        text = ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items()))
        self.progress.update(self.task, advance=1, status=text)

    def close(self) -> None:
        self.progress.stop()


def stderr_progress(total: int, label: str, enabled: bool | None = None) -> Any:
    """A display with ``advance(status)`` and ``close()``; shown when `enabled`, or (None) when
    standard error is a terminal."""
    if enabled is None:
        try:
            enabled = sys.stderr.isatty()
        except (AttributeError, ValueError):
            enabled = False
    if not enabled or total <= 0:
        return _Silent()
    try:
        return _Bar(total, label)
    except ImportError:  # pragma: no cover - rich is a dependency
        return _Silent()

"""Conformance vectors and the runner that checks engines against them.

- ``loader``: vector files (format ``marginspec-vectors/1``, schema ``vectors.schema.json``): load,
  validate, filter, shard.
- ``engines``: talking to an engine (a process speaking PROTOCOL.md, or an object in process).
- ``runner``: running cases and judging them; ``run_conformance`` is ``marginspec conform``.
- ``report``: text, JSON and JUnit XML reports, and the progress display.
- ``pytest_plugin``: ``pytest --marginspec-engine CMD`` (one test item per case).
"""

__all__ = ["run_conformance"]


def __getattr__(name: str):
    if name == "run_conformance":
        from .runner import run_conformance

        return run_conformance
    raise AttributeError(name)

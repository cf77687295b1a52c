"""`marginspec fuzz`: stateful differential testing of an engine against the reference engine."""

from __future__ import annotations

import json
import sys
import time

import click

from ..cli import SPEC_HELP, _load
from .contracts_option import apply_contracts, contracts_option
from .venue_option import venue_option, venue_rulebook

DEFAULT_OUT = "marginspec-fuzz"


class _Progress:
    """traces, steps and steps/s on stderr, when it is a terminal."""

    def __init__(self, seconds: float) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.t0 = time.perf_counter()
        self.last = 0.0
        self.progress = Progress(TextColumn("fuzz"), BarColumn(), TextColumn("{task.fields[status]}"),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.task = self.progress.add_task("fuzz", total=seconds, status="")
        self.progress.start()

    def __call__(self, result) -> None:
        now = time.perf_counter()
        if now - self.last < 0.2:
            return
        self.last = now
        elapsed = now - self.t0
        rate = result.steps / elapsed if elapsed > 0 else 0
        self.progress.update(self.task, completed=elapsed,
                             status=f"{result.traces} traces, {result.steps} steps, {rate:,.0f} steps/s")

    def close(self) -> None:
        self.progress.stop()


@click.command(name="fuzz")
@click.option("--engine", "engine", required=True,
              help='the engine under test: a command line (e.g. "node engine.js") or "reference" (in process)')
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True, max=86400), default=60.0, show_default=True,
              help="how long to generate traces (shrinking comes on top)")
@click.option("--seed", default="0", show_default=True, help="the seed: the same seed gives the same traces")
@contracts_option
@venue_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=DEFAULT_OUT, show_default=True,
              help="where the vector file of a disagreement is written")
@click.option("--timeout", type=click.FloatRange(min=0.05, max=600), default=2.0, show_default=True,
              help="seconds an engine has for one reply")
@click.option("--shrink-seconds", type=click.FloatRange(min=0, max=3600), default=30.0, show_default=True,
              help="time allowed for shrinking a disagreement")
@click.option("--max-traces", type=click.IntRange(min=1), default=None, help="stop after this many traces")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--progress/--no-progress", default=None, help="progress on stderr (default: when it is a terminal)")
@click.option("--spec", type=click.Path(), help=SPEC_HELP)
def command(engine, seconds, seed, contracts_file, venue, out_dir, timeout, shrink_seconds, max_traces, fmt, progress, spec):
    """Differential fuzzing: random request traces, aimed at the rulebook's thresholds, sent to ENGINE
    and to the reference engine; every reply and a query after each request compared as `conform`
    compares them.

    Traces use several symbols, every action, both sides, marks at and one tick around the
    liquidation price, the bankruptcy price and tier bounds, reduce_margin amounts and funding rates
    that land exactly on maintenance margin, and refused arguments. On the first disagreement the
    trace is shrunk (fewest requests, then simplest decimals), shown as a table and written to
    OUT/fuzz-<id>.json, which `marginspec conform --engine ENGINE --vectors FILE` replays.

    Exit codes: 0 no disagreement found, 1 one found, 2 the engine could not be run (or bad usage).
    """
    from ..fuzz.driver import Fuzzer
    from ..fuzz.report import render_text, to_json, write_vector

    rb = venue_rulebook(apply_contracts(_load(spec), contracts_file), venue)
    try:
        fuzzer = Fuzzer(rb, engine, seed=seed, timeout=timeout)
    except (ValueError, TypeError, ImportError) as e:
        click.echo(f"error: cannot use engine {engine!r}: {e}", err=True)
        sys.exit(2)
    if progress is None:
        progress = fmt == "text" and sys.stderr.isatty()
    display = _Progress(seconds) if progress else None
    try:
        result = fuzzer.run(seconds, shrink_seconds=shrink_seconds, max_traces=max_traces, on_progress=display)
    finally:
        if display is not None:
            display.close()
        fuzzer.close()
    finding = result.shrunk or result.found
    vector_path = write_vector(rb, finding, result.seed, out_dir) if finding is not None else None
    if fmt == "json":
        click.echo(json.dumps(to_json(rb, result, vector_path), indent=2, ensure_ascii=False, default=str))
    else:
        from rich.console import Console

        render_text(rb, result, vector_path, Console(width=None if sys.stdout.isatty() else 160))
    if result.error:
        sys.exit(130 if result.error == "interrupted" else 2)
    sys.exit(1 if finding is not None else 0)

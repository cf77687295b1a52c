"""The `marginspec` command line.

Exit codes: 0 success; 1 the subject failed (an invalid rulebook, a violated proof, a failing
vector, stale generated files); 2 unknown/error results (prover) or bad usage; 3 nothing to run.
"""

from __future__ import annotations

import json
import sys

import click

from . import __version__
from .diagnostics import SpecError
from .commands.venue_option import venue_option, venue_rulebook
from .rulebook import load_rulebook

SPEC_HELP = "the rulebook directory (default: the shipped rulebook)"


def _load(spec):
    try:
        return load_rulebook(spec)
    except SpecError as e:
        for d in e.diagnostics:
            click.echo(f"error: {d}", err=True)
        click.echo(f"{len(e.diagnostics)} error(s) in the rulebook", err=True)
        sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="marginspec")
def main():
    """marginspec: the isolated-margin rulebook, executed, proved, tested and rendered."""


def _check_invariant_formulas(rb) -> None:
    """Refuse a rulebook whose invariant statements do not parse or type-check (the loader keeps
    them as errors so that `prove` can report them as ERROR obligations)."""
    import re

    from .diagnostics import Diagnostic, Mark

    found = []
    for message in rb.formal_errors.values():
        m = re.match(r"^(.+?):(\d+):(\d+): (.*)$", message, re.S)
        found.append(Diagnostic(Mark(m[1], int(m[2]), int(m[3])), m[4]) if m else Diagnostic(None, message))
    if found:
        raise SpecError(found)


@main.command()
@click.argument("path", required=False, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@venue_option
def check(path, fmt, venue):
    """Validate a rulebook: structure, names, units, cycles, references (exit 0, or 1 listing every error)."""
    try:
        rb = load_rulebook(path)
        _check_invariant_formulas(rb)
        rb = venue_rulebook(rb, venue)
    except SpecError as e:
        if fmt == "json":
            click.echo(json.dumps({"ok": False, "errors": [
                {"file": d.mark.file if d.mark else None, "line": d.mark.line if d.mark else None,
                 "col": d.mark.col if d.mark else None, "message": d.message} for d in e.diagnostics]}, indent=2))
        else:
            for d in e.diagnostics:
                click.echo(f"error: {d}", err=True)
            click.echo(f"{len(e.diagnostics)} error(s)", err=True)
        sys.exit(1)
    summary = {"ok": True, "rulebook": rb.name, "version": rb.version, "path": rb.path,
               "actions": len(rb.actions), "checks": sum(1 for _ in rb.checks()), "derived": len(rb.derived),
               "invariants": len(rb.invariants), "contracts": sorted(rb.contracts), **({"venue": venue} if venue else {})}
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(f"ok: {rb.name} {rb.version} ({rb.path}): {summary['actions']} actions, {summary['checks']} checks, "
                   f"{summary['derived']} derived values, {summary['invariants']} invariants, "
                   f"contracts {', '.join(summary['contracts'])}" + (f" (venue {venue})" if venue else ""))


@main.command()
@click.argument("file", type=click.Path(allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--spec", type=click.Path(), help=SPEC_HELP)
@click.option("--balance", default="10000", show_default=True, help="starting balance when FILE does not begin with reset")
@venue_option
def simulate(file, fmt, spec, balance, venue):
    """Run the protocol requests in FILE (YAML or JSON, '-' for stdin) and show replies and positions.

    Without a leading reset, every contract profile of the rulebook is loaded with --balance.
    """
    from .engine import ReferenceEngine
    from .simulate import render_json, render_text
    from .simulate import simulate as run

    engine = ReferenceEngine(venue_rulebook(_load(spec), venue))
    text = sys.stdin.read() if file == "-" else None
    try:
        pairs, engine = run(file if file != "-" else "<stdin>", text, balance, engine)
    except (SpecError, OSError) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    if fmt == "json":
        click.echo(render_json(pairs, engine))
    else:
        from rich.console import Console
        render_text(pairs, engine, Console())


@main.command()
@click.option("--spec", type=click.Path(), help=SPEC_HELP)
def engine(spec):
    """Serve the engine protocol (PROTOCOL.md v1) on stdin/stdout with the reference engine."""
    from .engine import ReferenceEngine, serve

    sys.exit(serve(engine=ReferenceEngine(_load(spec))))


STAGES = (
    ("check", ["check"], "validate the rulebook"),
    ("prove", ["prove", "--output", "{proof_report}"], "prove every invariant with Z3 (and refresh the docs' report)"),
    ("vectors", ["vectors"], "regenerate conformance/vectors from the rulebook"),
    ("docs", ["docs"], "render generated_docs/ from the rulebook"),
    ("conform", ["conform", "--engine", "reference"], "run every vector against the reference engine"),
)


@main.command(name="all")
@click.option("--keep-going/--stop", default=True, show_default=True, help="run the later stages after a failure")
def all_(keep_going):
    """The main job: check, prove, generate vectors and docs, conform the reference engine.

    Each stage runs as `marginspec STAGE` with its own output; a summary table ends the run. The exit
    code is the worst of the stages' (0 all good, 1 a failure, 2 unknown/error, 3 nothing ran).
    """
    import subprocess
    import time

    from rich.console import Console
    from rich.table import Table

    from .docs import PROOF_REPORT, default_out_dir
    from .rulebook import default_spec_dir

    report = str(default_out_dir(default_spec_dir()) / PROOF_REPORT)  # where `docs` reads it
    console = Console()
    rows, worst = [], 0
    for name, argv, what in STAGES:
        argv = [a.format(proof_report=report) for a in argv]
        console.rule(f"[bold]marginspec {' '.join(argv)}[/bold] — {what}")
        t0 = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", "marginspec", *argv])
        rows.append((name, code, time.perf_counter() - t0))
        worst = max(worst, code)
        if code and not keep_going:
            break
    table = Table(title="marginspec all")
    for col in ("stage", "result", "seconds"):
        table.add_column(col)
    for name, code, secs in rows:
        table.add_row(name, "[green]ok[/green]" if code == 0 else f"[red]exit {code}[/red]", f"{secs:.1f}")
    console.print(table)
    sys.exit(worst)


def _register() -> None:
    """Add the commands of marginspec.commands.* (prove, vectors, conform, docs)."""
    import importlib

    from .commands import COMMANDS

    for name in COMMANDS:
        module = f"marginspec.commands.{name}"
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            continue
        main.add_command(mod.command)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()

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
from .commands.contracts_option import apply_contracts, contracts_option, require_out
from .commands.venue_option import venue_option, venue_rulebook
from .rulebook import load_rulebook

SPEC_HELP = "the rulebook directory (default: the shipped rulebook)"


def spec_path_error(spec) -> str | None:
    """Why `spec` cannot be a rulebook directory (absent, or not a directory), else None: a bad
    path is bad input (exit 2), while a directory whose rulebook has errors is a failing subject (1)."""
    if spec is None:
        return None
    from pathlib import Path

    p = Path(spec)
    if not p.exists():
        return f"{spec}: no such directory"
    if not p.is_dir():
        return f"{spec}: not a directory (the rulebook is a directory holding rulebook.yaml)"
    return None


def _load(spec):
    problem = spec_path_error(spec)
    if problem:
        click.echo(f"error: {problem}", err=True)
        sys.exit(2)
    try:
        return load_rulebook(spec)
    except SpecError as e:
        for d in e.diagnostics:
            click.echo(f"error: {d}", err=True)
        click.echo(f"{len(e.diagnostics)} error(s) in the rulebook", err=True)
        sys.exit(1)


def _version(ctx, param, value):
    """`--version`: the tool's version and the shipped rulebook's name and version."""
    if not value or ctx.resilient_parsing:
        return
    try:
        rb = load_rulebook()
        book = f", rulebook {rb.name} {rb.version}"
    except SpecError:
        book = ", rulebook: does not load (run `marginspec check`)"
    click.echo(f"marginspec {__version__}{book}")
    ctx.exit(0)


class _Commands(click.Group):
    """The command group: the commands of marginspec.commands.* are imported when one is named (or
    when every one is listed, for --help), so that a command's start-up pays for its own imports
    only (`prove` needs neither the docs' templates nor the vector generators)."""

    def list_commands(self, ctx):
        _register()
        return super().list_commands(ctx)

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is None and name.replace("-", "_") in _command_modules():
            cmd = _register(name.replace("-", "_"))
        return cmd

    def resolve_command(self, ctx, args):
        """As click's, but an unknown command gets a "did you mean" (as a mistyped option does)."""
        name = args[0] if args else ""
        if (name and not name.startswith("-") and not ctx.resilient_parsing
                and self.get_command(ctx, name) is None):
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
            hint = (" Did you mean " + " or ".join(f"'{c}'" for c in close) + "?") if close else \
                f" Commands: {', '.join(self.list_commands(ctx))}."
            ctx.fail(f"No such command '{name}'.{hint}")
        return super().resolve_command(ctx, args)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="show the version of marginspec and of its rulebook, and exit")
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


def _check_divisions(rb) -> None:
    """Refuse a rulebook with a division whose divisor can be zero (decided by Z3, divisions.py)."""
    from .divisions import division_problems

    found = division_problems(rb)
    if found:
        raise SpecError(found)


@main.command()
@click.argument("path", required=False, type=click.Path(), metavar="[PATH]")
@click.option("--spec", type=click.Path(), help=SPEC_HELP)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@contracts_option
@venue_option
def check(path, spec, fmt, contracts_file, venue):
    """Validate a rulebook: structure, names, units, cycles, references (exit 0, or 1 listing every
    error; 2 when the path is not a directory).

    Also the contracts in force (the rulebook's profiles, or those of --contracts FILE, with the
    --venue preset's parameters): every problem of the file, each parameter's domain and each
    parameter invariant (family 8) per contract. PATH is a deprecated alias of --spec (kept for old
    scripts).
    """
    from .contracts import contracts_in_force

    if path is not None and spec is not None and path != spec:
        click.echo("error: give the rulebook once: --spec DIR (PATH is its deprecated alias)", err=True)
        sys.exit(2)
    if path is not None and spec is None:
        click.echo(f"note: `marginspec check PATH` is deprecated; use `marginspec check --spec {path}`", err=True)
    path = spec if spec is not None else path
    problem = spec_path_error(path)
    if problem:
        if fmt == "json":
            click.echo(json.dumps({"ok": False, "errors": [{"file": str(path), "line": None, "col": None,
                                                            "message": problem}]}, indent=2))
        click.echo(f"error: {problem}", err=True)
        sys.exit(2)
    try:
        rb = contracts_in_force(load_rulebook(path), contracts_file)
        _check_invariant_formulas(rb)
        _check_divisions(rb)
        if venue:  # the preset's parameters on every contract in force: judged again with them
            rb = contracts_in_force(venue_rulebook(rb, venue))
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
               "invariants": len(rb.invariants), "contracts": sorted(rb.contracts), "contracts_file": contracts_file,
               "parameter_invariants": [f.id for f in rb.formals.values() if f.kind == "parameter"],
               **({"venue": venue} if venue else {})}
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(f"ok: {rb.name} {rb.version} ({rb.path}): {summary['actions']} actions, {summary['checks']} checks, "
                   f"{summary['derived']} derived values, {summary['invariants']} invariants, "
                   f"contracts {', '.join(summary['contracts'])}"
                   + (f" (from {contracts_file})" if contracts_file else "") + (f" (venue {venue})" if venue else ""))
        click.echo(f"parameters well formed: each contract satisfies {', '.join(summary['parameter_invariants'])}")


@main.command()
@click.argument("file", type=click.Path(allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--spec", type=click.Path(), help=SPEC_HELP)
@click.option("--balance", default="10000", show_default=True, help="starting balance when FILE does not begin with reset")
@contracts_option
@venue_option
def simulate(file, fmt, spec, balance, contracts_file, venue):
    """Run the protocol requests in FILE (YAML, JSON for a .json name, '-' for YAML on stdin) and show
    replies and positions (a bad file: every problem at file:line:col, exit 2).

    Without a leading reset, every contract profile of the rulebook (or of --contracts FILE) is
    loaded with --balance. For writing by hand, a number may stand bare in FILE (price: 50000.1):
    it is read as its decimal text. On the wire it must be a string ("50000.1"): an engine, the
    reference one included, refuses a JSON number (INVALID_ARGUMENT, N-numbers).
    """
    from .engine import ReferenceEngine
    from .simulate import render_json, render_text
    from .simulate import simulate as run
    from .yamlsafe import read_yaml_stream

    engine = ReferenceEngine(venue_rulebook(apply_contracts(_load(spec), contracts_file), venue))
    try:
        text = read_yaml_stream(sys.stdin.buffer, "<stdin>") if file == "-" else None
        pairs, engine = run(file if file != "-" else "<stdin>", text, balance, engine)
    except SpecError as e:
        for d in e.diagnostics:
            click.echo(f"error: {d}", err=True)
        sys.exit(2)
    except OSError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    if fmt == "json":
        click.echo(render_json(pairs, engine))
    else:
        from rich.console import Console
        render_text(pairs, engine, Console())


@main.command()
@click.option("--spec", type=click.Path(), help=SPEC_HELP)
@contracts_option
def engine(spec, contracts_file):
    """Serve the engine protocol (PROTOCOL.md v1) on stdin/stdout with the reference engine.

    With --contracts FILE the engine starts as if `reset` had been sent with those contracts and an
    available balance of 0; a `reset` replaces them as usual.
    """
    from .engine import ReferenceEngine, serve
    from .simulate import default_reset

    eng = ReferenceEngine(apply_contracts(_load(spec), contracts_file))
    if contracts_file:
        eng.handle(default_reset(eng.rb, "0"))
    sys.exit(serve(engine=eng))


STAGES = (
    ("check", ["check"], "validate the rulebook"),
    ("prove", ["prove", "--output", "{proof_report}"], "prove every invariant with Z3 (and refresh the docs' report)"),
    ("vectors", ["vectors"], "regenerate conformance/vectors from the rulebook"),
    ("venues", ["diff", "--all-pairs", "--output", "{venue_diff}"], "prove where the venue presets differ (the docs' table)"),
    ("docs", ["docs"], "render generated_docs/ from the rulebook"),
    ("conform", ["conform", "--engine", "reference"], "run every vector against the reference engine"),
)


def _contracts_stage(name: str, argv: list[str], contracts_file: str, out: str) -> list[str]:
    """A stage of `all --contracts FILE --out DIR`: the file goes to every stage that reads contracts,
    and what is generated for those contracts goes under DIR (never over the rulebook's own files):
    the docs stage reads the vectors, the proof report and the venue table the earlier stages made."""
    from pathlib import Path

    vectors, docs = str(Path(out) / "vectors"), str(Path(out) / "docs")
    extra = {"check": ["--contracts", contracts_file],
             "prove": ["--contracts", contracts_file],
             "vectors": ["--contracts", contracts_file, "--out", vectors],
             "venues": ["--contracts", contracts_file],  # the venue presets set on these contracts
             "docs": ["--contracts", contracts_file, "--out", docs, "--vectors", vectors],
             "conform": ["--vectors", vectors]}.get(name, [])
    if "--output" in argv:  # prove's report and the venue table go where `docs --out OUT/docs` reads them
        i = argv.index("--output")
        name_out = "venue-diff.json" if name == "venues" else "proof-report.json"
        argv = argv[:i + 1] + [str(Path(docs) / name_out)] + argv[i + 2:]
    return argv + extra


@main.command(name="all")
@click.option("--keep-going/--stop", default=True, show_default=True, help="run the later stages after a failure")
@contracts_option
@click.option("--out", type=click.Path(file_okay=False),
              help="with --contracts (and required with it): where the stages write for those contracts: "
                   "OUT/vectors, OUT/coverage.json, OUT/docs (with the proof report)")
def all_(keep_going, contracts_file, out):
    """The main job: check, prove, generate vectors and docs, conform the reference engine.

    Each stage runs as `marginspec STAGE` with its own output; a summary table ends the run. The exit
    code is the worst of the stages' (0 all good, 1 a failure, 2 unknown/error, 3 nothing ran).
    With --contracts FILE every stage works on those contracts instead of the rulebook's profiles.
    """
    require_out(contracts_file, out)
    if out and not contracts_file:
        raise click.UsageError("--out goes with --contracts")
    import subprocess
    import time
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from .docs import PROOF_REPORT, default_out_dir
    from .rulebook import default_spec_dir

    report = str(default_out_dir(default_spec_dir()) / PROOF_REPORT)  # where `docs` reads it
    console = Console()
    rows, worst = [], 0
    for name, argv, what in STAGES:
        argv = [a.format(proof_report=report, venue_diff=str(Path(report).parent / "venue-diff.json")) for a in argv]
        if contracts_file:
            argv = _contracts_stage(name, argv, contracts_file, out)
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


def _command_modules() -> tuple[str, ...]:
    from .commands import COMMANDS

    return COMMANDS


def _register(only: str | None = None):
    """Add the commands of marginspec.commands.* (prove, vectors, conform, docs, ...), or only the
    one of module `only` (returned: None when its module is absent)."""
    import importlib

    cmd = None
    for name in ([only] if only else _command_modules()):
        module = f"marginspec.commands.{name}"
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            continue
        cmd = mod.command
        main.add_command(cmd)
    return cmd

if __name__ == "__main__":  # pragma: no cover
    main()

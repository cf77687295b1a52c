"""`marginspec diff A B`: where two venues or contract files disagree on liquidation, proved by Z3.

Exit codes (like diff(1)): 0 the liquidation decisions and roots are equal for every position of
the domain; 1 they differ (a distinguishing position and the largest relative difference are
shown); 2 bad usage, a bad file, or a question Z3 could not decide.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from ..cli import SPEC_HELP, _load
from .contracts_option import apply_contracts, contracts_option


@click.command("diff")
@click.argument("a", required=False)
@click.argument("b", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--spec", type=click.Path(file_okay=False), help=SPEC_HELP)
@click.option("--all-pairs", is_flag=True, help="compare every pair of venue presets (the table the docs show)")
@click.option("--output", type=click.Path(dir_okay=False), help="with --all-pairs: also write the JSON table here "
              "(generated_docs/venue-diff.json is what `marginspec docs` reads)")
@click.option("--check", is_flag=True, help="with --all-pairs: write nothing; exit 1 when the table on disk "
              "(--output, default generated_docs/venue-diff.json) differs from a fresh one")
@click.option("--jobs", "-j", default=0, show_default=True, type=click.IntRange(0, 1024),
              help="parallel processes, one contract of one pair each (0: one per CPU); the same output for any number")
@contracts_option
def command(a, b, fmt, spec, all_pairs, output, check, jobs, contracts_file):
    """Compare the liquidation rules of A and B (venue names of spec/venues.yaml, or contracts files
    mapping SYMBOL to the protocol's CONTRACT): Z3 decides whether the liquidation decision at any
    mark and the liquidation root are the same for every position (side, size, entry, margin, mark;
    leverage 1-100, every tier); where not, a distinguishing position and the largest relative
    difference of the root, as a proved bound.

    With --contracts FILE the venue presets are set on those contracts instead of the rulebook's
    profiles (--all-pairs: the venue table of docs made with the same --contracts; its --check then
    needs --output, the default file being the shipped contracts' table).

    Each contract of each pair is decided on its own (in --jobs processes); the output does not
    depend on their number."""
    from ..diagnostics import SpecError
    from ..diff import compare, render_text, resolve, to_json

    rb = apply_contracts(_load(spec), contracts_file)
    n_jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
    if all_pairs:
        if contracts_file and check and not output:
            raise click.UsageError("--check with --contracts needs --output FILE: the default table is the one of "
                                   "the rulebook's own contracts")
        from ..docs_venues import diff_table, table_json, table_pairs

        with _progress(table_pairs(rb)) as done:
            table = diff_table(rb, n_jobs, done)
        doc = table_json(rb, table)
        text = json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        if check:
            sys.exit(_check(spec, Path(output) if output else None, text, contracts_file))
        if output:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            Path(output).write_text(text, encoding="utf-8")
        if fmt == "json":
            click.echo(json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True))
        else:
            for r in table:
                click.echo(render_text(r))
        sys.exit(2 if any(r.undecided for r in table) else 0)
    if check or output:
        click.echo("error: --check and --output go with --all-pairs", err=True)
        sys.exit(2)
    if not a or not b:
        click.echo("error: give two venues or contracts files (or --all-pairs)", err=True)
        sys.exit(2)
    try:
        ca, cb = resolve(rb, a), resolve(rb, b)
    except SpecError as e:
        for d in e.diagnostics:
            click.echo(f"error: {d}", err=True)
        sys.exit(2)
    except (ValueError, OSError) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    with _progress([((a, ca), (b, cb))]) as done:
        report = compare(rb, a, ca, b, cb, n_jobs, done)
    if not report.pairs:
        click.echo(f"error: {a} and {b} have no contract symbol in common", err=True)
        files = [x for x, c in ((a, ca), (b, cb)) if not set(c) <= set(rb.contracts)]
        if len(files) == 1 and not contracts_file:  # a venue's preset went onto the rulebook's contracts
            import shlex

            click.echo(f"hint: a venue sets its parameters on the contracts in force ({', '.join(rb.contracts)}); "
                       f"to put them on {files[0]}'s: "
                       f"{shlex.join(['marginspec', 'diff', a, b, '--contracts', files[0]])}", err=True)
        sys.exit(2)
    if fmt == "json":
        click.echo(json.dumps(to_json(report), indent=1, ensure_ascii=False))
    else:
        click.echo(render_text(report), nl=False)
    sys.exit(2 if report.undecided else (0 if report.equal else 1))


@contextmanager
def _progress(pairs):
    """A progress bar on standard error while the pairs' units are decided, one step a unit
    (counting equal, differ, unknown), on a terminal only (progress.py, as prove's): nothing
    changes in output that is not a terminal."""
    from ..diff import units_of
    from ..progress import stderr_progress

    display = stderr_progress(units_of(pairs), "diff")
    try:
        yield lambda unit: display.advance(unit.verdict)
    finally:
        display.close()


def _check(spec: str | None, path: Path | None, text: str, contracts_file: str | None = None) -> int:
    """0 when the table on disk is byte-identical to `text`, else 1 (naming the pairs that differ
    and the command that rewrites it, with the same --spec and --contracts)."""
    import shlex

    from ..docs import default_out_dir
    from ..docs_venues import VENUE_DIFF
    from ..rulebook import default_spec_dir

    path = path or default_out_dir(Path(spec) if spec else default_spec_dir()) / VENUE_DIFF
    given = "".join(f" {o} {shlex.quote(str(v))}" for o, v in (("--spec", spec), ("--contracts", contracts_file)) if v)
    make = f"marginspec diff --all-pairs{given} --output {path}"
    docs = f"marginspec docs{given}"
    if contracts_file:  # docs for these contracts read the table next to their proof report, in --out
        from ..docs_commands import for_contracts

        docs = for_contracts(contracts_file, path.parent, spec=spec).docs
    if not path.is_file():
        click.echo(f"stale: {path} does not exist (run `{make}`)")
        return 1
    old = path.read_text(encoding="utf-8")
    if old == text:
        click.echo(f"up to date: {path}")
        return 0
    try:
        before = {(p["a"], p["b"]): p for p in json.loads(old).get("pairs", [])}
    except (ValueError, AttributeError):
        before = {}
    changed = [f"{p['a']} vs {p['b']}" for p in json.loads(text)["pairs"] if before.get((p["a"], p["b"])) != p]
    click.echo(f"stale: {path} differs from a fresh table" + (f" (pairs: {', '.join(changed)})" if changed else "")
               + f"; run `{make}` and `{docs}`")
    return 1

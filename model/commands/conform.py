"""`marginspec conform`: run the conformance vectors against an engine (PROTOCOL.md v1)."""

from __future__ import annotations

import json
import sys

import click

from .options import SECONDS

EXAMPLES = ("node-engine",)


def example_path(name: str) -> str:
    """The folder of a shipped example engine (package data, so it works from an install)."""
    from importlib import resources
    from pathlib import Path

    root = resources.files("marginspec.conformance.examples").joinpath(name)
    return str(Path(str(root)))


def _list(paths, rule, flag, case, fmt) -> int:
    """`--list`: the flags, rules and cases of the selection, with counts."""
    from marginspec.conformance import selection
    from marginspec.conformance.loader import VectorFileError, load_vectors, select_cases

    skipped: list[str] = []
    try:
        files = load_vectors(list(paths) or None, skipped=skipped)
    except VectorFileError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    for note in skipped:
        click.echo(f"note: {note}", err=True)
    all_cases = [c for vf in files for c in vf.cases]
    unknown = selection.unknown_names(files, all_cases, rule=rule, flag=flag, case=case)
    if unknown:
        for message in unknown:
            click.echo(f"error: {message}", err=True)
        return 2
    chosen = selection.order_by_purpose(select_cases(all_cases, rule=rule, flag=flag, case=case), rule)
    doc = selection.listing(files, chosen)
    if fmt == "json":
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        click.echo(selection.render_listing(doc), nl=False)
    return 0 if chosen else 3


def _show_example(ctx, param, value):
    if value is None or ctx.resilient_parsing:
        return
    if value not in EXAMPLES:
        raise click.BadParameter(f"{value!r} is not a shipped example (one of: {', '.join(EXAMPLES)})")
    click.echo(example_path(value))
    ctx.exit(0)


@click.command(name="conform", epilog="""\b
The example engine and its self-test, from any folder (the files travel with the package):
  node "$(marginspec conform --example-path node-engine)/engine.js"      # serve the protocol
  marginspec conform --engine "node $(marginspec conform --example-path node-engine)/engine.js"
  python "$(marginspec conform --example-path node-engine)/selftest.py"  # the example's self-test
""")
@click.option("--engine", "engine", default="reference", show_default=True,
              help='the engine: "reference" (in-process) or a command line, e.g. "node engine.js"')
@click.option("--vectors", "paths", multiple=True, type=click.Path(exists=True),
              help="vector files or folders (default: the shipped vectors); repeatable")
@click.option("--rule", multiple=True,
              help="only the cases that exercise a rule id starting with this (actions, checks, derived values, "
                   "invariants and notes the case's replay covers); the cases about it (named in their title) "
                   "run first; repeatable (any)")
@click.option("--flag", multiple=True, help="only the cases carrying this flag (the kind of mistake they catch); "
                                            "repeatable (any)")
@click.option("--case", multiple=True, help="only this case id, or the ids matching a glob (bnd-*); repeatable (any)")
@click.option("--list", "list_", is_flag=True,
              help="list the flags (with meaning), rules and cases of the selection, with counts; run nothing")
@click.option("--shard", help="run shard I of N (I/N, from 1), stable by case id")
@click.option("--timeout", type=SECONDS, default=10.0, show_default=True, help="seconds an engine has for one reply")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--junit", type=click.Path(dir_okay=False), help="also write a JUnit XML report here")
@click.option("--progress/--no-progress", default=None, help="progress display (default: on a terminal)")
@click.option("--example-path", type=str, default=None, expose_value=False, is_eager=True, callback=_show_example,
              help="print the folder of a shipped example engine (node-engine) and exit")
def command(engine, paths, rule, flag, case, list_, shard, timeout, fmt, junit, progress):
    """Run the vectors against ENGINE and report per case, with a per-step diff for failures.

    Each failing case shows its differing fields (the most basic first), its requests with their
    arguments and its flags (what the case tests) with their meaning; the run ends with what to
    fix: the failing cases grouped by the rule of their first difference (with the requests it
    shows after), then by the flags they carry, most frequent first, each with its simplest case.
    --rule, --flag and --case combine with "and"; a name no vector knows is an error with a
    "did you mean". An engine that crashes, hangs past --timeout, writes garbage or answers with
    the wrong id fails the case in progress and is restarted; the run goes on. Exit codes: 0 every
    selected case passed (skipped cases are reported, never passed), 1 a case failed, 2 bad input
    (or an unknown name), 3 no case selected or every selected case skipped.
    """
    if list_:
        sys.exit(_list(paths, rule, flag, case, fmt))
    from marginspec.conformance.runner import run_conformance

    sys.exit(run_conformance(engine, list(paths) or None, rule=rule, flag=flag, case=case, shard=shard,
                             timeout=timeout, fmt=fmt, junit=junit, progress=progress))

"""`marginspec conform`: run the conformance vectors against an engine (PROTOCOL.md v1)."""

from __future__ import annotations

import sys

import click

from .options import SECONDS


@click.command(name="conform")
@click.option("--engine", "engine", default="reference", show_default=True,
              help='the engine: "reference" (in-process) or a command line, e.g. "node engine.js"')
@click.option("--vectors", "paths", multiple=True, type=click.Path(exists=True),
              help="vector files or folders (default: the shipped vectors); repeatable")
@click.option("--rule", multiple=True, help="only cases citing a rule id with this prefix; repeatable")
@click.option("--flag", multiple=True, help="only cases carrying this flag; repeatable")
@click.option("--case", multiple=True, help="only this case id (globs allowed); repeatable")
@click.option("--shard", help="run shard I of N (I/N, from 1), stable by case id")
@click.option("--timeout", type=SECONDS, default=10.0, show_default=True, help="seconds an engine has for one reply")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--junit", type=click.Path(dir_okay=False), help="also write a JUnit XML report here")
@click.option("--progress/--no-progress", default=None, help="progress display (default: on a terminal)")
def command(engine, paths, rule, flag, case, shard, timeout, fmt, junit, progress):
    """Run the vectors against ENGINE and report per case, with a per-step diff for failures.

    An engine that crashes, hangs past --timeout, writes garbage or answers with the wrong id
    fails the case in progress and is restarted; the run goes on. Exit codes: 0 every selected
    case passed (skipped cases are reported, never passed), 1 a case failed, 2 bad input, 3 no
    case selected.
    """
    from marginspec.conformance.runner import run_conformance

    sys.exit(run_conformance(engine, list(paths) or None, rule=rule, flag=flag, case=case, shard=shard,
                             timeout=timeout, fmt=fmt, junit=junit, progress=progress))

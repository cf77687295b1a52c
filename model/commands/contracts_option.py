"""`--contracts FILE`: the option of every command that reads contracts, declared once so that they
all take it the same way."""

from __future__ import annotations

import sys

import click

from ..diagnostics import SpecError
from ..rulebook import Rulebook

CONTRACTS_HELP = ("a contracts file (YAML, or JSON for a .json name) mapping SYMBOL to a contract in the shape "
                  "reset takes; used instead of the rulebook's contract profiles")


def contracts_option(f):
    """`--contracts FILE`: the user's contracts instead of the rulebook's profiles."""
    return click.option("--contracts", "contracts_file", type=click.Path(exists=True, dir_okay=False),
                        help=CONTRACTS_HELP)(f)


def apply_contracts(rb: Rulebook, contracts_file: str | None, *, wellformed: bool = True,
                    exit_code: int = 2) -> Rulebook:
    """`rb` with the contracts of `contracts_file` in force (unchanged without one). A file with
    problems is reported as file:line:col, every problem, and the command exits with `exit_code`
    (2: bad input to the command). With `wellformed`, a contract that breaks a parameter invariant
    (family 8) is such a problem: the reference engine would refuse it."""
    if not contracts_file:
        return rb
    from ..contracts import load_contracts, with_contracts

    try:
        return with_contracts(rb, load_contracts(contracts_file, rb, wellformed=wellformed))
    except SpecError as e:
        for d in e.diagnostics:
            click.echo(f"error: {d}", err=True)
        click.echo(f"{len(e.diagnostics)} error(s) in the contracts file {contracts_file}", err=True)
        sys.exit(exit_code)


def require_out(contracts_file: str | None, out: str | None, venue: str | None = None) -> None:
    """A command that writes generated files (vectors, docs, all) needs --out with --contracts or
    --venue: its default folder holds the files of the rulebook's own profiles (in a checkout, the
    committed ones), which those for other contracts or parameters must not replace."""
    for given, option in ((contracts_file, "--contracts"), (venue, "--venue")):
        if given and not out:
            raise click.UsageError(f"{option} needs --out DIR: the files generated with it must not "
                                   "replace the rulebook's own")

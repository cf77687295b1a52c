"""`--venue NAME`: one small click option shared by check, prove, vectors, docs and simulate.

The option only names a preset of spec/venues.yaml; `venue_rulebook(rb, name)` applies it to the
rulebook the command loaded (every contract in force gets the preset's parameters, tiers kept).
An unknown name is bad usage (exit 2) with a "did you mean".
"""

from __future__ import annotations

import sys

import click

VENUE_HELP = ("set the venue parameters of this preset of spec/venues.yaml (taker fee, maintenance basis) on every "
              "contract in force; the contracts keep their tiers")


def venue_option(f):
    """The `--venue NAME` option (None when not given)."""
    return click.option("--venue", metavar="NAME", default=None, help=VENUE_HELP)(f)


def venue_rulebook(rb, name: str | None):
    """`rb` with venue `name` applied (unchanged for None); bad names and bad presets exit 2."""
    if not name:
        return rb
    from ..diagnostics import SpecError
    from ..venues import apply_venue

    try:
        return apply_venue(rb, name)
    except SpecError as e:
        for d in e.diagnostics:
            click.echo(f"error: {d}", err=True)
        sys.exit(2)
    except ValueError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)

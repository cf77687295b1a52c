"""Option types shared by the commands: values checked by the command line, so a bad one is a
usage error (exit 2) with a clear message, never a traceback deep in a run."""

from __future__ import annotations

import math

import click

#: The longest per-request or per-call time allowed (a day): beyond it a run could as well hang.
MAX_SECONDS = 86400.0


class Seconds(click.ParamType):
    """A duration in seconds: a finite number, more than 0 and at most MAX_SECONDS."""

    name = "seconds"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        if number <= 0:
            self.fail(f"{value!r} must be more than 0 seconds", param, ctx)
        if number > MAX_SECONDS:
            self.fail(f"{value!r} is more than {MAX_SECONDS:g} seconds (a day)", param, ctx)
        return number


SECONDS = Seconds()

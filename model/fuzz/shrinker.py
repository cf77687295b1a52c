"""Shrinking a failing trace: fewest requests first (delta debugging), then the simplest decimals.

`shrink(trace, fails)` keeps only candidates for which `fails(candidate)` is true (the caller's
test replays the candidate on both engines and checks that the same disagreement is still there).
Requests go first by ddmin (Zeller's delta debugging: remove chunks, then single requests, until
no single request can go), then each decimal argument is replaced by the simplest decimal that
keeps the failure (fewest significant digits); the two repeat until neither changes anything, so
the result is 1-minimal (no single request can go) when the budget allows. A deadline bounds the
work; what is kept at any point is a failing trace.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Callable, Iterator, Sequence

from ..numbers import DECIMAL_RE, format_decimal, round_to
from .trace import Trace


class _Budget:
    def __init__(self, seconds: float | None, calls: int | None) -> None:
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.calls = calls

    def spent(self) -> bool:
        if self.calls is not None:
            if self.calls <= 0:
                return True
            self.calls -= 1
        return self.deadline is not None and time.monotonic() > self.deadline


def ddmin(items: Sequence, fails: Callable[[list], bool], budget: _Budget) -> list:
    """A 1-minimal sublist of `items` (no single element can be removed) for which `fails` holds,
    within the budget (`fails(items)` is assumed)."""
    items = list(items)
    n = 2
    while len(items) >= 2:
        chunk = max(1, len(items) // n)
        starts = list(range(0, len(items), chunk))
        reduced = False
        for s in starts:  # try removing each chunk (the complement of the chunk is kept)
            candidate = items[:s] + items[s + chunk:]
            if not candidate:
                continue
            if budget.spent():
                return items
            if fails(candidate):
                items = candidate
                n = max(n - 1, 2)
                reduced = True
                break
        if not reduced:
            if chunk == 1:
                break
            n = min(len(items), n * 2)
    return items


def simpler_decimals(text: str) -> Iterator[str]:
    """Decimals simpler than `text`, simplest first: fewer significant digits, then fewer places."""
    if not isinstance(text, str) or not DECIMAL_RE.match(text):
        return
    x = Fraction(text)
    if x == 0:
        return
    seen = {text}
    digits = len(text.lstrip("+-").replace(".", "").lstrip("0")) or 1
    mag = len(str(abs(x.numerator) // abs(x.denominator)))  # digits before the point
    for sig in range(1, digits):
        step = Fraction(10) ** (mag - sig)
        for direction in ("half_away", "down", "up"):
            y = round_to(x, step, direction)
            if y == 0:
                continue
            s = format_decimal(y)
            if s not in seen:
                seen.add(s)
                yield s


def simplify_decimals(trace: Trace, fails: Callable[[Trace], bool], budget: _Budget) -> Trace:
    """Replace each decimal argument by the simplest one that keeps the failure."""
    requests = [dict(r, args=dict(r.get("args", {}))) for r in trace.requests]
    for i, r in enumerate(requests):
        for key, value in list(r["args"].items()):
            for candidate in simpler_decimals(value):
                if budget.spent():
                    return trace.with_requests(requests)
                trial = [dict(x, args=dict(x["args"])) for x in requests]
                trial[i]["args"][key] = candidate
                if fails(trace.with_requests(trial)):
                    requests = trial
                    break
    return trace.with_requests(requests)


def shrink(trace: Trace, fails: Callable[[Trace], bool], *, seconds: float | None = 30.0,
           calls: int | None = None) -> Trace:
    """The smallest failing trace found from `trace` (which must fail) within the budget."""
    budget = _Budget(seconds, calls)
    current = trace
    for _ in range(4):  # simpler decimals can make more requests removable: repeat to a fixed point
        small = current.with_requests(ddmin(current.requests, lambda rs: fails(current.with_requests(rs)), budget))
        simple = simplify_decimals(small, fails, budget)
        if simple == small or budget.spent():
            return simple
        current = simple
    return current.with_requests(ddmin(current.requests, lambda rs: fails(current.with_requests(rs)), budget))

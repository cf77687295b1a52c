"""Exact numbers at the edges: decimal strings in, decimal strings out, rounding to a step."""

from __future__ import annotations

import re
from fractions import Fraction

DECIMAL_RE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?\Z")


def parse_decimal(text: str) -> Fraction:
    """A plain decimal string as an exact Fraction; ValueError for anything else (N-numbers)."""
    if not isinstance(text, str) or not DECIMAL_RE.match(text):
        raise ValueError(f"{text!r} is not a plain decimal string")
    whole, _, frac = text.partition(".")
    if not frac:
        return Fraction(int(whole))
    return Fraction(int(whole + frac), 10 ** len(frac))  # the same value as Fraction(text), built faster


def _twos_fives(d: int) -> tuple[int, int, int]:
    """d = 2**twos * 5**fives * rest."""
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    return twos, fives, d


def is_terminating(q: Fraction) -> bool:
    """Whether `q` has a finite decimal expansion (its denominator has no prime but 2 and 5)."""
    return _twos_fives(q.denominator)[2] == 1


def format_decimal(q: Fraction) -> str:
    """The exact decimal text of `q` (no exponent, no trailing zeros); ValueError if it has none."""
    n, d = q.numerator, q.denominator
    if d == 1:
        return str(n)
    twos, fives, rest = _twos_fives(d)
    if rest != 1:
        raise ValueError(f"{q} has no finite decimal expansion")
    k = max(twos, fives)
    digits = str(abs(n) * (10 ** k // d)).rjust(k + 1, "0")
    whole, frac = digits[:-k], digits[-k:].rstrip("0")
    sign = "-" if n < 0 else ""
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


def exact_text(q: Fraction, places: int | None = None) -> str:
    """`q` for people: its decimal text, or p/q when it has none (then, with `places`, followed by
    ' ≈ ' and q rounded half away from zero to that many places)."""
    try:
        return format_decimal(q)
    except ValueError:
        text = f"{q.numerator}/{q.denominator}"
        return text if places is None else f"{text} ≈ {format_decimal(round_to(q, Fraction(1, 10 ** places), 'half_away'))}"


def round_to(x: Fraction, step: Fraction, direction: str) -> Fraction:
    """The multiple of `step` next to `x`: 'up' (ceiling), 'down' (floor) or 'half_away' (from zero)."""
    q = x / step
    n, d = q.numerator, q.denominator
    if d == 1:
        return x
    if direction == "up":
        k = -((-n) // d)
    elif direction == "down":
        k = n // d
    else:
        k = (2 * abs(n) + d) // (2 * d)
        if n < 0:
            k = -k
    return step * k


def is_multiple(x: Fraction, step: Fraction) -> bool:
    return (x / step).denominator == 1

"""Engine output made safe to show: an engine's stderr, error messages and replies reach a
terminal and a JUnit file, so control characters are escaped (no terminal escape sequence runs, no
line is overwritten) and characters XML 1.0 cannot hold never reach an XML file."""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, lone surrogates, and U+FFFE/U+FFFF.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _escape(m: re.Match) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, newlines: bool = True) -> str:
    """`text` with every control character (and any character XML cannot hold) written as
    ``\\xNN`` / ``\\uNNNN``; newlines kept unless `newlines` is False (then ``\\n``)."""
    out = _UNSAFE.sub(_escape, str(text))
    return out if newlines else out.replace("\n", "\\n")

"""JSON read into the same marked values as `yamlsafe` (Node, NodeList, Scalar), so a JSON file's
problems are reported as file:line:col exactly like a YAML file's.

Numbers stay their literal text (a `Scalar` with style None, never a binary float); strings are
Scalars with style '"'; true/false/null become bool/None. A duplicate key is an error (the json
module silently keeps the last). The text is first checked by the json module, whose error
position is mapped to line:col; a trailing comma is named as such, at the comma.
"""

from __future__ import annotations

import bisect
import json
import re
from json.decoder import scanstring

from .diagnostics import Diagnostic, Mark, SpecError
from .yamlsafe import Node, NodeList, Scalar

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


class _Reader:
    def __init__(self, text: str, file: str, constants: bool = False):
        self.text, self.file, self.constants = text, file, constants
        self.lines = [0] + [m.end() for m in re.finditer("\n", text)]

    def mark(self, pos: int) -> Mark:
        line = bisect.bisect_right(self.lines, pos) - 1
        return Mark(self.file, line + 1, pos - self.lines[line] + 1)

    def skip(self, pos: int) -> int:
        return _WS.match(self.text, pos).end()

    def value(self, pos: int):
        """The value starting at `pos` (after white space) and the position after it."""
        pos = self.skip(pos)
        c = self.text[pos]
        if c == "{":
            return self.obj(pos)
        if c == "[":
            out = NodeList()
            out.mark = self.mark(pos)
            pos = self.skip(pos + 1)
            if self.text[pos] == "]":
                return out, pos + 1
            while True:
                v, pos = self.value(pos)
                out.append(v)
                pos = self.skip(pos)
                if self.text[pos] == "]":
                    return out, pos + 1
                pos += 1  # ','
        if c == '"':
            s, end = scanstring(self.text, pos + 1)
            out = Scalar(s)
            out.mark, out.style = self.mark(pos), '"'
            return out, end
        for word, v in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, pos):
                return v, pos + len(word)
        m = _NUMBER.match(self.text, pos)
        if m is None and self.constants:
            m = re.compile(r"NaN|-?Infinity").match(self.text, pos)
        if m is None:  # NaN, Infinity: accepted by the json module, not JSON
            raise SpecError([Diagnostic(self.mark(pos), "malformed JSON: NaN and Infinity are not JSON numbers")])
        out = Scalar(m.group())
        out.mark, out.style = self.mark(pos), None
        return out, m.end()

    def obj(self, pos: int):
        out = Node()
        out.mark, out.key_marks = self.mark(pos), {}
        pos = self.skip(pos + 1)
        if self.text[pos] == "}":
            return out, pos + 1
        while True:
            pos = self.skip(pos)
            key_mark = self.mark(pos)
            key, pos = scanstring(self.text, pos + 1)
            if key in out:
                raise SpecError([Diagnostic(key_mark, f"duplicate key '{key}' (first defined at line "
                                                      f"{out.key_marks[key].line})")])
            pos = self.skip(pos) + 1  # ':'
            out.key_marks[key] = key_mark
            out[key], pos = self.value(pos)
            pos = self.skip(pos)
            if self.text[pos] == "}":
                return out, pos + 1
            pos += 1  # ','


def _trailing_comma(text: str, e: json.JSONDecodeError) -> tuple[int, str] | None:
    """(the comma's offset, the bracket after it) when the json module's error is a comma before a
    closing bracket: it reports that as 'Expecting value' (or '... property name') at the bracket,
    which sends a reader looking in the wrong place. Python 3.13 points at the comma itself."""
    pos = e.pos
    if pos < len(text) and text[pos] == "," and "trailing comma" in e.msg:
        bracket = _WS.match(text, pos + 1).end()
        return (pos, text[bracket]) if bracket < len(text) and text[bracket] in "]}" else None
    if pos >= len(text) or text[pos] not in "]}":
        return None
    before = text[:pos].rstrip(" \t\n\r")
    return (len(before) - 1, text[pos]) if before.endswith(",") else None


def load_json_text(text: str, file: str = "<string>", constants: bool = False):
    """Parse JSON text into marked values; raise SpecError naming file:line:col on any problem.
    With `constants`, NaN and Infinity (which Python's json.dump writes) are read as Scalars for the
    caller to judge; otherwise they are errors."""
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        comma = _trailing_comma(text, e)
        if comma is not None:
            where, bracket = comma
            raise SpecError([Diagnostic(_Reader(text, file).mark(where), f"trailing comma before '{bracket}'")]) from None
        raise SpecError([Diagnostic(Mark(file, e.lineno, e.colno), f"malformed JSON: {e.msg}")]) from None
    except RecursionError:
        raise SpecError([Diagnostic(Mark(file, 1, 1), "malformed JSON: nested too deeply")]) from None
    try:
        value, _ = _Reader(text, file, constants).value(0)
    except RecursionError:
        raise SpecError([Diagnostic(Mark(file, 1, 1), "malformed JSON: nested too deeply")]) from None
    return value

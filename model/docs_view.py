"""What every section of the generated rulebook builds on: the rulebook and the docs' inputs,
expressions as formulas (MathML and TeX, model/mathml.py) and text as prose pieces (plain text,
`code`, links to rule ids).

The view model the templates render is built by `docs.Builder`, which is made of the section
classes of docs_*.py; each of them is a `View`, so they all share these helpers and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import ast
from .mathml import Box, Formula, MathRenderer
from .printer import to_text
from .rulebook import Rulebook

if TYPE_CHECKING:
    from .docs import Inputs

# a `code` span, or a word that may be a rule id (S3, N-..., INV-..., ERROR_CODE, derived.or_check)
_ID_RE = re.compile(r"(`[^`]+`)|\b(S\d{1,2}|N-[a-z0-9]+(?:-[a-z0-9]+)*|INV-[a-z0-9]+(?:-[a-z0-9]+)*|"
                    r"[A-Z][A-Z]+(?:_[A-Z]+)+|[a-z][a-z0-9]*(?:[_.][a-z0-9]+)+)\b")


@dataclass
class Piece:
    """A run of prose: the templates escape text, set code in monospace and link refs."""
    kind: str  # text | code | ref
    text: str


class View:
    """The rulebook being rendered, the docs' inputs and the helpers every section uses."""

    # filled by Builder.build before any section reads them (sections read each other's indexes)
    proof_index: dict[str, list[dict]]  # proof results by invariant id
    vec_by_rule: dict[str, list[str]]  # vector case ids by rule id

    def __init__(self, rb: Rulebook, inputs: Inputs):
        self.rb = rb
        self.inputs = inputs
        self.symbols = {d.name: d.symbol for d in rb.derived if d.symbol}
        self.ids = rb.rule_ids()
        self.math = MathRenderer(self.symbols)

    def f(self, e: ast.Expr | None, value_symbol: str | None = None, stacked: bool = True) -> Formula | None:
        """An expression as a formula (None stays None: an optional part of a rule)."""
        if e is None:
            return None
        return Formula.of(MathRenderer(self.symbols, value_symbol).formula(e, stacked=stacked), to_text(e))

    def fbox(self, b: Box, source: str = "") -> Formula:
        return Formula.of(b, source)

    def assign(self, name: str, e: ast.Expr, sign: str = ":=", stacked: bool = False) -> Formula:
        """`name sign e` (an effect, a let, a definition) as one formula."""
        return Formula.of(self.math.definition(name, e, sign, stacked), f"{name} {sign} {to_text(e)}")

    def prose(self, text: str) -> list[Piece]:
        """Text split into plain text, `code` and references to rule ids (linked by the templates)."""
        out: list[Piece] = []
        pos = 0
        for m in _ID_RE.finditer(text):
            if m.group(1):
                inner = m.group(1)[1:-1]
                piece = Piece("ref", inner) if inner in self.ids else Piece("code", inner)
            else:
                word = m.group(2)
                if word not in self.ids:
                    continue
                piece = Piece("ref", word)
            if m.start() > pos:
                out.append(Piece("text", text[pos:m.start()]))
            out.append(piece)
            pos = m.end()
        if pos < len(text):
            out.append(Piece("text", text[pos:]))
        return out

    def unit_text(self, type_name: str, nullable: bool = False) -> str:
        return type_name + (" or null" if nullable else "")

"""The expression AST rendered as mathematics: MathML for the HTML rulebook, LaTeX for Markdown.

One walk turns the AST into a small layout tree (identifiers, numbers, operators, fractions,
sub/superscripts, fences, cases); two short serializers write that tree as MathML (Core, which
Chromium and Firefox render natively, no JavaScript) or as LaTeX (for `$…$` on code-hosting sites).

Conventions (the docs print them as a legend):
- `a / b` is a fraction, `a * b` is `a × b`;
- `round(x, s, up)` is ⌈x⌉ₛ, `round(x, s, down)` is ⌊x⌋ₛ (the multiple of s above / below x), and
  `round(x, s, half_away)` is roundₛ(x) (the nearest multiple of s, halves away from zero);
- `if c then a else b` is a brace of cases;
- a name is shown by the `symbol` the rulebook gives it (base_quantity → N), else upright as written;
- `tier(n).f` is f with subscript tier(n), `tier.f` is f_k (the tier being tried),
  `first_tier.f` is f₁ and `last_tier.f` is f with subscript "last".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import Mapping, Sequence

from . import ast
from .printer import PREC, precedence, to_text

__all__ = ["Formula", "MathRenderer", "to_latex", "to_mathml", "symbol_box"]


# --------------------------------------------------------------------------- the layout tree
@dataclass(frozen=True)
class Box:
    pass


@dataclass(frozen=True)
class Ident(Box):
    text: str


@dataclass(frozen=True)
class Number(Box):
    text: str


@dataclass(frozen=True)
class Op(Box):
    text: str  # the Unicode operator; the LaTeX writer maps it to a command


@dataclass(frozen=True)
class Word(Box):
    """Running text inside a formula ("if", "otherwise", "long")."""

    text: str


@dataclass(frozen=True)
class Literal(Box):
    """A literal value shown as text: an enumeration value ("long"), null, true, false, "last"."""

    text: str


@dataclass(frozen=True)
class FuncName(Box):
    text: str  # min, max, round: upright operator names


@dataclass(frozen=True)
class Row(Box):
    items: tuple[Box, ...]


@dataclass(frozen=True)
class Frac(Box):
    num: Box
    den: Box


@dataclass(frozen=True)
class Sub(Box):
    base: Box
    sub: Box


@dataclass(frozen=True)
class Sup(Box):
    base: Box
    sup: Box


@dataclass(frozen=True)
class Fence(Box):
    open: str
    close: str
    body: Box


@dataclass(frozen=True)
class Stack(Box):
    """Lines set one under the other, left-aligned (a definition and its "where" clause)."""

    rows: tuple[Box, ...]


@dataclass(frozen=True)
class Cases(Box):
    rows: tuple[tuple[Box, Box | None], ...]  # (value, condition); None = "otherwise"


def row(*items: Box) -> Row:
    flat: list[Box] = []
    for it in items:
        if isinstance(it, Row):
            flat.extend(it.items)
        else:
            flat.append(it)
    return Row(tuple(flat))


# --------------------------------------------------------------------------- symbols
_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "lambda": "λ", "mu": "μ",
          "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "Delta": "Δ", "Sigma": "Σ", "Pi": "Π"}
_SYMBOL_RE = re.compile(r"^(\\?[A-Za-z]+)(?:\^(\{[^}]*\}|[^_{}]))?(?:_(\{[^}]*\}|[^\^{}]))?$")


def _script(text: str) -> Box:
    text = text[1:-1] if text.startswith("{") and text.endswith("}") else text
    if text == "*":
        return Op("∗")
    if text.isdigit():
        return Number(text)
    return Ident(text)


def symbol_box(symbol: str) -> Box:
    """A rulebook `symbol` ("N", "L^*", "\\mu_k") as a box; anything else is shown as written."""
    m = _SYMBOL_RE.match(symbol.strip())
    if not m:
        return Ident(symbol)
    base_text = m.group(1)
    if base_text.startswith("\\"):
        base_text = _GREEK.get(base_text[1:], base_text[1:])
    box: Box = Ident(base_text)
    if m.group(3):
        box = Sub(box, _script(m.group(3)))
    if m.group(2):
        box = Sup(box, _script(m.group(2)))
    return box


# --------------------------------------------------------------------------- the walk
_PREC = {"if": 0, "or": 1, "and": 2, "not": 3, "cmp": 4, "add": 5, "mul": 6, "neg": 7, "atom": 9}
_CMP = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
_ROUND_FENCES = {"up": ("⌈", "⌉"), "down": ("⌊", "⌋")}


def _prec(e: ast.Expr) -> int:
    """The printer's precedence, except that a fraction bar groups its operands like an atom."""
    if isinstance(e, ast.Binary) and e.op == "/":
        return _PREC["atom"]
    p = precedence(e)
    return _PREC["atom"] if p == PREC["atom"] else p


class MathRenderer:
    """Turns expressions into boxes. `symbols` maps rulebook names to their symbol; `value_symbol`
    is how `value` (the candidate inside solve_tier) is shown, normally the symbol being defined."""

    def __init__(self, symbols: Mapping[str, str] | None = None, value_symbol: str | None = None):
        self.symbols = dict(symbols or {})
        self.value_symbol = value_symbol
        self._tier_alias: ast.Expr | None = None  # the notional whose tier is written k

    # -- names -----------------------------------------------------------------------------
    def name(self, name: str) -> Box:
        if name == "value" and self.value_symbol:
            return symbol_box(self.value_symbol)
        if name in self.symbols:
            return symbol_box(self.symbols[name])
        for prefix, sub in (("tier.", Ident("k")), ("next_tier.", row(Ident("k"), Op("+"), Number("1"))),
                            ("first_tier.", Number("1")), ("last_tier.", Literal("last"))):
            if name.startswith(prefix):
                return Sub(Ident(name[len(prefix):]), sub)
        return Ident(name)

    # -- expressions -----------------------------------------------------------------------
    def box(self, e: ast.Expr) -> Box:
        if isinstance(e, ast.Num):
            if e.value < 0:
                return row(Op("−"), Number(e.text.lstrip("-")))
            return Number(e.text)
        if isinstance(e, ast.Str):
            return Literal(e.value)
        if isinstance(e, ast.Null):
            return Literal("null")
        if isinstance(e, ast.Bool):
            return Literal("true" if e.value else "false")
        if isinstance(e, ast.Name):
            return self.name(e.name)
        if isinstance(e, ast.Unary):
            if e.op == "not":
                return row(Word("not"), self.wrap(e.operand, _PREC["not"]))
            return row(Op("−"), self.wrap(e.operand, _PREC["neg"] + 1))
        if isinstance(e, ast.Binary):
            if e.op == "/":
                return Frac(self.box(e.left), self.box(e.right))
            p = _PREC["add"] if e.op in "+-" else _PREC["mul"]
            # the right operand of − (and a negative right operand of anything) needs parentheses
            right_min = p + 1 if e.op == "-" else p
            right = self.box(e.right)
            if _prec(e.right) < right_min or _prec(e.right) == _PREC["neg"]:
                right = self.paren(right)
            op = {"+": "+", "-": "−", "*": "×"}[e.op]
            return row(self.wrap(e.left, p), Op(op), right)
        if isinstance(e, ast.Compare):
            return row(self.wrap(e.left, _PREC["cmp"] + 1), Op(_CMP[e.op]), self.wrap(e.right, _PREC["cmp"] + 1))
        if isinstance(e, ast.Logic):
            # "a or (b and c)": parentheses the precedence does not need, but a reader does
            p = _PREC["and"] + 1 if e.op == "or" else _PREC[e.op]
            return row(self.wrap(e.left, p), Word(e.op), self.wrap(e.right, max(p, _PREC[e.op] + 1)))
        if isinstance(e, ast.If):
            rows: list[tuple[Box, Box | None]] = []
            cur: ast.Expr = e
            while isinstance(cur, ast.If):
                rows.append((self.box(cur.then), self.box(cur.cond)))
                cur = cur.otherwise
            rows.append((self.box(cur), None))
            return Cases(tuple(rows))
        if isinstance(e, ast.Call):
            if e.func == "abs":
                return Fence("|", "|", self.box(e.args[0]))
            if e.func == "multiple_of":
                return row(self.wrap(e.args[0], _PREC["cmp"] + 1), Word("is a multiple of"),
                           self.wrap(e.args[1], _PREC["cmp"] + 1))
            return row(FuncName(e.func), self.paren(self.commas(e.args)))
        if isinstance(e, ast.Round):
            if e.direction in _ROUND_FENCES:
                o, c = _ROUND_FENCES[e.direction]
                return Sub(Fence(o, c, self.box(e.value)), self.box(e.step))
            return row(Sub(FuncName("round"), self.box(e.step)), self.paren(self.box(e.value)))
        if isinstance(e, ast.TierField):
            if self._tier_alias is not None and e.notional == self._tier_alias:
                return Sub(Ident(e.field), Ident("k"))
            return Sub(Ident(e.field), self.tier_of(e.notional))
        if isinstance(e, ast.SolveTier):
            return row(self.box(e.value), Op(","), Word("where"), Ident("k"), Word("is the first tier with"),
                       self.box(e.cond), Word("(else the last tier)"))
        raise TypeError(f"no math for {type(e).__name__}")  # pragma: no cover

    def tier_of(self, notional: ast.Expr) -> Box:
        return row(Ident("tier"), self.paren(self.box(notional)))

    # -- whole formulas --------------------------------------------------------------------
    @staticmethod
    def tier_alias(e: ast.Expr) -> ast.Expr | None:
        """The notional of every tier(…) lookup in `e` when there is exactly one (and `e` does not
        already use k for the tier being tried): the formula then writes f_k, where k = tier(n)."""
        nodes = list(ast.walk(e))
        if any(isinstance(n, ast.SolveTier) or isinstance(n, ast.Name) and n.name.startswith(("tier.", "next_tier."))
               for n in nodes):
            return None
        notionals = {n.notional for n in nodes if isinstance(n, ast.TierField)}
        return next(iter(notionals)) if len(notionals) == 1 else None

    def formula(self, e: ast.Expr, lhs: str | None = None, sign: str = "=", stacked: bool = False) -> Box:
        """A whole formula, optionally `lhs sign e`. A repeated tier lookup is written once as
        "where k = tier(n)"; a top-level solve_tier puts its tier condition in the same clause. With
        `stacked` the clause goes on a line of its own (display formulas)."""
        alias = self.tier_alias(e)
        self._tier_alias = alias
        try:
            if isinstance(e, ast.SolveTier):
                main = self.box(e.value)
                clause: Box | None = row(Word("where"), Ident("k"), Word("is the first tier with"), self.box(e.cond),
                                         Word("(else the last tier)"))
            else:
                main = self.lines(e) if stacked and lhs is None else self.box(e)
                clause = row(Word("where"), Ident("k"), Op("="), self.tier_of(alias)) if alias is not None else None
        finally:
            self._tier_alias = None
        head = row(self.name(lhs), Op(sign), main) if lhs is not None else main
        if clause is None:
            return head
        if not stacked:
            return row(head, Op(","), clause)
        return Stack((head.rows if isinstance(head, Stack) else (head,)) + (clause,))

    LINE = 64  # a display formula whose text is longer is broken at its top-level and/or or comparison

    def lines(self, e: ast.Expr) -> Box:
        """`e` broken into lines at its top-level and/or chain or comparison when its text is long;
        long operands and the values of cases are broken the same way."""
        if len(to_text(e)) <= self.LINE:
            return self.box(e)
        if isinstance(e, ast.Logic):
            operands: list[ast.Expr] = []
            cur: ast.Expr = e
            while isinstance(cur, ast.Logic) and cur.op == e.op:
                operands.insert(0, cur.right)
                cur = cur.left
            operands.insert(0, cur)
            p = _PREC["and"] + 1 if e.op == "or" else _PREC[e.op] + 1
            rows = [self.line_operand(operands[0], p)]
            rows += [row(Word(e.op), self.line_operand(x, p)) for x in operands[1:]]
            return Stack(tuple(rows))
        if isinstance(e, ast.Compare):
            return Stack((self.line_operand(e.left, _PREC["cmp"] + 1),
                          row(Op(_CMP[e.op]), self.line_operand(e.right, _PREC["cmp"] + 1))))
        if isinstance(e, ast.If):
            rows: list[tuple[Box, Box | None]] = []
            cur = e
            while isinstance(cur, ast.If):
                rows.append((self.lines(cur.then), self.box(cur.cond)))
                cur = cur.otherwise
            rows.append((self.lines(cur), None))
            return Cases(tuple(rows))
        return self.box(e)

    def line_operand(self, e: ast.Expr, min_prec: int) -> Box:
        if len(to_text(e)) <= self.LINE or not isinstance(e, (ast.Logic, ast.Compare, ast.If)):
            return self.wrap(e, min_prec)
        b = self.lines(e)
        return self.paren(b) if _prec(e) < min_prec else b

    def wrap(self, e: ast.Expr, min_prec: int) -> Box:
        b = self.box(e)
        return self.paren(b) if _prec(e) < min_prec else b

    @staticmethod
    def paren(b: Box) -> Box:
        return Fence("(", ")", b)

    def commas(self, args: Sequence[ast.Expr]) -> Box:
        items: list[Box] = []
        for i, a in enumerate(args):
            if i:
                items.append(Op(","))
            items.append(self.box(a))
        return row(*items)

    # -- statements the docs show ----------------------------------------------------------
    def definition(self, lhs: str, e: ast.Expr, sign: str = "=", stacked: bool = True) -> Box:
        """`lhs = e` (sign "=") or an assignment `lhs := e` (sign ":=")."""
        return self.formula(e, lhs, sign, stacked)

    def names(self, names: Sequence[str]) -> Box:
        return row(*[self.name(n) for n in names])


# --------------------------------------------------------------------------- LaTeX
_TEX_OPS = {"×": r"\times", "−": "-", "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "∗": r"\ast", ":=": r"\mathrel{:=}",
            "<": "<", ">": ">", "=": "=", "+": "+", ",": ",\\,"}
_TEX_FENCES = {"(": ("(", ")"), "|": (r"\lvert", r"\rvert"), "⌈": (r"\lceil", r"\rceil"),
               "⌊": (r"\lfloor", r"\rfloor")}
_TEX_SPECIAL = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
                "{": r"\{", "}": r"\}", "^": r"\hat{}", "~": r"\sim{}"}
_TEX_FUNCS = {"min": r"\min", "max": r"\max"}


def _tex_escape(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in text).replace("…", r"\ldots{}")


def _tex_text(text: str) -> str:
    return r"\text{" + "".join(_TEX_SPECIAL.get(ch, ch) for ch in text) + "}"


def latex(b: Box) -> str:
    if isinstance(b, Ident):
        inv = {v: k for k, v in _GREEK.items()}
        if b.text in inv:
            return "\\" + inv[b.text]
        if len(b.text) == 1:
            return b.text
        return r"\mathrm{" + _tex_escape(b.text) + "}"
    if isinstance(b, Number):
        return b.text.replace("…", r"\ldots")
    if isinstance(b, Op):
        return _TEX_OPS.get(b.text, b.text)
    if isinstance(b, Word):
        return r"\ " + _tex_text(b.text) + r"\ "
    if isinstance(b, Literal):
        return _tex_text(b.text)
    if isinstance(b, FuncName):
        return _TEX_FUNCS.get(b.text, r"\operatorname{" + _tex_escape(b.text) + "}")
    if isinstance(b, Row):
        out = ""
        for it in b.items:
            s = latex(it)
            if out and out[-1].isalpha() and s[:1].isalnum():
                out += " "
            out += s
        return out.replace(r"\ \ ", r"\ ").removeprefix(r"\ ").removesuffix(r"\ ").strip()
    if isinstance(b, Frac):
        return r"\frac{" + latex(b.num) + "}{" + latex(b.den) + "}"
    if isinstance(b, Sub):
        return _tex_base(b.base) + "_{" + latex(b.sub) + "}"
    if isinstance(b, Sup):
        return _tex_base(b.base) + "^{" + latex(b.sup) + "}"
    if isinstance(b, Fence):
        o, c = _TEX_FENCES[b.open]
        return r"\left" + o + " " + latex(b.body) + r" \right" + c
    if isinstance(b, Stack):
        return r"\begin{array}{l} " + r" \\ ".join(latex(r) for r in b.rows) + r" \end{array}"
    if isinstance(b, Cases):
        lines = []
        for value, cond in b.rows:
            right = _tex_text("if ") + " " + latex(cond) if cond is not None else _tex_text("otherwise")
            lines.append(latex(value).strip() + " & " + right.strip())
        return r"\begin{cases} " + r" \\ ".join(lines) + r" \end{cases}"
    raise TypeError(type(b).__name__)  # pragma: no cover


def _tex_base(b: Box) -> str:
    s = latex(b)
    return "{" + s + "}" if isinstance(b, (Row, Sub, Sup)) else s


# --------------------------------------------------------------------------- MathML
def mathml(b: Box) -> str:
    if isinstance(b, Ident):
        return f"<mi>{escape(b.text)}</mi>"
    if isinstance(b, Number):
        return f"<mn>{escape(b.text)}</mn>"
    if isinstance(b, Op):
        if b.text == ",":
            return '<mo separator="true">,</mo>'
        return f"<mo>{escape(b.text)}</mo>"
    if isinstance(b, Word):
        return f'<mspace width="0.3em"></mspace><mtext>{escape(b.text)}</mtext><mspace width="0.3em"></mspace>'
    if isinstance(b, Literal):
        return f"<mtext>{escape(b.text)}</mtext>"
    if isinstance(b, FuncName):
        return f'<mi mathvariant="normal">{escape(b.text)}</mi>' if len(b.text) == 1 else f"<mi>{escape(b.text)}</mi>"
    if isinstance(b, Row):
        return "<mrow>" + "".join(mathml(it) for it in b.items) + "</mrow>"
    if isinstance(b, Frac):
        return f"<mfrac>{_mml_arg(b.num)}{_mml_arg(b.den)}</mfrac>"
    if isinstance(b, Sub):
        return f"<msub>{_mml_arg(b.base)}{_mml_arg(b.sub)}</msub>"
    if isinstance(b, Sup):
        return f"<msup>{_mml_arg(b.base)}{_mml_arg(b.sup)}</msup>"
    if isinstance(b, Fence):
        close = {"(": ")", "|": "|", "⌈": "⌉", "⌊": "⌋"}[b.open]
        return (f'<mrow><mo fence="true" stretchy="true">{escape(b.open)}</mo>{mathml(b.body)}'
                f'<mo fence="true" stretchy="true">{escape(close)}</mo></mrow>')
    if isinstance(b, Stack):
        return ('<mtable class="stack">' + "".join(f'<mtr><mtd>{mathml(r)}</mtd></mtr>' for r in b.rows)
                + "</mtable>")
    if isinstance(b, Cases):
        trs = []
        for value, cond in b.rows:
            right = (f"<mtext>if</mtext><mspace width=\"0.4em\"></mspace>{mathml(cond)}" if cond is not None
                     else "<mtext>otherwise</mtext>")
            right = '<mspace width="1em"></mspace>' + right
            trs.append(f'<mtr><mtd class="case-value">{mathml(value)}</mtd>'
                       f'<mtd class="case-cond"><mrow>{right}</mrow></mtd></mtr>')
        return ('<mrow><mo fence="true" stretchy="true">{</mo><mtable class="cases">' + "".join(trs)
                + "</mtable></mrow>")
    raise TypeError(type(b).__name__)  # pragma: no cover


def _mml_arg(b: Box) -> str:
    """A child of mfrac/msub/msup must be one element."""
    s = mathml(b)
    return s if not isinstance(b, Word) else f"<mrow>{s}</mrow>"


def math_element(b: Box, display: bool = False, alttext: str | None = None) -> str:
    attrs = ' display="block"' if display else ""
    if alttext:
        attrs += f' alttext="{escape(alttext, quote=True)}"'
    return f"<math{attrs}>{mathml(b)}</math>"


# --------------------------------------------------------------------------- convenience
@dataclass(frozen=True)
class Formula:
    """One formula in both notations: `tex` (no dollars) and `mml` (inline `<math>`); `mml_block`
    is the display form, `source` the rulebook text it came from."""

    tex: str
    mml: str
    mml_block: str
    source: str

    @classmethod
    def of(cls, b: Box, source: str = "") -> "Formula":
        return cls(latex(b).strip(), math_element(b, False, source or None), math_element(b, True, source or None),
                   source)


def to_latex(e: ast.Expr, symbols: Mapping[str, str] | None = None, value_symbol: str | None = None) -> str:
    """`e` as LaTeX (without the dollars)."""
    return latex(MathRenderer(symbols, value_symbol).formula(e)).strip()


def to_mathml(e: ast.Expr, symbols: Mapping[str, str] | None = None, display: bool = False,
              value_symbol: str | None = None) -> str:
    """`e` as a `<math>` element; its alttext is the rulebook's own text of the expression."""
    return math_element(MathRenderer(symbols, value_symbol).formula(e, stacked=display), display, to_text(e))

"""The parser of the rulebook's expression language (our own; nothing is ever eval'd).

    expr    := 'if' expr 'then' expr 'else' expr | or
    or      := and ('or' and)*          and := not ('and' not)*
    not     := 'not' not | compare      compare := sum (('=='|'!='|'<'|'<='|'>'|'>=') sum)?
    sum     := term (('+'|'-') term)*   term := unary (('*'|'/') unary)*
    unary   := '-' unary | primary
    primary := NUMBER | 'STRING' | null | true | false | NAME | NAME '(' args ')' ['.' NAME] | '(' expr ')'

Limits, so that no expression can exhaust the stack of the parser or of the backends that walk
the tree (type checker, interpreter, Z3, docs): brackets, calls, `if`, `not` and unary minus nest
at most MAX_NESTING levels; the tree is at most MAX_DEPTH operations deep (a sum of more terms
than that is refused: group its terms in parentheses or name parts as derived values); a number
has at most MAX_DIGITS digits.
"""

from __future__ import annotations

import re
import sys
from fractions import Fraction

from . import ast
from .diagnostics import did_you_mean

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>[0-9]+(?:\.[0-9]+)?)
  | (?P<str>'[^']*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|==|!=|[-+*/()<>,.])
""", re.VERBOSE)

KEYWORDS = {"if", "then", "else", "and", "or", "not", "null", "true", "false"}

MAX_NESTING = 200
MAX_DEPTH = 64
MAX_DIGITS = 100
_FRAMES_PER_LEVEL = 12  # the most Python frames one nesting level takes in this parser


class ParseError(Exception):
    def __init__(self, message: str, pos: int):
        super().__init__(message)
        self.message = message
        self.pos = pos


def tokenize(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ParseError(f"unexpected character {text[pos]!r}", pos)
        kind = m.lastgroup
        if kind == "num" and len(m.group()) > MAX_DIGITS and sum(c.isdigit() for c in m.group()) > MAX_DIGITS:
            raise ParseError(f"a number with more than {MAX_DIGITS} digits (the limit)", pos)
        if kind != "ws":
            value = m.group()
            if kind == "name" and value in KEYWORDS:
                kind = "kw"
            out.append((kind, value, pos))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.level = 0

    def enter(self, pos: int) -> None:
        self.level += 1
        if self.level > MAX_NESTING:
            raise ParseError(f"nesting deeper than {MAX_NESTING} levels (brackets, calls, 'if', 'not', "
                             "unary minus); the limit", pos)

    def leave(self) -> None:
        self.level -= 1

    def peek(self):
        return self.toks[self.i]

    def next(self):
        t = self.toks[self.i]
        self.i += 1
        return t

    def accept(self, value: str):
        if self.peek()[1] == value and self.peek()[0] in ("op", "kw"):
            return self.next()
        return None

    def expect(self, value: str, what: str):
        t = self.peek()
        if t[1] == value and t[0] in ("op", "kw"):
            return self.next()
        found = "the end" if t[0] == "end" else repr(t[1])
        raise ParseError(f"expected {what} but found {found}", t[2])

    def parse(self) -> ast.Expr:
        e = self.expr()
        t = self.peek()
        if t[0] != "end":
            raise ParseError(f"unexpected {t[1]!r} after a complete expression", t[2])
        return e

    def expr(self) -> ast.Expr:
        t = self.peek()
        self.enter(t[2])
        try:
            if t[0] == "kw" and t[1] == "if":
                self.next()
                cond = self.expr()
                self.expect("then", "'then'")
                then = self.expr()
                self.expect("else", "'else' (every 'if' needs one)")
                return ast.If(cond, then, self.expr(), pos=t[2])
            return self.or_()
        finally:
            self.leave()

    def or_(self):
        e = self.and_()
        while (t := self.accept("or")):
            e = ast.Logic("or", e, self.and_(), pos=t[2])
        return e

    def and_(self):
        e = self.not_()
        while (t := self.accept("and")):
            e = ast.Logic("and", e, self.not_(), pos=t[2])
        return e

    def not_(self):
        if (t := self.accept("not")):
            self.enter(t[2])
            try:
                return ast.Unary("not", self.not_(), pos=t[2])
            finally:
                self.leave()
        return self.compare()

    def compare(self):
        e = self.sum()
        t = self.peek()
        if t[0] == "op" and t[1] in ("==", "!=", "<", "<=", ">", ">="):
            self.next()
            e = ast.Compare(t[1], e, self.sum(), pos=t[2])
            t2 = self.peek()
            if t2[0] == "op" and t2[1] in ("==", "!=", "<", "<=", ">", ">="):
                raise ParseError("comparisons do not chain: write 'a < b and b < c'", t2[2])
        return e

    def sum(self):
        e = self.term()
        while self.peek()[0] == "op" and self.peek()[1] in ("+", "-"):
            t = self.next()
            e = ast.Binary(t[1], e, self.term(), pos=t[2])
        return e

    def term(self):
        e = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/"):
            t = self.next()
            e = ast.Binary(t[1], e, self.unary(), pos=t[2])
        return e

    def unary(self):
        if (t := self.accept("-")):
            self.enter(t[2])
            try:
                operand = self.unary()
            finally:
                self.leave()
            if isinstance(operand, ast.Num):
                return ast.Num(-operand.value, "-" + operand.text, pos=t[2])
            return ast.Unary("-", operand, pos=t[2])
        return self.primary()

    def args(self) -> list[ast.Expr]:
        out = []
        if self.accept(")"):
            return out
        while True:
            out.append(self.expr())
            if self.accept(")"):
                return out
            self.expect(",", "',' or ')'")

    def primary(self):
        kind, value, pos = self.next()
        if kind == "num":
            return ast.Num(Fraction(value), value, pos=pos)
        if kind == "str":
            return ast.Str(value[1:-1], pos=pos)
        if kind == "kw" and value == "null":
            return ast.Null(pos=pos)
        if kind == "kw" and value in ("true", "false"):
            return ast.Bool(value == "true", pos=pos)
        if kind == "op" and value == "(":
            e = self.expr()
            self.expect(")", "')'")
            return e
        if kind == "name":
            if self.peek()[1] == "(" and self.peek()[0] == "op":
                self.next()
                return self.call(value, pos)
            return ast.Name(value, pos=pos)
        found = "the end of the expression" if kind == "end" else repr(value)
        raise ParseError(f"expected a value but found {found}", pos)

    def call(self, func: str, pos: int) -> ast.Expr:
        if func not in ast.FUNCTIONS:
            raise ParseError(f"unknown function '{func}'{did_you_mean(func, ast.FUNCTIONS)}", pos)
        if func == "round":
            value = self.expr()
            self.expect(",", "',' after the value to round")
            step = self.expr()
            self.expect(",", "',' and a rounding direction (up, down or half_away)")
            kind, direction, dpos = self.next()
            if direction not in ast.ROUND_DIRECTIONS:
                raise ParseError(f"unknown rounding direction '{direction}'"
                                 f"{did_you_mean(direction, ast.ROUND_DIRECTIONS)}; use up, down or half_away", dpos)
            self.expect(")", "')'")
            return ast.Round(value, step, direction, pos=pos)
        args = self.args()
        arity = {"abs": 1, "multiple_of": 2, "tier": 1, "solve_tier": 2}.get(func)
        if arity is not None and len(args) != arity:
            raise ParseError(f"{func}() takes {arity} argument{'s' if arity > 1 else ''}, got {len(args)}", pos)
        if func in ("min", "max") and len(args) < 2:
            raise ParseError(f"{func}() takes at least 2 arguments", pos)
        if func == "tier":
            self.expect(".", "'.' and a tier field after tier(...)")
            kind, fld, fpos = self.next()
            if kind != "name":
                raise ParseError("expected a tier field name after 'tier(...).'", fpos)
            return ast.TierField(args[0], fld, pos=pos)
        if func == "solve_tier":
            return ast.SolveTier(args[0], args[1], pos=pos)
        return ast.Call(func, tuple(args), pos=pos)


def tree_depth(e: ast.Expr) -> int:
    """How many operations deep the tree is (a leaf is 1), computed without recursion."""
    best, stack = 0, [(e, 1)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in node.children())
    return best


def parse(text: str) -> ast.Expr:
    """Parse one expression; raise ParseError(message, offset) when it is malformed or past a limit."""
    need = _stack_depth() + MAX_NESTING * _FRAMES_PER_LEVEL + 100
    old = sys.getrecursionlimit()
    if need > old:  # pure-Python frames: a higher limit costs heap, not C stack
        sys.setrecursionlimit(need)
    try:
        e = _Parser(text).parse()
    finally:
        if need > old:
            sys.setrecursionlimit(old)
    depth = tree_depth(e)
    if depth > MAX_DEPTH:
        raise ParseError(f"the expression is {depth} operations deep; the limit is {MAX_DEPTH} (group the "
                         "terms of a long sum in parentheses, or name parts as derived values)", 0)
    return e


def _stack_depth() -> int:
    f, n = sys._getframe(), 0
    while f is not None:
        n += 1
        f = f.f_back
    return n

"""Every construct of the expression language and every parse error, table-driven: the tree each
text parses to, and the exact message and offset of each malformed text."""

from __future__ import annotations

from fractions import Fraction

import pytest

from marginspec import ast
from marginspec.parser import ParseError, parse, tokenize

a, b, c = ast.Name("a"), ast.Name("b"), ast.Name("c")


def num(text: str) -> ast.Num:
    return ast.Num(Fraction(text), text)


CONSTRUCTS = [
    ("42", num("42")),
    ("0.005", num("0.005")),
    ("-3", ast.Num(Fraction(-3), "-3")),
    ("--3", ast.Num(Fraction(3), "--3")),
    ("'long'", ast.Str("long")),
    ("''", ast.Str("")),
    ("null", ast.Null()),
    ("true", ast.Bool(True)),
    ("false", ast.Bool(False)),
    ("a", a),
    ("first_tier.max_leverage", ast.Name("first_tier.max_leverage")),
    ("-a", ast.Unary("-", a)),
    ("- -a", ast.Unary("-", ast.Unary("-", a))),
    ("not a", ast.Unary("not", a)),
    ("not not a", ast.Unary("not", ast.Unary("not", a))),
    ("a + b", ast.Binary("+", a, b)),
    ("a - b", ast.Binary("-", a, b)),
    ("a * b", ast.Binary("*", a, b)),
    ("a / b", ast.Binary("/", a, b)),
    ("a - b - c", ast.Binary("-", ast.Binary("-", a, b), c)),
    ("a / b / c", ast.Binary("/", ast.Binary("/", a, b), c)),
    ("a + b * c", ast.Binary("+", a, ast.Binary("*", b, c))),
    ("a * b + c", ast.Binary("+", ast.Binary("*", a, b), c)),
    ("(a + b) * c", ast.Binary("*", ast.Binary("+", a, b), c)),
    ("-a * b", ast.Binary("*", ast.Unary("-", a), b)),
    ("a == b", ast.Compare("==", a, b)),
    ("a != b", ast.Compare("!=", a, b)),
    ("a < b", ast.Compare("<", a, b)),
    ("a <= b", ast.Compare("<=", a, b)),
    ("a > b", ast.Compare(">", a, b)),
    ("a >= b", ast.Compare(">=", a, b)),
    ("a + 1 <= b * 2", ast.Compare("<=", ast.Binary("+", a, num("1")), ast.Binary("*", b, num("2")))),
    ("a == null", ast.Compare("==", a, ast.Null())),
    ("a and b", ast.Logic("and", a, b)),
    ("a or b", ast.Logic("or", a, b)),
    ("a or b or c", ast.Logic("or", ast.Logic("or", a, b), c)),
    ("a and b and c", ast.Logic("and", ast.Logic("and", a, b), c)),
    ("a or b and c", ast.Logic("or", a, ast.Logic("and", b, c))),
    ("not a and b", ast.Logic("and", ast.Unary("not", a), b)),
    ("not a < b", ast.Unary("not", ast.Compare("<", a, b))),
    ("if a then b else c", ast.If(a, b, c)),
    ("if a then b else if b then c else a", ast.If(a, b, ast.If(b, c, a))),
    ("if if a then b else c then a else b", ast.If(ast.If(a, b, c), a, b)),
    ("abs(a)", ast.Call("abs", (a,))),
    ("min(a, b)", ast.Call("min", (a, b))),
    ("max(a, b, c)", ast.Call("max", (a, b, c))),
    ("multiple_of(a, 0.01)", ast.Call("multiple_of", (a, num("0.01")))),
    ("round(a, 0.1, up)", ast.Round(a, num("0.1"), "up")),
    ("round(a, b, down)", ast.Round(a, b, "down")),
    ("round(a + b, 0.01, half_away)", ast.Round(ast.Binary("+", a, b), num("0.01"), "half_away")),
    ("tier(a).max_notional", ast.TierField(a, "max_notional")),
    ("tier(a * b).maintenance_amount", ast.TierField(ast.Binary("*", a, b), "maintenance_amount")),
    ("solve_tier(a, value <= b)", ast.SolveTier(a, ast.Compare("<=", ast.Name("value"), b))),
    ("(((a)))", a),
]


@pytest.mark.parametrize("text,tree", CONSTRUCTS, ids=[t for t, _ in CONSTRUCTS])
def test_construct(text, tree):
    assert parse(text) == tree


ERRORS = [
    # text, message, offset
    ("a # b", "unexpected character '#'", 2),
    ("a $", "unexpected character '$'", 2),
    ("a b", "unexpected 'b' after a complete expression", 2),
    ("a + b c", "unexpected 'c' after a complete expression", 6),
    ("(a) (b)", "unexpected '(' after a complete expression", 4),
    ("a)", "unexpected ')' after a complete expression", 1),
    ("a then b", "unexpected 'then' after a complete expression", 2),
    ("", "expected a value but found the end of the expression", 0),
    ("a +", "expected a value but found the end of the expression", 3),
    ("a * )", "expected a value but found ')'", 4),
    ("()", "expected a value but found ')'", 1),
    ("then", "expected a value but found 'then'", 0),
    ("a < b < c", "comparisons do not chain: write 'a < b and b < c'", 6),
    ("a == b != c", "comparisons do not chain: write 'a < b and b < c'", 7),
    ("a >= b > c", "comparisons do not chain: write 'a < b and b < c'", 7),
    ("a < b == c", "comparisons do not chain: write 'a < b and b < c'", 6),
    ("a < b <= c", "comparisons do not chain: write 'a < b and b < c'", 6),
    ("a != b >= c", "comparisons do not chain: write 'a < b and b < c'", 7),
    ("a > b != c", "comparisons do not chain: write 'a < b and b < c'", 6),
    ("if a b", "expected 'then' but found 'b'", 5),
    ("if a else b then c", "expected 'then' but found 'else'", 5),
    ("if a then b", "expected 'else' (every 'if' needs one) but found the end", 11),
    ("if a then b then c", "expected 'else' (every 'if' needs one) but found 'then'", 12),
    ("if a then b or c", "expected 'else' (every 'if' needs one) but found the end", 16),
    ("(a", "expected ')' but found the end", 2),
    ("(a b)", "expected ')' but found 'b'", 3),
    ("(a else)", "expected ')' but found 'else'", 3),
    ("min(a b)", "expected ',' or ')' but found 'b'", 6),
    ("min(a,", "expected a value but found the end of the expression", 6),
    ("max(a, b", "expected ',' or ')' but found the end", 8),
    ("rnd(a)", "unknown function 'rnd' (did you mean 'round'?)", 0),
    ("foo(a)", "unknown function 'foo'", 0),
    ("x + sqrt(a)", "unknown function 'sqrt'", 4),
    ("round(a)", "expected ',' after the value to round but found ')'", 7),
    ("round(a, 0.1)", "expected ',' and a rounding direction (up, down or half_away) but found ')'", 12),
    ("round(a, 0.1, dwn)", "unknown rounding direction 'dwn' (did you mean 'down'?); use up, down or half_away", 14),
    ("round(a, 0.1, sideways)", "unknown rounding direction 'sideways'; use up, down or half_away", 14),
    ("round(a, 0.1, up", "expected ')' but found the end", 16),
    ("round(a, 0.1, up, b)", "expected ')' but found ','", 16),
    ("abs()", "abs() takes 1 argument, got 0", 0),
    ("abs(a, b)", "abs() takes 1 argument, got 2", 0),
    ("multiple_of(a)", "multiple_of() takes 2 arguments, got 1", 0),
    ("multiple_of(a, b, c)", "multiple_of() takes 2 arguments, got 3", 0),
    ("tier()", "tier() takes 1 argument, got 0", 0),
    ("tier(a, b).max_notional", "tier() takes 1 argument, got 2", 0),
    ("solve_tier(a)", "solve_tier() takes 2 arguments, got 1", 0),
    ("solve_tier(a, b, c)", "solve_tier() takes 2 arguments, got 3", 0),
    ("min(a)", "min() takes at least 2 arguments", 0),
    ("max()", "max() takes at least 2 arguments", 0),
    ("1 + max(a)", "max() takes at least 2 arguments", 4),
    ("tier(a)", "expected '.' and a tier field after tier(...) but found the end", 7),
    ("tier(a) + b", "expected '.' and a tier field after tier(...) but found '+'", 8),
    ("tier(a).1", "expected a tier field name after 'tier(...).'", 8),
    ("tier(a).", "expected a tier field name after 'tier(...).'", 8),
]


@pytest.mark.parametrize("text,message,offset", ERRORS, ids=[t for t, _, _ in ERRORS])
def test_parse_error(text, message, offset):
    with pytest.raises(ParseError) as ei:
        parse(text)
    assert (ei.value.message, ei.value.pos) == (message, offset)
    assert str(ei.value) == message


def test_tokens_kinds_and_offsets():
    assert tokenize("if a1.b <= 'x' then -0.5") == [
        ("kw", "if", 0), ("name", "a1.b", 3), ("op", "<=", 8), ("str", "'x'", 11), ("kw", "then", 15),
        ("op", "-", 20), ("num", "0.5", 21), ("end", "", 24)]
    assert [k for k, _, _ in tokenize("and or not null true false x")] == ["kw"] * 6 + ["name", "end"]
    assert [v for _, v, _ in tokenize("a>=b!=c==d<e>f(g,h).i*j/k+l-m")][:-1] == [
        "a", ">=", "b", "!=", "c", "==", "d", "<", "e", ">", "f", "(", "g", ",", "h", ")", ".", "i", "*", "j", "/",
        "k", "+", "l", "-", "m"]


def test_positions_of_nodes():
    e = parse("a + (if b then -c else d)")
    assert e.pos == 2 and e.right.pos == 5 and e.right.then.pos == 15
    assert parse("x <= y").pos == 2 and parse("x or y").pos == 2 and parse("x and y").pos == 2
    assert parse("not x").pos == 0 and parse("  abs(x)").pos == 2 and parse("tier(x).f").pos == 0
    assert parse(" 'q'").pos == 1 and parse(" null").pos == 1 and parse("  true").pos == 2 and parse(" 7").pos == 1
    assert parse("round(x, 1, up)").pos == 0 and parse(" solve_tier(x, y)").pos == 1 and parse("-7").pos == 0


NESTING = "nesting deeper than 200 levels (brackets, calls, 'if', 'not', unary minus); the limit"

LIMITS = [  # text, None (parses) or (offset, message): each limit exactly at and one past it
    ("(" * 199 + "1" + ")" * 199, None), ("(" * 200 + "1" + ")" * 200, (200, NESTING)),
    ("-" * 199 + "1", None), ("-" * 200 + "1", (199, NESTING)),
    ("not " * 200 + "true", (796, NESTING)), ("abs(" * 200 + "1" + ")" * 200, (800, NESTING)),
    ("if true then " * 200 + "1" + " else 1" * 200, (2590, NESTING)),
    (" + ".join(["1"] * 64), None),
    (" + ".join(["1"] * 65), (0, "the expression is 65 operations deep; the limit is 64 (group the terms of a long "
                                 "sum in parentheses, or name parts as derived values)")),
    (" + ".join(["((((1))))"] * 60), None),  # levels are left again: 240 brackets in all, never 5 deep
    ("1" * 100, None), ("1" * 101, (0, "a number with more than 100 digits (the limit)")),
    ("1" * 50 + "." + "1" * 50, None), ("1" * 50 + "." + "1" * 51, (0, "a number with more than 100 digits (the limit)")),
    ("x + " + "2" * 101, (4, "a number with more than 100 digits (the limit)")),
]


@pytest.mark.parametrize("text, error", LIMITS, ids=[f"{t[:12]}..{len(t)}" for t, _ in LIMITS])
def test_parser_limits(text, error):
    """The parser's limits (nesting, tree depth, digits), each exactly at and one past it, with the
    offset and message; a 101-digit integer is refused (it passed: the point's allowance applied
    to integers too)."""
    if error is None:
        parse(text)
        return
    with pytest.raises(ParseError) as ei:
        parse(text)
    assert (ei.value.pos, ei.value.message) == error

"""The math renderer: one walk of the AST, written as MathML and as LaTeX."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from marginspec import ast
from marginspec.mathml import MathRenderer, latex, math_element, to_latex, to_mathml
from marginspec.parser import parse
from marginspec.rulebook import load_rulebook

SYMBOLS = {"base_quantity": "N", "direction": "d", "liquidation_root": "L^*"}


def tex(text: str, **kw) -> str:
    return to_latex(parse(text), SYMBOLS, **kw)


def mml(text: str) -> str:
    return to_mathml(parse(text), SYMBOLS)


def test_division_is_a_fraction_and_product_a_times():
    assert tex("notional / isolated_margin") == r"\frac{\mathrm{notional}}{\mathrm{isolated\_margin}}"
    assert "<mfrac><mi>notional</mi><mi>isolated_margin</mi></mfrac>" in mml("notional / isolated_margin")
    assert tex("size * contract_multiplier") == r"\mathrm{size}\times\mathrm{contract\_multiplier}"
    assert "<mo>×</mo>" in mml("size * contract_multiplier")


def test_rounding_to_a_step():
    assert tex("round(x, tick_size, up)") == r"\left\lceil x \right\rceil_{\mathrm{tick\_size}}"
    assert tex("round(x, tick_size, down)") == r"\left\lfloor x \right\rfloor_{\mathrm{tick\_size}}"
    assert tex("round(x, 0.01, half_away)") == r"\operatorname{round}_{0.01}\left( x \right)"
    m = mml("round(x, tick_size, up)")
    assert "<msub>" in m and "⌈" in m and "⌉" in m


def test_if_then_else_is_cases():
    t = tex("if side == 'long' then 1 else -1")
    assert t == r"\begin{cases} 1 & \text{if } \mathrm{side}=\text{long} \\ -1 & \text{otherwise} \end{cases}"
    m = mml("if a > 0 then 1 else if b > 0 then 2 else 3")
    assert m.count("<mtr>") == 3 and "otherwise" in m


def test_symbols_of_the_rulebook_and_upright_names():
    assert tex("base_quantity * mark_price") == r"N\times\mathrm{mark\_price}"
    assert "<msup><mi>L</mi><mo>∗</mo></msup>" in mml("liquidation_root")
    assert "<mi>mark_price</mi>" in mml("mark_price")


def test_parentheses_follow_precedence():
    assert tex("a - (b - c)") == r"a-\left( b-c \right)"
    assert tex("(a + b) * c") == r"\left( a+b \right)\times c"
    assert tex("a + b * c") == r"a+b\times c"
    assert tex("a * -b") == r"a\times\left( -b \right)"
    assert tex("a or b and c") == r"a\ \text{or}\ \left( b\ \text{and}\ c \right)"


def test_tier_lookups():
    # a single tier lookup is written once: f_k, where k = tier(n)
    t = tex("notional * tier(notional).maintenance_margin_rate - tier(notional).maintenance_amount")
    assert r"\mathrm{maintenance\_margin\_rate}_{k}" in t and r"k=\mathrm{tier}\left( \mathrm{notional} \right)" in t
    assert tex("first_tier.max_leverage") == r"\mathrm{max\_leverage}_{1}"
    assert tex("last_tier.max_notional") == r"\mathrm{max\_notional}_{\text{last}}"
    assert tex("tier.max_notional < next_tier.max_notional") == r"\mathrm{max\_notional}_{k}<\mathrm{max\_notional}_{k+1}"


def _all_expressions(rb):
    from marginspec.parser import ParseError
    for d in rb.derived:
        yield d.name, d.expr
    for a in rb.actions.values():
        for n, e in a.lets:
            yield f"{a.name}.{n}", e
        for c in a.checks:
            yield c.id, c.require
        for x in a.args:
            if x.valid is not None:
                yield f"{a.name}.{x.name}", x.valid
        for eff in a.effects:
            for n, e in eff.assignments:
                yield f"{a.name}:{n}", e
    for n, e in rb.liquidation.lets:
        yield f"liquidation.{n}", e
    for inv in rb.invariants:
        for k, v in inv.extra.items():
            if isinstance(v, str):
                try:
                    yield f"{inv.id}.{k}", parse(v)
                except ParseError:
                    pass


@pytest.mark.parametrize("display", [False, True])
def test_every_rulebook_expression_renders_in_both_notations(display):
    rb = load_rulebook()
    symbols = {d.name: d.symbol for d in rb.derived if d.symbol}
    n = 0
    for where, e in _all_expressions(rb):
        r = MathRenderer(symbols)
        box = r.formula(e, stacked=display)
        ET.fromstring(math_element(box, display, "alt"))  # well-formed MathML
        t = latex(box)
        depth = 0
        for ch in t.replace(r"\{", "").replace(r"\}", ""):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0, (where, t)
        assert depth == 0, (where, t)
        assert t.count(r"\left") == t.count(r"\right"), (where, t)
        n += 1
    assert n > 50


def test_the_walk_is_shared():
    """Both notations come from one layout tree: the same box gives both."""
    e = parse("if liquidation_root <= 0 then null else round(liquidation_root, tick_size, up)")
    box = MathRenderer(SYMBOLS).formula(e)
    assert latex(box) == to_latex(e, SYMBOLS)
    assert math_element(box, False, None) in to_mathml(e, SYMBOLS).replace(
        ' alttext="if liquidation_root &lt;= 0 then null else round(liquidation_root, tick_size, up)"', "")
    assert isinstance(e, ast.If)

"""The backend's C-API fast paths build the very terms Z3's Python operators build: the queries (and
so every answer and the SMT-LIB text) stay the same."""

from __future__ import annotations

import operator

import pytest
import z3

from marginspec.z3terms import arith

OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "<": operator.lt,
       "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}
TERMS = [z3.Real("x"), z3.Real("y") * 2, z3.RealVal(0), z3.RealVal("1/3"), z3.Int("i"), z3.IntVal(2),
         z3.ToReal(z3.Int("j"))]


@pytest.mark.parametrize("op", sorted(OPS))
def test_arith_is_the_python_operator(op):
    for a in TERMS:
        for b in TERMS:
            want = OPS[op](a, b)  # a numeral on the right of a comparison is asked first (reflected)
            got = arith(op, a, b)
            assert got.get_id() == want.get_id(), (op, a, b, got, want)
            assert got.sort() == want.sort()

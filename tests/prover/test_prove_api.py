"""The Z3 backend's solving API (used by the prover and by the vector generator)."""

from __future__ import annotations

import z3

from marginspec.prover import Prover, exit_code, load_formal, Names
from marginspec.rulebook import load_rulebook
from marginspec.z3backend import EXACT, RELAXED, Backend, canonical_core, check, nlsat_check, satisfiable

x, y = z3.Reals("x y")


def test_check_statuses_and_cores():
    r = check(x > 0, [("x big", x > 5), ("y small", y < 1)])
    assert r.status == "proved" and r.core == ["x big"]
    r = check(x > 10, [("x big", x > 5)])
    assert r.status == "violated" and r.model.eval(x, model_completion=True) is not None
    r = check(x > 0, [("a", x > 5), ("b", x < 1)])
    assert r.status == "vacuous" and r.core == ["a", "b"]
    assert satisfiable(x * x == 2, [("pos", x > 0)]).status == "sat"
    assert satisfiable(x * x == -1).status == "unsat"


def test_nlsat_and_minimal_core():
    assert nlsat_check(x * y > 0, [("x", x > 0), ("y", y > 0), ("z", x < 100)]).status == "proved"
    core, complete = canonical_core(x * y > 0, [("x", x > 0), ("y", y > 0), ("z", x < 100)])
    assert core == ["x", "y"] and complete


def test_a_time_out_is_unknown():
    a, b, c = z3.Ints("a b c")
    fermat = z3.Not(z3.And(a > 0, b > 0, c > 0, a * a * a + b * b * b == c * c * c))
    r = check(fermat, [], timeout=0.05)
    assert r.status == "unknown" and r.core == []


def test_exit_codes():
    class R:
        def __init__(self, s):
            self.status = s
    assert exit_code([R("PROVED")]) == 0
    assert exit_code([R("PROVED"), R("VACUOUS")]) == 1
    assert exit_code([R("UNKNOWN"), R("PROVED")]) == 2
    assert exit_code([R("ERROR"), R("VIOLATED")]) == 1


def test_formal_content_is_typed():
    rb = load_rulebook()
    names = Names(rb)
    by = {i.id: i for i in rb.invariants}
    f = load_formal(rb, by["INV-conservation"], names)
    assert f.kind == "transition" and set(f.actions) == set(rb.actions)
    assert "funding" in f.defines("apply_funding") and f.defines("close_position")["realised"]
    assert load_formal(rb, by["INV-liq-beyond"], names).forall[0][:1] == ("p",)
    assert load_formal(rb, by["INV-balance-moves"], names).actions == ("set_mark_price", "set_margin_mode",
                                                                        "apply_funding", "query")


def test_prover_api_one_obligation():
    rb = load_rulebook()
    p = Prover(rb, timeout=10)
    ob = next(o for o in p.obligations() if o.id == "INV-leverage-cap/set_leverage")
    r = p.run(ob)
    assert r.status == "PROVED" and r.invariants == ["INV-leverage-cap"] and r.scope == "every-contract"
    assert any(a.startswith("check:set_leverage") for a in r.assumptions)
    # the same obligation per contract profile (--per-contract): proved with that profile's values
    p1 = Prover(rb, timeout=10, per_contract=True)
    ob1 = next(o for o in p1.obligations() if o.id == "INV-leverage-cap/set_leverage/BTCUSDT")
    r1 = p1.run(ob1)
    assert r1.status == "PROVED" and r1.scope == "contract:BTCUSDT" and "contract:BTCUSDT" in r1.assumptions


def test_backend_modes_share_the_api():
    rb = load_rulebook()
    for mode in (EXACT, RELAXED):
        be = Backend(rb, mode)
        c = be.concrete_contract("ETHUSDT")
        st = be.symbolic_state("t.", side="short")
        run = be.run_action("reduce_margin", c, st, be.symbolic_args("reduce_margin", "a."))
        assert [ch.id for ch in run.checks] == ["reduce_margin.position", "reduce_margin.coverage",
                                                "reduce_margin.max_leverage"]
        assert [e[1] for e in run.errors] == ["NO_POSITION", "INSUFFICIENT_COVERAGE", "LEVERAGE_TOO_HIGH"]
        assert set(run.post) == {f.name for f in rb.state}

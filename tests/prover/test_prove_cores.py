"""Unsat cores of the every-contract obligations (issue 11 item 6): minimal (each name in a core is
needed: without it the claim is refuted), naming the effects and derived rules a proof used, and
the same whether computed or read from the core cache."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
import z3

from marginspec import core_cache
from marginspec.nlsat_core import nlsat_proof
from marginspec.prover import Prover
from marginspec.rulebook import load_rulebook
from marginspec.solving import NOT_MINIMAL, _nlsat, minimise_from

RB = load_rulebook()


@pytest.fixture(scope="module")
def prover():
    return Prover(RB, timeout=60)


def _run(p: Prover, oid: str):
    ob = next(o for o in p.obligations() if o.id == oid)
    return ob, p.run(ob)


def _refuted_without(p: Prover, ob, label: str, core: list[str]) -> dict[str, str]:
    """For the case's own query: nlsat's answer with the core alone, and with the core less each name."""
    gr, facts = p.relaxed_goal(ob, label)
    by: dict[str, list] = {}
    for n, a in gr.assumptions:
        by.setdefault(n, []).append(a)
    assert set(core) <= set(by), sorted(set(core) - set(by))

    def ask(names):
        hard = list(facts) + [a for n in names for a in by[n]] + [z3.Not(gr.goal)]
        return str(_nlsat(hard, 60, 50_000_000)[0])

    out = {"(core)": ask(core)}
    for n in core:
        out[n] = ask([x for x in core if x != n])
    return out


@pytest.mark.parametrize("oid, effects", [
    ("INV-loss-cap/reduce_margin", {"effect:reduce_margin.available_balance"}),
    ("INV-covered/set_leverage", {"effect:set_leverage.isolated_margin", "rule:equity", "rule:maintenance_margin"}),
    ("INV-conservation/close_position", {"effect:close_position.available_balance",
                                         "effect:close_position.insurance_fund"}),
])
def test_a_core_is_minimal_and_names_the_updates_and_rules_it_uses(prover, oid, effects):
    """Every name of each case's core is needed (the claim is refuted without it) and the core alone
    proves it; the balance the loss cap is about is named as the effect it rests on, coverage names
    the definitions of equity and maintenance margin."""
    ob, r = _run(prover, oid)
    assert r.status == "PROVED" and r.scope == "every-contract"
    assert effects <= set(r.assumptions), r.assumptions
    for case in r.cases:
        assert case.reason == "", (case.label, case.reason)  # said minimal
        answers = _refuted_without(prover, ob, case.label, case.assumptions)
        assert answers.pop("(core)") == "unsat", case.label
        assert answers and set(answers.values()) == {"sat"}, (case.label, answers)


def test_a_check_or_update_that_cannot_matter_is_never_named(prover):
    """add_margin never changes the margin mode: the mode lock needs nothing of it (neither its checks
    nor its updates), and the isolation frame only that the two symbols differ."""
    _, r = _run(prover, "INV-mode-lock/add_margin")
    assert r.status == "PROVED" and r.assumptions == []
    _, r = _run(prover, "INV-isolation-frame/add_margin")
    assert r.status == "PROVED" and r.assumptions == ["distinct symbols"]
    _, r = _run(prover, "INV-loss-cap/apply_funding")  # funding never touches the available balance
    assert r.status == "PROVED" and not any(a.startswith("effect:") for a in r.assumptions)


def test_minimise_from_is_canonical_whatever_core_it_starts_from():
    """Deletion in sorted order over every name: x*y > 1 follows from {b, c} and from {b, e}; the
    canonical core drops c (the claim follows without it, from b and e) whichever sufficient core
    the solver returned first, and asks only about names of the cores it meets."""
    x, y = z3.Reals("x y")
    named = {"a:x>1": x > 1, "b:y>1": y > 1, "c:x>2": x > 2, "d:x*y>0": x * y > 0, "e:x>3": x > 3}
    asked: list[list[str]] = []

    def ask(names, rlimit):
        asked.append(list(names))
        r, _, _ = _nlsat([named[n] for n in names] + [z3.Not(x * y > 1)], 10, rlimit)
        return r, list(names)  # untracked: no core

    for start in (["b:y>1", "c:x>2"], ["b:y>1", "e:x>3"], sorted(named)):
        asked.clear()
        assert minimise_from(ask, sorted(named), start, 1_000_000) == (["b:y>1", "e:x>3"], True), start
        assert all(len(a) < len(named) for a in asked)
    asked.clear()
    assert minimise_from(ask, sorted(named), ["b:y>1", "e:x>3"], 1_000_000) == (["b:y>1", "e:x>3"], True)
    assert len(asked) == 2  # only b and e were asked about

    def undecided(names, rlimit):
        return z3.unknown, list(names)

    assert minimise_from(undecided, sorted(named), ["b:y>1", "c:x>2"], 1) == (["b:y>1", "c:x>2"], False)


def test_nlsat_proof_core_is_minimal_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("MARGINSPEC_CACHE_DIR", str(tmp_path))
    x, y, z = z3.Reals("x y z")
    asm = [("x", x > 0), ("y", y > 0), ("z", z < 100), ("zz", z > -1)]
    first = nlsat_proof(x * y > 0, asm)
    assert first.status == "proved" and first.core == ["x", "y"] and first.reason == ""
    entries = list(tmp_path.rglob("*.json"))
    assert len(entries) == 1
    entry = json.loads(entries[0].read_text())
    assert entry["core"] == ["x", "y"] and sorted(entry["witnesses"]) == ["x", "y"]
    # each witness refutes the claim without its name: x <= 0 with y > 0, and y <= 0 with x > 0
    wx, wy = entry["witnesses"]["x"], entry["witnesses"]["y"]
    assert Fraction(wx.get("x", "R:0")[2:]) <= 0 < Fraction(wx["y"][2:])
    assert Fraction(wy.get("y", "R:0")[2:]) <= 0 < Fraction(wy["x"][2:])
    again = nlsat_proof(x * y > 0, asm)  # from the cache: the same answer
    assert (again.status, again.core, again.reason) == ("proved", ["x", "y"], "")
    # an entry whose core does not prove the claim (stale, or another query's) is ignored and replaced
    entries[0].write_text(json.dumps({"core": ["z"], "witnesses": {"z": {"x": "R:-1"}}}))
    third = nlsat_proof(x * y > 0, asm)
    assert (third.status, third.core, third.reason) == ("proved", ["x", "y"], "")
    assert json.loads(entries[0].read_text()) == entry
    # so is one whose witness does not refute the claim: the core is not taken on trust
    entries[0].write_text(json.dumps({"core": ["x", "y", "z"], "witnesses": {**entry["witnesses"], "z": {}}}))
    assert nlsat_proof(x * y > 0, asm).core == ["x", "y"]
    assert json.loads(entries[0].read_text()) == entry
    # a refuted claim is never proved from a cached core
    assert nlsat_proof(x * y > 1, asm).status == "violated"


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("MARGINSPEC_CACHE_DIR", "off")
    assert core_cache.directory() is None
    x, y = z3.Reals("x y")
    r = nlsat_proof(x * y > 0, [("x", x > 0), ("y", y > 0)])
    assert r.status == "proved" and r.core == ["x", "y"]
    monkeypatch.setenv("MARGINSPEC_CACHE_DIR", str(tmp_path / "c"))
    assert core_cache.directory() == tmp_path / "c"


def test_a_core_not_confirmed_minimal_says_so_and_is_not_cached(tmp_path, monkeypatch):
    """When the tracked first attempt is cut by its work limit, the default solver's core is the
    start; when that is cut too, the proof is asked untracked: the core is every assumption given,
    the reason says it is not minimised, and nothing is cached."""
    import marginspec.nlsat_core as nc

    monkeypatch.setenv("MARGINSPEC_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(nc, "RL_TRACKED", 1)
    x, y, z = z3.Reals("x y z")
    asm = [("x", x > 0), ("y", y > 0), ("z", z < 100)]
    r = nc.nlsat_proof(x * y > 0, asm)
    assert (r.status, r.core, r.reason) == ("proved", ["x", "y"], "")
    monkeypatch.setenv("MARGINSPEC_CACHE_DIR", "off")
    monkeypatch.setattr(nc, "RL_DEFAULT", 1)
    r = nc.nlsat_proof(x * y > 0, asm)
    assert (r.status, r.core, r.reason) == ("proved", ["x", "y", "z"], NOT_MINIMAL)
    assert len(list(tmp_path.rglob("*.json"))) == 1  # the first one only


def test_a_deletion_attempt_cut_in_a_used_context_is_asked_again_in_a_new_one(monkeypatch):
    """Earlier attempts in a query's context can lead nlsat astray (the shipped INV-add-moves-away
    case that came out "not minimised" until this retry): an attempt cut there is asked once more
    in a new context, whose answer stands; an attempt cut in a new context is not asked again."""
    import marginspec.nlsat_core as nc

    x, y = z3.Reals("x y")
    q = nc.NlsatQuery([z3.Not(x * y > 0)], [("x", x > 0), ("y", y > 0)], 60)
    contexts, answers = [], iter([z3.unsat, z3.unknown, z3.unsat, z3.unknown, z3.unknown, z3.unknown])
    real_check = nc.NlsatQuery.check

    def scripted(self, names, rlimit, track):
        real_check(self, names, rlimit, track)  # the bookkeeping of a real attempt (context, cut)
        contexts.append(self.ctx)
        r = next(answers)
        self.cut = r == z3.unknown
        return r, list(names)

    monkeypatch.setattr(nc.NlsatQuery, "check", scripted)
    q.check(["x", "y"], 1_000_000, track=True)  # the proof: the context is now used
    assert q.decide(["x"], 1_000_000)[0] == z3.unsat  # cut (unknown), then asked anew: unsat
    assert contexts[1] is contexts[0] and contexts[2] is not contexts[0]
    assert q.decide(["y"], 1_000_000)[0] == z3.unknown  # cut in the (used) new context, and again
    assert len(contexts) == 5 and contexts[4] is not contexts[3] is contexts[2]
    assert q.decide(["x", "y"], 1_000_000)[0] == z3.unknown  # cut in a context no attempt has used
    assert len(contexts) == 6


def test_a_core_a_work_limit_left_unconfirmed_is_stored_for_that_solver_and_those_limits(tmp_path, monkeypatch):
    """A deletion cut by its work limit gives every assumption, "not minimised"; the outcome is
    stored under Z3's version and the limits (they count Z3's work, so the same solver is cut
    again), and a later run proves the claim from every assumption without the deletion. Another
    Z3 version computes it anew."""
    import marginspec.nlsat_core as nc

    monkeypatch.setenv("MARGINSPEC_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(nc, "RL_DELETE", 1)  # every deletion attempt cut
    x, y, z = z3.Reals("x y z")
    asm = [("x", x > 0), ("y", y > 0), ("z", z < 100)]
    first = nc.nlsat_proof(x * y > 0, asm)
    assert (first.status, first.core, first.reason) == ("proved", ["x", "y", "z"], NOT_MINIMAL)
    stored = [json.loads(p.read_text()) for p in tmp_path.rglob("*.json")]
    assert stored == [{"core": ["x", "y", "z"], "witnesses": {}}]
    calls = []
    monkeypatch.setattr(nc, "minimise_from", lambda *a, **k: calls.append(a) or (["x", "y"], True))
    again = nc.nlsat_proof(x * y > 0, asm)
    assert (again.status, again.core, again.reason, calls) == ("proved", ["x", "y", "z"], NOT_MINIMAL, [])
    assert nc.nlsat_proof(x * y > 1, asm).status == "violated"  # another claim: another query
    monkeypatch.setattr(nc.z3, "get_version_string", lambda: "0.0.0")
    other = nc.nlsat_proof(x * y > 0, asm)
    assert (other.core, other.reason, len(calls)) == (["x", "y"], "", 1)  # computed (here: scripted)


def test_a_per_contract_core_is_stored_for_that_solver_and_those_limits(tmp_path, monkeypatch):
    """`canonical_core` (families, then names, with the default solver and nlsat) stores a complete
    result under Z3's version and the limits; a later call asks one query, the proof from the
    stored core; a stored core that does not prove the claim is ignored."""
    from marginspec import solving
    from marginspec.solving import canonical_core

    monkeypatch.setenv("MARGINSPEC_CACHE_DIR", str(tmp_path))
    x, y = z3.Reals("x y")
    assumptions = [("a:x>1", x > 1), ("b:y>1", y > 1), ("c:x>2", x > 2), ("d:x*y>0", x * y > 0)]
    asked = []
    real = solving._Tracked.check
    monkeypatch.setattr(solving._Tracked, "check", lambda self, names, rlimit=None: asked.append(list(names))
                        or real(self, names, rlimit))
    assert canonical_core(x > 0, assumptions) == (["c:x>2"], True)
    computed = len(asked)
    assert computed == 2  # without a: proved (its core c lets b and d go unasked); without c: refuted
    assert canonical_core(x > 0, assumptions) == (["c:x>2"], True)
    assert asked[computed:] == [["c:x>2"]]
    (entry,) = tmp_path.rglob("*.json")
    entry.write_text(json.dumps({"core": ["b:y>1"], "witnesses": {}}))  # does not prove x > 0
    assert canonical_core(x > 0, assumptions) == (["c:x>2"], True)
    assert json.loads(entry.read_text())["core"] == ["c:x>2"]

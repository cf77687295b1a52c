"""Certificates of minimal cores (certificates.py) and the shipped ones (core_cache.py): a stored
core is used only when its witnesses hold against the query being proved, so the store can make a
run faster but never change what it reports."""

from __future__ import annotations

import json

import pytest
import z3

from marginspec import core_cache
from marginspec.certificates import certificate, certifies, satisfies, witness_of
from marginspec.nlsat_core import nlsat_proof


def _model(*constraints, ctx=None):
    s = z3.Solver(ctx=ctx)
    s.add(*constraints)
    assert s.check() == z3.sat
    return s.model()


def test_a_witness_is_the_models_exact_values_and_holds_only_where_the_model_does():
    ctx = z3.Context()
    x, y, i, b, lit = z3.Real("s.*.x", ctx), z3.Real("y", ctx), z3.Int("i", ctx), z3.Bool("b", ctx), z3.Bool("@a", ctx)
    constraints = [3 * y == -7, i == -4, b, lit, x == 0]
    w = witness_of(_model(*constraints, ctx=ctx))
    # exact text; zero and false are Z3's defaults and left out; a tracking literal is not a value
    assert w == {"b": "B:true", "i": "I:-4", "y": "R:-7/3"}
    assert satisfies(ctx, [3 * y == -7, i < -3, b, x == 0], w)
    assert not satisfies(ctx, [y > -2], w)
    assert not satisfies(ctx, [z3.Not(b)], w)
    assert not satisfies(ctx, [y == 0], {"y": "R:1/0"}) and not satisfies(ctx, [y == 0], {"y": "X:0"})
    assert not satisfies(ctx, [i == 0], {"i": "I:1/2"})


def test_a_witness_keeps_the_division_by_zero_table_it_needs():
    ctx = z3.Context()
    x = z3.Real("x", ctx)
    terms = [x == 0, 1 / x > 5, 3 / x < 1]  # true only by Z3's choice of x/0
    w = witness_of(_model(*terms, ctx=ctx))
    assert "/0" in w and satisfies(ctx, terms, w)
    assert not satisfies(ctx, terms, {k: v for k, v in w.items() if k != "/0"})


def test_an_irrational_model_gives_no_witness():
    ctx = z3.Context()
    x = z3.Real("x", ctx)
    assert witness_of(_model(x * x == 2, x > 0, ctx=ctx)) is None


def _query(ctx):
    x = z3.Real("x", ctx)
    names = ["a", "b"]
    term_of = {"a": x > 1, "b": x > 2}
    return [z3.Not(x > 0)], term_of, names, x  # claim x > 0 from a: x > 1 and b: x > 2


def test_a_canonical_core_is_checked_as_deletion_in_sorted_order_gives_it():
    """Deletion in sorted order drops a (b alone proves the claim) and keeps b: the canonical core
    is [b]. [a] is minimal too, and its witness (x = -1) shows a is needed on its own, but not as
    deletion asked (without a and with b, which already proves the claim): it is not the core a
    computation gives, so it is not certified as canonical."""
    ctx = z3.Context()
    hard, term_of, names, _ = _query(ctx)
    assert certifies(ctx, hard, term_of, names, ["b"], {"b": {"x": "R:-1"}}, canonical=True)
    assert not certifies(ctx, hard, term_of, names, ["a"], {"a": {"x": "R:-1"}}, canonical=True)
    assert certifies(ctx, hard, term_of, names, ["a"], {"a": {"x": "R:-1"}}, canonical=False)  # minimal
    assert not certifies(ctx, hard, term_of, names, ["b"], {"b": {"x": "R:5"}}, canonical=True)  # x = 5 proves it
    assert not certifies(ctx, hard, term_of, names, ["b"], {}, canonical=True)  # no witness
    assert not certifies(ctx, hard, term_of, names, ["c"], {"c": {}}, canonical=True)  # not an assumption


def test_a_stored_certificate_leaves_out_a_division_table_it_does_not_need():
    ctx = z3.Context()
    hard, term_of, names, _ = _query(ctx)
    w = {"x": "R:-1", "/0": "0.0"}
    assert certificate(ctx, hard, term_of, names, ["b"], {"b": w}, canonical=True) == {"b": {"x": "R:-1"}}
    assert certificate(ctx, hard, term_of, names, ["b"], {"b": {"x": "R:3"}}, canonical=True) is None


def test_the_shipped_certificates_are_used_after_the_users_store(tmp_path, monkeypatch):
    """An entry found only among the shipped certificates is checked like any other and used (not
    copied: a run that finds every core there writes nothing); a shipped entry that does not hold is
    ignored; MARGINSPEC_SHIPPED_CORES=off skips them, and with the store off neither is read."""
    x, y, z = z3.Reals("x y z")
    asm = [("x", x > 0), ("y", y > 0), ("z", z < 100)]
    monkeypatch.setenv("MARGINSPEC_CACHE_DIR", str(tmp_path / "made"))
    assert nlsat_proof(x * y > 0, asm).core == ["x", "y"]
    shipped = tmp_path / "shipped.json"
    assert core_cache.pack(tmp_path / "made", shipped) == 1
    text = shipped.read_text()
    assert core_cache.pack(tmp_path / "made", tmp_path / "again.json") == 1
    assert (tmp_path / "again.json").read_text() == text  # packing is deterministic
    packed = json.loads(text)
    assert packed.pop("z3") == z3.get_version_string()
    (key, entry), = packed.items()
    monkeypatch.setattr(core_cache, "SHIPPED", shipped)
    monkeypatch.setattr(core_cache, "_shipped", None)
    monkeypatch.setenv("MARGINSPEC_CACHE_DIR", str(tmp_path / "user"))
    calls = []
    monkeypatch.setattr("marginspec.nlsat_core.minimise_from", lambda *a, **k: calls.append(a) or (["x", "y"], True))
    r = nlsat_proof(x * y > 0, asm)
    assert (r.status, r.core, r.reason, calls) == ("proved", ["x", "y"], "", [])  # not computed
    assert not (tmp_path / "user").exists()
    monkeypatch.setenv("MARGINSPEC_SHIPPED_CORES", "off")
    assert core_cache.get(key) is None
    monkeypatch.delenv("MARGINSPEC_SHIPPED_CORES")
    assert core_cache.get(key) == (entry["core"], entry["witnesses"])
    # a shipped entry whose witness does not hold is not used
    bad = {key: {"core": ["x", "y"], "witnesses": {"x": {"x": "R:1", "y": "R:1"}, "y": entry["witnesses"]["y"]}}}
    shipped.write_text(json.dumps(bad))
    monkeypatch.setattr(core_cache, "_shipped", None)
    nlsat_proof(x * y > 0, asm)
    assert len(calls) == 1
    monkeypatch.setenv("MARGINSPEC_CACHE_DIR", "off")
    monkeypatch.setattr(core_cache, "_shipped", None)
    assert core_cache.get(key) is None


SAME_Z3 = pytest.mark.skipif(core_cache.shipped_z3() != z3.get_version_string(),
                             reason="the shipped certificates' version-keyed entries are for another Z3")


@SAME_Z3
def test_the_shipped_certificates_are_up_to_date(shipped_store):
    """The full run of the shipped rulebook (tests/prover/conftest.py), from an empty store,
    computed no core: every one came from the shipped certificates (a computed one would be in its
    store). When this fails, the rulebook or the prover changed what it asks: refresh them (README,
    "For rulebook authors")."""
    assert len(json.loads(core_cache.SHIPPED.read_text(encoding="utf-8"))) > 200
    computed = sorted(p.stem for p in shipped_store.rglob("*.json"))
    assert computed == [], f"{len(computed)} cores computed, not shipped"


@SAME_Z3
def test_a_report_from_the_shipped_certificates_is_the_report_computing_every_core_gives(tmp_path):
    """The same bytes with every core computed (the store off) and with the shipped certificates
    (an empty user store): every-contract obligations with several names per core, one within the
    default solver's core (a frame), one whose core a work limit leaves unconfirmed."""
    from prover_support import run_prove

    selection = ("--only", "INV-covered/open_position", "--only", "INV-liq-root", "--only", "INV-add-moves-away/*",
                 "--only", "INV-isolation-frame/add_margin", "--jobs", "1")
    outs = []
    out = tmp_path / "report.json"  # rewritten only when more than the timings differ
    for store in ("off", str(tmp_path / "store")):
        code, _, err = run_prove(*selection, "--output", str(out), env={"MARGINSPEC_CACHE_DIR": store})
        assert code == 0, err
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    report = json.loads(outs[0])
    reasons = {c["reason"] for r in report["results"] for c in r["cases"]}
    assert "unsat core not minimised (work limit)" in reasons  # INV-add-moves-away's short mark-basis case
    assert not (tmp_path / "store").exists()  # every core from the shipped certificates


def test_a_stored_division_table_is_one_table_term_never_smt_lib_commands():
    """A witness's `/0` text is parsed by Z3: anything but one table term (commands, a reference to
    the table itself, a division by a variable) is refused, and so is the witness."""
    ctx = z3.Context()
    x = z3.Real("x", ctx)
    terms = [x == 0, 1 / x > 5]
    assert satisfies(ctx, terms, {"/0": "(ite (and (= x!0 1.0) (= x!1 0.0)) 6.0 0.0)"})
    for body in ("0.0))(set-option :smt.random_seed 7)(assert true", "(/0 |x!0| |x!1|)", "(/ x!0 x!1)",
                 '(ite true "a" 6.0)', "(ite true 6.0", ""):
        assert not satisfies(ctx, terms, {"/0": body}), body


def test_a_malformed_store_entry_is_no_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("MARGINSPEC_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("MARGINSPEC_SHIPPED_CORES", "off")
    k = "ab" * 32
    p = tmp_path / core_cache.VERSION / k[:2] / f"{k}.json"
    p.parent.mkdir(parents=True)
    for text in ("[" * 100_000, '{"core": "abc", "witnesses": {}}', '{"core": ["b", "a"], "witnesses": {}}',
                 '{"core": ["a", "a"], "witnesses": {}}', '{"core": ["a"], "witnesses": []}', "{"):
        p.write_text(text)
        assert core_cache.get(k) is None, text[:40]
    p.write_text('{"core": ["a", "b"], "witnesses": {}}')
    assert core_cache.get(k) == (["a", "b"], {})

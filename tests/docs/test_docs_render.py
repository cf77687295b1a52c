"""`marginspec docs`: deterministic, complete (walking the rulebook), sensitive to rulebook changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from marginspec.docs import checkout_root, default_out_dir, md_escape
from marginspec.engine import ReferenceEngine
from marginspec.numbers import format_decimal
from marginspec.rulebook import default_spec_dir, load_rulebook

from tests.docs.docs_support import (anchors, bump_first_tier_rate, copy_spec, generate, md_anchors, run_docs,
                                     tex_leaks)

FILES = ("index.html", "rulebook.md")


@pytest.fixture(scope="module")
def rb():
    return load_rulebook()


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("docs")
    files = generate(out)
    assert sorted(files) == sorted(FILES)
    return {k: v.decode("utf-8") for k, v in files.items()}


# ------------------------------------------------------------------------------ determinism
def test_two_runs_in_fresh_processes_give_the_same_bytes(tmp_path):
    """Two separate processes with different hash seeds (set order differs) write identical files."""
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"run{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        r = subprocess.run([sys.executable, "-m", "marginspec", "docs", "--out", str(out)], env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        outs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert sorted(outs[0]) == sorted(FILES)
    for name in FILES:
        assert outs[0][name] == outs[1][name], f"{name} differs between two runs"


def test_no_timestamps_or_absolute_paths(docs, tmp_path):
    for name, text in docs.items():
        assert str(Path.cwd()) not in text, f"{name} contains the working directory"
        assert str(default_spec_dir()) not in text, f"{name} contains the spec path"
        assert str(tmp_path.parent) not in text


# ------------------------------------------------------------------------------ completeness
def every_id(rb) -> list[str]:
    return sorted(rb.rule_ids())


def test_every_rule_id_is_an_anchor_in_html_and_markdown(rb, docs):
    html_ids = set(anchors(docs["index.html"]).ids)
    md_ids = md_anchors(docs["rulebook.md"])
    missing_html = [i for i in every_id(rb) if i not in html_ids]
    missing_md = [i for i in every_id(rb) if i not in md_ids]
    assert not missing_html, f"no HTML anchor for {missing_html}"
    assert not missing_md, f"no Markdown anchor for {missing_md}"


def test_every_rule_id_appears_as_text_in_markdown(rb, docs):
    md = docs["rulebook.md"]
    missing = [i for i in every_id(rb) if f"`{i}`" not in md]
    assert not missing, f"not shown in rulebook.md: {missing}"


def test_every_action_check_error_invariant_note_and_source_is_shown(rb, docs):
    html, md = docs["index.html"], docs["rulebook.md"]
    for name, a in rb.actions.items():
        assert f'id="{name}"' in html
        for c in a.checks:  # in order, each with its error and message
            assert f'<tr id="{c.id}"' in html
            assert c.message in md and c.message.replace("'", "&#39;") in html, c.id
        positions = [html.index(f'<tr id="{c.id}"') for c in a.checks]
        assert positions == sorted(positions), f"checks of {name} out of order"
    for code, meaning in rb.errors.items():
        assert f'<tr id="{code}"' in html and f"`{code}`" in md
    for inv in rb.invariants:
        assert md_escape(inv.title) in md and f'<article class="rule" id="{inv.id}">' in html
    html_text, md_text = _visible_html(html), _visible_md(md)
    for n in rb.notes:
        assert md_escape(n.title) in md and f'id="{n.id}"' in html
        assert _norm(n.text.replace("`", "")) in html_text and _norm(n.text.replace("`", "")) in md_text, n.id
    for s in rb.sources:
        assert _norm(s.text) in html_text and _norm(s.text) in md_text, s.id
    for d in rb.derived:
        assert f'<article class="rule" id="{d.name}">' in html
        assert _norm(d.description) in html_text and _norm(d.description) in md_text, d.name


def _norm(text: str) -> str:
    return " ".join(text.split())


def _visible_html(html: str) -> str:
    return _norm("".join(anchors(html).text))


def _visible_md(md: str) -> str:
    import re
    md = re.sub(r"\[[`]?([^`\]]+)[`]?\]\(#[^)]+\)", r"\1", md)  # [`id`](#id) -> id
    md = re.sub(r"\\(.)", r"\1", md).replace("`", "")
    return _norm(md)


def test_each_check_lists_its_error_code_in_the_catalogue(rb, docs):
    html = docs["index.html"]
    catalogue = html[html.index('<section id="sec-errors">'):]
    catalogue = catalogue[:catalogue.index("</section>")]
    for c in list(rb.checks()) + list(rb.common_checks):
        row_start = catalogue.index(f'<tr id="{c.error}"')
        row = catalogue[row_start:catalogue.index("</tr>", row_start)]
        assert f'href="#{c.id}"' in row, f"{c.id} not listed under {c.error}"


def test_every_internal_link_resolves_and_ids_are_unique(docs):
    a = anchors(docs["index.html"])
    dupes = sorted({i for i in a.ids if a.ids.count(i) > 1})
    assert not dupes, f"duplicate ids: {dupes}"
    dangling = sorted(set(a.hrefs) - set(a.ids))
    assert not dangling, f"links to nowhere: {dangling}"
    md = docs["rulebook.md"]
    import re
    md_links = set(re.findall(r"\]\(#([^)]+)\)", md))
    dangling_md = sorted(md_links - md_anchors(md))
    assert not dangling_md, f"Markdown links to nowhere: {dangling_md}"


def test_html_is_static_and_self_contained(docs):
    html = docs["index.html"].lower()
    assert "<script" not in html
    for needle in ("http://", "https://", "src=", "@import", "url("):
        assert needle not in html, needle
    assert "@media print" in html and "<nav" in html


def test_formulas_are_mathml_in_html_and_tex_in_markdown(rb, docs):
    html, md = docs["index.html"], docs["rulebook.md"]
    a = anchors(html)
    assert a.math >= len(rb.derived) + sum(len(x.checks) for x in rb.actions.values())
    assert not tex_leaks("".join(a.text)), tex_leaks("".join(a.text))[:5]
    # each <math> element is well-formed XML in the MathML namespace-free form browsers parse
    import re
    for m in re.finditer(r"<math[ >].*?</math>", html, re.S):
        ET.fromstring(m.group(0).replace("&nbsp;", " "))
    assert "<mfrac>" in html and "<msub>" in html and "<mtable" in html
    assert "<math" not in md and r"\frac{" in md and "$$" in md
    # the liquidation price formula: fraction, ceiling/floor to the tick, cases, the symbols of the rulebook
    assert r"\left\lceil L^{\ast} \right\rceil_{\mathrm{tick\_size}}" in md
    assert r"\begin{cases}" in md and r"N\times\mathrm{mark\_price}" in md


def test_worked_case_numbers(docs):
    """The brief's worked case: balance 10000, mark 50000, long 1000, margin 5000."""
    html, md = docs["index.html"], docs["rulebook.md"]
    story = md[md.index('<a id="example-long"></a>'):]
    story = story[:story.index('<a id="example-short-tier2"></a>')]
    for field, value in (("maintenance_margin", "200"), ("liquidation_price", "45180.8"),
                         ("bankruptcy_price", "45000"), ("leverage", "10")):
        row = next(line for line in story.splitlines() if line.startswith(f"| [`{field}`]"))
        assert row.rstrip(" |").endswith(value), row
    assert "45180.8" in html


def test_proof_report_statuses_are_rendered(rb, tmp_path):
    inv = [i.id for i in rb.invariants]
    report = {"results": [
        {"id": inv[0], "kind": "transition", "status": "PROVED", "seconds": 1.234, "assumptions": ["A-tiers", "A-state"],
         "counterexample": None},
        {"id": "obl-x", "kind": "transition", "status": "VIOLATED", "seconds": 0.5, "assumptions": [],
         "counterexample": {"mark_price": "45180.7", "size": "1"}, "invariants": [inv[1]]},
        {"id": "sanity-vacuity", "kind": "sanity", "status": "PROVED", "seconds": 0.01, "assumptions": [],
         "counterexample": None},
    ]}
    out = tmp_path / "out"
    out.mkdir()
    (out / "proof-report.json").write_text(json.dumps(report))
    html = generate(out)["index.html"].decode()
    art0 = html[html.index(f'id="{inv[0]}"'):]
    art0 = art0[:art0.index("</article>")]
    assert 'class="status proved"' in art0 and "A-state" in art0
    assert "1.23" not in html and "0.50 s" not in html  # no timings: the pages are the same on any machine
    art1 = html[html.index(f'id="{inv[1]}"'):]
    art1 = art1[:art1.index("</article>")]
    assert 'class="status violated"' in art1 and "45180.7" in art1
    assert "sanity-vacuity" in html
    art2 = html[html.index(f'id="{inv[2]}"'):]
    assert "not yet proved" in art2[:art2.index("</article>")]


def test_without_a_proof_report_everything_is_not_yet_proved(rb, docs):
    html = docs["index.html"]
    for inv in rb.invariants:
        art = html[html.index(f'<article class="rule" id="{inv.id}">'):]
        assert "not yet proved" in art[:art.index("</article>")]


# ------------------------------------------------------------------------------ rulebook changes
def test_a_tier_rate_change_changes_tables_and_examples(tmp_path):
    empty = tmp_path / "no-vectors"
    empty.mkdir()
    base_spec = copy_spec(tmp_path / "base")
    new_spec = copy_spec(tmp_path / "changed")
    symbol = "BTCUSDT"
    changed = bump_first_tier_rate(new_spec, symbol)
    before = generate(tmp_path / "out-base", "--spec", str(base_spec), "--vectors", str(empty))
    after = generate(tmp_path / "out-new", "--spec", str(new_spec), "--vectors", str(empty))

    rb_new = load_rulebook(new_spec)
    new_mmr = format_decimal(rb_new.contracts[symbol].tiers[0]["maintenance_margin_rate"])
    old_mmr = format_decimal(load_rulebook(base_spec).contracts[symbol].tiers[0]["maintenance_margin_rate"])
    assert new_mmr == changed["tiers"][0]["maintenance_margin_rate"] != old_mmr

    # the worked case under the changed rulebook, computed independently of the docs
    eng = ReferenceEngine(rb_new)
    c = rb_new.contracts[symbol]
    contract = {k: v if isinstance(v, str) else format_decimal(v) for k, v in c.params.items()}
    contract["tiers"] = [{k: format_decimal(v) for k, v in t.items()} for t in c.tiers]
    eng.handle({"id": 1, "op": "reset", "args": {"contracts": {symbol: contract}, "available_balance": "10000"}})
    eng.handle({"id": 2, "op": "set_mark_price", "args": {"symbol": symbol, "price": "50000"}})
    eng.handle({"id": 3, "op": "open_position", "args": {"symbol": symbol, "side": "long", "size": "1000", "margin": "5000"}})
    pos = eng.handle({"id": 4, "op": "query", "args": {"symbol": symbol}})["result"]["position"]
    assert pos["maintenance_margin"] != "200" and pos["liquidation_price"] != "45180.8"

    for name in FILES:
        old_text, new_text = before[name].decode(), after[name].decode()
        assert old_text != new_text
        md_row = f"| 1 | 0 | 50000 | {new_mmr} ("
        if name == "rulebook.md":
            assert md_row in new_text and md_row not in old_text
            assert f"| 1 | 0 | 50000 | {old_mmr} (" in old_text
            for amount in (t["maintenance_amount"] for t in changed["tiers"][1:]):
                assert f" | {amount} |" in new_text
        else:
            assert f'<td class="num">{new_mmr} <span class="small">' in new_text
        story_new = _story(new_text, name)
        story_old = _story(old_text, name)
        assert pos["maintenance_margin"] in story_new and pos["liquidation_price"] in story_new
        assert pos["liquidation_price"] not in story_old and "45180.8" in story_old and "45180.8" not in story_new


def _story(text: str, name: str) -> str:
    start = text.index('id="example-long"')
    return text[start:text.index('id="example-short-tier2"')]


# ------------------------------------------------------------------------------ --check
def test_check_passes_when_current_and_fails_on_a_hand_edit(tmp_path):
    out = tmp_path / "gd"
    generate(out)
    code, output = run_docs("--out", str(out), "--check")
    assert code == 0, output
    assert "up to date" in output

    html = out / "index.html"
    html.write_text(html.read_text().replace("Interpretation notes", "Interpretation notez", 1))
    code, output = run_docs("--out", str(out), "--check")
    assert code == 1
    assert "stale" in output and "index.html" in output and "rulebook.md" not in output

    (out / "rulebook.md").unlink()
    code, output = run_docs("--out", str(out), "--check")
    assert code == 1 and "missing" in output and "rulebook.md" in output

    generate(out)  # regenerating repairs both
    assert run_docs("--out", str(out), "--check")[0] == 0


def test_check_ignores_the_prover_report_and_other_files(tmp_path):
    out = tmp_path / "gd"
    generate(out)
    (out / "notes.txt").write_text("not ours")
    assert run_docs("--out", str(out), "--check")[0] == 0


def test_check_writes_nothing(tmp_path):
    out = tmp_path / "gd"
    code, output = run_docs("--out", str(out), "--check")
    assert code == 1 and "missing" in output
    assert not out.exists() or not any(out.iterdir())


def test_default_out_dir_is_the_checkout_or_the_working_directory(tmp_path, monkeypatch):
    spec = default_spec_dir()
    root = checkout_root(spec)
    if root is not None:  # an editable install: spec/ of this checkout
        assert default_out_dir(spec) == root / "generated_docs"
    loose = copy_spec(tmp_path / "loose")  # a spec/ without a pyproject.toml next to it
    monkeypatch.chdir(tmp_path)
    assert checkout_root(loose) is None
    assert default_out_dir(loose) == tmp_path / "generated_docs"
    (tmp_path / "loose" / "pyproject.toml").write_text("")
    assert default_out_dir(loose) == tmp_path / "loose" / "generated_docs"


def test_committed_generated_docs_are_current():
    """What CI runs: the committed generated_docs/ match the rulebook, vectors and proof report."""
    root = checkout_root(default_spec_dir())
    if root is None or not (root / "generated_docs").is_dir():
        pytest.skip("not running from a checkout with generated_docs/")
    code, output = run_docs("--check")
    assert code == 0, output + "\nrun `marginspec docs` and commit generated_docs/"

"""The docs take their contracts from the rulebook in force, never by name: with --contracts the
step-by-step stories run on those contracts (the long on the first, the tier-2 short on the first
with two tiers or more), and the worked examples from the vectors show only cases on them."""

from __future__ import annotations

from docs_support import ONE, THREE, generate, run_docs


def _between(text: str, start: str, end: str) -> str:
    text = text[text.index(start):]
    return text[:text.index(end)] if end in text else text


def test_docs_for_other_contracts_name_only_them(tmp_path):
    files = generate(tmp_path / "d", "--contracts", THREE)  # the default vectors: the shipped ones, for BTCUSDT/ETHUSDT
    for name, data in files.items():
        text = data.decode()
        assert "BTCUSDT" not in text and "ETHUSDT" not in text, name
    md = files["rulebook.md"].decode()
    assert "### From the conformance vectors" not in md  # no known answer is about these contracts
    long_story = _between(md, '<a id="example-long"></a>', '<a id="example-short-tier2"></a>')
    assert "### A long position on ONEUSDT, step by step" in long_story
    assert "Profile: [ONEUSDT](#profile-ONEUSDT); available balance 100000." in long_story
    # the mark at which 100 lots reach tier 1's 100000, leverage 10, and the liquidation at the end
    assert "(price=1000)" in long_story and "(side=long, size=100, margin=10000)" in long_story
    assert "liquidated=true" in long_story
    short_story = _between(md, '<a id="example-short-tier2"></a>', '<a id="sec-')
    assert "Profile: [TINYUSDT](#profile-TINYUSDT)" in short_story and "(solved in tier 2)" in short_story


def test_a_single_tier_rulebook_has_no_tier_2_story(tmp_path):
    one = tmp_path / "one.yaml"
    one.write_text(ONE)
    md = generate(tmp_path / "d", "--contracts", str(one))["rulebook.md"].decode()
    assert "### A long position on ONEUSDT, step by step" in md
    assert 'id="example-short-tier2"' not in md


def test_the_shipped_stories_are_the_worked_case(tmp_path):
    md = generate(tmp_path / "d")["rulebook.md"].decode()
    long_story = _between(md, '<a id="example-long"></a>', '<a id="example-short-tier2"></a>')
    assert "### A long position on BTCUSDT, step by step" in long_story
    assert "(side=long, size=1000, margin=5000)" in long_story and "available balance 10000." in long_story
    assert "(amount=5900)" in long_story and "(leverage=20)" in long_story
    short_story = _between(md, '<a id="example-short-tier2"></a>', '<a id="sec-')
    assert "(side=short, size=2000, margin=2000)" in short_story and "(solved in tier 2)" in short_story


def test_docs_and_vectors_with_contracts_need_an_output_folder():
    code, output = run_docs("--contracts", THREE)
    assert code == 2 and "--contracts needs --out DIR" in output
    from click.testing import CliRunner

    from marginspec.cli import main

    r = CliRunner().invoke(main, ["vectors", "--contracts", THREE, "--check"])
    assert r.exit_code == 2 and "--contracts needs --out DIR" in r.output


def test_docs_and_vectors_with_a_venue_need_an_output_folder():
    """A preset changes every contract's parameters: its files must not replace the shipped ones."""
    from click.testing import CliRunner

    from marginspec.cli import main

    for cmd in (["vectors", "--venue", "phemex"], ["docs", "--venue", "phemex"]):
        r = CliRunner().invoke(main, cmd)
        assert r.exit_code == 2 and "--venue needs --out DIR: the files generated with it must not replace" in r.output


def test_the_profile_table_shows_maintenance_margin_with_the_taker_fee(tmp_path):
    """'Maint. margin at max' is the rulebook's maintenance margin (fee reserve included): under
    phemex's 0.06 % fee BTCUSDT tier 1 gives 50000 * (0.004 + 0.0006) = 230 (it showed 200, the
    formula without the fee)."""
    md = generate(tmp_path / "p", "--venue", "phemex")["rulebook.md"].decode()
    assert "| 1 | 0 | 50000 | 0.004 (0.4 %) | 125 | 0 | 0.008 | 230 |" in md
    assert "| 2 | 50000 | 250000 | 0.005 (0.5 %) | 100 | 50 | 0.01 | 1350 |" in md  # 250000 * 0.0056 - 50
    shipped = generate(tmp_path / "s")["rulebook.md"].decode()
    assert "| 1 | 0 | 50000 | 0.004 (0.4 %) | 125 | 0 | 0.008 | 200 |" in shipped  # no fee

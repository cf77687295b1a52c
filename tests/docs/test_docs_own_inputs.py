"""Docs for contracts of the user's own are built from the user's own inputs: the vectors of
--vectors only (never the shipped ones), a proof report and a venue table made for those contracts
(one made for other contracts is not used), and every piece of advice names the user's
--contracts/--out, never the shipped generated_docs/, with its commands set as code."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from marginspec.cli import main
from marginspec.docs import default_vectors_dir
from marginspec.docs_venues import fingerprint
from marginspec.rulebook import default_spec_dir

from docs_support import ONE, THREE, generate, run_docs

SHIPPED = default_vectors_dir(default_spec_dir()).parent.parent / "generated_docs"


def _shipped_case_ids() -> set[str]:
    ids = set()
    for path in default_vectors_dir(default_spec_dir()).glob("*.json"):
        for g in json.loads(path.read_text(encoding="utf-8")).get("groups", []):
            ids |= {c["id"] for c in g["cases"]}
    return ids


def test_docs_for_own_contracts_read_no_shipped_vectors_and_advise_the_users_commands(tmp_path):
    out = tmp_path / "docs"
    code, output = run_docs("--contracts", THREE, "--out", str(out))
    assert code == 0, output
    md, page = (out / "rulebook.md").read_text(), (out / "index.html").read_text()
    shipped = _shipped_case_ids()
    assert not [i for i in shipped if i in md or i in page]  # the traceability matrix names no shipped case
    vectors = f"marginspec vectors --contracts {THREE} --out {tmp_path}/vectors"
    docs = f"marginspec docs --contracts {THREE} --out {out} --vectors {tmp_path}/vectors"
    prove = f"marginspec prove --contracts {THREE} --output {out}/proof-report.json"
    venues = f"marginspec diff --all-pairs --contracts {THREE} --output {out}/venue-diff.json"
    assert (f"- **Vectors:** none read: the examples come from the reference engine only; make the vectors of these "
            f"contracts with `{vectors}`, then run `{docs}`") in md
    assert f"every invariant is shown as not yet proved. Run `{prove}`, then `{docs}`." in md
    assert f"The table has not been computed: run `{venues}` and `{docs}`." in md
    assert f"- **Regenerate:** `{docs}`; `{docs} --check` fails" in md
    assert f"Run <code>{prove}</code>, then <code>{docs}</code>." in page
    assert f"The table has not been computed: run <code>{venues}</code>" in page
    for text in (md, page, output):
        assert "generated_docs" not in text
    assert "\\`" not in md
    assert f"note: no --vectors given: the docs show no conformance vectors for these contracts; make them with `{vectors}`" \
        in output
    assert f"note: no proof report: every invariant is shown as not yet proved; make it with `{prove}`" in output
    assert f"note: no venue table: the docs show no diff between the venue presets; make it with `{venues}`" in output
    assert f"then: `{docs}`" in output


def test_a_proof_report_and_venue_table_of_other_contracts_are_not_used(tmp_path):
    out = tmp_path / "docs"
    out.mkdir()
    shutil.copy(SHIPPED / "venue-diff.json", out / "venue-diff.json")  # the shipped table, over BTCUSDT/ETHUSDT
    code, output = run_docs("--contracts", THREE, "--out", str(out), "--proofs", str(SHIPPED / "proof-report.json"))
    assert code == 0, output
    md = (out / "rulebook.md").read_text()
    assert ("proof-report.json is for the contracts BTCUSDT, ETHUSDT, not these (ONEUSDT, TINYUSDT, TWELVEUSDT): "
            "not used") in md
    assert "Proof status from the prover's report" not in md
    # the advice writes into the user's --out, never over the shipped report it was pointed at
    assert f"Run `marginspec prove --contracts {THREE} --output {out}/proof-report.json`" in md
    assert (f"The table on disk was computed from other presets, formulas or contracts: run `marginspec diff "
            f"--all-pairs --contracts {THREE} --output {out}/venue-diff.json`") in md
    assert "generated_docs" not in md and "\\`" not in md and "generated_docs" not in output


def test_the_shipped_advice_for_a_missing_venue_table_renders_as_code(tmp_path):
    md = generate(tmp_path / "d", "--proofs", str(tmp_path / "none.json"))["rulebook.md"].decode()
    assert ("The table has not been computed: run `marginspec diff --all-pairs --output generated_docs/venue-diff.json` "
            "and `marginspec docs`.") in md
    assert "Run `marginspec prove --output generated_docs/proof-report.json`, then `marginspec docs` (from the folder " \
           "holding generated_docs/)." in md


def test_a_vectors_folder_with_its_coverage_report_is_read_whole(tmp_path):
    vec = tmp_path / "vectors"
    vec.mkdir()
    shutil.copy(default_vectors_dir(default_spec_dir()) / "known_answers.json", vec)
    (vec / "coverage.json").write_text('{"summary": {}}')  # what `vectors --out DIR` writes beside the files
    md = generate(tmp_path / "d", "--contracts", THREE, "--vectors", str(vec))["rulebook.md"].decode()
    assert "- **Vectors:** " in md and "in `known_answers.json` (" in md
    assert "coverage.json" not in md


def test_diff_all_pairs_over_own_contracts_feeds_their_docs(tmp_path):
    one = tmp_path / "one.yaml"
    one.write_text(ONE)
    out = tmp_path / "docs"
    run = CliRunner().invoke
    r = run(main, ["diff", "--all-pairs", "--contracts", str(one), "--check"])
    assert r.exit_code == 2 and "--check with --contracts needs --output FILE" in r.output
    r = run(main, ["diff", "--all-pairs", "--contracts", str(one), "--output", str(out / "venue-diff.json")])
    assert r.exit_code == 0, r.output
    table = json.loads((out / "venue-diff.json").read_text())
    assert {c["symbol"] for p in table["pairs"] for c in p["contracts"]} == {"ONEUSDT"}
    from marginspec.cli import _load
    from marginspec.contracts import load_contracts, with_contracts

    rb = _load(None)
    mine = with_contracts(rb, load_contracts(str(one), rb))
    assert table["fingerprint"] == fingerprint(mine) != fingerprint(rb)
    md = generate(out, "--contracts", str(one))["rulebook.md"].decode()
    assert "The table has not been computed" not in md and "computed from other presets" not in md
    assert "| `phemex` | `binance` | ONEUSDT | differ | differ |" in md
    r = run(main, ["diff", "--all-pairs", "--contracts", str(one), "--check", "--output", str(out / "venue-diff.json")])
    assert r.exit_code == 0 and "up to date" in r.output

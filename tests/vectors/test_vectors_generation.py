"""`marginspec vectors`: byte-identical output, committed files up to date, --check catches edits."""

from __future__ import annotations

import json
import shutil

from marginspec.vectors import COVERAGE_FILE, coverage
from marginspec.vectors.writer import check, dumps

from vectors_support import COVERAGE, VECTORS, cli


def test_two_generations_give_the_same_bytes(tmp_path, generated):
    """A second generation, in another process with another hash seed, writes the same bytes."""
    out = tmp_path / "vectors"
    r = cli("vectors", "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    files = generated.files()
    assert sorted(p.name for p in out.glob("*.json")) == sorted([*files, COVERAGE_FILE])
    for name, data in files.items():
        assert (out / name).read_bytes() == data, name
    assert not (tmp_path / COVERAGE_FILE).exists()  # with --out, coverage.json goes inside DIR


def test_committed_vectors_are_up_to_date(rb, generated):
    from marginspec.vectors.coverage import measure

    extra = {COVERAGE: coverage.dumps(measure(rb, generated.documents.values()))}
    res = check(generated.files(), VECTORS, extra)
    assert res.ok, f"stale {res.stale}, missing {res.missing}, extra {res.extra}: run `marginspec vectors`"


def test_output_is_canonical(generated):
    for name, data in generated.files().items():
        doc = json.loads(data)
        assert dumps(doc) == data, name  # sorted keys, fixed indentation, final newline
        assert b"\r" not in data
        ids = [c["id"] for g in doc["groups"] for c in g["cases"]]
        assert len(ids) == len(set(ids)) == doc["number_of_cases"]


def test_check_catches_a_hand_edited_a_missing_and_an_extra_file(tmp_path):
    root = tmp_path / "conformance"
    shutil.copytree(VECTORS, root / "vectors")
    out = root / "vectors"
    shutil.copy(COVERAGE, out / COVERAGE_FILE)
    ok = cli("vectors", "--check", "--out", str(out))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "up to date" in ok.stderr + ok.stdout

    edited = out / "liquidation.json"
    text = edited.read_text(encoding="utf-8")
    edited.write_text(text.replace('"liquidated": true', '"liquidated": false', 1), encoding="utf-8")
    (out / "errors.json").unlink()
    (out / "mine.json").write_text("{}\n", encoding="utf-8")
    bad = cli("vectors", "--check", "--out", str(out))
    assert bad.returncode == 1
    assert f"stale: {edited}" in bad.stderr
    assert f"missing: {out / 'errors.json'}" in bad.stderr
    assert f"extra: {out / 'mine.json'} (not written by `marginspec vectors --out {out}`, which deletes no file: " \
           f"move it out of {out}, or delete it if it is an old vector file)" in bad.stderr
    # the advice is the command with the user's own options, and says which file is extra
    assert f"vectors are stale: run `marginspec vectors --out {out}`\n" in bad.stderr
    assert f"1 extra file(s) in {out} (named above)" in bad.stderr
    assert (out / "mine.json").read_text(encoding="utf-8") == "{}\n"
    # --check wrote nothing
    assert not (out / "errors.json").exists()
    assert edited.read_text(encoding="utf-8") != text


def test_check_in_process_names_each_kind(tmp_path, generated):
    files = generated.files()
    out = tmp_path / "v"
    out.mkdir()
    for name, data in files.items():
        (out / name).write_bytes(data)
    assert check(files, out).ok
    name = sorted(files)[0]
    (out / name).write_bytes(files[name].replace(b'"MUST"', b'"SHOULD"', 1))
    res = check(files, out)
    assert res.stale == (str(out / name),) and not res.missing and not res.extra


def test_check_advice_names_the_command_with_every_option_of_the_run():
    from pathlib import Path

    from marginspec.commands.vectors import check_advice, rerun_command

    cmd = rerun_command("my spec", "vec", "mine.yaml", "binance", ("cx.json",))
    assert cmd == "marginspec vectors --spec 'my spec' --contracts mine.yaml --venue binance --out vec " \
                  "--counterexamples cx.json"
    assert rerun_command(None, None, None, None, ()) == "marginspec vectors"
    only_extra = check_advice({"stale": [], "missing": [], "extra": ["vec/notes.json"]}, cmd, Path("vec"), False)
    assert only_extra == [f"extra: vec/notes.json (not written by `{cmd}`, which deletes no file: move it out of vec, "
                          "or delete it if it is an old vector file)", "1 extra file(s) in vec (named above)"]
    stale = check_advice({"stale": ["a.json"], "missing": [], "extra": []}, "marginspec vectors", Path("v"), True)
    assert stale == ["stale: a.json", "vectors are stale: run `marginspec vectors` and commit the result"]
    assert check_advice({"stale": [], "missing": [], "extra": []}, cmd, Path("v"), False) == ["vectors are up to date"]

"""Catalogue (issue 10, writers): `docs --out` and report files are replaced atomically and nothing
else in their folder is touched; a path that cannot be written is a clear error (exit 2)."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from marginspec.atomic import write_atomic
from marginspec.cli import main


def test_docs_out_keeps_other_files(tmp_path):
    out = tmp_path / "site"
    out.mkdir()
    (out / "keep.json").write_text("mine")
    (out / "notes.md").write_text("mine too")
    result = CliRunner().invoke(main, ["docs", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "keep.json").read_text() == "mine" and (out / "notes.md").read_text() == "mine too"
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "keep.json", "notes.md", "rulebook.md"]


def test_docs_out_on_a_file_is_a_clear_error(tmp_path):
    target = tmp_path / "afile"
    target.write_text("x")
    result = CliRunner().invoke(main, ["docs", "--out", str(target / "sub")])
    assert result.exit_code == 2 and "error: cannot write" in result.output
    assert target.read_text() == "x"


def test_write_atomic_replaces_whole_or_not_at_all(tmp_path, monkeypatch):
    p = tmp_path / "report.json"
    p.write_text("old")
    os.chmod(p, 0o640)

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(p, b"new")
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["report.json"]  # no temporary file left
    monkeypatch.undo()
    write_atomic(p, b"new")
    assert p.read_bytes() == b"new" and (p.stat().st_mode & 0o777) == 0o640


def test_write_atomic_on_a_directory(tmp_path):
    with pytest.raises(IsADirectoryError):
        write_atomic(tmp_path, b"x")


def test_prove_report_paths_that_cannot_be_written(tmp_path):
    (tmp_path / "blocker").write_text("a file")
    result = CliRunner().invoke(main, ["prove", "--only", "INV-tiers-ordered/BTCUSDT", "--jobs", "1",
                                       "--output", str(tmp_path / "blocker" / "r.json")])
    assert result.exit_code == 2, result.output
    assert "error: cannot write" in result.output

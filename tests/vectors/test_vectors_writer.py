"""The vector writer: only its own files, each replaced atomically, nothing deleted."""

from __future__ import annotations

import os

import pytest

from marginspec.vectors import writer


def test_write_touches_only_its_own_files(tmp_path):
    out = tmp_path / "v"
    out.mkdir()
    (out / "mine.json").write_text("{}\n")
    (out / "notes.txt").write_text("keep\n")
    (out / "old.json").write_bytes(b'{"schema": "marginspec-vectors/1"}\n')  # a stale vector file: reported, kept
    cov = out / "coverage.json"
    changed = writer.write({"a.json": b"A\n", "b.json": b"B\n"}, out, {cov: b"C\n"})
    assert sorted(p.name for p in changed) == ["a.json", "b.json", "coverage.json"]
    assert (out / "mine.json").read_text() == "{}\n" and (out / "notes.txt").read_text() == "keep\n"
    assert (out / "old.json").is_file()
    assert writer.extras({"a.json": b"", "b.json": b""}, out, {cov: b""}) == (str(out / "mine.json"), str(out / "old.json"))
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "b.json", "coverage.json", "mine.json", "notes.txt", "old.json"]


def test_unchanged_files_are_not_rewritten(tmp_path):
    out = tmp_path / "v"
    writer.write({"a.json": b"A\n"}, out)
    before = os.stat(out / "a.json").st_ino
    assert writer.write({"a.json": b"A\n"}, out) == []
    assert os.stat(out / "a.json").st_ino == before
    assert writer.write({"a.json": b"A2\n"}, out) == [out / "a.json"]
    assert (out / "a.json").read_bytes() == b"A2\n"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    out = tmp_path / "v"
    writer.write({"a.json": b"old\n"}, out)

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        writer.write({"a.json": b"new\n"}, out)
    assert (out / "a.json").read_bytes() == b"old\n"
    assert sorted(p.name for p in out.iterdir()) == ["a.json"]


def test_check_reports_extras_but_not_its_coverage_file(tmp_path):
    out = tmp_path / "v"
    writer.write({"a.json": b"A\n"}, out, {out / "coverage.json": b"C\n"})
    (out / "x.json").write_text("{}")
    res = writer.check({"a.json": b"A\n"}, out, {out / "coverage.json": b"C\n"})
    assert res.extra == (str(out / "x.json"),) and not res.stale and not res.missing and not res.ok


def test_the_loader_skips_the_coverage_report_in_a_directory(tmp_path):
    from marginspec.conformance.loader import expand_paths

    (tmp_path / "coverage.json").write_text("{}")
    (tmp_path / "a.json").write_text("{}")
    assert [p.name for p in expand_paths([tmp_path])] == ["a.json"]


def test_new_files_honour_the_umask_and_existing_ones_keep_their_mode(tmp_path):
    """A new vector file or coverage.json is 0666 less the umask (0644 under 0022) like every other
    writer's output, not a temporary file's 0600; a rewritten file keeps its own mode."""
    out = tmp_path / "v"
    old = os.umask(0o022)
    try:
        writer.write({"a.json": b"A\n"}, out, {out / "coverage.json": b"C\n"})
        os.chmod(out / "coverage.json", 0o640)
        writer.write({"a.json": b"A\n"}, out, {out / "coverage.json": b"C2\n"})
    finally:
        os.umask(old)
    assert (out / "a.json").stat().st_mode & 0o777 == 0o644
    assert (out / "coverage.json").stat().st_mode & 0o777 == 0o640

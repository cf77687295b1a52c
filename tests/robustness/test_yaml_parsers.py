"""The YAML reader takes libyaml's parser where PyYAML has it (loading the rulebook is mostly YAML
parsing): what it reads must be exactly what the pure-Python parser reads, marks and quoting styles
included, and every diagnostic must stay the pure-Python parser's."""

from __future__ import annotations

from pathlib import Path

import pytest

from marginspec import yamlsafe
from marginspec.diagnostics import SpecError

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(p for pattern in ("spec/**/*.yaml", "tests/**/*.yaml") for p in ROOT.glob(pattern))


def _marked(v):
    """A value with every mark and style spelled out (Node, NodeList and Scalar compare as plain values)."""
    if isinstance(v, dict):
        return ("map", v.mark, [(k, v.key_marks[k], _marked(x)) for k, x in v.items()])
    if isinstance(v, list):
        return ("seq", v.mark, [_marked(x) for x in v])
    if isinstance(v, str):
        return ("str", str(v), v.mark, v.style)
    return v


def _slow(monkeypatch, text, file):
    with monkeypatch.context() as m:
        m.setattr(yamlsafe, "_FastLoader", None)
        return yamlsafe.load_yaml_text(text, file)


@pytest.mark.skipif(yamlsafe._FastLoader is None, reason="PyYAML without libyaml")
def test_libyaml_reads_every_file_as_the_python_parser(monkeypatch):
    assert len(FILES) > 20
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        assert _marked(yamlsafe.load_yaml_text(text, str(path))) == _marked(_slow(monkeypatch, text, str(path))), path


@pytest.mark.skipif(yamlsafe._FastLoader is None, reason="PyYAML without libyaml")
@pytest.mark.parametrize("text", ["a: 'x\n", "a: [1, 2\n", "a: 1\n a: 2\n", "k: \"café ×\"\nb: [1, 'ü', ~, null, yes, 'yes']\n",
                                  "a: &x [1, *x]\n", "a: *nothing\n", "a: b: c\n", "- 1\n- {x: 2}\n", ""])
def test_the_same_values_and_the_same_diagnostics(monkeypatch, text):
    def outcome(read):
        try:
            return "ok", _marked(read())
        except SpecError as e:
            return "error", [str(d) for d in e.diagnostics]
    fast = outcome(lambda: yamlsafe.load_yaml_text(text, "t.yaml"))
    assert fast == outcome(lambda: _slow(monkeypatch, text, "t.yaml"))

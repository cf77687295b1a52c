"""A safe YAML reader that rejects duplicate keys and remembers where every value stands.

Mappings come back as `Node` dicts and lists as `NodeList`, and scalars as `Scalar` strings; each
carries the `Mark` of its first character, so every later error can name file:line:col.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .diagnostics import Diagnostic, Mark, SpecError


class Node(dict):
    """A YAML mapping with the mark of the mapping and of each key."""

    mark: Mark
    key_marks: dict


class NodeList(list):
    mark: Mark


class Scalar(str):
    """A scalar kept as text (numbers stay exact); `style` is the YAML quoting style."""

    mark: Mark
    style: str | None


def _mark(file: str, m) -> Mark:
    return Mark(file, m.line + 1, m.column + 1)


class _Loader(yaml.SafeLoader):
    pass


def _build(node, file: str):
    if isinstance(node, MappingNode):
        out = Node()
        out.mark = _mark(file, node.start_mark)
        out.key_marks = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise SpecError([Diagnostic(_mark(file, key_node.start_mark), "mapping keys must be plain names")])
            key = key_node.value
            if key in out:
                first = out.key_marks[key]
                raise SpecError([Diagnostic(_mark(file, key_node.start_mark),
                                            f"duplicate key '{key}' (first defined at line {first.line})")])
            out.key_marks[key] = _mark(file, key_node.start_mark)
            out[key] = _build(value_node, file)
        return out
    if isinstance(node, SequenceNode):
        out = NodeList(_build(n, file) for n in node.value)
        out.mark = _mark(file, node.start_mark)
        return out
    tag = node.tag
    if tag == "tag:yaml.org,2002:null" and node.style is None and node.value in ("", "~", "null", "Null", "NULL"):
        return None
    if tag == "tag:yaml.org,2002:bool" and node.style is None:
        return node.value.lower() in ("true", "yes", "on")
    s = Scalar(node.value)
    s.mark = _mark(file, node.start_mark)
    s.style = node.style
    return s


def load_yaml_text(text: str, file: str = "<string>"):
    """Parse YAML text into marked values; raise SpecError naming file:line:col on any problem."""
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        m = e.problem_mark or e.context_mark
        where = _mark(file, m) if m else None
        problem = e.problem or e.context or "malformed YAML"
        raise SpecError([Diagnostic(where, f"malformed YAML: {problem}")]) from None
    except yaml.YAMLError as e:  # pragma: no cover - every pyyaml parse error is marked
        raise SpecError([Diagnostic(Mark(file, 1, 1), f"malformed YAML: {e}")]) from None
    except ConstructorError as e:  # pragma: no cover
        raise SpecError([Diagnostic(None, str(e))]) from None
    if root is None:
        return None
    return _build(root, file)


def load_yaml_file(path: Path, display: str | None = None):
    return load_yaml_text(Path(path).read_text(encoding="utf-8"), display or str(path))


def mark_of(value, default: Mark | None = None) -> Mark | None:
    return getattr(value, "mark", default)

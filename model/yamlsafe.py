"""A safe YAML reader that rejects duplicate keys and remembers where every value stands.

Mappings come back as `Node` dicts and lists as `NodeList`, and scalars as `Scalar` strings; each
carries the `Mark` of its first character, so every later error can name file:line:col.

Files come from other people (`simulate FILE`, `prove --against FILE`, `--contracts FILE`), so
before anything is built the event stream is checked against the limits below: a file of a few
hundred bytes whose aliases expand to billions of values, an alias inside its own anchor, or
thousands of nesting levels is refused with file:line:col, as is a file that is not UTF-8.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent
from yaml.reader import ReaderError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .diagnostics import Diagnostic, Mark, SpecError


#: The limits of a YAML file: bytes, nesting levels, values after expanding aliases, and digits
#: in a scalar (a longer number has no use in a rulebook and Python refuses to convert it).
MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 100_000
MAX_DIGITS = 1000
_NUMBER = re.compile(r"\s*[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?\s*\Z")


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


# libyaml's parser, where PyYAML has it: the same events and nodes as the pure-Python one (a plain
# scalar's style is '' there, None here: `_build` reads both as plain), about ten times faster,
# which is most of loading the rulebook. Only a file it accepts whole is taken from it: anything
# else is read again by the pure-Python parser, so every diagnostic is that parser's.
_FastLoader = type("_FastLoader", (yaml.CSafeLoader,), {}) if getattr(yaml, "__with_libyaml__", False) else None


def _build(node, file: str, duplicates: list | None = None):
    """Marked values of a composed node; a duplicate key is an error, or (with `duplicates`) noted
    there and its second value dropped, so that a caller can go on and report the rest too."""
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
                found = Diagnostic(_mark(file, key_node.start_mark),
                                   f"duplicate key '{key}' (first defined at line {first.line})")
                if duplicates is None:
                    raise SpecError([found])
                duplicates.append(found)
                continue
            out.key_marks[key] = _mark(file, key_node.start_mark)
            out[key] = _build(value_node, file, duplicates)
        return out
    if isinstance(node, SequenceNode):
        out = NodeList(_build(n, file, duplicates) for n in node.value)
        out.mark = _mark(file, node.start_mark)
        return out
    tag = node.tag
    if tag == "tag:yaml.org,2002:null" and not node.style and node.value in ("", "~", "null", "Null", "NULL"):
        return None
    if tag == "tag:yaml.org,2002:bool" and not node.style:
        return node.value.lower() in ("true", "yes", "on")
    s = Scalar(node.value)
    s.mark = _mark(file, node.start_mark)
    s.style = node.style or None
    return s


def _error(file: str, m, message: str) -> SpecError:
    return SpecError([Diagnostic(_mark(file, m) if m is not None else Mark(file, 1, 1), message)])


def _check_events(text: str, file: str, loader_class=_Loader) -> None:
    """Walk the event stream once (no recursion) and refuse what would explode later: nesting past
    MAX_DEPTH, an alias to an anchor still open (a recursive structure), aliases expanding to more
    than MAX_VALUES values, a scalar with more than MAX_DIGITS digits."""
    sizes: dict[str, int] = {}      # anchor -> values in its expansion
    stack: list[list] = []          # open collections: [anchor, values so far]
    open_anchors: set[str] = set()
    total = 0
    loader = loader_class(text)
    try:
        while loader.check_event():
            ev = loader.get_event()
            if isinstance(ev, AliasEvent):
                if ev.anchor in open_anchors:
                    raise _error(file, ev.start_mark, f"recursive alias *{ev.anchor} (it refers to a value "
                                                      "that contains it)")
                n = sizes.get(ev.anchor)
                if n is None:
                    raise _error(file, ev.start_mark, f"undefined alias *{ev.anchor}")
            elif isinstance(ev, CollectionEndEvent):
                anchor, n = stack.pop()
                if anchor is not None:
                    sizes[anchor] = n
                    open_anchors.discard(anchor)
                if stack:
                    stack[-1][1] += n
                continue
            elif isinstance(ev, NodeEvent):
                n = 1
                if isinstance(ev, CollectionStartEvent):
                    if len(stack) >= MAX_DEPTH:
                        raise _error(file, ev.start_mark, f"nesting deeper than {MAX_DEPTH} levels "
                                                          f"(the limit for a YAML file)")
                    stack.append([ev.anchor, 1])
                    if ev.anchor is not None:
                        open_anchors.add(ev.anchor)
                    continue
                value = getattr(ev, "value", "")
                if len(value) > MAX_DIGITS and _NUMBER.match(value):
                    raise _error(file, ev.start_mark, f"a value with more than {MAX_DIGITS} digits "
                                                      f"(the limit for a number)")
                if ev.anchor is not None:
                    sizes[ev.anchor] = 1
            else:
                continue
            total += n
            if total > MAX_VALUES:
                raise _error(file, ev.start_mark, f"the file expands to more than {MAX_VALUES:,} values "
                                                  "(aliases multiplying a small file?); the limit is "
                                                  f"{MAX_VALUES:,}")
            if stack:
                stack[-1][1] += n
    finally:
        loader.dispose()


def _offset_mark(text: str, file: str, offset: int) -> Mark:
    before = text[:offset]
    line = before.count("\n") + 1
    return Mark(file, line, offset - (before.rfind("\n") + 1) + 1)


def _compose(text: str, file: str, loader_class=_Loader):
    """The checked event stream composed into one node (or None for an empty document)."""
    _check_events(text, file, loader_class)
    loader = loader_class(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def load_yaml_text(text: str, file: str = "<string>", duplicates: list | None = None):
    """Parse YAML text into marked values; raise SpecError naming file:line:col on any problem
    (a duplicate key goes to `duplicates` instead when one is given: see _build)."""
    if _FastLoader is not None:
        try:
            root = _compose(text, file, _FastLoader)
        except Exception:  # noqa: BLE001 - read again below, for the pure-Python parser's diagnostic
            pass
        else:
            return None if root is None else _build(root, file, duplicates)
    try:
        root = _compose(text, file)
    except ReaderError as e:  # a character YAML does not allow (e.g. a NUL or a control character)
        ch = chr(e.character) if isinstance(e.character, int) else str(e.character)
        raise SpecError([Diagnostic(_offset_mark(text, file, e.position),
                                    f"malformed YAML: character U+{ord(ch[:1] or ' '):04X} is not allowed")]) from None
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
    return _build(root, file, duplicates)


def decode_yaml_bytes(data: bytes, file: str) -> str:
    """UTF-8 text of a YAML file; SpecError at file:line:col for UTF-16/32 or invalid UTF-8."""
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                      (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if data.startswith(bom):
            raise SpecError([Diagnostic(Mark(file, 1, 1), f"the file is {name}; save it as UTF-8")])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        good = data[:e.start].decode("utf-8")
        line = good.count("\n") + 1
        col = len(good) - (good.rfind("\n") + 1) + 1
        raise SpecError([Diagnostic(Mark(file, line, col), f"not UTF-8: byte {data[e.start]:#04x} "
                                                           f"cannot start or continue a character; save the file as UTF-8")]) from None


def read_yaml_stream(stream, file: str) -> str:
    """The text of a YAML byte stream (e.g. stdin), read within MAX_BYTES."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise SpecError([Diagnostic(Mark(file, 1, 1), f"larger than {MAX_BYTES // (1024 * 1024)} MiB, "
                                                      "the limit for a YAML file")])
    return decode_yaml_bytes(data, file)


def read_yaml_bytes(path: Path, display: str | None = None) -> str:
    """The text of a YAML file, read within MAX_BYTES (a device or a huge file is refused)."""
    file = display or str(path)
    try:
        with open(path, "rb") as f:
            return read_yaml_stream(f, file)
    except OSError as e:
        raise SpecError([Diagnostic(None, f"{file}: cannot read: {e.strerror or e}")]) from None


def load_yaml_file(path: Path, display: str | None = None, duplicates: list | None = None):
    return load_yaml_text(read_yaml_bytes(Path(path), display), display or str(path), duplicates)


def mark_of(value, default: Mark | None = None) -> Mark | None:
    return getattr(value, "mark", default)

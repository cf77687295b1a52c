"""Vector files: load, validate, iterate, filter, shard.

A vector file (format ``marginspec-vectors/1``, schema ``vectors.schema.json``) holds groups of
cases; a group gives the starting state (contracts, available balance), a case a list of steps,
each a protocol request (without id) and what its reply must be.

Loading validates each file against the JSON Schema (errors name the file and the JSON path of the
offending value) and then checks what a schema cannot: ``number_of_cases``, unique case ids, flags
declared in the file's flag table, ``file`` equal to the file stem. Numbers are parsed exactly
(``parse_float=Decimal``); the requests are encoded once, here, so that the runner's hot loop only
glues an id in front of pre-encoded bytes.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

FORMAT = "marginspec-vectors/1"

#: The largest vector file read (bytes) and the deepest nesting of arrays and objects in it: a
#: device such as /dev/zero, or a file built to exhaust memory or recursion, is refused at once.
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64

#: Ops that every engine implements (the runner needs them to run anything at all): a case never
#: counts them as ops it needs, whatever the engine's ``hello`` lists.
CORE_OPS = frozenset({"hello", "reset", "shutdown"})


class VectorFileError(ValueError):
    """A vector file that cannot be used: unreadable, not JSON, or not valid against the schema."""

    def __init__(self, path: str, message: str, json_path: str | None = None) -> None:
        self.path = str(path)
        self.json_path = json_path
        self.detail = message
        where = f"{self.path}: {json_path}" if json_path else self.path
        super().__init__(f"{where}: {message}")


# --------------------------------------------------------------------------- model


@dataclass(slots=True, eq=False)
class Step:
    index: int
    op: str
    args: dict
    #: ``"op":...,"args":{...}}`` plus newline: a request line minus its ``{"id":N,`` head.
    tail: str
    tail_bytes: bytes
    expect_ok: bool
    expect_error: str | None
    expect_result: dict | None
    comment: str | None = None
    #: absolute tolerances by dotted path under result (a venue's published example), else None
    tolerance: dict | None = None

    @property
    def request(self) -> dict:
        return {"op": self.op, "args": self.args}

    @property
    def expect(self) -> dict:
        if self.expect_ok:
            out: dict[str, Any] = {"ok": True}
            if self.expect_result is not None:
                out["result"] = self.expect_result
            return out
        return {"ok": False, "error": self.expect_error}


@dataclass(slots=True, eq=False)
class Case:
    id: str
    title: str
    rules: tuple[str, ...]
    flags: tuple[str, ...]
    level: str
    source: str
    steps: tuple[Step, ...]
    file: str
    path: str
    group_title: str
    contracts: dict
    available_balance: str
    #: The reset request of the case's group, pre-encoded like Step.tail.
    reset_tail: str
    reset_tail_bytes: bytes
    #: Position of the case in the loaded set (files in the order given, cases in file order).
    order: int = 0
    comment: str | None = None
    #: The ops the case needs the engine to implement (steps that expect UNSUPPORTED excluded).
    ops: frozenset[str] = field(default_factory=frozenset)

    @property
    def nodeid(self) -> str:
        return f"{self.file}::{self.id}"


@dataclass(slots=True, eq=False)
class VectorFile:
    path: str
    file: str
    description: str
    rulebook: dict
    flags: dict
    cases: list[Case]


# --------------------------------------------------------------------------- JSON


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed (numbers are decimal strings)")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return out


_DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates
)


def _encode(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# --------------------------------------------------------------------------- schema


def _schema_text(name: str) -> str:
    try:
        return resources.files(__package__ or "marginspec.conformance").joinpath(name).read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, TypeError):  # pragma: no cover - source checkout
        return (Path(__file__).parent / name).read_text("utf-8")


@lru_cache(maxsize=None)
def vectors_schema() -> dict:
    """The JSON Schema of vector files (vectors.schema.json)."""
    return json.loads(_schema_text("vectors.schema.json"))


@lru_cache(maxsize=None)
def protocol_schema() -> dict:
    """The JSON Schema of the engine protocol (protocol.schema.json)."""
    return json.loads(_schema_text("protocol.schema.json"))


@lru_cache(maxsize=None)
def _validator():
    import jsonschema

    cls = jsonschema.Draft202012Validator
    return cls(vectors_schema())


@lru_cache(maxsize=None)
def _quick_check():
    """The schema compiled by fastschema (None if it uses a keyword fastschema lacks)."""
    from .fastschema import UnsupportedSchema, compile_schema

    try:
        return compile_schema(vectors_schema())
    except UnsupportedSchema:  # pragma: no cover - the shipped schema is supported
        return None


def protocol_validator(definition: str = "request"):
    """A validator for one definition of protocol.schema.json: ``"request"``, ``"reply"`` or
    ``"reply_to_<op>"`` (a reply to a request of that op, result fields checked)."""
    import jsonschema

    schema = protocol_schema()
    if definition not in schema["$defs"]:
        raise KeyError(f"protocol.schema.json has no definition {definition!r}")
    sub = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(sub)


def _json_path(error) -> str:
    path = getattr(error, "json_path", None)
    if path:
        return path
    out = "$"
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate_document(doc: Any, path: str = "<vectors>") -> None:
    """Validate a parsed vector document against the schema; raise VectorFileError naming the JSON
    path of the most relevant error. A quick compiled check (fastschema) clears valid documents;
    jsonschema judges and explains the others."""
    from jsonschema.exceptions import best_match

    quick = _quick_check()
    if quick is not None and quick(doc):
        return
    errors = list(_validator().iter_errors(doc))
    if not errors:
        return
    best = best_match(errors)
    # The deepest error is usually the most useful ("$.groups[0].cases[2].steps[1].expect.error").
    deepest = max(errors, key=lambda e: len(e.absolute_path))
    chosen = deepest if len(deepest.absolute_path) > len(best.absolute_path) else best
    more = f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    raise VectorFileError(path, f"{chosen.message}{more}", _json_path(chosen))


# --------------------------------------------------------------------------- loading


def _read(source: Any) -> tuple[str, str, bytes]:
    """(display path, file stem, raw bytes) of a path or an importlib Traversable."""
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        try:
            with open(p, "rb") as f:
                raw = f.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise VectorFileError(str(p), f"cannot read: {exc.strerror or exc}") from None
        if len(raw) > MAX_FILE_BYTES:
            raise VectorFileError(str(p), f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB, the limit "
                                          "for a vector file")
        return str(p), p.name.rsplit(".", 1)[0], raw
    name = getattr(source, "name", str(source))
    return str(source), name.rsplit(".", 1)[0], source.read_bytes()


def parse_document(raw: bytes, path: str = "<vectors>") -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VectorFileError(path, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    from marginspec.protocol_io import nesting_depth

    if nesting_depth(raw, MAX_DEPTH) > MAX_DEPTH:
        raise VectorFileError(path, f"arrays and objects nest more than {MAX_DEPTH} levels deep; "
                                    f"the limit is {MAX_DEPTH}")
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise VectorFileError(path, f"line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise VectorFileError(path, str(exc)) from None


def load_vector_file(source: Any, *, validate: bool = True, check_stem: bool = True) -> VectorFile:
    """Load one vector file (a path or an importlib.resources Traversable)."""
    path, stem, raw = _read(source)
    doc = parse_document(raw, path)
    return build_vector_file(doc, path, stem=stem if check_stem else None, validate=validate)


def build_vector_file(doc: Any, path: str = "<vectors>", *, stem: str | None = None,
                      validate: bool = True) -> VectorFile:
    """Turn a parsed vector document into a VectorFile (validating it first unless told not to)."""
    if validate:
        validate_document(doc, path)
    elif not isinstance(doc, dict):
        raise VectorFileError(path, "a vector file must be a JSON object", "$")
    try:
        return _build(doc, path, stem)
    except VectorFileError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as exc:  # only when validate=False
        raise VectorFileError(path, f"malformed vector file ({type(exc).__name__}: {exc})") from None


def _build(doc: dict, path: str, stem: str | None) -> VectorFile:
    file = doc["file"]
    if stem is not None and file != stem:
        raise VectorFileError(path, f"file is {file!r} but the file is named {stem!r}", "$.file")
    declared = doc.get("flags", {})
    used: set[str] = set()
    seen: dict[str, str] = {}
    cases: list[Case] = []
    for gi, group in enumerate(doc["groups"]):
        contracts = group["contracts"]
        balance = group["available_balance"]
        reset_tail = _encode({"op": "reset", "args": {"contracts": contracts, "available_balance": balance}})[1:] + "\n"
        reset_bytes = reset_tail.encode("utf-8")
        for ci, raw_case in enumerate(group["cases"]):
            where = f"$.groups[{gi}].cases[{ci}]"
            cid = raw_case["id"]
            if cid in seen:
                raise VectorFileError(path, f"duplicate case id {cid!r} (also at {seen[cid]})", f"{where}.id")
            seen[cid] = where
            flags = tuple(raw_case.get("flags", ()))
            for k, flag in enumerate(flags):
                if flag not in declared:
                    raise VectorFileError(path, f"flag {flag!r} is not in the file's flag table",
                                          f"{where}.flags[{k}]")
            used.update(flags)
            steps = []
            ops = set()
            for si, raw_step in enumerate(raw_case["steps"]):
                request = raw_step["request"]
                expect = raw_step["expect"]
                op = request["op"]
                args = request.get("args", {})
                try:
                    tail = _encode({"op": op, "args": args})[1:] + "\n"
                except (TypeError, ValueError) as exc:
                    raise VectorFileError(path, f"request cannot be encoded: {exc}",
                                          f"{where}.steps[{si}].request") from None
                ok = expect["ok"]
                if ok is not True and ok is not False:
                    raise VectorFileError(path, "expect.ok must be true or false", f"{where}.steps[{si}].expect.ok")
                error = None if ok else expect["error"]
                result = expect.get("result") if ok else None
                if not (error == "UNSUPPORTED"):
                    ops.add(op)
                steps.append(Step(si, op, args, tail, tail.encode("utf-8"), ok, error, result,
                                  raw_step.get("comment"), raw_step.get("tolerance")))
            cases.append(Case(
                id=cid, title=raw_case["title"], rules=tuple(raw_case["rules"]), flags=flags,
                level=raw_case["level"], source=raw_case["source"], steps=tuple(steps), file=file,
                path=path, group_title=group["title"], contracts=contracts, available_balance=balance,
                reset_tail=reset_tail, reset_tail_bytes=reset_bytes, comment=raw_case.get("comment"),
                ops=frozenset(ops - CORE_OPS),
            ))
    if doc["number_of_cases"] != len(cases):
        raise VectorFileError(path, f"number_of_cases is {doc['number_of_cases']} but the file has "
                                    f"{len(cases)} cases", "$.number_of_cases")
    unused = sorted(set(declared) - used)
    if unused:
        raise VectorFileError(path, f"flags declared but used by no case: {', '.join(unused)}", "$.flags")
    return VectorFile(path=path, file=file, description=doc.get("description", ""),
                      rulebook=doc.get("rulebook", {}), flags=dict(declared), cases=cases)


def default_vector_paths() -> list[Any]:
    """All ``*.json`` files of the installed ``marginspec.conformance`` package's ``vectors/`` folder,
    sorted by name."""
    root = resources.files("marginspec.conformance").joinpath("vectors")
    try:
        entries = list(root.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    files = [e for e in entries if e.name.endswith(".json") and e.is_file()]
    files.sort(key=lambda e: e.name)
    return [Path(str(e)) if isinstance(e, Path) else e for e in files]


#: The coverage report `marginspec vectors --out DIR` writes next to the vector files: not a vector file.
NOT_VECTORS = frozenset({"coverage.json"})


def _expand(paths: Iterable[Any] | None) -> list[tuple[Any, bool]]:
    """(file, found in a directory) for each file of expand_paths."""
    items = list(paths or ())
    if not items:
        return [(p, False) for p in default_vector_paths()]
    out: list[tuple[Any, bool]] = []
    seen: set[str] = set()
    for item in items:
        in_dir = False
        if isinstance(item, (str, os.PathLike)):
            p = Path(item)
            if p.is_dir():
                found = sorted(f for f in p.glob("*.json") if f.name not in NOT_VECTORS)
                in_dir = True
            elif p.exists():
                found = [p]
            else:
                raise VectorFileError(str(p), "no such file or directory")
        else:
            found = [item]
        for f in found:
            key = os.path.realpath(f) if isinstance(f, Path) else str(f)
            if key not in seen:
                seen.add(key)
                out.append((f, in_dir))
    return out


def expand_paths(paths: Iterable[Any] | None) -> list[Any]:
    """Files as given; a directory stands for its ``*.json`` files (sorted; coverage.json, the
    coverage report written beside them, is left out). None or empty: the packaged vectors.
    Duplicates are dropped (first occurrence kept)."""
    return [f for f, _ in _expand(paths)]


def is_vector_document(doc: Any) -> bool:
    """Whether a parsed JSON document claims to be a vector file: an object whose ``schema`` names a
    marginspec-vectors format (any version: a wrong version is an error, not another kind of file)."""
    schema = doc.get("schema") if isinstance(doc, dict) else None
    return isinstance(schema, str) and schema.startswith("marginspec-vectors/")


def load_vectors(paths: Iterable[Any] | None = None, *, validate: bool = True,
                 skipped: list[str] | None = None) -> list[VectorFile]:
    """Load vector files (see expand_paths); case ids must be unique over all of them. A JSON file
    found in a directory that is not a vector file (is_vector_document: a user's notes.json beside
    the vectors) is skipped, with a note appended to `skipped`; one named on its own, or a file that
    is not JSON at all, is an error."""
    files = []
    for source, in_dir in _expand(paths):
        path, stem, raw = _read(source)
        doc = parse_document(raw, path)
        if not is_vector_document(doc):
            if not in_dir:
                raise VectorFileError(path, f"not a vector file (a vector file is a JSON object with "
                                            f"\"schema\": \"{FORMAT}\")")
            if skipped is not None:
                skipped.append(f"{path}: skipped, not a vector file (no \"schema\": \"{FORMAT}\")")
            continue
        files.append(build_vector_file(doc, path, stem=stem, validate=validate))
    seen: dict[str, str] = {}
    order = 0
    for vf in files:
        for case in vf.cases:
            if case.id in seen:
                raise VectorFileError(vf.path, f"case id {case.id!r} is also used in {seen[case.id]}")
            seen[case.id] = vf.path
            case.order = order
            order += 1
    return files


# --------------------------------------------------------------------------- selection


def is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def select_cases(cases: Iterable[Case], *, rule: Sequence[str] = (), flag: Sequence[str] = (),
                 case: Sequence[str] = ()) -> list[Case]:
    """Cases kept by the filters, in their order. Each filter is a list of alternatives (any may
    match); the filters combine with *and*. ``rule``: prefix of a rule id the case covers;
    ``flag``: a flag of the case; ``case``: a case id, or a glob matched against case ids."""
    rules = tuple(rule or ())
    flags = frozenset(flag or ())
    exact = frozenset(c for c in (case or ()) if not is_glob(c))
    globs = tuple(c for c in (case or ()) if is_glob(c))
    out = []
    for c in cases:
        if rules and not any(r.startswith(p) for r in c.rules for p in rules):
            continue
        if flags and flags.isdisjoint(c.flags):
            continue
        if (exact or globs) and c.id not in exact and not any(fnmatch.fnmatchcase(c.id, g) for g in globs):
            continue
        out.append(c)
    return out


def parse_shard(spec: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"I/N"`` (1 <= I <= N) as (I, N); None stays None."""
    if spec is None:
        return None
    if isinstance(spec, tuple):
        i, n = spec
    else:
        text = str(spec).strip()
        left, sep, right = text.partition("/")
        if not sep or not left.strip().isdigit() or not right.strip().isdigit():
            raise ValueError(f"--shard must look like I/N (e.g. 2/4), got {spec!r}")
        i, n = int(left), int(right)
    if n < 1 or not 1 <= i <= n:
        raise ValueError(f"--shard {i}/{n}: need 1 <= I <= N")
    return i, n


def shard_of(case_id: str, n: int) -> int:
    """The shard (1..n) a case belongs to: a hash of its id, so the split does not depend on the
    filters, on the order of files, or on which other cases exist."""
    digest = hashlib.sha256(case_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n + 1


def shard_cases(cases: Iterable[Case], shard: str | tuple[int, int] | None) -> list[Case]:
    parsed = parse_shard(shard)
    if parsed is None:
        return list(cases)
    i, n = parsed
    return [c for c in cases if shard_of(c.id, n) == i]

"""A quick yes/no check of a document against a JSON Schema (the subset of draft 2020-12 that the
project's schemas use), compiled once into Python closures.

jsonschema stays the authority and the reporter: loading a vector file runs this check first and
calls jsonschema only when it says no, to find the error and its JSON path (and when jsonschema
finds none, the file is accepted). It exists because jsonschema takes about half a millisecond per
vector step, which would make loading the vectors slower than running them. A schema using a
keyword this module does not know raises UnsupportedSchema at compile time (the caller then uses
jsonschema alone). tests/conformance/test_vectors_schema.py checks that both agree.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Callable

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "$defs", "title", "description", "examples",
                          "default", "deprecated", "readOnly", "writeOnly"})


class UnsupportedSchema(ValueError):
    pass


def _is_number(x: Any) -> bool:
    t = type(x)
    return t is int or t is float or t is Decimal


_TYPES: dict[str, Check] = {
    "object": lambda x: type(x) is dict,
    "array": lambda x: type(x) is list,
    "string": lambda x: type(x) is str,
    "integer": lambda x: type(x) is int or (type(x) is float and x.is_integer()),
    "number": _is_number,
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
}


def _json_equal(a: Any, b: Any) -> bool:
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    if type(a) is dict and type(b) is dict:
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if type(a) is list and type(b) is list:
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda x: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda x: a(x) and b(x)
    t = tuple(checks)

    def every(x: Any) -> bool:
        for c in t:
            if not c(x):
                return False
        return True

    return every


def compile_schema(root: Any) -> Check:
    """A function telling whether a document is valid against ``root`` (True/False only)."""
    refs: dict[str, Check] = {}

    def resolve(pointer: str) -> Any:
        if not pointer.startswith("#"):
            raise UnsupportedSchema(f"non-local $ref {pointer!r}")
        node = root
        for part in pointer[1:].split("/")[1:] if pointer != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def ref(pointer: str) -> Check:
        if pointer in refs:
            return refs[pointer]
        cell: list[Check] = []
        refs[pointer] = lambda x: cell[0](x)  # for recursive references
        cell.append(comp(resolve(pointer)))
        refs[pointer] = cell[0]
        return cell[0]

    def comp(s: Any) -> Check:
        if s is True:
            return lambda x: True
        if s is False:
            return lambda x: False
        if not isinstance(s, dict):
            raise UnsupportedSchema(f"not a schema: {s!r}")
        unknown = set(s) - _ANNOTATIONS - _KNOWN
        if unknown:
            raise UnsupportedSchema(f"keywords not supported: {sorted(unknown)}")
        checks: list[Check] = []
        if "$ref" in s:
            checks.append(ref(s["$ref"]))
        if "type" in s:
            types = s["type"] if isinstance(s["type"], list) else [s["type"]]
            fs = tuple(_TYPES[t] for t in types)
            if len(fs) == 1:
                checks.append(fs[0])
            else:
                checks.append(lambda x: any(f(x) for f in fs))
        if "const" in s:
            c = s["const"]
            if type(c) is str:
                checks.append(lambda x: type(x) is str and x == c)
            elif type(c) is bool:
                checks.append(lambda x: x is c)
            else:
                checks.append(lambda x: _json_equal(x, c))
        if "enum" in s:
            options = tuple(s["enum"])
            if all(type(o) is str for o in options):
                strings = frozenset(options)
                checks.append(lambda x: type(x) is str and x in strings)
            else:
                checks.append(lambda x: any(_json_equal(x, o) for o in options))
        # strings
        if "pattern" in s:
            search = re.compile(s["pattern"]).search
            checks.append(lambda x: type(x) is not str or search(x) is not None)
        if "minLength" in s:
            n = s["minLength"]
            checks.append(lambda x: type(x) is not str or len(x) >= n)
        if "maxLength" in s:
            n = s["maxLength"]
            checks.append(lambda x: type(x) is not str or len(x) <= n)
        # numbers
        if "minimum" in s:
            m = s["minimum"]
            checks.append(lambda x: not _is_number(x) or type(x) is bool or x >= m)
        if "maximum" in s:
            m = s["maximum"]
            checks.append(lambda x: not _is_number(x) or type(x) is bool or x <= m)
        # objects
        if any(k in s for k in ("properties", "required", "additionalProperties", "propertyNames",
                                "minProperties", "maxProperties")):
            checks.append(_object(s))
        # arrays
        if any(k in s for k in ("items", "minItems", "maxItems", "uniqueItems")):
            checks.append(_array(s))
        # combinators
        if "allOf" in s:
            checks.extend(comp(sub) for sub in s["allOf"])
        if "anyOf" in s:
            subs = tuple(comp(sub) for sub in s["anyOf"])
            checks.append(lambda x: any(f(x) for f in subs))
        if "oneOf" in s:
            subs1 = tuple(comp(sub) for sub in s["oneOf"])
            checks.append(lambda x: sum(1 for f in subs1 if f(x)) == 1)
        if "not" in s:
            neg = comp(s["not"])
            checks.append(lambda x: not neg(x))
        if "if" in s:
            cond = comp(s["if"])
            then = comp(s["then"]) if "then" in s else None
            other = comp(s["else"]) if "else" in s else None

            def if_then(x: Any) -> bool:
                if cond(x):
                    return then is None or then(x)
                return other is None or other(x)

            checks.append(if_then)
        return _all(checks)

    def _object(s: dict) -> Check:
        props = {k: comp(v) for k, v in s.get("properties", {}).items()}
        required = tuple(s.get("required", ()))
        addl = s.get("additionalProperties", True)
        addl_check = None if addl is True else comp(addl)
        names = comp(s["propertyNames"]) if "propertyNames" in s else None
        lo = s.get("minProperties")
        hi = s.get("maxProperties")

        def sized(x: dict) -> bool:
            """The required properties are there and the property count is within bounds."""
            for name in required:
                if name not in x:
                    return False
            return (lo is None or len(x) >= lo) and (hi is None or len(x) <= hi)

        if addl_check is None and names is None:
            # Only the named properties matter: look them up rather than walk the instance.
            pairs = tuple(props.items())
            missing = object()

            def check_named(x: Any) -> bool:
                if type(x) is not dict:
                    return True
                if not sized(x):
                    return False
                for k, f in pairs:
                    v = x.get(k, missing)
                    if v is not missing and not f(v):
                        return False
                return True

            return check_named

        def check(x: Any) -> bool:
            if type(x) is not dict:
                return True
            if not sized(x):
                return False
            for k, v in x.items():
                if names is not None and not names(k):
                    return False
                f = props.get(k)
                if f is None:
                    if addl_check is not None and not addl_check(v):
                        return False
                elif not f(v):
                    return False
            return True

        return check

    def _array(s: dict) -> Check:
        items = comp(s["items"]) if "items" in s else None
        lo = s.get("minItems")
        hi = s.get("maxItems")
        unique = s.get("uniqueItems", False)

        def check(x: Any) -> bool:
            if type(x) is not list:
                return True
            if lo is not None and len(x) < lo:
                return False
            if hi is not None and len(x) > hi:
                return False
            if unique:
                if all(type(v) is str for v in x):
                    if len(set(x)) != len(x):
                        return False
                else:
                    for i in range(len(x)):
                        for j in range(i):
                            if _json_equal(x[i], x[j]):
                                return False
            if items is not None:
                for v in x:
                    if not items(v):
                        return False
            return True

        return check

    return comp(root)


_KNOWN = frozenset({"$ref", "type", "const", "enum", "pattern", "minLength", "maxLength", "minimum",
                    "maximum", "properties", "required", "additionalProperties", "propertyNames",
                    "minProperties", "maxProperties", "items", "minItems", "maxItems", "uniqueItems",
                    "allOf", "anyOf", "oneOf", "not", "if", "then", "else"})

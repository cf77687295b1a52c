"""The shape of the rulebook (all spec/*.yaml files merged), as a JSON Schema.

Structure is checked here, with jsonschema; meaning (names, units, cycles, references) is checked
by `loader.py` afterwards.
"""

_STR = {"type": "string"}
_STRS = {"type": "array", "items": _STR}
_ID = {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_.\-]*$"}
_EXPR = {"type": "string", "minLength": 1}
_TYPED = {  # a value with a unit, or a type (bool or an enum)
    "type": "object",
    "properties": {"unit": _STR, "type": _STR, "nullable": {"type": "boolean"},
                   "description": _STR, "initial": {"type": ["string", "boolean", "null"]}},
    "oneOf": [{"required": ["unit"]}, {"required": ["type"]}],
}
_ASSIGN = {"type": "object", "additionalProperties": _EXPR, "minProperties": 1}
_EFFECT = {
    "type": "object",
    "properties": {
        "set": _ASSIGN, "create_position": _ASSIGN, "remove_position": {"const": True},
        "liquidate_if": _EXPR, "call": _ID, "args": _ASSIGN, "when": _EXPR,
    },
    "additionalProperties": False,
    "oneOf": [{"required": ["set"]}, {"required": ["create_position"]}, {"required": ["remove_position"]},
              {"required": ["liquidate_if"]}, {"required": ["call"]}],
}
_CHECK = {
    "type": "object",
    "properties": {
        "id": _ID, "require": _EXPR, "error": _STR, "message": _STR, "when": _EXPR,
        "with": _ASSIGN, "call": _ID, "args": _ASSIGN, "sources": _STRS, "notes": _STRS, "text": _STR,
    },
    "required": ["id"],
    "additionalProperties": False,
    "oneOf": [{"required": ["require", "error", "message"]}, {"required": ["call", "args"]}],
}
_LETS = {"type": "object", "additionalProperties": _EXPR}
_ACTION = {
    "type": "object",
    "properties": {
        "description": _STR, "sources": _STRS, "notes": _STRS,
        "args": {"type": "object", "additionalProperties": {
            "type": "object",
            "properties": {"unit": _STR, "type": _STR, "optional": {"type": "boolean"}, "valid": _EXPR},
            "additionalProperties": False,
            "oneOf": [{"required": ["unit"]}, {"required": ["type"]}]}},
        "let": _LETS,
        "checks": {"type": "array", "items": _CHECK},
        "effects": {"type": "array", "items": _EFFECT},
        "result": {"type": "object", "additionalProperties": {
            "type": "object",
            "properties": {"expr": _EXPR, "view": _STR, "when": _EXPR, "omit_null": {"type": "boolean"}},
            "additionalProperties": False,
            "oneOf": [{"required": ["expr"]}, {"required": ["view"]}]}},
    },
    "required": ["description", "checks", "effects"],
    "additionalProperties": False,
}
_DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
_WORD = {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_]*$"}  # an enumeration value

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["rulebook", "dimensions", "units", "enums", "errors", "parameters", "tier_fields",
                 "account", "symbol", "position", "derived", "position_view", "common_checks",
                 "actions", "liquidation", "invariants", "sources", "notes", "contracts"],
    "additionalProperties": False,
    "properties": {
        "rulebook": {"type": "object", "required": ["name", "version", "title", "files"],
                     "properties": {"name": _STR, "version": _STR, "title": _STR, "summary": _STR,
                                    "files": _STRS}, "additionalProperties": False},
        "dimensions": _STRS,
        "units": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["dims"],
            "properties": {"dims": {"type": "object", "additionalProperties": {"type": "string", "pattern": r"^-?\d+$"}},
                           "description": _STR}, "additionalProperties": False}},
        "enums": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["values"],
            "properties": {"values": {**_STRS, "minItems": 1}, "description": _STR}, "additionalProperties": False}},
        "errors": {"type": "object", "additionalProperties": _STR},
        "parameters": {"type": "object", "additionalProperties": {  # a number with a unit, or an enum
            "type": "object", "required": ["domain"],
            "properties": {"unit": _STR, "type": _STR, "domain": _EXPR, "default": {"anyOf": [_DECIMAL, _WORD]},
                           "optional": {"type": "boolean"}, "description": _STR},
            "oneOf": [{"required": ["unit"]}, {"required": ["type"]}],
            "additionalProperties": False}},
        "tier_fields": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["unit", "domain"],
            "properties": {"unit": _STR, "domain": _EXPR, "description": _STR}, "additionalProperties": False}},
        "account": {"type": "object", "additionalProperties": _TYPED},
        "symbol": {"type": "object", "additionalProperties": _TYPED},
        "position": {"type": "object", "additionalProperties": _TYPED},
        "derived": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["expr", "description"],
            "properties": {"unit": _STR, "type": _STR, "nullable": {"type": "boolean"}, "expr": _EXPR,
                           "symbol": _STR, "description": _STR, "sources": _STRS, "notes": _STRS},
            "additionalProperties": False,
            "oneOf": [{"required": ["unit"]}, {"required": ["type"]}]}},
        "position_view": {**_STRS, "minItems": 1},
        "common_checks": {"type": "array", "items": {
            "type": "object", "required": ["id", "error", "message", "text"],
            "properties": {"id": _ID, "error": _STR, "message": _STR, "text": _STR, "notes": _STRS},
            "additionalProperties": False}},
        "actions": {"type": "object", "additionalProperties": _ACTION, "minProperties": 1},
        "liquidation": {"type": "object", "required": ["description", "effects"],
                        "properties": {"description": _STR, "sources": _STRS, "notes": _STRS,
                                       "let": _LETS, "effects": {"type": "array", "items": _EFFECT}},
                        "additionalProperties": False},
        "invariants": {"type": "array", "items": {
            "type": "object", "required": ["id", "family", "title", "statement"],
            "properties": {"id": _ID, "family": {"type": "string", "pattern": r"^[1-8]$"}, "title": _STR,
                           "statement": _STR, "sources": _STRS},
            "additionalProperties": True}},
        "sources": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["text", "covered_by"],
            "properties": {"text": _STR, "covered_by": {**_STRS, "minItems": 1}}, "additionalProperties": False}},
        "notes": {"type": "array", "items": {
            "type": "object", "required": ["id", "title", "text"],
            "properties": {"id": _ID, "title": _STR, "text": _STR, "why": _STR}, "additionalProperties": False}},
        "contracts": {"type": "object", "minProperties": 1, "additionalProperties": {
            "type": "object",
            "properties": {"tiers": {"type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": _DECIMAL}}},
            "additionalProperties": {"anyOf": [_DECIMAL, _WORD, {"type": "array"}]},
            "required": ["tiers"]}},
        "flags": {"type": "object", "propertyNames": {"pattern": r"^[A-Za-z][A-Za-z0-9_]*$"}, "additionalProperties": {
            "type": "object", "required": ["meaning", "if_wrong"],
            "properties": {"meaning": _STR, "if_wrong": _STR}, "additionalProperties": False}},
    },
}

"""Infer Hive/Glue column types from JSON records and merge them the way Glue's crawler does.

A type is a small tree: a primitive name, a `Struct` (ordered fields) or an
`Array`. Merging is a join: null gives way to anything, int widens to bigint
and to double, structs merge field by field, arrays merge their elements, and
anything else that disagrees becomes string. A field only ever seen as null
renders as string, as Glue catalogues it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1

NULL = "null"  # internal only: never rendered


@dataclass
class Struct:
    fields: dict[str, GlueType] = field(default_factory=dict)


@dataclass
class Array:
    element: GlueType = NULL


GlueType = Union[str, Struct, Array]

# Numeric widening order; a pair not in here (and not equal) widens to string.
_NUMERIC_RANK = {"int": 0, "bigint": 1, "double": 2}


def type_of(value: Any) -> GlueType:
    """The Glue type of one JSON value."""
    if value is None:
        return NULL
    if isinstance(value, bool):  # before int: bool is an int subclass in Python
        return "boolean"
    if isinstance(value, int):
        if INT_MIN <= value <= INT_MAX:
            return "int"
        if BIGINT_MIN <= value <= BIGINT_MAX:
            return "bigint"
        return "double"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return Struct({str(k): type_of(v) for k, v in value.items()})
    if isinstance(value, list):
        element: GlueType = NULL
        for item in value:
            element = merge(element, type_of(item))
        return Array(element)
    return "string"


def merge(a: GlueType, b: GlueType) -> GlueType:
    """The narrowest type that holds values of both `a` and `b`."""
    if a == NULL:
        return b
    if b == NULL:
        return a
    if isinstance(a, Struct) and isinstance(b, Struct):
        return merge_struct(a, b)
    if isinstance(a, Array) and isinstance(b, Array):
        return Array(merge(a.element, b.element))
    if isinstance(a, str) and isinstance(b, str):
        if a == b:
            return a
        if a in _NUMERIC_RANK and b in _NUMERIC_RANK:
            return a if _NUMERIC_RANK[a] > _NUMERIC_RANK[b] else b
    return "string"


def merge_struct(a: Struct, b: Struct) -> Struct:
    """Fields of `a` in their order, then the fields only `b` has, each merged."""
    out = dict(a.fields)
    for name, kind in b.fields.items():
        out[name] = merge(out[name], kind) if name in out else kind
    return Struct(out)


def render(kind: GlueType) -> str:
    """Hive DDL spelling: struct<a:int,b:array<string>>; a null-only type is string."""
    if isinstance(kind, Struct):
        inner = ",".join(f"{name}:{render(sub)}" for name, sub in kind.fields.items())
        return f"struct<{inner}>"
    if isinstance(kind, Array):
        return f"array<{render(kind.element)}>"
    return "string" if kind == NULL else kind


def columns_of(schema: Struct) -> list[dict[str, str]]:
    """Glue Column dicts for a record schema, in first-seen order."""
    return [{"Name": name, "Type": render(kind)} for name, kind in schema.fields.items()]


def lowercase_columns(schema: Struct) -> Struct:
    """Top-level names lowercased, as Glue catalogues columns; names differing only in case merge."""
    out: dict[str, GlueType] = {}
    for name, kind in schema.fields.items():
        low = name.lower()
        out[low] = merge(out[low], kind) if low in out else kind
    return Struct(out)


def similarity(a: Struct, b: Struct) -> float:
    """Share of column names two schemas have in common (1.0 when both are empty)."""
    names_a, names_b = set(a.fields), set(b.fields)
    union = names_a | names_b
    return len(names_a & names_b) / len(union) if union else 1.0

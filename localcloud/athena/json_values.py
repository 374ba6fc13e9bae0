"""json_parse and JSON '…' literals as Trino writes them: Jackson's canonical text, keys sorted.

Trino parses the text into Java objects and writes them back with Jackson and
ORDER_MAP_ENTRIES_BY_KEYS (JsonTypeUtil.jsonParse), so json_parse('{"b":1,"a":2}') is
{"a":2,"b":1}: every object's keys sorted (Java's String order: UTF-16 code units), a
repeated key keeping its last value, integers exact, other numbers Java doubles written by
Double.toString (1.50 -> 1.5, 1e2 -> 100.0, 1e7 -> 1.0E7), strings with Jackson's escapes
(\\n \\t \\r \\b \\f, other control characters as \\u00XX, upper-case hex; no other escaping).
DuckDB keeps the keys in their order and a repeated key twice, so the engine calls
`trino_json_parse` (registered on its DuckDB connection) instead.

Text that is no JSON fails with Trino's INVALID_FUNCTION_ARGUMENT "Cannot convert '…' to
JSON"; a number no Java double can hold (1e400) is refused (NOT_SUPPORTED), since Jackson
would write Infinity, which is not JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

import duckdb

from localcloud.athena.errors import athena_error
from localcloud.athena.types import java_double

FUNCTION = "trino_json_parse"

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


class _Refused(ValueError):
    """Raised inside the UDF: DuckDB passes the text on, and errors.engine_error reads it back."""


def _java_double(value: float) -> str:
    """Java's Double.toString (types.py), for finite values: Jackson would write Infinity, which is no JSON."""
    if not math.isfinite(value):
        raise _Refused(athena_error("NOT_SUPPORTED", "json_parse of a number beyond a double's range is not "
                                    "supported by the local Athena engine") + "\u2400")
    return java_double(value)


def _string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ch < " ":
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _java_order(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def canonical(value: Any) -> str:
    """Jackson's text of a parsed JSON value, object keys in Java's order."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    return "{" + ",".join(f"{_string(k)}:{canonical(value[k])}" for k in sorted(value, key=_java_order)) + "}"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Jackson rejects NaN and Infinity tokens by default


def trino_json_parse(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except ValueError:
        raise _Refused(athena_error("INVALID_FUNCTION_ARGUMENT", f"Cannot convert '{text}' to JSON")
                       + "\u2400") from None
    return canonical(value)


def register(connection: duckdb.DuckDBPyConnection) -> None:
    """Make `trino_json_parse(varchar) -> varchar` callable in `connection`'s queries."""
    connection.create_function(FUNCTION, trino_json_parse, ["VARCHAR"], "VARCHAR", side_effects=False)

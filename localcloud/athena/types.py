"""DuckDB result types -> Athena (Trino) type names and Athena's text rendering of values.

Plain dicts of pure functions, so a reader sees the whole mapping at once.
GetQueryResults and the result CSV carry every value as text, rendered the
way Athena renders it (timestamps with milliseconds, booleans lower-case,
arrays `[a, b]`, maps and rows `{k=v}`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct
import uuid
from collections.abc import Callable
from typing import Any

# duckdb type id -> Athena type name. Integers wider than bigint come from
# DuckDB's SUM over integers, which Athena types as bigint.
ATHENA_TYPE_NAMES: dict[str, str] = {
    "varchar": "varchar",
    "boolean": "boolean",
    "tinyint": "tinyint",
    "smallint": "smallint",
    "integer": "integer",
    "bigint": "bigint",
    "hugeint": "bigint",
    "utinyint": "smallint",
    "usmallint": "integer",
    "uinteger": "bigint",
    "ubigint": "bigint",
    "uhugeint": "bigint",
    "float": "real",
    "double": "double",
    "decimal": "decimal",
    "date": "date",
    "time": "time",
    "timestamp": "timestamp",
    "timestamp_ms": "timestamp",
    "timestamp_s": "timestamp",
    "timestamp_ns": "timestamp",
    "timestamp with time zone": "timestamp with time zone",
    "timestamptz_ns": "timestamp with time zone",
    "timestamp_tz_ns": "timestamp with time zone",
    "interval": "interval day to second",
    "blob": "varbinary",
    "uuid": "uuid",
    "list": "array",
    "array": "array",
    "map": "map",
    "struct": "row",
    "json": "json",
    "null": "unknown",
    '"null"': "unknown",
}

# Athena type name -> (Precision, Scale) it reports in ColumnInfo.
PRECISION_SCALE: dict[str, tuple[int, int]] = {
    "varchar": (2147483647, 0),
    "boolean": (0, 0),
    "tinyint": (3, 0),
    "smallint": (5, 0),
    "integer": (10, 0),
    "bigint": (19, 0),
    "real": (17, 0),
    "double": (17, 0),
    "date": (0, 0),
    "time": (3, 0),
    "timestamp": (3, 0),
    "timestamp with time zone": (3, 0),
    "varbinary": (1073741824, 0),
}


def java_double(value: float) -> str:
    """Java's Double.toString, which Trino uses: 2.5, 1.0E7, 1.0E-4, NaN, Infinity."""
    if not math.isfinite(value) or value == 0:
        return _java_layout(value, repr(value))
    return _java_layout(value, _java_digits(value, repr(value), lambda text: float(text) == value))


def _java_digits(value: float, shortest: str, reads_back: Callable[[str], bool]) -> str:
    """The decimal Java's toString writes (JDK 19+): the shortest that reads back, but never one digit.

    Its rule: among the decimals that read back as `value`, those of the fewest digits, or of one
    or two digits when one is enough, and of these the closest to `value` (ties: the even last
    digit). Only where one digit reads back can a two-digit one be closer, which happens only
    for subnormals: Double.MIN_VALUE is 4.9E-324, where the shortest is 5E-324.
    """
    exact = decimal.Decimal(value)
    one = decimal.Decimal(shortest)
    if len(one.normalize().as_tuple().digits) != 1:
        return shortest
    exponent = exact.adjusted() - 1  # two significant digits: a step of 10^(adjusted - 1)
    step = decimal.Decimal(1).scaleb(exponent)
    below = (exact / step).to_integral_value(decimal.ROUND_FLOOR) * step
    candidates = [one] + [c for c in (below, below + step) if reads_back(str(c))]
    best = min(candidates, key=lambda c: (abs(c - exact), int(c.scaleb(-exponent)) % 2))
    return str(best)


def java_float(value: float) -> str:
    """Java's Float.toString of a real: the shortest digits that read back as the same 32-bit float
    (0.1, where the double it widens to prints 0.10000000149011612), laid out as Double.toString."""
    if not math.isfinite(value) or value == 0:
        return java_double(value)
    single = struct.unpack("f", struct.pack("f", value))[0]

    def reads_back(text: str) -> bool:
        return struct.unpack("f", struct.pack("f", float(text)))[0] == single

    for digits in range(1, 10):
        text = f"{single:.{digits}g}"
        if reads_back(text):
            return _java_layout(single, _java_digits(single, text, reads_back))
    return java_double(value)


def java_special(value: float, zero: str = "0.0") -> str | None:
    """How Java writes NaN, the infinities and a signed zero (`zero` is its positive form), else None."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return ("-" + zero) if math.copysign(1, value) < 0 else zero
    return None


def _java_layout(value: float, shortest: str) -> str:
    """`value` laid out as Java's toString, from its shortest round-tripping text `shortest`."""
    special = java_special(value)
    if special is not None:
        return special
    sign, digits, exponent = decimal.Decimal(shortest).normalize().as_tuple()
    text = "".join(map(str, digits))
    exp10 = exponent + len(text) - 1
    if 1e-3 <= abs(value) < 1e7:
        plain = f"{decimal.Decimal(shortest).normalize():f}"
        return plain if "." in plain else plain + ".0"
    mantissa = text[0] + "." + (text[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{exp10}"


def _timestamp(value: dt.datetime) -> str:
    text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if value.tzinfo is not None:
        text += " UTC" if value.utcoffset() == dt.timedelta(0) else " " + value.strftime("%z")
    return text


def _interval(value: dt.timedelta) -> str:
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{value.days} {hours:02d}:{minutes:02d}:{seconds:02d}.{value.microseconds // 1000:03d}"


def render(value: Any) -> str | None:
    """Any value DuckDB returns -> Athena's text for it (None stays None: SQL NULL)."""
    if value is None:
        return None
    renderer = _RENDERERS.get(type(value))
    if renderer is not None:
        return renderer(value)
    for kind, fn in _RENDERERS.items():
        if isinstance(value, kind):
            return fn(value)
    return str(value)


def _nested(value: Any) -> str:
    # Inside arrays, maps and rows Trino prints NULL as "null".
    text = render(value)
    return "null" if text is None else text


def _mapping(value: dict) -> str:
    if set(value) == {"key", "value"} and isinstance(value.get("key"), list):
        pairs = zip(value["key"], value["value"])  # DuckDB MAP as returned by some APIs
    else:
        pairs = value.items()
    return "{" + ", ".join(f"{_nested(k)}={_nested(v)}" for k, v in pairs) + "}"


_RENDERERS: dict[type, Callable[[Any], str]] = {
    bool: lambda v: "true" if v else "false",
    int: str,
    float: java_double,
    decimal.Decimal: lambda v: format(v, "f"),
    str: lambda v: v,
    dt.datetime: _timestamp,
    dt.date: lambda v: v.isoformat(),
    dt.time: lambda v: v.strftime("%H:%M:%S.") + f"{v.microsecond // 1000:03d}",
    dt.timedelta: _interval,
    bytes: lambda v: " ".join(f"{b:02x}" for b in v),
    bytearray: lambda v: " ".join(f"{b:02x}" for b in v),
    uuid.UUID: str,
    list: lambda v: "[" + ", ".join(_nested(x) for x in v) + "]",
    tuple: lambda v: "[" + ", ".join(_nested(x) for x in v) + "]",
    dict: _mapping,
}


def column_info(name: str, duck_type: Any, database: str = "", table: str = "",
                length: int | None = None) -> dict[str, Any]:
    """ColumnInfo for one result column of DuckDB type `duck_type` (a DuckDBPyType).

    `length`: a varchar(n) column's n, its Precision (as in Trino's JDBC ColumnInfo); DuckDB keeps none.
    """
    type_id = str(getattr(duck_type, "id", duck_type)).lower()
    if str(duck_type).upper() == "JSON":  # DuckDB's JSON is a VARCHAR by id, JSON by name
        type_id = "json"
    athena = ATHENA_TYPE_NAMES.get(type_id, type_id)
    if athena == "decimal":
        params = dict(duck_type.children)
        precision, scale = int(params["precision"]), int(params["scale"])
    elif athena == "varchar" and length is not None:
        precision, scale = length, 0
    else:
        precision, scale = PRECISION_SCALE.get(athena, (0, 0))
    return {
        "CatalogName": "hive",
        "SchemaName": database,
        "TableName": table,
        "Name": name,
        "Label": name,
        "Type": athena,
        "Precision": precision,
        "Scale": scale,
        "Nullable": "UNKNOWN",
        "CaseSensitive": athena == "varchar",
    }


# Athena view column types -> Glue (Hive) column types, for views stored in Glue.
ATHENA_TO_HIVE: dict[str, str] = {
    "varchar": "string",
    "integer": "int",
    "real": "float",
    "row": "struct",
    "unknown": "string",
    "timestamp with time zone": "timestamp",
    "interval day to second": "string",
    "json": "string",
    "uuid": "string",
    "varbinary": "binary",
}

"""Exact DECIMAL columns from JSON lines: a number's own digits, never a double's.

Athena's JSON SerDes read a decimal column from the number token's text
(Trino's Hive JsonSerDe reader passes `parser.getText()` to its decimal
parser), so `12345678901234567890.123456789` in a decimal(38,10) column is
exactly that. DuckDB's read_json renders a number it is asked for as VARCHAR
through a double (`1.2345678901234567e+19`), which is what the engine's cast
to the catalog type used to see: digits past the 15th-17th were silently
changed, and even decimal(10,2) could round the wrong way
(`1.00499999999999999999` renders `1.005`, which rounds to 1.01; its digits
round to 1.00). Integer tokens are not affected: DuckDB keeps their digits
(beyond 2^64 too), so BIGINT columns are exact already.

So the decode keeps its fast scan (VARCHAR, then the cast) and flags every row whose
rendering might not round like the token's digits; if one is flagged, the batch is read
again line by line with Python's json, numbers kept as their token's text
(openx_json.read_rows), and the same cast then reads the digits themselves (a boolean or
a value the type cannot hold still fails the same way). Lines whose decimals carry no
more digits than their scale (what the project's transform writes) are never flagged,
so the usual lake is read once; the flag costs a few per cent of the decode.

When the rendering is safe: the token t and the double d it was read as
differ by at most half an ulp of d (|d| * 2^-53), and the rendering r is the
shortest text that reads back as d, so it lies in the same interval. Cast to
scale s, t and r round alike unless a rounding boundary (a half at the s-th
decimal; DuckDB rounds half away from zero) lies within that interval. With
x = d * 10^s (one more rounding, |x| * 2^-53), the row is flagged when x is
within |x| * 2^-50 of a half: a margin of twice the two errors together. From
|x| >= 2^49 on every row is flagged, so wide decimals (decimal(38,10) holding
big values) always take the exact read, as they must.
"""

from __future__ import annotations

import re

_DECIMAL = re.compile(r"^\s*decimal\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$", re.I)
# Hive's `decimal` without precision is decimal(10,0).
_HIVE_DEFAULT_PRECISION = 10

INEXACT = "__inexact"


def decimal_type(hive_type: str) -> tuple[int, int] | None:
    """(precision, scale) of a Glue decimal column type, or None for any other type."""
    m = _DECIMAL.match(hive_type)
    if not m:
        return None
    precision = int(m.group(1)) if m.group(1) else _HIVE_DEFAULT_PRECISION
    return precision, int(m.group(2) or 0)


def decimal_columns(columns: list[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """The catalog's decimal columns among `columns` (name, Glue type): name -> (precision, scale)."""
    found = {}
    for name, hive_type in columns:
        shape = decimal_type(hive_type)
        if shape is not None:
            found[name] = shape
    return found


def may_round_differently(ref: str, scale: int) -> str:
    """SQL: true when the VARCHAR rendering `ref` of a token might not cast to decimal(_, scale) like its digits.

    Text that is no number (strings, booleans, objects) is not flagged: the cast decides for it as before.
    """
    x = f"(TRY_CAST({ref} AS DOUBLE) * 1e{scale})"
    return (f"CASE WHEN {x} IS NULL THEN false WHEN NOT isfinite({x}) THEN true "
            f"ELSE abs({x} - floor({x}) - 0.5) <= abs({x}) * {2.0 ** -50!r} END")

"""CAST(double AS varchar) and CAST(real AS varchar) as Trino writes them: in scientific notation.

Trino's DoubleOperators.castToVarchar formats a double with java.text.DecimalFormat
"0.0###################E0" (the SQL standard's form): 1.5 is 1.5E0, 0.1 is 1.0E-1, 12345.678 is
1.2345678E4. RealOperators.castToVarchar formats Float.toString's digits with "0.0#####E0": at most
7 significant digits, rounded half even on the value (3.4028235E38 is 3.402823E38... see below).
Zero is 0E0 or -0E0, the infinities Infinity and -Infinity, NaN NaN (DecimalFormat's symbol).

DecimalFormat takes the digits Double.toString writes (types.java_double), and
rounds only past its maximum digits: never for a double (at most 17 digits, 21 allowed); for a
real, past 7, half even on the exact binary value of the double parsed from Float.toString
(JDK-7131459), which is what rounding that exact value itself gives.

DuckDB writes 1.5 and 1e-05. These are DuckDB functions (register()), applied by typed.py.
"""

from __future__ import annotations

import decimal
import math

import duckdb

from localcloud.athena.types import java_double, java_float, java_special

DOUBLE_FUNCTION = "trino_double_text"
SHORTEST_FUNCTION = "trino_double_digits"  # Double.toString's digits, plainly written (for format's %f)
JAVA_FUNCTION = "trino_double_java"  # Double.toString itself (format's %s of a double)
REAL_FUNCTION = "trino_real_text"
_REAL_DIGITS = 7


def _special(value: float) -> str | None:
    return java_special(value, zero="0E0")  # castToVarchar writes zero as 0E0 / -0E0


def _scientific(number: decimal.Decimal) -> str:
    """d.ddd…E<exponent>: one integer digit, at least one fraction digit, no trailing zeros."""
    sign, digits, exponent = number.normalize().as_tuple()
    text = "".join(map(str, digits))
    power = exponent + len(text) - 1
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


def double_text(value: float | None) -> str | None:
    if value is None:
        return None
    return _special(value) or _scientific(decimal.Decimal(java_double(value)))


def real_text(value: float | None) -> str | None:
    if value is None:
        return None
    special = _special(value)
    if special is not None:
        return special
    exact = decimal.Decimal(float(java_float(value)))  # Double.parseDouble(Float.toString(f)), exactly
    rounded = exact.quantize(decimal.Decimal(1).scaleb(exact.adjusted() - _REAL_DIGITS + 1),
                             rounding=decimal.ROUND_HALF_EVEN)
    return _scientific(rounded)


def double_digits(value: float | None) -> str | None:
    """A finite double's Double.toString digits as a plain decimal (1.005, 0.00001); None otherwise."""
    if value is None or not math.isfinite(value):
        return None
    return format(decimal.Decimal(java_double(value)), "f")


def register(connection: duckdb.DuckDBPyConnection) -> None:
    """Make trino_double_text(double), trino_real_text(real) and trino_double_digits(double) callable."""
    connection.create_function(DOUBLE_FUNCTION, double_text, ["DOUBLE"], "VARCHAR", side_effects=False)
    connection.create_function(REAL_FUNCTION, real_text, ["FLOAT"], "VARCHAR", side_effects=False)
    # NULL for a value that is not finite: "special" lets the function answer NULL itself.
    connection.create_function(SHORTEST_FUNCTION, double_digits, ["DOUBLE"], "VARCHAR", side_effects=False,
                               null_handling="special")
    connection.create_function(JAVA_FUNCTION, java_double, ["DOUBLE"], "VARCHAR", side_effects=False)

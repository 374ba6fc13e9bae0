"""DuckDB's errors in Athena's words: which Trino error code, what message, where in the query.

Pure: a DuckDB exception and the query text in, a `QueryFailed` out. The
engine's own wording never reaches the user; what cannot be classified is
refused as NOT_SUPPORTED (or GENERIC_INTERNAL_ERROR for an engine fault), its
text going to the log.
"""

from __future__ import annotations

import logging
import math
import re

import duckdb

from localcloud.athena import sql as athena_sql
from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.types import java_double, java_float

log = logging.getLogger("localcloud.athena")

_COLUMN = re.compile(r'Referenced column "?([^"!]+?)"? not found', re.I)
_FUNCTION = re.compile(r"(?:Scalar|Aggregate|Table) Function with name \"?(\w+)\"? does not exist", re.I)
_NO_MATCH = re.compile(r"No function matches the given name and argument types '([^']+)'", re.I)
# Raised by our own translations through DuckDB's error(): `ATHENA:<Trino code>:<message>`.
_OURS = re.compile("ATHENA:([A-Z_]+):(.*?)(?:\u2400.*)?$")
_DIVISION_BY_ZERO = re.compile(r"Division by zero in expression \((.*?)\)\. ")
_OVERFLOW = re.compile(r"Overflow in (addition|subtraction|multiplication) of (INT\d+|[A-Z]+) \((.*)\)")
_NOT_AGGREGATE = re.compile(r'column "([^"]+)" must appear in the GROUP BY clause')
_DECIMAL_OVERFLOW = re.compile(r"Overflow in (?:addition|subtraction|multiplication|division) of DECIMAL\(\d+\)")
_DECIMAL_TO_DECIMAL = re.compile(r'Casting value "([^"]*)" to type DECIMAL\((\d+),\s*(\d+)\) failed: value is out of range')
_DOUBLE_TO_DECIMAL = re.compile(r"Could not cast value (\S+) to DECIMAL\((\d+),\s*(\d+)\)")
_DIVISION_OVERFLOW = re.compile(r"Overflow in division of (-?\d+) / (-?\d+)")
_ABS_OVERFLOW = re.compile(r"Overflow on abs\((-?\d+)\)")
# The one value of each integer type whose negation (abs, / -1) overflows it.
_MINIMUM_OF = {-(2 ** 7): "tinyint", -(2 ** 15): "smallint", -(2 ** 31): "integer", -(2 ** 63): "bigint"}
_MARKED_CAST = re.compile("Could not convert string '(.*)\u2400' to (INT\\d+)")
# DuckDB's cast failures -> Trino's wording (VarcharOperators, DateOperators, the integer casts).
_STRING_CAST = re.compile(r"Could not convert string '(.*)' to (\w+)")
_DECIMAL_CAST = re.compile(r'Could not convert string "(.*)" to DECIMAL\((\d+),(\d+)\)')
_DATE_CAST = re.compile(r'(date|timestamp) field (?:format|value out of range): "(.*?)"')
_RANGE_CAST = re.compile(r"Type (\w+) with value (.*) can't be cast because the value is out of range for the "
                         r"destination type (\w+)")
_TRINO_TYPE_NAME = {"INT8": "TINYINT", "INT16": "SMALLINT", "INT32": "INT", "INT64": "BIGINT", "DOUBLE": "DOUBLE",
                    "FLOAT": "REAL", "BOOL": "BOOLEAN"}
_TRINO_INTEGER = {"INT8": "tinyint", "INT16": "smallint", "INT32": "integer", "INT64": "bigint"}


_DUCKDB_TYPE_NAMES = {"INTEGER_LITERAL": "integer", "INTEGER": "integer", "BIGINT": "bigint", "SMALLINT": "smallint",
                      "TINYINT": "tinyint", "HUGEINT": "bigint", "DOUBLE": "double", "FLOAT": "real",
                      "VARCHAR": "varchar", "STRING_LITERAL": "varchar", "BOOLEAN": "boolean", "DATE": "date",
                      "TIMESTAMP": "timestamp(3)", "TIMESTAMP WITH TIME ZONE": "timestamp(3) with time zone",
                      "BLOB": "varbinary", "JSON": "json", "NULL": "unknown", '"NULL"': "unknown"}


def _split_types(text: str) -> list[str]:
    """DuckDB's argument types, split at the commas outside parentheses and brackets."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "([" and 1 or char in ")]" and -1 or 0
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [p for p in parts + [current.strip()] if p]


def _trino_type(duck: str) -> str:
    """A DuckDB type name as Trino writes it (INTEGER[] is array(integer), DECIMAL(5,2) decimal(5,2))."""
    if duck.endswith("[]"):
        return f"array({_trino_type(duck[:-2])})"
    decimal_type = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", duck)
    if decimal_type:
        return f"decimal({decimal_type.group(1)},{decimal_type.group(2)})"
    return _DUCKDB_TYPE_NAMES.get(duck.upper(), duck.lower())


def _float_to_integer_failure(source: str, text: str, target: str) -> QueryFailed:
    """DoubleOperators' (and RealOperators') cast failures: a bigint "Unable to cast", the narrower
    integers "Out of range", NaN "Cannot cast"; the value written as Java writes it."""
    value = float(text)
    written = java_double(value) if source == "DOUBLE" else java_float(value)
    if target == "bigint" and source == "FLOAT":
        # RealOperators.castToLong: NaN fails, a value past the range saturates (Java's (long) cast)
        # in current Trino; older versions failed. Refused rather than guessed.
        if math.isnan(value):
            return QueryFailed("INVALID_CAST_ARGUMENT", "Cannot cast real NaN to bigint")
        return QueryFailed("NOT_SUPPORTED", "casting a real past the bigint range is not supported by the local "
                           "Athena engine")
    if target == "bigint":
        return QueryFailed("INVALID_CAST_ARGUMENT", f"Unable to cast {written} to bigint")
    if math.isnan(value):
        return QueryFailed("INVALID_CAST_ARGUMENT", f"Cannot cast {'double' if source == 'DOUBLE' else 'real'} "
                           f"NaN to {target}")
    return QueryFailed("NUMERIC_VALUE_OUT_OF_RANGE", f"Out of range for {target}: {written}")


def athena_error(code: str, message: str) -> str:
    """The text of DuckDB's error() that engine_error turns back into QueryFailed(code, message)."""
    return f"ATHENA:{code}:{message}"


def engine_error(exc: Exception, text: str) -> QueryFailed:
    """A DuckDB error raised while running the query `text` -> the QueryFailed Athena would report."""
    message = str(exc).strip().splitlines()[0]
    m = _OURS.search(message)
    if m:
        return QueryFailed(m.group(1), m.group(2))
    m = _DIVISION_BY_ZERO.search(message)
    if m:
        if "." in m.group(1):  # a double: Trino answers Infinity or NaN, which DuckDB will not give
            return QueryFailed("NOT_SUPPORTED", "Division of a double by zero is not supported by the local "
                               "Athena engine")
        return QueryFailed("DIVISION_BY_ZERO", "Division by zero")
    m = _MARKED_CAST.search(message)
    if m:  # typed.py's check of CAST(varchar AS integer)
        return QueryFailed("INVALID_CAST_ARGUMENT", f"Cannot cast '{m.group(1)}' to "
                           f"{_TRINO_INTEGER.get(m.group(2), m.group(2)).upper().replace('INTEGER', 'INT')}")
    m = _STRING_CAST.search(message)
    if m and m.group(2) in _TRINO_TYPE_NAME:
        return QueryFailed("INVALID_CAST_ARGUMENT", f"Cannot cast '{m.group(1)}' to {_TRINO_TYPE_NAME[m.group(2)]}")
    m = _DECIMAL_CAST.search(message)
    if m:
        return QueryFailed("INVALID_CAST_ARGUMENT", f"Cannot cast VARCHAR '{m.group(1)}' to DECIMAL({m.group(2)}, "
                           f"{m.group(3)}). Value is not a number.")
    m = _DATE_CAST.search(message)
    if m:
        return QueryFailed("INVALID_CAST_ARGUMENT", f"Value cannot be cast to {m.group(1)}: "
                           f"{m.group(2).removesuffix(chr(0x2400))}")
    if _DECIMAL_OVERFLOW.search(message):  # DecimalOperators
        return QueryFailed("NUMERIC_VALUE_OUT_OF_RANGE", "Decimal overflow")
    m = _DECIMAL_TO_DECIMAL.search(message)
    if m:  # DecimalToDecimalCasts names the source's precision too, which the engine's text does not carry
        return QueryFailed("INVALID_CAST_ARGUMENT", f"Cannot cast DECIMAL '{m.group(1)}' to DECIMAL({m.group(2)}, "
                           f"{m.group(3)})")
    m = _DOUBLE_TO_DECIMAL.search(message)
    if m:  # DecimalCasts
        try:
            written = java_double(float(m.group(1)))
        except ValueError:
            written = m.group(1)
        return QueryFailed("INVALID_CAST_ARGUMENT", f"Cannot cast DOUBLE '{written}' to DECIMAL({m.group(2)}, "
                           f"{m.group(3)})")
    m = _DIVISION_OVERFLOW.search(message)
    if m and int(m.group(1)) in _MINIMUM_OF:  # BigintOperators.divide and its integer namesakes
        return QueryFailed("NUMERIC_VALUE_OUT_OF_RANGE", f"{_MINIMUM_OF[int(m.group(1))]} division overflow: "
                           f"{m.group(1)} / {m.group(2)}")
    m = _ABS_OVERFLOW.search(message)
    if m and int(m.group(1)) in _MINIMUM_OF:  # MathFunctions.abs
        return QueryFailed("NUMERIC_VALUE_OUT_OF_RANGE", f"Value {m.group(1)} is out of range for "
                           f"abs({_MINIMUM_OF[int(m.group(1))]})")
    m = _RANGE_CAST.search(message)
    if m and m.group(1) in ("DOUBLE", "FLOAT") and m.group(3) in _TRINO_INTEGER:
        return _float_to_integer_failure(m.group(1), m.group(2), _TRINO_INTEGER[m.group(3)])
    if m and m.group(1) in _TRINO_INTEGER and m.group(3) in _TRINO_INTEGER:
        return QueryFailed("NUMERIC_VALUE_OUT_OF_RANGE", f"Out of range for {_TRINO_INTEGER[m.group(3)]}: "
                           f"{m.group(2)}")
    m = _OVERFLOW.search(message)
    if m:
        kind = _TRINO_INTEGER.get(m.group(2), m.group(2).lower())
        return QueryFailed("NUMERIC_VALUE_OUT_OF_RANGE", f"{kind} {m.group(1)} overflow: {m.group(3)}")
    if "Map keys must be unique" in message:  # MapConstructor names the keys; DuckDB does not
        return QueryFailed("INVALID_FUNCTION_ARGUMENT", "Duplicate map keys are not allowed")
    if "Insufficient padding in" in message:
        return QueryFailed("INVALID_FUNCTION_ARGUMENT", "Padding string must not be empty")
    m = _COLUMN.search(message)
    if m:
        name = m.group(1).split(".")[-1]
        line, col = find_identifier(text, name)
        return QueryFailed("COLUMN_NOT_FOUND", f"Column '{name}' cannot be resolved or requester is not "
                           "authorized to access requested resources", line, col)
    m = _NOT_AGGREGATE.search(message)
    if m:  # Trino's words, at the column (DuckDB's text advises its own ANY_VALUE)
        line, col = find_identifier(text, m.group(1))
        return QueryFailed("EXPRESSION_NOT_AGGREGATE", f"'{m.group(1)}' must be an aggregate expression or appear in "
                           "GROUP BY clause", line, col)
    m = _FUNCTION.search(message)
    if m:
        return QueryFailed("NOT_SUPPORTED", f"Function '{m.group(1)}' (as translated for DuckDB) is not supported "
                           "by the local Athena engine")
    m = _NO_MATCH.search(message)
    if m:
        # DuckDB has no signature for the call as translated. Trino may or may not have one (a user's
        # wrong argument is caught before, in typed.py), so this is refused, not worded as Athena's
        # FUNCTION_NOT_FOUND; the types are Trino's names.
        call = re.fullmatch(r"(\w+)\((.*)\)", m.group(1))
        if call:
            kinds = ", ".join(_trino_type(t) for t in _split_types(call.group(2)))
            return QueryFailed("NOT_SUPPORTED", f"{call.group(1).lower()} with arguments ({kinds}), as translated for "
                               "DuckDB, is not supported by the local Athena engine")
        return QueryFailed("NOT_SUPPORTED", "This call is not supported by the local Athena engine")
    if isinstance(exc, duckdb.OutOfMemoryException):
        return QueryFailed("EXCEEDED_LOCAL_MEMORY_LIMIT", "Query exceeded per-node memory limit")
    if isinstance(exc, duckdb.PermissionException):
        return QueryFailed("ACCESS_DENIED", "Access Denied: queries may read only tables of the data catalog")
    if isinstance(exc, (duckdb.ConversionException, duckdb.OutOfRangeException)):
        log.info("engine conversion error: %s", message)  # its words stay in the log, as below
        return QueryFailed("INVALID_CAST_ARGUMENT", "Value cannot be cast to the requested type")
    # Anything else: the engine's own words never reach the user (they are in the local cloud's log).
    log.info("engine error not translated: %s", message)
    if isinstance(exc, duckdb.InternalException):
        return QueryFailed("GENERIC_INTERNAL_ERROR", "The local Athena engine failed on this query")
    return QueryFailed("NOT_SUPPORTED", "This query is not supported by the local Athena engine")


def find_identifier(text: str, name: str) -> tuple[int | None, int | None]:
    """Where `name` first appears as an identifier in `text` (Athena's 1-based line, column)."""
    m = re.search(rf'(?<![\w"]){re.escape(name)}(?![\w"])|"{re.escape(name)}"', text, re.I)
    if not m:
        return None, None
    return athena_sql.position(text, m.start())

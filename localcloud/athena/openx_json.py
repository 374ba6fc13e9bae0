"""JSON lake lines read as Athena's OpenX JSON SerDe reads them, where DuckDB's reader would not.

Sources (Trino's OpenX reader, which Athena engine v3 runs, and AWS's page for the SerDe):
- trinodb/trino lib/trino-hive-formats/.../line/openxjson/README.md, OpenXJsonDeserializer.java,
  JsonWriter.java, LineDeserializerUtils.java;
- https://docs.aws.amazon.com/athena/latest/ug/openx-json-serde.html.

What they say, and what this module does about each:

- A varchar column takes any JSON value as text (VarcharDecoder -> writeJson): a string as is,
  true/false lower case, a number canonicalised (JsonWriter.canonicalizeUnquotedString: a decimal
  that fits a Java long as that long, anything else as Java's BigDecimal.toString, so `1.50` stays
  `1.50` and `1e3` is `1E+3`), an object or array as compact JSON (JsonWriter). DuckDB renders a
  number through a double (`1000.0`, `1.5`), so the fast scan flags a varchar value that may be such
  a number, or a non-empty object or array, and the batch is read again here.
- An integer column (tinyint..bigint) parses the token's text with parseLong: decimal, `0x` hex or
  leading-zero octal, else BigDecimal truncated toward zero (setScale(0, DOWN): 1.5 -> 1, -1.5 -> -1,
  1e3 -> 1000); a value out of the column's range, or text that is no number, is a parse error.
  DuckDB's cast rounds (1.5 -> 2) and reads `010` as 10, so a value that is not a plain integer is
  flagged and read again here.
- A value that does not parse for its column fails the query (HIVE_BAD_DATA): Trino's reader
  returns NULL only when strict parsing is off, and Athena documents the SerDe property
  `use.null.for.invalid.data` (default FALSE) as the switch that makes such values NULL; a table
  that sets it is refused (lake.py), not answered differently.
- A boolean column is true only for text equal to `true` ignoring case; anything else is false
  (BooleanDecoder: Boolean.parseBoolean(value.toString())).
- Keys match columns ignoring case unless `case.insensitive` is FALSE; two keys naming the same
  column fail the row: AWS documents `HIVE_CURSOR_ERROR: Row is not a valid JSON Object -
  JSONException: Duplicate key "url"` for `URL` and `Url`. (Trino's open-source reader keeps the
  last one instead; the error is the documented Athena answer and never a different value.)
  Inside a value kept as text, Trino's reader merges such keys, the last one winning.

The re-read parses each line with Python's json, numbers kept as their token's text, and gives
every column the text the engine's usual SQL then casts (so decimals are exact too, from their
digits); only batches holding a flagged value pay for it.
"""

from __future__ import annotations

import decimal
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

_INTEGER_TYPES = {"tinyint", "smallint", "int", "integer", "bigint"}
_STRING_TYPES = {"string", "varchar", "char"}


class BadValue(ValueError):
    """A value that does not parse for its column (Athena: HIVE_BAD_DATA)."""


class BadRow(ValueError):
    """A line that is no valid JSON object for the table (Athena: HIVE_CURSOR_ERROR)."""


class RawNumber(str):
    """A JSON number token, kept as its text."""


def base_type(hive_type: str) -> str:
    return hive_type.split("(", 1)[0].strip().lower()


# -- flags in the fast scan (SQL over DuckDB's VARCHAR rendering `ref`) --------------------------
def varchar_may_differ(ref: str) -> str:
    """SQL: true when a varchar column's rendering may not be the SerDe's text for the token.

    Numbers with a fraction or an exponent (DuckDB renders them through a double, always with a
    `.` or an `e`; integers it keeps as their digits, which is what the SerDe gives too) and
    non-empty objects or arrays (number and string rendering inside them differ). A quoted string
    that looks like one is flagged as well: the re-read gives it back unchanged. The first
    character is tested by comparing with `ref` itself (DuckDB compares a string's inlined prefix
    without building a substring): most values are out after one or two comparisons.
    """
    return (f"CASE WHEN {ref} >= '-' AND {ref} < ':' THEN (contains({ref}, '.') OR contains({ref}, 'e')) "
            f"AND TRY_CAST({ref} AS DOUBLE) IS NOT NULL "
            f"WHEN ({ref} >= '[' AND {ref} < '\\') OR ({ref} >= '{{' AND {ref} < '|') THEN length({ref}) > 2 "
            f"ELSE false END")


def plain_integer(ref: str) -> str:
    """SQL: true when `ref` is an integer's digits as parseLong and DuckDB's cast both read them alike."""
    return f"regexp_full_match({ref}, '-?(0|[1-9][0-9]*)')"


def integer_expression(ref: str, duck_type: str) -> str:
    """SQL: an integer column's value from a plain integer's text; other text is NULL here (and flagged)."""
    return f"CAST(CASE WHEN {plain_integer(ref)} THEN {ref} END AS {duck_type})"


def integer_may_differ(ref: str) -> str:
    return f"({ref} IS NOT NULL AND NOT {plain_integer(ref)})"


def boolean_expression(ref: str) -> str:
    """SQL: Boolean.parseBoolean of the value's text (anything but `true`, any case, is false)."""
    return f"(lower({ref}) = 'true')"


def timestamp_expression(ref: str) -> str:
    """SQL: TimestampDecoder.parseTimestamp's built-in formats (the loader's session zone is UTC).

    Text with a `:` is a timestamp, converted to UTC when it carries a zone (`Z`, `+05:30`, `+0530`;
    DuckDB's plain TIMESTAMP cast would drop the offset). Otherwise only `-+.0-9` may occur: with a
    `.` it is seconds.millis (truncated to milliseconds), with 13 or more characters (sign and
    leading zeros count) epoch milliseconds, else epoch seconds. Anything else fails (HIVE_BAD_DATA).
    """
    # Trino's test is `endsWith Z` or `.+([+-])\\d{2}:?\\d{2}$`; RE2 matches an end-anchored pattern cheaply.
    return (f"CASE WHEN strpos({ref}, ':') = 0 THEN (CASE "
            f"WHEN NOT regexp_full_match({ref}, '[-+.0-9]+') THEN make_timestamp(CAST({ref} AS BIGINT)) "  # fails
            f"WHEN contains({ref}, '.') THEN make_timestamp(CAST(trunc(CAST({ref} AS DECIMAL(38,9)) * 1000) "
            f"AS BIGINT) * 1000) "
            f"WHEN length({ref}) >= 13 THEN make_timestamp(CAST({ref} AS BIGINT) * 1000) "
            f"ELSE make_timestamp(CAST({ref} AS BIGINT) * 1000000) END) "
            f"WHEN regexp_matches({ref}, '([+-][0-9][0-9]:?[0-9][0-9]|[zZ])$') "
            f"THEN CAST(CAST({ref} AS TIMESTAMPTZ) AS TIMESTAMP) "
            f"ELSE CAST({ref} AS TIMESTAMP) END")


# -- Trino's number parsing and text rendering -------------------------------------------------------
def _is_hex(s: str) -> bool:
    return len(s) >= 3 and s[0] == "0" and s[1] in "xX" and s[2] in "0123456789abcdefABCDEF"


def _is_octal(s: str) -> bool:
    # Trino's isOctalDigit accepts 0-8 (its own off-by-one); Long.parseLong(_, 8) then rejects the 8.
    return len(s) >= 2 and s[0] == "0" and "0" <= s[1] <= "8"


def _java_parse_long(text: str, radix: int) -> int:
    """Long.parseLong(text, radix): an optional sign, then digits only; within a signed 64-bit long."""
    body = text[1:] if text[:1] in "+-" else text
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"[:radix]
    if not body or any(c.lower() not in digits for c in body) or not body.isascii():
        raise ValueError(f'For input string: "{text}"')
    value = int(text, radix)
    if not -2 ** 63 <= value < 2 ** 63:
        raise ValueError(f'For input string: "{text}"')
    return value


def parse_decimal_hex_octal_long(text: str) -> int:
    if _is_hex(text):
        return _java_parse_long(text[2:], 16)
    if _is_octal(text):
        return _java_parse_long(text[1:], 8)
    return _java_parse_long(text, 10)


def _big_decimal(text: str) -> decimal.Decimal:
    """new BigDecimal(text): a sign, digits with an optional point, an optional exponent; nothing else."""
    body = text[1:] if text[:1] in "+-" else text
    mantissa, _, exponent = body.lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    ok = (whole + fraction).isdigit() and (whole + fraction).isascii() and mantissa.count(".") <= 1
    if exponent or "e" in body.lower():
        sign_less = exponent[1:] if exponent[:1] in "+-" else exponent
        ok = ok and sign_less.isdigit() and sign_less.isascii()
    if not ok:
        raise ValueError(f"not a number: {text!r}")
    return decimal.Decimal(text)


def parse_long(text: str) -> int:
    """Trino's OpenXJsonDeserializer.parseLong: decimal/hex/octal, else BigDecimal truncated toward zero."""
    try:
        return parse_decimal_hex_octal_long(text)
    except ValueError:
        pass
    with decimal.localcontext(decimal.Context(prec=1000, Emax=10 ** 6, Emin=-10 ** 6)):
        number = _big_decimal(text)
        if abs(number.adjusted()) > 1000:
            raise ValueError(f"Overflow: {text!r}")
        value = int(number.to_integral_value(rounding=decimal.ROUND_DOWN))
    if not -2 ** 63 <= value < 2 ** 63:
        raise ValueError(f"Overflow: {text!r}")  # longValueExact
    return value


def _big_decimal_text(text: str) -> str:
    """Java's BigDecimal.toString of new BigDecimal(text): Python's Decimal uses the same
    scientific-notation rule, but BigDecimal has no negative zero."""
    number = _big_decimal(text)
    if number.is_zero():
        number = number.copy_abs()
    return str(number)


def canonical_unquoted(text: str) -> str | None:
    """JsonWriter.canonicalizeUnquotedString: booleans lower case, numbers as long or BigDecimal text."""
    if text.lower() == "true":
        return "true"
    if text.lower() == "false":
        return "false"
    try:
        return str(parse_decimal_hex_octal_long(text))
    except ValueError:
        pass
    try:
        return _big_decimal_text(text)
    except (ValueError, decimal.InvalidOperation):
        return None


def _json_string(value: str) -> str:
    """JsonWriter.writeJsonString: only quote, backslash, </ and control characters are escaped."""
    out = ['"']
    previous = ""
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "/":
            out.append("\\/" if previous == "<" else "/")
        elif char in "\t\b\n\r\f":
            out.append({"\t": "\\t", "\b": "\\b", "\n": "\\n", "\r": "\\r", "\f": "\\f"}[char])
        elif ord(char) <= 0x1F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
        previous = char
    out.append('"')
    return "".join(out)


def _json_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, RawNumber):
        canonical = canonical_unquoted(value)
        return canonical if canonical is not None else _json_string(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, list):
        return "[" + ",".join(_json_value(v) for v in value) + "]"
    return "{" + ",".join(_json_string(k) + ":" + _json_value(v) for k, v in value.items()) + "}"


def varchar_text(value: Any) -> str:
    """The text a varchar column holds for a JSON value (LineDeserializerUtils.writeJson)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, RawNumber):
        canonical = canonical_unquoted(value)
        return canonical if canonical is not None else str(value)
    if isinstance(value, str):
        return value
    return _json_value(value)


def _plain_text(value: Any) -> str:
    """What DuckDB's fast scan renders for other columns, but a number keeps its token's text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return str(value)
    return _json_value(value)


def _integer_text(base: str):
    def convert(value: Any) -> str:
        if isinstance(value, (dict, list)):
            raise BadValue(f"{'Map' if isinstance(value, dict) else 'List'} can not be coerced to {base}")
        text = _plain_text(value)  # true/false are unquoted text to Trino's reader, not numbers
        try:
            return str(parse_long(text))
        except (ValueError, decimal.InvalidOperation):
            raise BadValue(f'For input string: "{text}" ({base})') from None
    return convert


def converter(hive_type: str, openx: bool = True):
    """value -> the text the engine's SQL reads for it in a column of `hive_type` (never given None).

    Not `openx` (the Hive JSON SerDe): the fast scan's rendering, numbers with their own digits.
    """
    base = base_type(hive_type)
    if openx and base in _STRING_TYPES:
        return varchar_text
    if openx and base in _INTEGER_TYPES:
        return _integer_text(base)
    return _plain_text


def column_text(value: Any, hive_type: str, openx: bool = True) -> str | None:
    """The text the engine's SQL reads for `value` in a column of `hive_type` (None: SQL NULL)."""
    return None if value is None else converter(hive_type, openx)(value)


# -- reading lines -------------------------------------------------------------------------------------
class _Object(dict):
    """A JSON object as Trino's reader keeps it: keys matched ignoring case (when asked), the last wins.

    `duplicates` holds the (lower-case) keys that occurred more than once.
    """

    duplicates: set[str]


def _object_hook(case_insensitive: bool):
    def build(pairs: list[tuple[str, Any]]) -> _Object:
        obj = _Object()
        obj.duplicates = set()
        folded: dict[str, str] = {}
        for key, value in pairs:
            match = key.lower() if case_insensitive else key
            if match in folded:
                obj.duplicates.add(match)
                del obj[folded[match]]  # LinkedHashMap remove + put: the last one, at the end
            folded[match] = key
            obj[key] = value
        return obj
    return build


def read_rows(paths: list[Path], columns: list[tuple[str, str]], case_insensitive: bool,
              ignore_malformed: bool, openx: bool = True) -> pa.Table:
    """Every line of `paths` as a table of text columns (and `filename`), as the fast scan would give it.

    Raises BadRow for a line that is no JSON object (unless `ignore_malformed`: a row of NULLs,
    as DuckDB's ignore_errors gives too) or that names a column twice, BadValue for a value that
    does not parse for its column.
    """
    hook = _object_hook(case_insensitive)
    names = [c for c, _ in columns]
    # A quoted string is its own text but in integer columns (parseLong reads it): a shortcut per value.
    converters = [(name, convert, convert in (varchar_text, _plain_text))
                  for name, convert in ((c, converter(t, openx)) for c, t in columns)]
    data: dict[str, list[Any]] = {c: [] for c in names}
    files: list[str] = []
    for path in paths:
        filename = path.resolve().as_posix()
        with open(path, "rb") as lines:
            for number, raw in enumerate(lines, 1):
                line = raw.strip()
                if not line:
                    continue  # DuckDB's newline-delimited reader skips blank lines
                try:
                    obj = json.loads(line, object_pairs_hook=hook, parse_float=RawNumber, parse_int=RawNumber)
                    if not isinstance(obj, dict):
                        raise ValueError("not a JSON object")
                except ValueError as exc:
                    if not ignore_malformed:
                        raise BadRow(f"line {number} of {path.name}: {exc}") from None
                    obj = None
                if obj is not None and case_insensitive:
                    lowered = {k.lower(): v for k, v in obj.items()}
                    clash = sorted(set(names) & obj.duplicates)
                else:
                    lowered = obj or {}
                    clash = sorted(set(names) & obj.duplicates) if obj is not None else []
                if clash and not ignore_malformed:
                    raise BadRow(f'JSONException: Duplicate key "{clash[0]}"')
                if clash:  # a row the SerDe cannot read: NULLs, as for malformed JSON
                    lowered = {}
                for name, convert, strings_as_is in converters:
                    value = lowered.get(name)
                    data[name].append(None if value is None else value if strings_as_is and type(value) is str
                                      else convert(value))
                files.append(filename)
    table = {name: pa.array(values, type=pa.string()) for name, values in data.items()}
    table["filename"] = pa.array(files, type=pa.string())
    return pa.table(table)

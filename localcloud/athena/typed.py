"""Trino semantics that depend on an operand's type: casts to integers, and typeof.

Found with sqlglot's type annotation (the catalog gives column types), as
decimals.py does for division:

- CAST(double AS integer) rounds half away from zero in Trino (2.5 -> 3);
  DuckDB rounds half to even (2.5 -> 2), so the double is rounded first.
- CAST(varchar AS integer) accepts only an integer's digits in Trino ('2.5'
  fails with INVALID_CAST_ARGUMENT); DuckDB would round it.
- array[i] past the end or below 1, element_at(array, 0) and map[k] of a
  missing key fail in Trino (INVALID_FUNCTION_ARGUMENT); DuckDB gives NULL.
- avg() of a decimal(p,s) is a decimal(p,s), rounded half up (DuckDB's is a double).
- round, ceiling, floor, truncate and sign of a decimal have Trino's result types
  (round(2.345, 2) is 2.350, a decimal(5,3); sign(-2.50) is -1, a decimal(1,0)), from the
  argument's exact decimal type (decimal_types.py); when that type is not certain, a decimal
  argument is refused at run time (NOT_SUPPORTED), never answered with DuckDB's types.
- CAST(… AS varchar) writes timestamps with milliseconds and doubles and reals in scientific
  notation (float_text.py), in arrays and array_join too; arrays, maps and rows do not cast to
  varchar (TYPE_MISMATCH).
- || and concat of a string with a number or date fail, as Trino has no such concat; so do string
  functions given a number, a date or an array (DuckDB would cast it to text first).
- sum() of integers fails past the bigint range (NUMERIC_VALUE_OUT_OF_RANGE), as Trino's does.
- A NaN double compares, matches and ranks as in Trino, not DuckDB (nan_semantics.py): in
  = <> < > BETWEEN IN, a simple CASE and nullif; max, max_by, greatest and array_max skip it.
- json_array_contains compares the value with the array's elements of the same JSON kind.
- typeof() answers Trino's type names (integer, decimal(2,1), array(integer),
  timestamp(3)); a character value is refused, since Trino types it
  varchar(n) and the engine keeps no lengths.

An operand whose type the annotation cannot tell is left to DuckDB.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from localcloud.athena import float_text, nan_semantics
from localcloud.athena.column_lengths import LENGTH_META
from localcloud.athena.decimal_types import Decimal, DecimalTypes
from localcloud.athena.errors import athena_error
from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.sql import fail_at_run_time, refuse_at_run_time
from localcloud.athena.sql import JAVA_WHITESPACE, PRINTF_SPEC, settled

T = exp.DataType.Type
_INTEGERS = {T.TINYINT, T.SMALLINT, T.INT, T.BIGINT}
_FLOATS = {T.DOUBLE, T.FLOAT}
_STRINGS = {T.VARCHAR, T.TEXT, T.CHAR}
_TRINO_INTEGER_NAME = {T.TINYINT: "TINYINT", T.SMALLINT: "SMALLINT", T.INT: "INT", T.BIGINT: "BIGINT"}
_INTEGER_TEXT = r"^\s*[+-]?[0-9]+\s*$"
# Appended to a value that must fail its cast to an integer.
CAST_MARK = "\u2400"


def _exact_literals(tree: exp.Expression) -> exp.Expression:
    """1.10 is a decimal(3,2) in Trino (and DuckDB); sqlglot's annotator would call it a double."""

    def typed(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Literal) and not node.is_string and "." in node.this and "e" not in node.this.lower() \
                and not isinstance(node.parent, exp.Cast):
            whole, _, fraction = node.this.lstrip("+-").partition(".")
            precision = max(1, len(whole) + len(fraction))  # as DuckDB and Trino count them
            return exp.Cast(this=node.copy(), to=exp.DataType.build(f"DECIMAL({precision}, {len(fraction)})"))
        return node

    return tree.transform(typed, copy=False)


def _typed(tree: exp.Expression, schema: dict[str, dict[str, str]]) -> exp.Expression | None:
    try:
        typed = qualify(_exact_literals(tree.copy()), schema=schema, dialect="duckdb", validate_qualify_columns=False,
                        quote_identifiers=True, identify=False)
        return annotate_types(typed, schema=schema, dialect="duckdb")
    except Exception:  # annotation is best effort
        return None


def _type_of(node: exp.Expression) -> T | None:
    return node.type.this if node.type is not None else None


_NESTED = {T.ARRAY, T.MAP, T.STRUCT}
_TEMPORAL_TEXT = {T.TIMESTAMP: "%Y-%m-%d %H:%M:%S.%g", T.TIMESTAMPTZ: "%Y-%m-%d %H:%M:%S.%g UTC"}


def _varchar_cast(node: exp.Cast) -> exp.Expression | None:
    """CAST(… AS varchar) as Trino writes values: timestamps with milliseconds, doubles in scientific notation."""
    if node.to.this not in _STRINGS or node.to.expressions:
        return None
    source = _type_of(node.this)
    if source == T.JSON or _is_json_extract(node.this):
        return _json_to_varchar(node.this)
    if source in _NESTED:
        raise QueryFailed("TYPE_MISMATCH", f"Cannot cast {node.this.type.sql('trino').lower()} to varchar")
    if source in _TEMPORAL_TEXT:
        return exp.Anonymous(this="strftime", expressions=[node.this.copy(), exp.Literal.string(_TEMPORAL_TEXT[source])])
    if source in _FLOATS:
        # Trino writes doubles and reals in scientific notation (DecimalFormat "0.0###…E0": 1.5E0, 1.0E-1),
        # neither as Double.toString nor as DuckDB would (float_text.py).
        function = float_text.DOUBLE_FUNCTION if source == T.DOUBLE else float_text.REAL_FUNCTION
        return exp.Anonymous(this=function, expressions=[node.this.copy()])
    return None


def _is_json_extract(node: exp.Expression) -> bool:
    """json_extract(…) (a JSON value in Trino), also as sql.py wraps it (NULL for text that is no JSON)."""
    if isinstance(node, exp.Case) and isinstance(node.args.get("default"), exp.JSONExtract):
        return True
    return isinstance(node, exp.JSONExtract)


def _json_to_varchar(value: exp.Expression) -> exp.Expression:
    """CAST(json AS varchar) as Trino's JsonOperators: a JSON string's text without its quotes, NULL for
    JSON null, numbers and booleans as written, and an object or array fails (INVALID_CAST_ARGUMENT);
    DuckDB gives every value's JSON text."""
    as_json = settled(exp.Cast(this=value.copy(), to=exp.DataType.build("JSON")))
    kind = exp.Anonymous(this="json_type", expressions=[as_json.copy()])
    written = settled(exp.Cast(this=as_json.copy(), to=exp.DataType.build("VARCHAR")))
    return exp.Case(ifs=[
        exp.If(this=exp.EQ(this=kind.copy(), expression=exp.Literal.string("VARCHAR")),
               true=exp.Anonymous(this="json_extract_string", expressions=[as_json.copy(), exp.Literal.string("$")])),
        exp.If(this=exp.EQ(this=kind.copy(), expression=exp.Literal.string("NULL")),
               true=exp.Cast(this=exp.Null(), to=exp.DataType.build("VARCHAR"))),
        exp.If(this=exp.In(this=kind.copy(), expressions=[exp.Literal.string("OBJECT"), exp.Literal.string("ARRAY")]),
               true=fail_at_run_time("INVALID_CAST_ARGUMENT", "Cannot cast to varchar. Expected a JSON string, "
                                     "number, boolean or null")),
    ], default=written)


def _shorter_varchar_cast(node: exp.Anonymous) -> exp.Expression | None:
    """CAST(x AS varchar(n)) of a value that is not a string: Trino fails when its text is longer than n.

    sql.py made the cast substr(CAST(x AS varchar), 1, n), which is Trino's answer for a string (it
    truncates); a number, a boolean or a date is never truncated but fails with INVALID_CAST_ARGUMENT
    "Value 12345 cannot be represented as varchar(3)". A double's failure says more than its text,
    and a value whose type is unknown may be either: both are refused when too long.
    """
    plain = node.expressions[0] if node.expressions else None
    length = node.meta[LENGTH_META]
    if not isinstance(plain, exp.Cast):
        return None
    source = _type_of(plain.this)
    if source in _STRINGS or source == T.NULL:
        return None
    fits = exp.or_(exp.Is(this=plain.copy(), expression=exp.Null()),
                   exp.LTE(this=exp.Anonymous(this="length", expressions=[plain.copy()]),
                           expression=exp.Literal.number(length)))
    if source in _FLOATS or source in (None, T.UNKNOWN):
        failure = exp.Cast(this=refuse_at_run_time(
            "NOT_SUPPORTED", f"casting a double or a value of unknown type to a shorter varchar({length}) is not "
            "supported by the local Athena engine"), to=exp.DataType.build("VARCHAR"))
    else:
        text = exp.DPipe(this=exp.DPipe(this=exp.Literal.string(
            athena_error("INVALID_CAST_ARGUMENT", "Value ")), expression=plain.copy()),
            expression=exp.Literal.string(f" cannot be represented as varchar({length})\u2400"))
        failure = exp.Cast(this=exp.Cast(this=text, to=exp.DataType.build("INT")), to=exp.DataType.build("VARCHAR"))
    checked = exp.Case(ifs=[exp.If(this=fits, true=plain.copy())], default=failure)
    checked.meta[LENGTH_META] = length
    checked.meta["length_checked"] = True
    return checked


def _concat_operands(node: exp.Expression) -> None:
    """Trino's || and concat take strings (or arrays); DuckDB would quietly cast a number or a date."""
    operands = [node.this, node.expression] if isinstance(node, exp.DPipe) else node.expressions
    kinds = [_type_of(o) for o in operands]
    if any(k in _STRINGS for k in kinds) and any(k is not None and k not in _STRINGS and k not in _NESTED
                                                 and k not in (T.UNKNOWN, T.NULL) for k in kinds):
        names = ", ".join(o.type.sql("trino").lower() if o.type is not None else "unknown" for o in operands)
        raise QueryFailed("FUNCTION_NOT_FOUND", f"Unexpected parameters ({names}) for function concat")
    # A NULL operand takes the other operands' type (varchar, or the array's), so the result is NULL of
    # that type, as in Trino; DuckDB types it NULL, which ColumnInfo and typeof() report as unknown.
    typed_as = next((o.type for o, k in zip(operands, kinds) if k in _STRINGS or k == T.ARRAY), None)
    if typed_as is not None:
        for operand in operands:
            if isinstance(operand, exp.Null):
                operand.replace(exp.Cast(this=exp.Null(), to=typed_as.copy()))


# String functions (by sqlglot's node) whose first argument Trino takes only as varchar, char or
# varbinary: lower(1.5) has no signature there (FUNCTION_NOT_FOUND), where DuckDB casts it to text.
_STRING_ARGUMENT = {exp.Lower: "lower", exp.Upper: "upper", exp.Length: "length", exp.Trim: "trim",
                    exp.Substring: "substr", exp.StrPosition: "strpos", exp.RegexpLike: "regexp_like",
                    exp.RegexpExtract: "regexp_extract", exp.RegexpReplace: "regexp_replace", exp.Split: "split",
                    exp.SplitPart: "split_part", exp.Pad: "lpad"}
_TEXT_KINDS = _STRINGS | {T.VARBINARY, T.BINARY, T.UNKNOWN, T.NULL}


def _string_argument(node: exp.Expression) -> None:
    argument = node.this
    kind = _type_of(argument) if isinstance(argument, exp.Expression) else None
    if kind is None or kind in _TEXT_KINDS or isinstance(argument, (exp.UnicodeString, exp.Null)):
        return
    name = _STRING_ARGUMENT[type(node)]
    if isinstance(node, exp.Pad) and not node.args.get("is_left"):
        name = "rpad"
    written = argument.type.sql("trino").lower().replace(", ", ",")  # decimal(2,1), as Trino writes types
    raise QueryFailed("FUNCTION_NOT_FOUND", f"Unexpected parameters ({written}) for function {name}")


def _array_and_element(node: exp.DPipe) -> exp.Expression | None:
    """ARRAY[1] || 2 appends and 2 || ARRAY[1] prepends in Trino; DuckDB's || takes two lists only."""
    left, right = _type_of(node.this), _type_of(node.expression)
    if left == T.ARRAY and right not in (T.ARRAY, None, T.UNKNOWN):
        return exp.Anonymous(this="list_append", expressions=[node.this.copy(), node.expression.copy()])
    if right == T.ARRAY and left not in (T.ARRAY, None, T.UNKNOWN):
        return exp.Anonymous(this="list_prepend", expressions=[node.this.copy(), node.expression.copy()])
    return None


# Trino's CAST(varchar AS date) (DateOperators, DateTimeUtils.parseDate): the trimmed text must be a date
# alone, yyyy-MM-dd with 1-2 digit month and day; DuckDB also takes '2026-01-02 10:00' (dropping the time).
_DATE_TEXT = r"[0-9]{1,9}-[0-9]{1,2}-[0-9]{1,2}"


def _date_cast(node: exp.Cast) -> exp.Expression | None:
    if node.to.this != T.DATE or _type_of(node.this) not in _STRINGS or node.meta.get("date_checked"):
        return None
    value = node.this.copy()
    trimmed = exp.Anonymous(this="trim", expressions=[value.copy(), exp.Literal.string(JAVA_WHITESPACE)])
    ok = exp.Anonymous(this="regexp_full_match", expressions=[trimmed.copy(), exp.Literal.string(_DATE_TEXT)])
    # Not a date alone: a marked value makes DuckDB's cast fail (errors.py words it as Trino does);
    # try_cast still turns that into NULL.
    marked = exp.DPipe(this=value.copy(), expression=exp.Literal.string(CAST_MARK))
    checked = exp.Case(ifs=[exp.If(this=exp.Not(this=ok), true=marked)], default=trimmed)
    cast = node.__class__(this=checked, to=node.to.copy())
    cast.meta["date_checked"] = cast.meta["typed"] = True
    return cast


# Trino's CAST(varchar AS timestamp(p)) (VarcharToTimestampCast, DateTimes.DATETIME_PATTERN): the trimmed
# text must be a date, optionally a space and H:M[:S[.fraction]], optionally a zone (which the cast
# ignores). No 'T' between date and time (AWS lists this among engine 3's breaking changes); a longer
# fraction is rounded half up to p digits. DuckDB takes a 'T' and truncates to microseconds. A value of
# more than 3 digits compares exactly, but is not shown: see _refuse_fine_timestamps.
_TIMESTAMP_TEXT = (r"[-+]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}"
                   r"( (?:[0-9]{1,2}:[0-9]{1,2}(?::[0-9]{1,2}(?:\.[0-9]+)?)?)?\s*(?:.+)?)?")
_TIMESTAMP_PART = r"^[-+]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}(?: [0-9]{1,2}:[0-9]{1,2}(?::[0-9]{1,2})?)?"
_TIMESTAMP_FRACTION = r"^[-+]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2} [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}\.([0-9]+)"


def _timestamp_cast(node: exp.Cast) -> exp.Expression | None:
    if node.to.this != T.TIMESTAMP or _type_of(node.this) not in _STRINGS or node.meta.get("timestamp_checked"):
        return None
    params = node.to.expressions
    precision = int(params[0].this.this) if params else 3  # CAST(x AS timestamp) is a timestamp(3)
    if precision > 6:
        raise QueryFailed("NOT_SUPPORTED", f"timestamp({precision}) is not supported by the local Athena engine, "
                          "which keeps microseconds")

    if isinstance(node.this, exp.Literal) and node.this.is_string:
        written = _timestamp_literal(node.this.this, precision)
        if written is not None:  # TIMESTAMP '…' and CAST('…' AS timestamp), settled here once
            cast = node.__class__(this=exp.Literal.string(written), to=exp.DataType.build("TIMESTAMP"))
            cast.meta["timestamp_checked"] = True
            return cast

    def call(name: str, *args: exp.Expression) -> exp.Expression:
        return exp.Anonymous(this=name, expressions=list(args))

    def number(value: int) -> exp.Expression:
        return exp.Literal.number(value)

    trimmed = call("trim", node.this.copy(), exp.Literal.string(JAVA_WHITESPACE))
    ok = call("regexp_full_match", trimmed.copy(), exp.Literal.string(_TIMESTAMP_TEXT))
    fraction = call("regexp_extract", trimmed.copy(), exp.Literal.string(_TIMESTAMP_FRACTION), number(1))
    digits = call("length", fraction.copy())
    ok = exp.and_(ok, exp.LTE(this=digits.copy(), expression=number(18)))  # Long.parseLong of the fraction
    value = exp.Cast(this=call("nullif", fraction.copy(), exp.Literal.string("")), to=exp.DataType.build("HUGEINT"))
    # Fewer digits than p: scaled up; more: rounded half up to p digits (DateTimes.round); then microseconds.
    excess = exp.Sub(this=digits.copy(), expression=number(precision))
    step = exp.Cast(this=call("pow", number(10), excess.copy()), to=exp.DataType.build("HUGEINT"))
    rounded = exp.IntDiv(this=exp.Paren(this=exp.Add(this=value.copy(), expression=exp.Paren(
        this=exp.IntDiv(this=step.copy(), expression=number(2))))), expression=step)
    scale_up = exp.Cast(this=call("pow", number(10), exp.Sub(this=number(6), expression=digits.copy())),
                        to=exp.DataType.build("HUGEINT"))
    micros = exp.Case(ifs=[exp.If(this=exp.EQ(this=digits.copy(), expression=number(0)), true=number(0)),
                           exp.If(this=exp.LTE(this=digits.copy(), expression=number(precision)),
                                  true=exp.Mul(this=value.copy(), expression=scale_up))],
                      default=exp.Mul(this=exp.Paren(this=rounded), expression=number(10 ** (6 - precision))))
    whole = node.__class__(this=call("regexp_extract", trimmed.copy(), exp.Literal.string(_TIMESTAMP_PART)),
                           to=exp.DataType.build("TIMESTAMP"))
    whole.meta["timestamp_checked"] = True
    exact = call("make_timestamp", exp.Add(this=call("epoch_us", whole),
                                           expression=exp.Cast(this=micros, to=exp.DataType.build("BIGINT"))))
    # Not Trino's form: a marked value makes DuckDB's own cast fail (errors.py words it as Trino does);
    # try_cast still turns that into NULL.
    marked = node.__class__(this=exp.DPipe(this=node.this.copy(), expression=exp.Literal.string(CAST_MARK)),
                            to=exp.DataType.build("TIMESTAMP"))
    marked.meta["timestamp_checked"] = True
    checked = exp.Case(ifs=[exp.If(this=exp.Not(this=exp.Paren(this=ok)), true=marked)], default=exact)
    if precision != 3:
        return checked
    # The usual text (yyyy-MM-dd[ HH:mm[:ss[.fff]]]) is read alike by both: DuckDB's cast alone, skipping
    # the rounding's work on every row.
    plain = node.__class__(this=node.this.copy(), to=exp.DataType.build("TIMESTAMP"))
    plain.meta["timestamp_checked"] = True
    usual = call("regexp_full_match", node.this.copy(), exp.Literal.string(_USUAL_TIMESTAMP_TEXT))
    return exp.Case(ifs=[exp.If(this=usual, true=plain)], default=checked)


def _refuse_fine_timestamps(select: exp.Expression) -> None:
    """Results show timestamps with milliseconds (Athena's tables hold no more); a column Trino types
    timestamp(4..6), which it would show with those digits, is refused instead of shown cut."""
    if not isinstance(select, exp.Select):
        return
    for column in select.expressions:
        kind = column.type
        if kind is not None and kind.this == T.TIMESTAMP and kind.expressions:
            precision = int(kind.expressions[0].this.this)
            if precision > 3:
                raise QueryFailed("NOT_SUPPORTED", f"showing a timestamp({precision}) value is not supported by the "
                                  "local Athena engine, which shows milliseconds")


def _timestamp_literal(text: str, precision: int) -> str | None:
    """The literal `text` as the timestamp(precision) Trino reads it, in DuckDB's form; None when it is
    not Trino's form (the run-time path then fails as Trino does, or gives try_cast's NULL)."""
    trimmed = text.strip(JAVA_WHITESPACE)
    if not re.fullmatch(_TIMESTAMP_TEXT, trimmed):
        return None
    whole = re.match(_TIMESTAMP_PART, trimmed)
    fraction = re.match(_TIMESTAMP_FRACTION, trimmed)
    digits = fraction.group(1) if fraction else ""
    if len(digits) > 18 or not whole or not whole.group(0)[:4].isdigit():
        return None
    try:
        moment = dt.datetime.strptime(whole.group(0), "%Y-%m-%d %H:%M:%S" if whole.group(0).count(":") == 2
                                      else "%Y-%m-%d %H:%M" if ":" in whole.group(0) else "%Y-%m-%d")
    except ValueError:
        return None
    if digits:
        value = int(digits)
        if len(digits) > precision:
            step = 10 ** (len(digits) - precision)
            value = (value + step // 2) // step * 10 ** (6 - precision)
        else:
            value *= 10 ** (6 - len(digits))
        moment += dt.timedelta(microseconds=value)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


_USUAL_TIMESTAMP_TEXT = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?: [0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,3})?)?)?"


def _integer_cast(node: exp.Cast) -> exp.Expression | None:
    target = node.to.this
    if target not in _INTEGERS:
        return None
    source = _type_of(node.this)
    if source in _FLOATS:
        return exp.Cast(this=exp.Anonymous(this="round", expressions=[node.this.copy()]), to=node.to.copy())
    if source in _STRINGS:
        value = node.this.copy()
        ok = exp.Anonymous(this="regexp_full_match", expressions=[value.copy(), exp.Literal.string(_INTEGER_TEXT)])
        # Not an integer's digits: make DuckDB's own cast fail on it (a marked value, which
        # errors.py reports in Trino's words); TRY() and try_cast still catch it.
        marked = exp.DPipe(this=value.copy(), expression=exp.Literal.string(CAST_MARK))
        checked = exp.Case(ifs=[exp.If(this=exp.Not(this=ok), true=marked)], default=value)
        return exp.Cast(this=checked, to=node.to.copy())
    return None


def _subscript(node: exp.Bracket) -> exp.Expression | None:
    """Trino's subscript and element_at edges, which DuckDB answers with NULL or from the end.

    array[i]: i < 1 or past the end fails; element_at(array, 0) fails (past the end is NULL,
    negative counts from the end, as in DuckDB); map[k] fails for a missing key.
    """
    if len(node.expressions) != 1:
        return None
    container = node.this
    index = node.expressions[0]
    kind = _type_of(container)
    safe = bool(node.args.get("safe"))
    params = container.type.expressions if container.type is not None else []
    element_type = params[-1] if params else None  # array<e> or map<k, v>
    element = element_type.sql("duckdb") if isinstance(element_type, exp.DataType) else "VARCHAR"
    if kind == T.ARRAY:
        if not safe:  # sqlglot keeps a subscript 0-based in the tree (it adds 1 back when writing DuckDB SQL)
            index = exp.Paren(this=exp.Add(this=index.copy(), expression=exp.Literal.number(1)))
        length = exp.Anonymous(this="len", expressions=[container.copy()])
        if safe:
            bad = exp.EQ(this=index.copy(), expression=exp.Literal.number(0))
            failure = fail_at_run_time("INVALID_FUNCTION_ARGUMENT", "SQL array indices start at 1", element)
        else:
            bad = exp.or_(exp.LT(this=index.copy(), expression=exp.Literal.number(1)),
                          exp.GT(this=index.copy(), expression=length))
            failure = fail_at_run_time("INVALID_FUNCTION_ARGUMENT", "Array subscript out of bounds", element)
    elif kind == T.MAP and not safe:
        bad = exp.Not(this=exp.Anonymous(this="map_contains", expressions=[container.copy(), index.copy()]))
        failure = fail_at_run_time("INVALID_FUNCTION_ARGUMENT", "Key not present in map", element)
    else:
        return None
    plain = node.copy()
    plain.meta["trino_checked"] = True
    return exp.Case(ifs=[exp.If(this=bad, true=failure)], default=plain)


_AVG_OF_UNTYPED_DECIMAL = "avg of a decimal whose type the local Athena engine cannot tell is not supported"


def _decimal_average(node: exp.Avg, certain: Decimal | None, where: exp.Expression | None = None
                     ) -> exp.Expression | None:
    """avg of a decimal(p,s) is a decimal(p,s) in Trino, rounded half up; DuckDB gives a double.

    `certain` is the argument's decimal type when it is certain (decimal_types.py). When it is
    not, a decimal argument is refused at run time (the sum's type tells, once DuckDB binds the
    query): sqlglot's own annotation would give avg(x * x) x's scale.
    """
    from localcloud.athena.decimals import _exact_division

    if isinstance(node.this, exp.Distinct) and len(node.this.expressions) != 1:
        return None
    if certain is None:
        if not _maybe_decimal(node.this):
            return None
        plain = node.copy()
        plain.meta["typed"] = True
        return _refused_if_decimal(plain, exp.Sum(this=node.this), _AVG_OF_UNTYPED_DECIMAL)
    precision, scale = certain
    total, count = exp.Sum(this=node.this.copy()), exp.Count(this=node.this.copy())
    if where is not None:  # avg(x) FILTER (WHERE …): the sum and the count of the same rows
        total, count = (exp.Filter(this=part, expression=where.copy()) for part in (total, count))
    exact = _exact_division(total, count, scale, 0)
    return exp.Cast(this=exact, to=exp.DataType.build(f"DECIMAL({precision}, {scale})"))


def _filtered_average(filtered: exp.Filter, certain: Decimal | None) -> exp.Expression | None:
    """avg(x) FILTER (WHERE w) of a decimal: the exact average of the rows w keeps.

    Of uncertain type, a decimal argument is refused at run time, as for avg without a filter.
    """
    where = filtered.expression.this if isinstance(filtered.expression, exp.Where) else filtered.expression
    if certain is not None:
        return _decimal_average(filtered.this, certain, where)
    if not _maybe_decimal(filtered.this.this):
        return None
    return _refused_if_decimal(filtered, exp.Sum(this=filtered.this.this), _AVG_OF_UNTYPED_DECIMAL)


_RELIABLY_TYPED = (exp.Column, exp.Literal, exp.Cast)


def _maybe_decimal(node: exp.Expression) -> bool:
    """Whether `node` may be a decimal at run time: sqlglot's annotation is trusted only when it says
    a column, literal or cast is of some other type (it types round(price, 1) as a double)."""
    node_type = _type_of(node)
    if node_type is None or node_type in (T.UNKNOWN, T.NULL, T.DECIMAL):
        return True
    while isinstance(node, (exp.Neg, exp.Paren)):
        node = node.this
    return not isinstance(node, _RELIABLY_TYPED)


_ROUNDING = (exp.Round, exp.Ceil, exp.Floor, exp.Trunc, exp.Sign)


def _refused_if_decimal(node: exp.Expression, argument: exp.Expression, message: str) -> exp.Expression:
    """`node` as DuckDB computes it, unless `argument` turns out a decimal at run time: then NOT_SUPPORTED.

    (DuckDB's error() has no type of its own, so the CASE keeps `node`'s.)
    """
    is_decimal = exp.Anonymous(this="starts_with", expressions=[
        exp.Anonymous(this="typeof", expressions=[argument.copy()]), exp.Literal.string("DECIMAL")])
    refusal = refuse_at_run_time("NOT_SUPPORTED", message)
    return exp.Case(ifs=[exp.If(this=is_decimal, true=refusal)], default=node)


def _decimal_results(typed: exp.Expression) -> bool:
    """Trino's result types for round/ceiling/floor/truncate/sign/avg of decimals, in place; True if any changed.

    Decided on the whole tree first (decimal_types traces columns by node identity), then built
    and applied innermost first, so round(avg(x * x), 2) gets both.
    """
    types = DecimalTypes(typed)
    plans: list[tuple[exp.Expression, Callable[[exp.Expression], exp.Expression | None]]] = []
    for node in typed.walk():
        if node.meta.get("typed"):
            continue
        if isinstance(node, _ROUNDING):
            result = types.result_of_rounding(node)
            if result is not None:
                node.meta["typed"] = True
                plans.append((node, lambda n, r=result: exp.Cast(this=n, to=exp.DataType.build(f"DECIMAL({r[0]}, {r[1]})"))))
            elif _maybe_decimal(node.this):
                # (sign keeps its mark off: the integer and double rule below still applies inside the guard)
                node.meta["typed"] = not isinstance(node, exp.Sign)
                what = "truncate" if isinstance(node, exp.Trunc) else node.sql_name().lower()
                message = f"{what} of a decimal whose type the local Athena engine cannot tell is not supported"
                plans.append((node, lambda n, m=message: _refused_if_decimal(n, n.this, m)))
        elif isinstance(node, exp.Mod):
            result = types.of(node)  # DuckDB's remainder is exact; only its precision differs from Trino's
            if result is not None:
                node.meta["typed"] = True
                plans.append((node, lambda n, r=result: exp.Cast(this=n, to=exp.DataType.build(
                    f"DECIMAL({r[0]}, {r[1]})"))))
        elif isinstance(node, exp.Avg) and isinstance(node.parent, exp.Window):
            node.meta["typed"] = True
            if _maybe_decimal(node.this):
                plans.append((node.parent, lambda window: _refused_if_decimal(
                    window, window.this.this, "avg of a decimal over a window is not supported by the local "
                    "Athena engine")))
        elif isinstance(node, exp.Avg):
            node.meta["typed"] = True
            argument = node.this
            if isinstance(argument, exp.Distinct) and len(argument.expressions) == 1:
                argument = argument.expressions[0]  # avg(DISTINCT x): sum and count of the distinct values
            certain = types.of(argument)
            if isinstance(node.parent, exp.Filter) and node.parent.this is node:
                # The filter goes inside: the whole `avg(x) FILTER (WHERE …)` is replaced.
                filtered = node.parent
                plans.append((filtered, lambda f, c=certain: _filtered_average(f, c)))
            else:
                plans.append((node, lambda n, c=certain: _decimal_average(n, c)))
    changed = False
    for node, build in reversed(plans):  # walk() is depth first: reversed, inner nodes go first
        slot = exp.Null()
        node.replace(slot)  # detached first: building the replacement re-parents the node
        replacement = build(node)
        slot.replace(replacement if replacement is not None else node)
        changed |= replacement is not None
    return changed


# json_array_contains: the JSON element types that can equal a value of each SQL type, and how to read them.
_JSON_MATCH = {
    T.BOOLEAN: (("BOOLEAN",), "BOOLEAN"),
    T.TINYINT: (("BIGINT", "UBIGINT"), "BIGINT"), T.SMALLINT: (("BIGINT", "UBIGINT"), "BIGINT"),
    T.INT: (("BIGINT", "UBIGINT"), "BIGINT"), T.BIGINT: (("BIGINT", "UBIGINT"), "BIGINT"),
    T.DOUBLE: (("DOUBLE", "BIGINT", "UBIGINT"), "DOUBLE"), T.FLOAT: (("DOUBLE", "BIGINT", "UBIGINT"), "DOUBLE"),
    T.VARCHAR: (("VARCHAR",), "VARCHAR"), T.TEXT: (("VARCHAR",), "VARCHAR"),
}


def _json_array_contains(node: exp.JSONArrayContains) -> exp.Expression:
    """Trino's json_array_contains: an element of the value's JSON kind equal to it; NULL for a non-array."""
    json, value = node.this, node.expression
    kind = _type_of(value)
    if kind not in _JSON_MATCH:
        return exp.Cast(this=refuse_at_run_time("NOT_SUPPORTED", "json_array_contains of a value of this type is "
                                                "not supported by the local Athena engine"),
                        to=exp.DataType.build("BOOLEAN"))
    kinds, read_as = _JSON_MATCH[kind]
    element = exp.column("__j")
    matching = exp.Anonymous(this="list_filter", expressions=[
        exp.Anonymous(this="json_extract", expressions=[json.copy(), exp.Literal.string("$[*]")]),
        exp.Lambda(this=exp.In(this=exp.Anonymous(this="json_type", expressions=[element.copy()]),
                               expressions=[exp.Literal.string(k) for k in kinds]),
                   expressions=[exp.to_identifier("__j")])])
    read = exp.Lambda(this=(exp.Anonymous(this="json_extract_string", expressions=[element.copy(),
                                                                                   exp.Literal.string("$")])
                            if read_as == "VARCHAR" else exp.Cast(this=element.copy(),
                                                                  to=exp.DataType.build(read_as))),
                      expressions=[exp.to_identifier("__j")])
    contains = exp.Anonymous(this="list_contains", expressions=[
        exp.Anonymous(this="list_transform", expressions=[matching, read]), value.copy()])
    is_array = exp.EQ(this=exp.Anonymous(this="json_type", expressions=[json.copy()]),
                      expression=exp.Literal.string("ARRAY"))
    valid = exp.Anonymous(this="json_valid", expressions=[json.copy()])
    return exp.Case(ifs=[exp.If(this=exp.and_(valid, is_array), true=contains)], default=exp.Null())


def _typeof(node: exp.Typeof) -> exp.Expression:
    """DuckDB's type name -> Trino's, in SQL (the type is only known once DuckDB binds the query)."""
    duck = exp.Anonymous(this="typeof", expressions=[node.this.copy()])
    name = exp.Anonymous(this="lower", expressions=[duck])
    for pattern, replacement in ((r"^float$", "real"), (r"^hugeint$", "bigint"), (r'^"null"$', "unknown"), (r"^timestamp$", "timestamp(3)"),
                                 (r"^timestamp with time zone$", "timestamp(3) with time zone"),
                                 (r"^(\w+)\[\]$", r"array(\1)"), (r"^decimal\((\d+),(\d+)\)$", r"decimal(\1,\2)")):
        name = exp.Anonymous(this="regexp_replace", expressions=[name, exp.Literal.string(pattern),
                                                                 exp.Literal.string(replacement)])
    unsupported = exp.Anonymous(this="regexp_matches", expressions=[
        duck.copy(), exp.Literal.string(r"^(VARCHAR|STRUCT|MAP|UNION|BLOB|INTERVAL)|\[\]\[\]|VARCHAR\[\]")])
    refusal = exp.Cast(this=refuse_at_run_time(
        "NOT_SUPPORTED", "typeof of a character, row, map or interval value is not supported by the local "
        "Athena engine"), to=exp.DataType.build("VARCHAR"))
    return exp.Case(ifs=[exp.If(this=unsupported, true=refusal)], default=name)


_BIGINT_RANGE = (-(2 ** 63), 2 ** 63 - 1)
_INTEGER_WIDTH = [T.TINYINT, T.SMALLINT, T.INT, T.BIGINT]
_MAX_REWRITE_RUNS = 32  # one run per level of rules wrapping rules; real queries need a few


def _float_text(element_type: exp.DataType | None) -> str | None:
    """The function writing a double or real element as CAST(… AS varchar) does, if it is one."""
    if element_type is None:
        return None
    return {T.DOUBLE: float_text.DOUBLE_FUNCTION, T.FLOAT: float_text.REAL_FUNCTION}.get(element_type.this)


def _elements_as_text(array: exp.Expression, function: str) -> exp.Expression:
    element = exp.to_identifier("_f")
    return exp.Anonymous(this="list_transform", expressions=[array.copy(), exp.Lambda(
        this=exp.Anonymous(this=function, expressions=[exp.column("_f")]), expressions=[element])])


def _array_element_type(node: exp.Expression) -> exp.DataType | None:
    kind = node.type
    if kind is None or kind.this != T.ARRAY or not kind.expressions:
        return None
    return kind.expressions[0]


def _java_printf(node: exp.Anonymous) -> exp.Expression | None:
    """format()'s %f of a double or decimal as Java's Formatter writes it: the value's decimal digits
    (Double.toString's for a double) rounded half up, so format('%.2f', 1.005e0) is 1.01 where C's
    printf (DuckDB) rounds the binary value to 1.00. %e of such a value, and %f of a real (Java
    rounds Float.toString's digits), are refused."""
    fmt = node.expressions[0] if node.expressions else None
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        return None
    node.meta["typed"] = True
    arguments = list(node.expressions[1:])
    index = 0
    changed = False
    for spec in PRINTF_SPEC.finditer(fmt.this):
        conversion = spec.group("conv")
        if conversion == "%":
            continue
        if index >= len(arguments):
            break
        argument = arguments[index]
        kind = _type_of(argument)
        if (conversion in "eE" and kind in (_FLOATS | {T.DECIMAL})) or (conversion in "fF" and kind == T.FLOAT):
            raise QueryFailed("NOT_SUPPORTED", f"format's %{conversion} of a {'real' if kind == T.FLOAT else 'number'} "
                              "with a fraction is not supported by the local Athena engine")
        if kind in _NESTED:
            raise QueryFailed("NOT_SUPPORTED", "format of an array, map or row is not supported by the local Athena "
                              "engine")
        if conversion == "s" and kind == T.DOUBLE:  # Java's %s of a Double is Double.toString
            arguments[index] = exp.Anonymous(this=float_text.JAVA_FUNCTION, expressions=[argument.copy()])
            changed = True
        elif conversion == "s" and kind in (_INTEGERS | {T.BOOLEAN, T.DATE}):
            # Java's toString of a Long, Boolean or LocalDate reads as DuckDB's text (printf's %s takes text only)
            arguments[index] = exp.Cast(this=argument.copy(), to=exp.DataType.build("VARCHAR"))
            changed = True
        elif conversion == "s" and kind not in (_STRINGS | {None, T.UNKNOWN, T.NULL}):
            raise QueryFailed("NOT_SUPPORTED", f"format's %s of a {argument.type.sql('trino').lower()} is not "
                              "supported by the local Athena engine")
        if conversion in "fF" and kind in (T.DOUBLE, T.DECIMAL):
            digits = int(spec.group("prec") or 6)
            target = exp.DataType.build(f"DECIMAL(38, {digits})")
            text = (exp.Anonymous(this=float_text.SHORTEST_FUNCTION, expressions=[argument.copy()])
                    if kind == T.DOUBLE else argument.copy())
            rounded = exp.TryCast(this=text, to=target)  # half away from zero, as Java's HALF_UP
            refusal = exp.Cast(this=refuse_at_run_time(
                "NOT_SUPPORTED", "format's %f of a value that is not finite or of 38 digits or more is not "
                "supported by the local Athena engine"), to=target.copy())
            arguments[index] = exp.Case(ifs=[exp.If(this=exp.Is(this=argument.copy(), expression=exp.Null()),
                                                    true=exp.Null()),
                                             exp.If(this=exp.Is(this=rounded.copy(), expression=exp.Null()),
                                                    true=refusal)], default=rounded)
            changed = True
        index += 1
    # Java's Formatter writes a NULL argument as "null" (DuckDB's printf answers NULL): refused at run time.
    nullable = [a for a in node.expressions[1:] if not isinstance(a, exp.Literal)]
    if not changed and not nullable:
        return None
    rewritten = exp.Anonymous(this="printf", expressions=[fmt.copy(), *arguments])
    rewritten.meta["typed"] = True
    if not nullable:
        return rewritten
    any_null = exp.or_(*[exp.Is(this=a.copy(), expression=exp.Null()) for a in nullable])
    refusal = exp.Cast(this=refuse_at_run_time("NOT_SUPPORTED", "format of a NULL argument (Trino writes null) is "
                                               "not supported by the local Athena engine"),
                       to=exp.DataType.build("VARCHAR"))
    return exp.Case(ifs=[exp.If(this=any_null, true=refusal)], default=rewritten)


def _integer_division(node: exp.Div) -> exp.Expression | None:
    """integer / integer is of the wider operand's type in Trino (IntegerOperators.divide: 5 / 2 is
    an integer 2); sqlglot writes a bigint. Past that type (-2147483648 / -1) the cast fails, as
    Trino's division does (NUMERIC_VALUE_OUT_OF_RANGE)."""
    kinds = [_type_of(node.this), _type_of(node.expression)]
    if not all(kind in _INTEGERS for kind in kinds):
        return None
    node.meta["typed"] = True
    wider = max(kinds, key=_INTEGER_WIDTH.index)
    if wider == T.BIGINT:
        return None
    return exp.Cast(this=node, to=exp.DataType.build(wider))


def _array_equality(node: exp.EQ | exp.NEQ) -> exp.Expression | None:
    """array = array as Trino's ArrayEqualOperator answers it: false for different lengths or a pair
    of elements that differ, else NULL when an element is NULL (DuckDB says [1, NULL] = [1, NULL]),
    else true; elements compare with their own =, so a NaN differs from itself.

    Rows and maps compare their NULLs the same way in Trino and do not in DuckDB: refused.
    """
    kinds = {_type_of(node.this), _type_of(node.expression)}
    if kinds & {T.STRUCT, T.MAP}:
        raise QueryFailed("NOT_SUPPORTED", "comparing rows or maps with = or <> is not supported by the local "
                          "Athena engine")
    if kinds != {T.ARRAY} or node.meta.get("typed"):
        return None
    element_types = [side.type.expressions[0] for side in (node.this, node.expression)
                     if side.type is not None and side.type.expressions]
    if any(element.this in _NESTED for element in element_types):
        raise QueryFailed("NOT_SUPPORTED", "comparing arrays of arrays, rows or maps with = or <> is not supported "
                          "by the local Athena engine")
    left, right = node.this, node.expression
    pair = exp.to_identifier("_pair")
    first = exp.Bracket(this=exp.column("_pair"), expressions=[exp.Literal.number(1)], offset=1, safe=True)
    second = exp.Bracket(this=exp.column("_pair"), expressions=[exp.Literal.number(2)], offset=1, safe=True)
    differ: exp.Expression = exp.NEQ(this=first, expression=second)
    if any(element.this in _FLOATS for element in element_types):  # NaN = NaN is false
        differ = exp.or_(differ, exp.Anonymous(this="isnan", expressions=[first.copy()]),
                         exp.Anonymous(this="isnan", expressions=[second.copy()]))

    def any_pair(condition: exp.Expression) -> exp.Expression:
        pairs = exp.Anonymous(this="list_zip", expressions=[left.copy(), right.copy()])
        flags = exp.Anonymous(this="list_transform", expressions=[
            pairs, exp.Lambda(this=exp.Anonymous(this="coalesce", expressions=[condition, exp.false()]),
                              expressions=[pair])])
        return exp.Anonymous(this="list_bool_or", expressions=[flags])

    length = [exp.Anonymous(this="len", expressions=[side.copy()]) for side in (left, right)]
    has_null = exp.or_(exp.Is(this=first.copy(), expression=exp.Null()),
                       exp.Is(this=second.copy(), expression=exp.Null()))
    equal = exp.Case(ifs=[
        exp.If(this=exp.or_(exp.Is(this=left.copy(), expression=exp.Null()),
                            exp.Is(this=right.copy(), expression=exp.Null())), true=exp.Null()),
        exp.If(this=exp.NEQ(this=length[0], expression=length[1]), true=exp.false()),
        exp.If(this=any_pair(differ), true=exp.false()),
        exp.If(this=any_pair(has_null), true=exp.Null())], default=exp.true())
    equal = exp.Cast(this=equal, to=exp.DataType.build("BOOLEAN"))
    return exp.Not(this=exp.Paren(this=equal)) if isinstance(node, exp.NEQ) else equal


def _sequence_of_dates(node: exp.GenerateSeries) -> exp.Expression | None:
    """sequence(date, date[, step]): Trino steps a day at a time (back when stop < start) and gives dates;
    DuckDB needs an interval step and gives timestamps."""
    if node.meta.get("typed") or _type_of(node.args["start"]) != T.DATE:
        return None
    start, end, step = node.args["start"], node.args.get("end"), node.args.get("step")
    if end is None:
        return None
    series = node.copy()
    series.meta["typed"] = True
    if step is None or _type_of(step) not in (T.INTERVAL,):
        if step is not None and not isinstance(step, exp.Case):
            raise QueryFailed("NOT_SUPPORTED", "sequence of dates with a step that is not an interval is not "
                              "supported by the local Athena engine")
        days = exp.Case(ifs=[exp.If(this=exp.LTE(this=start.copy(), expression=end.copy()),
                                    true=exp.Literal.number(1))], default=exp.Literal.number(-1))
        series.set("step", exp.Anonymous(this="to_days", expressions=[days]))
    return exp.Cast(this=series, to=exp.DataType.build("DATE[]", dialect="duckdb"))


def _integer_sum(node: exp.Expression) -> exp.Expression | None:
    """sum() of integers is a bigint in Trino, and fails past its range (BigintSumAggregation adds
    with addExact: NUMERIC_VALUE_OUT_OF_RANGE); DuckDB's is a hugeint that answers the exact value.

    The sum that overflows at the end overflowed on the way in every order Trino may add in, so
    it fails there too (a sum back in range at the end may or may not have failed in Trino, and
    its value is the one Trino gives when it does not). Over a window, recent Trino adds without
    the check (LongSumWindowAccumulator wraps around), older ones fail: refused, not guessed.
    """
    unit = nan_semantics.aggregate_unit(node, exp.Sum)
    if unit is None:
        return None
    whole, inner = unit
    if _type_of(inner.this) not in _INTEGERS:
        return None
    if isinstance(whole, exp.Window):
        failure = refuse_at_run_time("NOT_SUPPORTED", "a window's sum past the bigint range is not supported by "
                                     "the local Athena engine")
    else:
        failure = refuse_at_run_time("NUMERIC_VALUE_OUT_OF_RANGE", "bigint addition overflow")
    low, high = (exp.Literal.number(bound) for bound in _BIGINT_RANGE)
    outside = exp.or_(exp.LT(this=whole.copy(), expression=low), exp.GT(this=whole.copy(), expression=high))
    return exp.Case(ifs=[exp.If(this=outside, true=exp.Cast(this=failure, to=exp.DataType.build("BIGINT")))],
                    default=exp.Cast(this=whole, to=exp.DataType.build("BIGINT")))


def _real_aggregate(node: exp.Expression) -> exp.Expression | None:
    """sum and avg of reals are reals in Trino (RealSumAggregation, RealAverageAggregation: a double
    sum, cast to float at the end); DuckDB answers the double, so the sum of three REAL '0.1' would
    be 0.30000000447034836 where Trino writes 0.3."""
    for kind in (exp.Sum, exp.Avg):
        unit = nan_semantics.aggregate_unit(node, kind)
        if unit is not None:
            whole, inner = unit
            if _type_of(inner.this) != T.FLOAT:
                return None
            return exp.Cast(this=whole, to=exp.DataType.build("FLOAT"))
    return None


# Rules run children first, before the other rewrites (see _children_first).
_CHILDREN_FIRST: dict[type, list[Callable[[Any], exp.Expression | None]]] = {}
for _kind, _rule in nan_semantics.RULES.items():
    _CHILDREN_FIRST.setdefault(_kind, []).append(_rule)
for _kind in (exp.Window, exp.Filter, exp.Sum):
    _CHILDREN_FIRST.setdefault(_kind, []).append(_integer_sum)
for _kind in (exp.Window, exp.Filter, exp.Sum, exp.Avg):
    _CHILDREN_FIRST.setdefault(_kind, []).append(_real_aggregate)


def _children_first(tree: exp.Expression) -> bool:
    """Apply _CHILDREN_FIRST's rules to the typed `tree` in place, a node's descendants before it.

    Unlike the transform in trino_typed_semantics (which does not descend into a node it has
    replaced), this lets those rules wrap a node whole: each replacement keeps the node's type,
    and the transform afterwards still reaches every node inside it. True if a rule applied.
    """
    changed = False
    for node in reversed(list(tree.walk(bfs=False))):  # in reverse pre-order, descendants come first
        if node is tree or nan_semantics.checked(node):
            continue
        for rule in _CHILDREN_FIRST.get(type(node), ()):
            replacement = rule(node)
            if replacement is not None:
                replacement.type = node.type.copy() if node.type is not None else None
                node.replace(replacement)
                changed = True
                break
    return changed


def trino_typed_semantics(tree: exp.Expression, schema: dict[str, dict[str, str]]) -> exp.Expression:
    """`tree` with integer casts and typeof() made Trino's; unchanged when there are none."""
    if not tree.find(exp.Cast, exp.Typeof, exp.Bracket, exp.TimestampTrunc, exp.DateTrunc, exp.Sign, exp.Avg, exp.Sub,
                     exp.Ceil, exp.Floor, exp.Div, exp.ArraySize, exp.GenerateSeries, exp.UnixToTime, exp.Reverse, exp.ArrayToString, *_STRING_ARGUMENT, exp.Anonymous,
                     *_CHILDREN_FIRST,
                     exp.DPipe, exp.Concat, exp.JSONArrayContains, exp.Round, exp.Ceil, exp.Floor, exp.Trunc,
                     exp.Mod):
        return tree
    typed = _typed(tree, schema)
    if typed is None:
        return tree
    changed = _decimal_results(typed)
    _refuse_fine_timestamps(typed)
    changed = _children_first(typed) or changed

    def rewrite(node: exp.Expression) -> exp.Expression:
        nonlocal changed
        if isinstance(node, exp.Anonymous) and LENGTH_META in node.meta and not node.meta.get("length_checked"):
            node.meta["length_checked"] = True
            replacement = _shorter_varchar_cast(node)
            if replacement is not None:
                changed = True
                return replacement
        if isinstance(node, exp.Sub) and _type_of(node.this) == T.DATE and _type_of(node.expression) == T.DATE:
            # DuckDB answers a number of days; Trino has no date - date operator (DateOperators), so its
            # answer is an error, never that number.
            changed = True
            return exp.Cast(this=refuse_at_run_time("NOT_SUPPORTED", "date - date is not supported by the local "
                                                    "Athena engine (Trino has no such operator; use date_diff)"),
                            to=exp.DataType.build("BIGINT"))
        if isinstance(node, exp.Typeof):
            changed = True
            return _typeof(node)
        if isinstance(node, exp.JSONArrayContains):
            changed = True
            return _json_array_contains(node)
        if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)) and _type_of(node.this) == T.DATE \
                and not node.meta.get("date_kept"):
            # Trino's date_trunc returns the input's type: a date stays a date.
            node.meta["date_kept"] = True
            changed = True
            return exp.Cast(this=node, to=exp.DataType.build("DATE"))
        if isinstance(node, exp.Sign) and node.this.type is not None and node.this.type.this in \
                (_INTEGERS | _FLOATS) and not node.meta.get("typed"):
            # Trino's sign returns its input's type (DuckDB's is always a tinyint).
            node.meta["typed"] = True
            changed = True
            return exp.Cast(this=node, to=node.this.type.copy())
        if isinstance(node, (exp.Ceil, exp.Floor)) and _type_of(node.this) in _INTEGERS and not node.meta.get("typed") \
                and not node.args.get("decimals"):
            # ceiling and floor of an integer are that integer, of its type (MathFunctions); DuckDB's is a double.
            node.meta["typed"] = True
            changed = True
            return exp.Cast(this=node, to=node.this.type.copy())
        if isinstance(node, (exp.EQ, exp.NEQ)) and not node.meta.get("typed"):
            replacement = _array_equality(node)
            if replacement is not None:
                node.meta["typed"] = True
                changed = True
                return replacement
        if isinstance(node, exp.ArraySize) and _type_of(node.this) == T.MAP and not node.meta.get("typed"):
            changed = True  # cardinality(map): its number of entries (sqlglot writes array_length)
            return exp.Anonymous(this="cardinality", expressions=[node.this.copy()])
        if isinstance(node, exp.UnixToTime) and not node.meta.get("typed") and _type_of(node.this) not in _INTEGERS \
                and not any(node.args.get(k) for k in node.arg_types if k != "this"):
            # from_unixtime(double) is Math.round(x * 1000) milliseconds (DateTimeFunctions); DuckDB's
            # to_timestamp keeps microseconds, which would be cut, not rounded, when written.
            changed = True
            millis = exp.Anonymous(this="floor", expressions=[exp.Add(
                this=exp.Mul(this=exp.Cast(this=node.this.copy(), to=exp.DataType.build("DOUBLE")),
                             expression=exp.Literal.number(1000)), expression=exp.Literal.number("0.5"))])
            at = exp.Anonymous(this="epoch_ms", expressions=[exp.Cast(this=millis, to=exp.DataType.build("BIGINT"))])
            return exp.Cast(this=at, to=exp.DataType.build("TIMESTAMPTZ"))
        if isinstance(node, exp.Reverse) and not node.meta.get("typed") \
                and (_type_of(node.this) in _STRINGS or isinstance(node.this, exp.UnicodeString)):
            # Trino reverses code points (U&'e\0301x' -> x, U+0301, e); DuckDB keeps grapheme clusters whole.
            changed = True
            points = exp.Anonymous(this="string_split", expressions=[node.this.copy(), exp.Literal.string("")])
            return exp.Anonymous(this="array_to_string", expressions=[
                exp.Anonymous(this="list_reverse", expressions=[points]), exp.Literal.string("")])
        if isinstance(node, exp.Reverse) and _type_of(node.this) == T.ARRAY:
            changed = True  # reverse(array): its elements backwards (DuckDB's reverse takes strings only)
            return exp.Anonymous(this="list_reverse", expressions=[node.this.copy()])
        if isinstance(node, exp.ArrayToString) and not node.meta.get("typed"):
            function = _float_text(_array_element_type(node.this))
            if function is not None:  # array_join writes each element as CAST(… AS varchar) does
                node.meta["typed"] = True
                changed = True
                node.set("this", _elements_as_text(node.this, function))
                return node
        if isinstance(node, (exp.Cast, exp.TryCast)) and node.to.this == T.ARRAY and not node.meta.get("typed") \
                and node.to.expressions and node.to.expressions[0].this in _STRINGS:
            function = _float_text(_array_element_type(node.this))
            if function is not None:  # CAST(array(double) AS array(varchar)): each element in Trino's notation
                changed = True
                cast = node.__class__(this=_elements_as_text(node.this, function), to=node.to.copy())
                cast.meta["typed"] = True
                return cast
        if isinstance(node, (exp.Cast, exp.TryCast)) and node.to.this in (T.MAP, T.STRUCT, T.ARRAY) \
                and not node.meta.get("typed") and node.this.type is not None \
                and any(t.this in _FLOATS for t in node.this.type.find_all(exp.DataType)) \
                and any(t.this in _STRINGS for t in node.to.find_all(exp.DataType)):
            raise QueryFailed("NOT_SUPPORTED", "casting a map, row or nested array holding doubles or reals to one "
                              "holding varchar is not supported by the local Athena engine")
        if isinstance(node, exp.GenerateSeries):
            replacement = _sequence_of_dates(node)
            if replacement is not None:
                changed = True
                return replacement
        if isinstance(node, exp.Div) and node.args.get("typed") and not node.meta.get("typed"):
            replacement = _integer_division(node)
            if replacement is not None:
                changed = True
                return replacement
        if isinstance(node, exp.Bracket) and not node.meta.get("trino_checked"):
            replacement = _subscript(node)
            if replacement is not None:
                changed = True
                return replacement
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "printf" and not node.meta.get("typed"):
            replacement = _java_printf(node)
            if replacement is not None:
                changed = True
                return replacement
        if type(node) in _STRING_ARGUMENT:
            _string_argument(node)
        if isinstance(node, exp.Length) and _type_of(node.this) in (T.VARBINARY, T.BINARY):
            changed = True  # length(varbinary) counts bytes (DuckDB's length takes text only)
            return exp.Anonymous(this="octet_length", expressions=[node.this.copy()])
        if isinstance(node, (exp.DPipe, exp.Concat)):
            _concat_operands(node)
        if isinstance(node, exp.DPipe):
            replacement = _array_and_element(node)
            if replacement is not None:
                changed = True
                return replacement
        if isinstance(node, exp.Cast) and not node.meta.get("timestamp_checked"):
            replacement = _timestamp_cast(node)
            if replacement is not None:
                changed = True
                return replacement
        if isinstance(node, exp.Cast) and not node.meta.get("date_checked"):
            replacement = _date_cast(node)
            if replacement is not None:
                changed = True
                return replacement
        if isinstance(node, exp.TryCast) and not node.meta.get("typed") and _type_of(node.this) in _FLOATS \
                and node.to.this in _STRINGS and not node.to.expressions:
            changed = True  # try_cast(double AS varchar) never fails: the cast's notation
            return _varchar_cast(node)
        if type(node) is exp.Cast and not node.meta.get("typed"):
            replacement = _varchar_cast(node)
            if replacement is not None:
                changed = True
                return replacement
        if type(node) is exp.Cast:  # TryCast is a Cast too: a failed try_cast is NULL, as in Trino
            replacement = _integer_cast(node)
            if replacement is not None:
                changed = True
                return replacement
        return node

    # A rule that wraps a node (CAST(sign(x) AS integer)) makes the transform skip what is inside it,
    # so it runs again until nothing changes: a rule marks what it wrapped, and the next run goes on
    # into it (sign(CAST('2.5' AS integer)) must still fail on the cast).
    result, rewrote = typed, True
    for _ in range(_MAX_REWRITE_RUNS):
        if not rewrote:
            return result
        before, changed = changed, False
        result = result.transform(rewrite)
        rewrote, changed = changed, before or changed
    raise QueryFailed("NOT_SUPPORTED", "the local Athena engine could not settle this query's translation")

"""Trino semantics that depend on an operand's type: casts to integers, and typeof.

Found with sqlglot's type annotation (the catalog gives column types), as
decimals.py does for division:

- CAST(double AS integer) rounds half away from zero in Trino (2.5 -> 3);
  DuckDB rounds half to even (2.5 -> 2), so the double is rounded first.
- CAST(varchar AS integer) accepts only an integer's digits in Trino ('2.5'
  fails with INVALID_CAST_ARGUMENT); DuckDB would round it.
- array[i] past the end or below 1, element_at(array, 0) and map[k] of a
  missing key fail in Trino (INVALID_FUNCTION_ARGUMENT); DuckDB gives NULL.
- typeof() answers Trino's type names (integer, decimal(2,1), array(integer),
  timestamp(3)); a character value is refused, since Trino types it
  varchar(n) and the engine keeps no lengths.

An operand whose type the annotation cannot tell is left to DuckDB.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from localcloud.athena.sql import fail_at_run_time, refuse_at_run_time

T = exp.DataType.Type
_INTEGERS = {T.TINYINT, T.SMALLINT, T.INT, T.BIGINT}
_FLOATS = {T.DOUBLE, T.FLOAT}
_STRINGS = {T.VARCHAR, T.TEXT, T.CHAR}
_TRINO_INTEGER_NAME = {T.TINYINT: "TINYINT", T.SMALLINT: "SMALLINT", T.INT: "INT", T.BIGINT: "BIGINT"}
_INTEGER_TEXT = r"^\s*[+-]?[0-9]+\s*$"
# Appended to a value that must fail its cast to an integer.
CAST_MARK = "\u2400"


def _typed(tree: exp.Expression, schema: dict[str, dict[str, str]]) -> exp.Expression | None:
    try:
        typed = qualify(tree.copy(), schema=schema, dialect="duckdb", validate_qualify_columns=False,
                        quote_identifiers=True, identify=False)
        return annotate_types(typed, schema=schema, dialect="duckdb")
    except Exception:  # annotation is best effort
        return None


def _type_of(node: exp.Expression) -> T | None:
    return node.type.this if node.type is not None else None


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


def _typeof(node: exp.Typeof) -> exp.Expression:
    """DuckDB's type name -> Trino's, in SQL (the type is only known once DuckDB binds the query)."""
    duck = exp.Anonymous(this="typeof", expressions=[node.this.copy()])
    name = exp.Anonymous(this="lower", expressions=[duck])
    for pattern, replacement in ((r"^float$", "real"), (r"^hugeint$", "bigint"), (r"^timestamp$", "timestamp(3)"),
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


def trino_typed_semantics(tree: exp.Expression, schema: dict[str, dict[str, str]]) -> exp.Expression:
    """`tree` with integer casts and typeof() made Trino's; unchanged when there are none."""
    if not tree.find(exp.Cast, exp.Typeof, exp.Bracket, exp.TimestampTrunc, exp.DateTrunc, exp.Sign):
        return tree
    typed = _typed(tree, schema)
    if typed is None:
        return tree
    changed = False

    def rewrite(node: exp.Expression) -> exp.Expression:
        nonlocal changed
        if isinstance(node, exp.Typeof):
            changed = True
            return _typeof(node)
        if isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)) and _type_of(node.this) == T.DATE \
                and not node.meta.get("date_kept"):
            # Trino's date_trunc returns the input's type: a date stays a date.
            node.meta["date_kept"] = True
            changed = True
            return exp.Cast(this=node, to=exp.DataType.build("DATE"))
        if isinstance(node, exp.Sign) and node.this.type is not None and node.this.type.this in \
                (_INTEGERS | _FLOATS | {T.DECIMAL}) and not node.meta.get("typed"):
            # Trino's sign returns its input's type (DuckDB's is always a tinyint).
            node.meta["typed"] = True
            changed = True
            return exp.Cast(this=node, to=node.this.type.copy())
        if isinstance(node, exp.Bracket) and not node.meta.get("trino_checked"):
            replacement = _subscript(node)
            if replacement is not None:
                changed = True
                return replacement
        if type(node) is exp.Cast:  # TryCast is a Cast too: a failed try_cast is NULL, as in Trino
            replacement = _integer_cast(node)
            if replacement is not None:
                changed = True
                return replacement
        return node

    result = typed.transform(rewrite)
    return result if changed else tree

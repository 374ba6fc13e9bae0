"""Trino's exact decimal division, which DuckDB does not have.

In Trino, `decimal / integer` and `decimal / decimal` are decimals rounded
half-up to the larger operand scale (193.72 / 50 = 3.87); DuckDB divides them
as doubles (3.8744). We find such divisions with sqlglot's type annotation
(the catalog gives column types) and rewrite them into exact HUGEINT
arithmetic. Only operands whose scale we know for sure are rewritten
(catalog columns, casts to decimal, decimal literals, integers, SUM/MIN/MAX of
those); anything else is left to DuckDB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

if TYPE_CHECKING:
    from localcloud.athena.decimal_types import DecimalTypes

_INTEGER_TYPES = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT,
                  exp.DataType.Type.BIGINT}
_SCALE_KEEPING = (exp.Sum, exp.Min, exp.Max, exp.AnyValue, exp.Paren, exp.Neg)


def _scale(node: exp.Expression, types: DecimalTypes | None = None) -> int | None:
    """The operand's decimal scale (0 for integers) when certain, else None.

    A column's type is taken from `types` (decimal_types.py traces a derived table's column to its
    expression; sqlglot's annotation gives `a * a` the scale of `a`)."""
    if types is not None and isinstance(node, exp.Column):
        certain = types.operand(node)
        return certain[1] if certain is not None else None
    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.this
        if "e" in text.lower():
            return None  # a double literal in Trino
        return len(text.split(".", 1)[1]) if "." in text else 0
    if isinstance(node, exp.Count):
        return 0
    if isinstance(node, _SCALE_KEEPING):
        return _scale(node.this, types)
    if isinstance(node, (exp.Nullif, exp.Coalesce)) and node.this is not None:
        inner = _scale(node.this, types)
        others = [_scale(e, types) for e in node.expressions] if isinstance(node, exp.Coalesce) else []
        return inner if all(o == inner for o in others) else None
    node_type = node.type
    if node_type is None:
        return None
    if node_type.this in _INTEGER_TYPES and isinstance(node, (exp.Column, exp.Cast)):
        return 0
    if node_type.this == exp.DataType.Type.DECIMAL and isinstance(node, (exp.Column, exp.Cast)):
        params = node_type.expressions
        return int(params[1].this.this) if len(params) == 2 else 0
    return None


_INTEGER_PRECISION = {exp.DataType.Type.TINYINT: 3, exp.DataType.Type.SMALLINT: 5, exp.DataType.Type.INT: 10,
                      exp.DataType.Type.BIGINT: 19}


def _precision(node: exp.Expression, types: DecimalTypes | None = None) -> int | None:
    """The operand's decimal precision as Trino types it (integers as decimal(10,0), …), when certain."""
    if types is not None and isinstance(node, exp.Column):
        certain = types.operand(node)
        return certain[0] if certain is not None else None
    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.this.lstrip("+-")
        if "e" in text.lower():
            return None
        if "." in text:
            whole, _, fraction = text.partition(".")
            return max(1, len(whole) + len(fraction))
        return 10 if int(text) <= 2_147_483_647 else 19  # an integer literal is an integer, else a bigint
    if isinstance(node, exp.Count):
        return 19
    if isinstance(node, exp.Sum):
        inner = node.this.type
        return 38 if inner is not None and inner.this == exp.DataType.Type.DECIMAL else 19
    if isinstance(node, (exp.Min, exp.Max, exp.AnyValue, exp.Paren, exp.Neg)):
        return _precision(node.this, types)
    node_type = node.type
    if node_type is None or not isinstance(node, (exp.Column, exp.Cast)):
        return None
    if node_type.this in _INTEGER_PRECISION:
        return _INTEGER_PRECISION[node_type.this]
    if node_type.this == exp.DataType.Type.DECIMAL and node_type.expressions:
        return int(node_type.expressions[0].this.this)
    return None


def _is_decimal(node: exp.Expression) -> bool:
    if isinstance(node, exp.Literal) and not node.is_string:
        return "." in node.this and "e" not in node.this.lower()
    inner = node
    while isinstance(inner, _SCALE_KEEPING) or isinstance(inner, (exp.Nullif, exp.Coalesce)):
        inner = inner.this
    return inner.type is not None and inner.type.this == exp.DataType.Type.DECIMAL


def _exact_division(a: exp.Expression, b: exp.Expression, sa: int, sb: int,
                    pa: int | None = None) -> exp.Expression:
    """a / b, exact and rounded half up, typed decimal(min(38, pa + sb + max(sb - sa, 0)), max(sa, sb))
    as Trino's DecimalOperators types it (decimal(38, …) when a's precision is unknown)."""
    s = max(sa, sb)
    precision = 38 if pa is None else max(min(38, pa + sb + max(sb - sa, 0)), s, 1)
    num = f"(CAST(({a.sql('duckdb')}) * {10 ** sa} AS HUGEINT) * {10 ** (sb + s - sa)})"
    den = f"CAST(({b.sql('duckdb')}) * {10 ** sb} AS HUGEINT)"
    # Half-up on the magnitude (Java's HALF_UP), then the sign.
    quotient = (f"(sign({num}) * sign({den}) * ((2 * abs({num}) + abs({den})) // (2 * abs({den}))))")
    if s:
        unit = "0." + "0" * (s - 1) + "1"  # 10^-s, exactly
        text = (f"CAST(CAST(CAST({quotient} AS DECIMAL(38, {s})) * CAST('{unit}' AS DECIMAL(38, {s})) "
                f"AS DECIMAL(38, {s})) AS DECIMAL({precision}, {s}))")
    else:
        text = f"CAST({quotient} AS DECIMAL({precision}, 0))"
    return sqlglot.parse_one(text, read="duckdb")


def exact_decimal_division(tree: exp.Expression, schema: dict[str, dict[str, str]]) -> exp.Expression:
    """`tree` with decimal divisions made exact, or `tree` unchanged when there are none (or in doubt)."""
    if not tree.find(exp.Div):
        return tree
    try:
        typed = qualify(tree.copy(), schema=schema, dialect="duckdb", validate_qualify_columns=False,
                        quote_identifiers=True, identify=False)
        annotate_types(typed, schema=schema, dialect="duckdb")
    except Exception:  # annotation is best effort: leave the query as DuckDB computes it
        return tree
    from localcloud.athena.decimal_types import DecimalTypes

    types = DecimalTypes(typed)
    changed = False

    def rewrite(node: exp.Expression) -> exp.Expression:
        nonlocal changed
        if not isinstance(node, exp.Div):
            return node
        a, b = node.this, node.expression
        if not (_is_decimal(a) or _is_decimal(b)):
            return node
        sa, sb = _scale(a, types), _scale(b, types)
        if sa is None or sb is None:
            return node
        changed = True
        return _exact_division(a, b, sa, sb, _precision(a, types))

    # In place (typed is a copy already): `types` knows the columns by node identity.
    result = typed.transform(rewrite, copy=False)
    return result if changed else tree


def schema_of(sources: list[Any], snapshot_name: Any, duckdb_type: Any) -> dict[str, dict[str, str]]:
    return {
        snapshot_name(s): {c: duckdb_type(t) for c, t in s.columns + s.partition_keys} for s in sources
    }

"""Declared lengths of a query's varchar(n) result columns, for ColumnInfo's Precision.

Trino types a column the catalog declares varchar(10), and CAST(x AS varchar(10)),
as varchar(10); Athena's ColumnInfo then says Type "varchar", Precision 10, as
Trino's own JDBC ColumnInfo does (precision = the varchar's length; an
unbounded varchar's is 2147483647). DuckDB keeps no lengths, so they are found
in the query: a result column that is (through aliases, subqueries and CTEs) a
catalog varchar(n) column or a cast to varchar(n) gets n.

Any other string expression is reported unbounded. Trino derives lengths for
some of those too (a literal 'abc' is varchar(3), concat adds lengths, upper
keeps its argument's); the local engine does not, so their Precision says
2147483647 where Athena may say less — a metadata difference only, the values
are the same.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

# sql.py marks the expression a CAST(… AS varchar(n)) became with its length.
LENGTH_META = "varchar_length"
_VARCHAR_N = re.compile(r"^\s*varchar\s*\(\s*(\d+)\s*\)\s*$", re.I)
_STRINGS = {exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.NVARCHAR}


def declared_length(hive_type: str) -> int | None:
    """n of a Glue `varchar(n)` column type, else None."""
    m = _VARCHAR_N.match(hive_type)
    return int(m.group(1)) if m else None


def result_lengths(tree: exp.Expression, schema: dict[str, dict[str, str]],
                   hive_types: dict[str, dict[str, str]]) -> list[int | None] | None:
    """Per result column of `tree`, its varchar length when declared, else None; None when unknown.

    `schema` maps the tree's tables to their columns' engine types (to expand stars and
    qualify columns); `hive_types` the same tables to their columns' Glue types. Only a query
    that reads a varchar(n) column or casts to one pays for the analysis (qualifying a planned
    query costs as much CPU as a warm query itself).
    """
    declared = any(declared_length(t) is not None for columns in hive_types.values() for t in columns.values())
    if not declared and not any(LENGTH_META in node.meta for node in tree.walk()):
        return None
    try:
        qualified = qualify(tree.copy(), schema=schema, dialect="duckdb", validate_qualify_columns=False,
                            quote_identifiers=False, identify=False)
        root = build_scope(qualified)
    except Exception:  # best effort: the lengths only refine ColumnInfo
        return None
    if root is None or not isinstance(root.expression, exp.Select):
        return None
    return [_length(p, root, hive_types, depth=0) for p in root.expression.expressions]


def _length(node: exp.Expression, scope: Scope, hive_types: dict[str, dict[str, str]], depth: int) -> int | None:
    if depth > 32:
        return None
    while isinstance(node, (exp.Alias, exp.Paren)):
        node = node.this
    if LENGTH_META in node.meta:
        return node.meta[LENGTH_META]
    if isinstance(node, exp.Cast) and node.to.this in _STRINGS and node.to.expressions:
        size = node.to.expressions[0]
        size = size.this if isinstance(size, exp.DataTypeParam) else size
        return int(size.name) if size.is_int else None
    if not isinstance(node, exp.Column) or not node.table:
        return None
    source = scope.sources.get(node.table)
    if isinstance(source, exp.Table):
        return declared_length(hive_types.get(source.name, {}).get(node.name, ""))
    if isinstance(source, Scope) and isinstance(source.expression, exp.Select):
        for projection in source.expression.expressions:
            if projection.alias_or_name == node.name:
                return _length(projection, source, hive_types, depth + 1)
    return None


def hive_types_of(sources: list[Any], snapshot_name: Any) -> dict[str, dict[str, str]]:
    """Each source's table name in a planned query -> its columns' Glue types."""
    return {snapshot_name(s): dict(s.columns + s.partition_keys) for s in sources}

"""DELETE and UPDATE planned over DuckDB: which rows a predicate removes or rewrites.

Same shape as `merge.py`: DuckDB evaluates the Trino predicate and SET
expressions over the target's Arrow rows (with `cow.ROW_ID`) and returns
`RowChanges`; the caller commits them copy-on-write as one snapshot. The
table is referred to by its own name in expressions, as in Trino's
`DELETE FROM orders WHERE orders.quantity = 0`.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from localcloud.iceberg.cow import FILE_INDEX, ROW_ID, RowChanges
from localcloud.iceberg.exceptions import IcebergError
from localcloud.iceberg.merge import Translate, connect, duckdb_error, quote, trino_to_duckdb
from localcloud.iceberg.schema import duckdb_type

TARGET_VIEW = "__iceberg_dml_target"


def parse_expression(sql: str | exp.Expression | None) -> exp.Expression | None:
    """A Trino expression given as text is parsed with sqlglot's Trino dialect."""
    if sql is None or isinstance(sql, exp.Expression):
        return sql
    return sqlglot.parse_one(sql, read="trino")


def _selected(target: pa.Table, table_name: str, select: str, predicate: exp.Expression | None,
              translate: Translate) -> pa.Table:
    where = f"WHERE ({translate(predicate)})" if predicate is not None else ""
    connection = connect()
    try:
        connection.register(TARGET_VIEW, target)
        try:
            return connection.sql(
                f"SELECT {select} FROM {TARGET_VIEW} AS {quote(table_name)} {where}").to_arrow_table()
        except duckdb.Error as exc:
            raise duckdb_error(exc) from exc
    finally:
        connection.close()


def _columns(target: pa.Table) -> list[str]:
    return [name for name in target.schema.names if name not in (ROW_ID, FILE_INDEX)]


def plan_delete(target: pa.Table, table_name: str, predicate: str | exp.Expression | None,
                translate: Translate = trino_to_duckdb) -> RowChanges:
    """Rows where `predicate` is TRUE (all rows without one) are deleted; NULL keeps the row, as in SQL."""
    chosen = _selected(target, table_name, quote(ROW_ID), parse_expression(predicate), translate)
    empty = target.select([ROW_ID, *_columns(target)]).slice(0, 0)
    return RowChanges(updated=empty, deleted_ids=chosen.column(ROW_ID).combine_chunks(),
                      inserted=empty.drop_columns([ROW_ID]))


def plan_update(target: pa.Table, table_name: str, assignments: Mapping[str, str | exp.Expression],
                predicate: str | exp.Expression | None = None,
                translate: Translate = trino_to_duckdb) -> RowChanges:
    """Rows where `predicate` is TRUE get the SET values, cast to each column's type."""
    columns = _columns(target)
    values = {}
    for name, value in assignments.items():
        if name.lower() not in columns:
            # Athena: "COLUMN_NOT_FOUND: line 1:46: The UPDATE SET target column x doesn't exist"
            raise IcebergError("COLUMN_NOT_FOUND", f"The UPDATE SET target column {name.lower()} doesn't exist")
        values[name.lower()] = translate(parse_expression(value))
    select = ", ".join([quote(ROW_ID)] + [
        f"CAST({values[name]} AS {duckdb_type(target.schema.field(name).type)}) AS {quote(name)}"
        if name in values else quote(name) for name in columns])
    updated = _selected(target, table_name, select, parse_expression(predicate), translate)
    empty = target.select([ROW_ID, *columns]).slice(0, 0)
    return RowChanges(updated=updated, deleted_ids=pa.array([], pa.int64()), inserted=empty.drop_columns([ROW_ID]))

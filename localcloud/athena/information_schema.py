"""Trino's information_schema (schemata, tables, columns) for the Glue catalog, as rows the engine can read.

BI tools and SQL clients discover tables with `SELECT … FROM
information_schema.tables/columns`. The rows are built from the Glue
catalog when a query names one of these tables, and handed to the engine as
an inline VALUES relation; column types are written in Athena's names
(varchar, integer, decimal(10,2), row(…)), not Glue's Hive names.
"""

from __future__ import annotations

import re
from typing import Any

import sqlglot
from sqlglot import exp

from localcloud.athena.catalog import GlueCatalog, is_view

CATALOG = "awsdatacatalog"
SCHEMA = "information_schema"
# Trino's columns of each table (all varchar but ordinal_position).
COLUMNS: dict[str, list[str]] = {
    "schemata": ["catalog_name", "schema_name"],
    "tables": ["table_catalog", "table_schema", "table_name", "table_type"],
    "columns": ["table_catalog", "table_schema", "table_name", "column_name", "ordinal_position",
                "column_default", "is_nullable", "data_type"],
}
_HIVE_TO_ATHENA = {"string": "varchar", "int": "integer", "float": "real", "struct": "row", "binary": "varbinary"}


def athena_type(hive_type: str) -> str:
    """A Glue column type in Athena's spelling: string -> varchar, struct<a:int> -> row(a integer)."""
    text = hive_type.strip().lower()
    text = re.sub(r"\b(string|int|float|binary)\b", lambda m: _HIVE_TO_ATHENA[m.group(1)], text)
    text = re.sub(r"struct<", "row(", text)
    text = re.sub(r"array<", "array(", text)
    text = re.sub(r"map<", "map(", text)
    text = text.replace(">", ")")
    return re.sub(r"(\w+):", r"\1 ", text)


def rows(catalog: GlueCatalog, name: str) -> list[list[Any]]:
    databases = sorted(catalog.list_databases())
    if name == "schemata":
        return [[CATALOG, db] for db in databases + [SCHEMA]]
    out: list[list[Any]] = []
    for db in databases:
        for table in sorted(catalog.list_tables(db), key=lambda t: t["Name"]):
            if name == "tables":
                out.append([CATALOG, db, table["Name"], "VIEW" if is_view(table) else "BASE TABLE"])
                continue
            columns = ((table.get("StorageDescriptor") or {}).get("Columns") or []) + \
                (table.get("PartitionKeys") or [])
            for position, column in enumerate(columns, start=1):
                out.append([CATALOG, db, table["Name"], column["Name"], position, None, "YES",
                            athena_type(column.get("Type", ""))])
    return out


def relation(catalog: GlueCatalog, name: str, alias: exp.TableAlias) -> exp.Expression:
    """`information_schema.<name>` as a subquery over inline rows, under the query's alias."""
    columns = COLUMNS[name]

    def value(v: Any) -> exp.Expression:
        if v is None:
            return exp.cast(exp.Null(), "VARCHAR")
        return exp.Literal.number(v) if isinstance(v, int) else exp.Literal.string(str(v))

    data = rows(catalog, name)
    if data:
        body = exp.select(*[exp.column(c) for c in columns]).from_(exp.Values(
            expressions=[exp.Tuple(expressions=[value(v) for v in row]) for row in data],
            alias=exp.TableAlias(this=exp.to_identifier("v"), columns=[exp.to_identifier(c) for c in columns])))
    else:
        types = {"ordinal_position": "BIGINT"}
        body = sqlglot.parse_one("SELECT " + ", ".join(f"CAST(NULL AS {types.get(c, 'VARCHAR')}) AS {c}"
                                                      for c in columns) + " WHERE FALSE", read="duckdb")
    return exp.Subquery(this=body, alias=alias.copy())

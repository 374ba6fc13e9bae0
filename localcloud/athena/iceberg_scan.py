"""Reading Iceberg tables inside any query: current state, time travel and the `$` metadata tables.

The planner (queries.py) asks `resolve` about every catalog table a query
names. A Glue table whose Parameters say `table_type=ICEBERG` becomes a
`TableSource` of Parquet objects: exactly the data files of the snapshot read
(current, `FOR VERSION AS OF id`, `FOR TIMESTAMP AS OF t`), planned by
pyiceberg from the table's metadata. The engine decodes them like any Parquet
table (cached by file, since Iceberg never rewrites a file) and the query is
billed for those files, as Athena bills the data files it reads.
`"t$snapshots"`, `"t$history"` and `"t$files"` are Arrow relations from
`IcebergTables`, loaded into the engine for the query.

Trino's errors: a version clause on a Hive table is NOT_SUPPORTED "This
connector does not support versioned tables"; a snapshot or instant the table
does not have is INVALID_ARGUMENTS (see localcloud/iceberg/timetravel.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlglot import exp

from localcloud.athena import sql as athena_sql
from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.lake import LakeObject, TableSource, split_s3_url
from localcloud.iceberg import IcebergError, IcebergTables
from localcloud.iceberg import timetravel

METADATA_TABLES = ("snapshots", "history", "files")
_HIVE_NAMES = {"long": "bigint", "integer": "int"}


def is_iceberg(glue_table: dict[str, Any] | None) -> bool:
    params = (glue_table or {}).get("Parameters") or {}
    return str(params.get("table_type", "")).upper() == "ICEBERG"


def failed(error: IcebergError, position: tuple[int, int] | None = None) -> QueryFailed:
    """The engine's error, as the failed query's reason."""
    return QueryFailed(error.error_name, error.message, *(position or ()))


def resolve(planner: Any, table: exp.Table, db: str, name: str, glue_table: dict[str, Any] | None,
            alias: exp.TableAlias, position: tuple[int, int], sources: dict[str, TableSource],
            snapshot_name: Any) -> exp.Expression | None:
    """The relation replacing `table` when it is an Iceberg table or one of its `$` tables; None otherwise."""
    version = table.args.get("version")
    if glue_table is None and "$" in name:
        base, _, kind = name.partition("$")
        base_table = planner.catalog.get_table(db, base)
        if not is_iceberg(base_table) or kind not in METADATA_TABLES:
            if is_iceberg(base_table):
                raise QueryFailed("NOT_SUPPORTED", f"Metadata table '{kind}' is not supported by the local Athena "
                                  "engine", *position)
            return None  # the planner reports TABLE_NOT_FOUND as for any other missing table
        try:
            rows = getattr(planner.iceberg, kind)(db, base)
        except IcebergError as exc:
            raise failed(exc, position) from None
        relation = f"iceberg_meta_{uuid.uuid4().hex[:16]}"
        planner.relations[relation] = rows
        return exp.Table(this=exp.to_identifier(relation), alias=alias.copy())
    if not is_iceberg(glue_table):
        if version is not None and glue_table is not None:
            raise QueryFailed("NOT_SUPPORTED", "This connector does not support versioned tables", *position)
        return None
    snapshot_id = _snapshot(planner, db, name, version, position)
    source = data_source(planner.iceberg, db, name, snapshot_id, position)
    sources[f"{db}.{name}@{snapshot_id}"] = source
    return exp.Table(this=exp.to_identifier(snapshot_name(source)), alias=alias.copy())


def _snapshot(planner: Any, db: str, name: str, version: exp.Version | None,
              position: tuple[int, int]) -> int | None:
    """The snapshot id a reference reads: None for the current one."""
    if version is None:
        return None
    kind = str(version.this).upper()
    expression = version.expression
    try:
        iceberg_table = planner.iceberg.table(db, name)
        if kind == "VERSION":
            value = _evaluate(planner, expression, "CAST(({}) AS BIGINT)", position)
            return timetravel.snapshot_as_of_version(iceberg_table, int(value))
        if kind == "TIMESTAMP":
            # A timestamp without a zone is UTC (Athena's docs); DuckDB's session zone is UTC.
            micros = _evaluate(planner, expression, "epoch_us(CAST(({}) AS TIMESTAMPTZ))", position)
            moment = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=int(micros))
            return timetravel.snapshot_as_of_time(iceberg_table, db, name, moment)
    except IcebergError as exc:
        raise failed(exc, position) from None
    raise QueryFailed("NOT_SUPPORTED", f"FOR {kind} AS OF is not supported (Athena engine v3 has FOR VERSION AS OF "
                      "and FOR TIMESTAMP AS OF)", *position)


def _evaluate(planner: Any, expression: exp.Expression, template: str, position: tuple[int, int]) -> Any:
    """One constant expression of the query, evaluated by the engine."""
    if expression.find(exp.Column, exp.Table, exp.Select):
        raise QueryFailed("INVALID_ARGUMENTS", "The time travel pointer must be a constant expression", *position)
    text = expression.sql(dialect=athena_sql.READ_DIALECT)
    athena_sql.police(expression, text)
    translated = athena_sql.translate(expression.copy(), text).sql(dialect=athena_sql.WRITE_DIALECT)
    try:
        rows = planner.evaluate(f"SELECT {template.format(translated)}")
    except Exception as exc:  # a value the engine cannot read as the pointer's type
        raise QueryFailed("TYPE_MISMATCH", f"Invalid time travel pointer: {text} ({type(exc).__name__})",
                          *position) from None
    value = rows[0][0]
    if value is None:
        raise QueryFailed("INVALID_ARGUMENTS", "The time travel pointer must not be NULL", *position)
    return value


def hive_type(iceberg_type: Any) -> str:
    text = str(iceberg_type).lower().replace(" ", "")
    return _HIVE_NAMES.get(text, text)


def data_source(tables: IcebergTables, db: str, name: str, snapshot_id: int | None,
                position: tuple[int, int] = (1, 1)) -> TableSource:
    """The Parquet data files of one snapshot (the current one for None) as a TableSource."""
    try:
        table = tables.table(db, name)
    except IcebergError as exc:
        raise failed(exc, position) from None
    schema = table.schema()
    source = TableSource(catalog="awsdatacatalog", database=db, name=name,
                         columns=[(field.name.lower(), hive_type(field.field_type)) for field in schema.fields],
                         partition_keys=[], format="parquet", ignore_malformed=False)
    if snapshot_id is None and table.metadata.current_snapshot_id is None:
        return source
    for task in table.scan(snapshot_id=snapshot_id).plan_files():
        if task.delete_files:
            raise QueryFailed("NOT_SUPPORTED", f"Iceberg delete files in {db}.{name} are not supported by the local "
                              "Athena engine", *position)
        bucket, key = split_s3_url(task.file.file_path)
        size = int(task.file.file_size_in_bytes)
        # An Iceberg data file is never rewritten in place: its path and size identify its bytes.
        source.objects.append(LakeObject(bucket, key, f"iceberg{size}", size))
    return source

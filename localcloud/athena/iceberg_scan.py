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
import re
import threading
import uuid
import zoneinfo
from collections import OrderedDict
from typing import Any

import duckdb
from pyiceberg.table import Table
from sqlglot import exp

from localcloud.athena import sql as athena_sql
from localcloud.athena.errors import engine_error
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
    snapshot_id = _snapshot(planner, db, name, version, position, glue_table)
    source = data_source(planner.iceberg, db, name, snapshot_id, position, glue_table)
    sources[f"{db}.{name}@{snapshot_id}"] = source
    return exp.Table(this=exp.to_identifier(snapshot_name(source)), alias=alias.copy())


def _snapshot(planner: Any, db: str, name: str, version: exp.Version | None,
              position: tuple[int, int], glue_table: dict[str, Any] | None = None) -> int | None:
    """The snapshot id a reference reads: None for the current one."""
    if version is None:
        return None
    kind = str(version.this).upper()
    expression = version.expression
    try:
        iceberg_table = METADATA.table(planner.iceberg, db, name, glue_table)
        if kind == "VERSION":
            pointer = _pointer_type(planner, expression, position)
            if pointer.startswith("varchar"):
                raise QueryFailed("NOT_SUPPORTED", "Iceberg branches and tags (FOR VERSION AS OF a varchar) are not "
                                  "supported by the local Athena engine", *position)
            if pointer != "bigint":
                # Trino's analyzer: a snapshot id is a BIGINT (an integer literal that fits 32 bits is not).
                raise QueryFailed("TYPE_MISMATCH", f"Type {pointer} is invalid. Supported table version AS OF/BEFORE "
                                  "expression type is BIGINT or VARCHAR", *position)
            value = _evaluate(planner, expression, "CAST(({}) AS BIGINT)", position)
            return timetravel.snapshot_as_of_version(iceberg_table, int(value))
        if kind == "TIMESTAMP":
            moment = _timestamp_literal(expression)
            pointer = "timestamp" if moment is not None else _pointer_type(planner, expression, position)
            if not pointer.startswith("timestamp"):
                raise QueryFailed("TYPE_MISMATCH", f"Type {pointer} is invalid. Supported table version AS OF/BEFORE "
                                  "expression type is Timestamp or Timestamp with Time Zone.", *position)
            if moment is None:
                # A timestamp without a zone is UTC (Athena's docs); DuckDB's session zone is UTC.
                micros = _evaluate(planner, expression, "epoch_us(CAST(({}) AS TIMESTAMPTZ))", position)
                moment = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=int(micros))
            return timetravel.snapshot_as_of_time(iceberg_table, db, name, moment)
    except IcebergError as exc:
        raise failed(exc, position) from None
    raise QueryFailed("NOT_SUPPORTED", f"FOR {kind} AS OF is not supported (Athena engine v3 has FOR VERSION AS OF "
                      "and FOR TIMESTAMP AS OF)", *position)


_LITERAL = re.compile(r"^(\d{4}-\d{2}-\d{2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,12})?)?)?)\s*(.*)$")
_OFFSET = re.compile(r"^([+-])(\d{1,2}):?(\d{2})$")


_TIMESTAMP_TYPES = {exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ,
                    exp.DataType.Type.TIMESTAMPNTZ}


def _timestamp_literal(expression: exp.Expression) -> dt.datetime | None:
    """`TIMESTAMP '2020-01-01 10:00:00 UTC'` (a zone name, an offset or none = UTC), read as Trino reads it."""
    node = expression.unnest() if isinstance(expression, exp.Paren) else expression
    if not (isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string
            and node.to.this in _TIMESTAMP_TYPES):
        return None
    match = _LITERAL.match(node.this.name.strip())
    if not match:
        return None
    text, zone = match.group(1).replace("T", " "), match.group(2).strip()
    fraction = ""
    if "." in text:
        text, fraction = text.split(".", 1)
    moment = dt.datetime.fromisoformat(text)
    if fraction:
        moment += dt.timedelta(microseconds=int(fraction[:6].ljust(6, "0")))
    if not zone or zone.upper() in ("UTC", "Z"):
        return moment.replace(tzinfo=dt.timezone.utc)
    offset = _OFFSET.match(zone)
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        delta = dt.timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
        return moment.replace(tzinfo=dt.timezone(sign * delta))
    try:
        return moment.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None  # left to the engine, which fails it as a bad pointer


_TRINO_TYPE_NAMES = {"INTEGER": "integer", "BIGINT": "bigint", "SMALLINT": "smallint", "TINYINT": "tinyint",
                     "DOUBLE": "double", "FLOAT": "real", "BOOLEAN": "boolean", "DATE": "date", "VARCHAR": "varchar",
                     "TIMESTAMP WITH TIME ZONE": "timestamp with time zone", "TIMESTAMP": "timestamp",
                     "TIMESTAMP_MS": "timestamp", "TIMESTAMP_S": "timestamp", "TIMESTAMP_NS": "timestamp"}


def _pointer_type(planner: Any, expression: exp.Expression, position: tuple[int, int]) -> str:
    """The pointer's type by Trino's name (the analyzer checks it before anything is read)."""
    if isinstance(expression, exp.Literal) and expression.is_string:
        return f"varchar({len(expression.name)})"
    duckdb_name = str(_evaluate(planner, expression, "typeof(({}))", position))
    return _TRINO_TYPE_NAMES.get(duckdb_name, duckdb_name.lower())


def _evaluate(planner: Any, expression: exp.Expression, template: str, position: tuple[int, int]) -> Any:
    """One constant expression of the query, evaluated by the engine."""
    if expression.find(exp.Column, exp.Table, exp.Select):
        raise QueryFailed("INVALID_ARGUMENTS", "The time travel pointer must be a constant expression", *position)
    # The planner has policed and translated the whole query, this expression included.
    text = expression.sql(dialect=athena_sql.READ_DIALECT)
    translated = expression.sql(dialect=athena_sql.WRITE_DIALECT)
    try:
        rows = planner.evaluate(f"SELECT {template.format(translated)}")
    except duckdb.Error as exc:  # in Athena's words: a refused function, a value of the wrong type, …
        raise engine_error(exc, text) from None
    value = rows[0][0]
    if value is None:
        raise QueryFailed("INVALID_ARGUMENTS", "The time travel pointer must not be NULL", *position)
    return value


def hive_type(iceberg_type: Any) -> str:
    text = str(iceberg_type).lower().replace(" ", "")
    return _HIVE_NAMES.get(text, text)


def data_source(tables: IcebergTables, db: str, name: str, snapshot_id: int | None,
                position: tuple[int, int] = (1, 1), glue_table: dict[str, Any] | None = None) -> TableSource:
    """The Parquet data files of one snapshot (the current one for None) as a TableSource."""
    try:
        table = METADATA.table(tables, db, name, glue_table)
    except IcebergError as exc:
        raise failed(exc, position) from None
    schema = table.schema()
    source = TableSource(catalog="awsdatacatalog", database=db, name=name,
                         columns=[(field.name.lower(), hive_type(field.field_type)) for field in schema.fields],
                         partition_keys=[], format="parquet", ignore_malformed=False)
    if snapshot_id is None and table.metadata.current_snapshot_id is None:
        return source
    for path, size in METADATA.files(table, snapshot_id, f"{db}.{name}", position):
        bucket, key = split_s3_url(path)
        # An Iceberg data file is never rewritten in place: its path and size identify its bytes.
        source.objects.append(LakeObject(bucket, key, f"iceberg{size}", size))
    return source


class _ImmutableMetadata:
    """Loaded tables by metadata file, and each snapshot's data files, kept for the next queries.

    Iceberg never changes a metadata file, manifest list or manifest once
    written (a commit writes new ones and moves the catalog's pointer), so
    what was read for a metadata location stays true: a warm query of an
    unchanged table reads only its Glue entry. A commit moves
    `metadata_location`, and the next query loads the new metadata.
    """

    def __init__(self, keep: int = 64):
        self.keep = keep
        self._tables: OrderedDict[tuple[str, str], Table] = OrderedDict()
        self._files: OrderedDict[tuple[str, str, int | None], list[tuple[str, int]]] = OrderedDict()
        self._lock = threading.Lock()

    def table(self, tables: IcebergTables, db: str, name: str, glue_table: dict[str, Any] | None) -> Table:
        location = ((glue_table or {}).get("Parameters") or {}).get("metadata_location")
        if location:
            with self._lock:
                if (tables.region, location) in self._tables:
                    self._tables.move_to_end((tables.region, location))
                    return self._tables[(tables.region, location)]
        table = tables.table(db, name)
        self._remember(self._tables, (tables.region, table.metadata_location), table)
        return table

    def files(self, table: Table, snapshot_id: int | None, name: str,
              position: tuple[int, int]) -> list[tuple[str, int]]:
        key = (str(table.io.properties.get("s3.region", "")), table.metadata_location, snapshot_id)
        with self._lock:
            if key in self._files:
                self._files.move_to_end(key)
                return self._files[key]
        files = []
        for task in table.scan(snapshot_id=snapshot_id).plan_files():
            if task.delete_files:
                raise QueryFailed("NOT_SUPPORTED", f"Iceberg delete files in {name} are not supported by the local "
                                  "Athena engine", *position)
            files.append((task.file.file_path, int(task.file.file_size_in_bytes)))
        self._remember(self._files, key, files)
        return files

    def _remember(self, cache: OrderedDict, key: Any, value: Any) -> None:
        with self._lock:
            cache[key] = value
            cache.move_to_end(key)
            while len(cache) > self.keep:
                cache.popitem(last=False)


METADATA = _ImmutableMetadata()

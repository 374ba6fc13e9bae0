"""DuckDB, locked down: the engine that runs translated Athena queries over table snapshots.

Two DuckDB instances, so that the one running users' SQL can touch no file:

* the *loader* decodes cached lake files (JSON lines, Parquet) into Arrow, with
  the catalog's column names and types; it runs only SQL we write, and may
  read only the cache directory (`allowed_directories`, then locked);
* the *query* database holds one in-memory table per table snapshot (keyed by
  the table's schema and its objects' ETags) and runs users' queries with
  `enable_external_access=false` and `lock_configuration=true`: no file, no
  network, no extension, no setting can be reached from SQL, whatever the
  AST checks in sql.py might miss.

A snapshot is reused while no object of its table changed, which makes warm
queries cheap; superseded snapshots are dropped.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.lake import Lake, TableSource

# How many snapshots of one table to keep (a query may still read the previous one).
_KEEP_PER_TABLE = 2

_SIMPLE_HIVE = {"string", "varchar", "char", "int", "integer", "bigint", "smallint", "tinyint", "double",
                "float", "boolean", "date", "timestamp", "binary"}


def duckdb_type(hive_type: str) -> str:
    """A Glue (Hive) column type -> DuckDB type, via sqlglot's type parser."""
    return exp.DataType.build(hive_type, dialect="hive").sql("duckdb")


def _is_simple(hive_type: str) -> bool:
    base = hive_type.split("(", 1)[0].strip().lower()
    return base in _SIMPLE_HIVE or base in ("decimal", "varchar", "char")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column_expression(name: str, hive_type: str) -> str:
    """Raw JSON text of a field -> the catalog type, as Hive's JSON SerDes read it."""
    ref = f"j.{_quote(name)}"
    base = hive_type.split("(", 1)[0].strip().lower()
    if base in ("string", "varchar", "char"):
        return ref
    if base == "timestamp":
        # Both 'yyyy-MM-dd HH:mm:ss.SSS' and ISO-8601; a bare number is epoch milliseconds.
        return (f"CASE WHEN regexp_full_match({ref}, '-?[0-9]+') THEN make_timestamp(CAST({ref} AS BIGINT) * 1000) "
                f"ELSE CAST({ref} AS TIMESTAMP) END")
    return f"CAST({ref} AS {duckdb_type(hive_type)})"


class Engine:
    """Snapshots catalog tables into a locked DuckDB and hands out cursors on it."""

    def __init__(self, cache_dir: Path):
        self.cache_dir = cache_dir
        cache_dir.mkdir(parents=True, exist_ok=True)
        self._loader = duckdb.connect()
        self._loader.execute("SET GLOBAL TimeZone='UTC'")
        self._loader.execute(f"SET allowed_directories=['{cache_dir.resolve().as_posix()}/']")
        self._loader.execute("SET enable_external_access=false")
        self._loader.execute("SET lock_configuration=true")
        self._db = duckdb.connect()
        # GLOBAL: every cursor is a new session and must inherit these.
        self._db.execute("SET GLOBAL TimeZone='UTC'")
        # Trino divides integers as integers (5 / 2 = 2, truncating toward zero).
        self._db.execute("SET GLOBAL integer_division=true")
        self._db.execute("SET enable_external_access=false")
        self._db.execute("SET lock_configuration=true")
        self._load_lock = threading.Lock()
        self._snapshots: dict[str, list[str]] = {}  # table identity -> snapshot table names, newest last

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self._db.cursor()

    def close(self) -> None:
        self._db.close()
        self._loader.close()

    def drop_snapshots(self) -> None:
        """Forget every decoded table (benchmarks use it to measure a cold start)."""
        with self._load_lock:
            cur = self._db.cursor()
            try:
                for names in self._snapshots.values():
                    for name in names:
                        cur.execute(f"DROP TABLE IF EXISTS {name}")
            finally:
                cur.close()
            self._snapshots.clear()

    @staticmethod
    def snapshot_name(source: TableSource) -> str:
        return f"snap_{source.fingerprint()}"

    def ensure_snapshot(self, source: TableSource, lake: Lake) -> str:
        """The query-database table holding `source`'s rows, loading it when its objects changed."""
        name = self.snapshot_name(source)
        identity = f"{source.catalog}.{source.database}.{source.name}"
        with self._load_lock:
            if name in self._snapshots.get(identity, []):
                return name
            paths = lake.fetch(source.objects, source.format)
            table = self._decode(source, paths)
            cur = self._db.cursor()
            try:
                cur.register("incoming_snapshot", table)
                cur.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM incoming_snapshot")
                cur.unregister("incoming_snapshot")
                kept = self._snapshots.setdefault(identity, [])
                kept.append(name)
                while len(kept) > _KEEP_PER_TABLE:
                    cur.execute(f"DROP TABLE IF EXISTS {kept.pop(0)}")
            finally:
                cur.close()
        return name

    # -- decoding -------------------------------------------------------------
    def _decode(self, source: TableSource, paths: list[Path]) -> pa.Table:
        columns = source.columns + source.partition_keys
        if not paths:
            schema = ", ".join(f"CAST(NULL AS {duckdb_type(t)}) AS {_quote(c)}" for c, t in columns)
            return self._loader.sql(f"SELECT {schema} LIMIT 0").to_arrow_table()
        files = "[" + ", ".join("'" + p.resolve().as_posix().replace("'", "''") + "'" for p in paths) + "]"
        cur = self._loader.cursor()
        try:
            select = [f"{_column_expression(c, t)} AS {_quote(c)}" for c, t in source.columns]
            if source.format == "json":
                spec = ", ".join(
                    f"{_quote(c)}: '{'VARCHAR' if _is_simple(t) else duckdb_type(t)}'" for c, t in source.columns
                )
                scan = (f"read_json({files}, columns={{{spec}}}, format='newline_delimited', filename=true, "
                        f"ignore_errors={'true' if source.ignore_malformed else 'false'}, "
                        "maximum_object_size=134217728)")
            else:
                select = [f"CAST(j.{_quote(c)} AS {duckdb_type(t)}) AS {_quote(c)}" for c, t in source.columns]
                scan = f"read_parquet({files}, filename=true, union_by_name=true)"
            join = ""
            if source.partition_keys:
                mapping = {"filename": [p.resolve().as_posix() for p in paths]}
                for i, (key, _) in enumerate(source.partition_keys):
                    mapping[key] = [dict(o.partition).get(key) for o in source.objects]
                cur.register("partition_values", pa.table(mapping))
                join = " JOIN partition_values p ON j.filename = p.filename"
                select += [f"CAST(p.{_quote(k)} AS {duckdb_type(t)}) AS {_quote(k)}" for k, t in source.partition_keys]
            sql = f"SELECT {', '.join(select)} FROM {scan} j{join}"
            try:
                return cur.sql(sql).to_arrow_table()
            except duckdb.ConversionException as exc:
                raise QueryFailed("HIVE_BAD_DATA", f"Error parsing field value in table "
                                  f"{source.database}.{source.name}: {_first_line(exc)}") from None
            except duckdb.InvalidInputException as exc:
                raise QueryFailed("HIVE_CURSOR_ERROR", f"Row is not a valid JSON Object - {_first_line(exc)}") from None
        finally:
            cur.close()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def interrupt(cursor: Any) -> None:
    try:
        cursor.interrupt()
    except Exception:  # the query may have just finished
        pass

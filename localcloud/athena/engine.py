"""DuckDB, locked down: the engine that runs translated Athena queries over table snapshots.

Two DuckDB instances, so that the one running users' SQL can touch no file:

* the *loader* decodes cached lake files (JSON lines, Parquet) into Arrow, with
  the catalog's column names and types; it runs only SQL we write, and may
  read only the cache directory (`allowed_directories`, then locked);
* the *query* database holds the decoded rows, one in-memory table per
  partition ("chunk", keyed by the schema and its objects' ETags) and one view
  per table snapshot over its chunks; it runs users' queries with
  `enable_external_access=false` and `lock_configuration=true`: no file, no
  network, no extension, no setting can be reached from SQL, whatever the
  AST checks in sql.py might miss.

A snapshot is reused while no object of its table changed, which makes warm
queries cheap; a new object re-decodes only its own partition; chunks no kept
snapshot uses are dropped.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.lake import Lake, TableSource

# Snapshots of one table to keep: a query may still read an older one, and pruned
# queries of one table (today only, everything) each have their own.
_KEEP_PER_TABLE = 4
# Arrow relations (Iceberg metadata tables) kept for queries still reading them.
_KEEP_ROWS = 32

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
        # (A date has '-' after the year or ':' in the time; epoch millis have neither — cheaper than a regex.)
        return (f"CASE WHEN strpos({ref}, '-') > 1 OR strpos({ref}, ':') > 0 THEN CAST({ref} AS TIMESTAMP) "
                f"ELSE make_timestamp(CAST({ref} AS BIGINT) * 1000) END")
    return f"CAST({ref} AS {duckdb_type(hive_type)})"


class Engine:
    """Snapshots catalog tables into a locked DuckDB and hands out cursors on it."""

    def __init__(self, cache_dir: Path, memory_limit: str | None = None):
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
        if memory_limit:
            # No temp directory: a query over the limit fails instead of spilling to disk.
            self._db.execute(f"SET memory_limit='{memory_limit}'")
        self._db.execute("SET enable_external_access=false")
        self._db.execute("SET lock_configuration=true")
        self._load_lock = threading.Lock()
        # table identity -> [(snapshot view name, its chunk tables)], newest last
        self._snapshots: dict[str, list[tuple[str, list[str]]]] = {}
        self._chunks: set[str] = set()
        self._rows: list[str] = []  # ensure_rows' tables, oldest first

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
                for kept in self._snapshots.values():
                    for view, _ in kept:
                        cur.execute(f"DROP VIEW IF EXISTS {view}")
                for chunk in self._chunks:
                    cur.execute(f"DROP TABLE IF EXISTS {chunk}")
            finally:
                cur.close()
            self._snapshots.clear()
            self._chunks.clear()

    @staticmethod
    def snapshot_name(source: TableSource) -> str:
        return f"snap_{source.fingerprint()}"

    def ensure_snapshot(self, source: TableSource, lake: Lake) -> str:
        """The query-database relation holding `source`'s rows, decoding only partitions that changed.

        Rows are decoded per partition ("chunk", keyed by its objects' ETags), so a
        new object in today's partition re-decodes today only; the table's
        snapshot is a view over its chunks.
        """
        name = self.snapshot_name(source)
        identity = f"{source.catalog}.{source.database}.{source.name}"
        with self._load_lock:
            kept = self._snapshots.setdefault(identity, [])
            if any(view == name for view, _ in kept):
                return name
            groups: dict[tuple[tuple[str, str], ...], list] = {}
            for obj in source.objects:
                groups.setdefault(obj.partition, []).append(obj)
            cur = self._db.cursor()
            try:
                chunks = []
                for objects in groups.values():
                    part = dataclasses.replace(source, objects=objects)
                    chunk = f"chunk_{part.fingerprint()}"
                    if chunk not in self._chunks:
                        table = self._decode(part, lake.fetch(objects, source.format))
                        cur.register("incoming_chunk", table)
                        cur.execute(f"CREATE OR REPLACE TABLE {chunk} AS SELECT * FROM incoming_chunk")
                        cur.unregister("incoming_chunk")
                        self._chunks.add(chunk)
                    chunks.append(chunk)
                if not chunks:
                    empty = f"chunk_{source.fingerprint()}"
                    if empty not in self._chunks:
                        cur.register("incoming_chunk", self._decode(source, []))
                        cur.execute(f"CREATE OR REPLACE TABLE {empty} AS SELECT * FROM incoming_chunk")
                        cur.unregister("incoming_chunk")
                        self._chunks.add(empty)
                    chunks.append(empty)
                body = " UNION ALL ".join(f"SELECT * FROM {c}" for c in chunks)
                cur.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")
                kept.append((name, chunks))
                while len(kept) > _KEEP_PER_TABLE:
                    view, _ = kept.pop(0)
                    cur.execute(f"DROP VIEW IF EXISTS {view}")
                in_use = {c for views in self._snapshots.values() for _, cs in views for c in cs}
                for chunk in self._chunks - in_use:
                    cur.execute(f"DROP TABLE IF EXISTS {chunk}")
                self._chunks &= in_use
            finally:
                cur.close()
        return name

    def ensure_rows(self, name: str, rows: pa.Table) -> None:
        """Arrow rows a plan reads by `name` (Iceberg metadata tables); only the newest few are kept."""
        with self._load_lock:
            cur = self._db.cursor()
            try:
                cur.register("incoming_rows", rows)
                cur.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM incoming_rows")
                cur.unregister("incoming_rows")
                self._rows.append(name)
                while len(self._rows) > _KEEP_ROWS:
                    cur.execute(f"DROP TABLE IF EXISTS {self._rows.pop(0)}")
            finally:
                cur.close()

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
            partitions = {o.partition for o in source.objects}
            if source.partition_keys and len(partitions) == 1:
                # One partition (a chunk): its values are constants, no per-file join needed.
                values = dict(next(iter(partitions)))
                select += [f"CAST('{str(values.get(k, '')).replace(chr(39), chr(39) * 2)}' AS {duckdb_type(t)}) "
                           f"AS {_quote(k)}" for k, t in source.partition_keys]
            elif source.partition_keys:
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

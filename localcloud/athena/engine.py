"""DuckDB, locked down: the engine that runs translated Athena queries over table snapshots.

Two DuckDB instances, so that the one running users' SQL can touch no file:

* the *loader* decodes cached lake files (JSON lines, Parquet) into Arrow, with
  the catalog's column names and types; it runs only SQL we write, and may
  read only the cache directory (`allowed_directories`, then locked);
* the *query* database runs users' queries with `enable_external_access=false`
  and `lock_configuration=true`: no file, no network, no extension, no
  setting can be reached from SQL, whatever the AST checks in sql.py might
  miss. It holds the decoded rows in "chunks" (each holds the partitions
  decoded together in one scan, told apart by a hidden `__part` column; a
  partition is keyed by the columns decoded and its objects' ETags) and one
  view per table snapshot over its partitions' rows.

A new chunk is the Arrow table the loader made, which every cursor of the
query database registers under the chunk's name: the query that decoded it
reads it in place, without first copying it into the query database (the copy
cost a cold query a sixth of its CPU). The next query's loading copies it into
a table of the query database (`_settle`), which later queries scan about a
fifth faster than Arrow (window functions over strings); a chunk that does not
fit the memory_limit stays Arrow.

A snapshot is reused while no object of its table changed, which makes warm
queries cheap; a new object re-decodes only its own partition; chunks no kept
snapshot uses are dropped.

JSON decimal columns keep the number token's digits: the fast scan renders numbers
through a double, so a batch holding a decimal that might round differently from its
digits is read again exactly (json_decimals.py). OpenX tables read as that SerDe does
(openx_json.py): keys matched ignoring case, numbers and objects in varchar columns as
its text, integers truncated; a batch holding such a value is read again the same way.

Only the columns a query reads are decoded (`TableSource.needed_columns`, plus
the partition keys). A table's decoded column set only grows: a later query
that needs a column not decoded yet re-decodes the table's chunks with the
union, so a snapshot view always holds every column any query of it needed.
A column a query reads but the view lacks fails to bind: a planner mistake
shows as an error, never as a different answer.

The decoded chunks are bounded: past `LOCALCLOUD_ATHENA_DECODE_CACHE_MB`
(default 2048, Arrow bytes) the least recently used snapshots are dropped, with
the chunks only they used; never those a query has loaded and not yet run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import re
import threading
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from localcloud.athena import float_text, json_decimals, json_values, openx_json
from localcloud.athena.column_lengths import declared_length
from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.lake import Lake, TableSource, cache_limit_bytes

# Snapshots of one table to keep: a query may still read an older one, and pruned
# queries of one table (today only, everything) each have their own.
_KEEP_PER_TABLE = 4
DEFAULT_DECODE_CACHE_MB = 2048
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


def _column_expression(name: str, hive_type: str, openx: bool = False) -> str:
    """Raw JSON text of a field -> the catalog type, as Hive's JSON SerDes read it (`openx`: the OpenX one)."""
    ref = f"j.{_quote(name)}"
    base = hive_type.split("(", 1)[0].strip().lower()
    length = declared_length(hive_type)
    if length is not None:
        # Athena truncates a varchar(n) column's longer values to n characters when it reads them.
        return f"substr({ref}, 1, {length})"
    if base in ("string", "varchar", "char"):
        return ref
    if openx and base in ("tinyint", "smallint", "int", "integer", "bigint"):
        return openx_json.integer_expression(ref, duckdb_type(hive_type))
    if openx and base == "boolean":
        return openx_json.boolean_expression(ref)
    if openx and base == "timestamp":
        return openx_json.timestamp_expression(ref)
    if base == "timestamp":
        # Both 'yyyy-MM-dd HH:mm:ss.SSS' and ISO-8601; a bare number is epoch milliseconds.
        # (A date has '-' after the year or ':' in the time; epoch millis have neither — cheaper than a regex.)
        return (f"CASE WHEN strpos({ref}, '-') > 1 OR strpos({ref}, ':') > 0 THEN CAST({ref} AS TIMESTAMP) "
                f"ELSE make_timestamp(CAST({ref} AS BIGINT) * 1000) END")
    return f"CAST({ref} AS {duckdb_type(hive_type)})"


_use_counter = itertools.count()


@dataclasses.dataclass
class _Snapshot:
    """One table snapshot: its view, the chunks it unions, the columns they hold."""

    view: str
    chunks: list[str]
    columns: frozenset[str]
    used: int = dataclasses.field(default_factory=lambda: next(_use_counter))


class Engine:
    """Snapshots catalog tables into a locked DuckDB and hands out cursors on it."""

    def __init__(self, cache_dir: Path, memory_limit: str | None = None, max_decoded_bytes: int | None = None):
        self.cache_dir = cache_dir
        self.max_decoded_bytes = max_decoded_bytes if max_decoded_bytes is not None else cache_limit_bytes(
            "LOCALCLOUD_ATHENA_DECODE_CACHE_MB", DEFAULT_DECODE_CACHE_MB)
        cache_dir.mkdir(parents=True, exist_ok=True)
        self._loader = duckdb.connect()
        self._loader.execute("SET GLOBAL TimeZone='UTC'")
        self._loader.execute(f"SET allowed_directories=['{cache_dir.resolve().as_posix()}/']")
        self._loader.execute("SET enable_external_access=false")
        self._loader.execute("SET lock_configuration=true")
        self._db = duckdb.connect()
        json_values.register(self._db)  # json_parse as Trino writes it (json_values.py)
        float_text.register(self._db)  # CAST(double AS varchar) as Trino writes it (float_text.py)
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
        # table identity -> [Snapshot], least recently used first
        self._snapshots: dict[str, list[_Snapshot]] = {}
        # chunk -> its Arrow size in bytes
        self._chunks: dict[str, int] = {}
        # chunk -> its rows, registered by name in every cursor of the query database; a copy of the
        # dict is taken under its own lock (a cursor must not wait for another query's decoding)
        self._chunk_rows: dict[str, pa.Table] = {}
        self._chunk_rows_lock = threading.Lock()
        self._stays_arrow: set[str] = set()  # chunks settle() could not copy (over the memory limit)
        # chunk -> how many partitions it holds (its `__part` values are 0..n-1)
        self._chunk_parts: dict[str, int] = {}
        # partition fingerprint -> (the chunk holding its rows, its `__part` there)
        self._parts: dict[str, tuple[str, int]] = {}
        # thread -> snapshot views its current query loaded: not evicted before its SQL runs (a query
        # reading two tables must find both, though together they exceed the cap). A thread's pins
        # go at the next load once it has opened its query cursor (queries run one per thread).
        self._pins: dict[int, set[str]] = {}
        self._pins_done: set[int] = set()
        self._pins_lock = threading.Lock()
        # table identity -> the columns its chunks are decoded with (only grows while it has snapshots)
        self._decoded: dict[str, frozenset[str]] = {}
        self._rows: list[str] = []  # ensure_rows' tables, oldest first

    def cursor(self) -> duckdb.DuckDBPyConnection:
        # The thread's query is past loading: its snapshots stop being pinned at the next load.
        with self._pins_lock:  # not the load lock: a cursor must not wait for another query's decoding
            self._pins_done.add(threading.get_ident())
        return self._chunk_cursor()

    def _chunk_cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of the query database that sees every chunk by its name (registered views are per cursor).

        The cursor keeps the Arrow tables alive, so a chunk evicted while a query runs still reads.
        """
        with self._chunk_rows_lock:
            chunks = dict(self._chunk_rows)
        cur = self._db.cursor()
        for chunk, rows in chunks.items():
            cur.register(chunk, rows)
        return cur

    def close(self) -> None:
        self._db.close()
        self._loader.close()

    def drop_snapshots(self) -> None:
        """Forget every decoded table (benchmarks use it to measure a cold start)."""
        with self._load_lock:
            cur = self._db.cursor()
            try:
                for kept in self._snapshots.values():
                    for snapshot in kept:
                        cur.execute(f"DROP VIEW IF EXISTS {snapshot.view}")
                for chunk in self._chunks:
                    self._drop_chunk(cur, chunk)
            finally:
                cur.close()
            self._snapshots.clear()
            self._chunks.clear()
            self._chunk_parts.clear()
            self._parts.clear()
            self._decoded.clear()
            self._pins.clear()

    @property
    def decoded_bytes(self) -> int:
        """Arrow bytes of the chunks held now (bounded by max_decoded_bytes, but for the latest snapshot)."""
        return sum(self._chunks.values())

    @staticmethod
    def snapshot_name(source: TableSource) -> str:
        return f"snap_{source.fingerprint()}"

    def ensure_snapshot(self, source: TableSource, lake: Lake) -> str:
        """The query-database relation holding `source`'s rows, decoding only partitions that changed.

        Every partition is known by a fingerprint of its objects' ETags and the columns
        decoded. The partitions not decoded yet are decoded together, in one scan, into
        one chunk (Arrow) whose hidden `__part` column tells them apart; the table's
        snapshot is a view over the chunks' rows of its current partitions. So a new
        object in today's partition re-decodes today only.
        """
        name = self.snapshot_name(source)
        identity = f"{source.catalog}.{source.database}.{source.name}"
        names = [c for c, _ in source.columns]
        wanted = set(names) if source.needed_columns is None else set(source.needed_columns) & set(names)
        if not wanted and names:
            wanted = {names[0]}  # count(*) and the like: rows, with one column to carry them
        with self._load_lock:
            with self._pins_lock:
                for done in self._pins_done:  # queries that opened their cursor have bound their tables
                    self._pins.pop(done, None)
                self._pins_done.clear()
            self._pins.setdefault(threading.get_ident(), set()).add(name)
            self._settle()
            kept = self._snapshots.setdefault(identity, [])
            for snapshot in kept:
                if snapshot.view == name and wanted <= snapshot.columns:
                    kept.remove(snapshot)
                    kept.append(snapshot)  # most recently used
                    snapshot.used = next(_use_counter)
                    return name
            decoded = self._decoded.get(identity, frozenset()) | wanted
            self._decoded[identity] = decoded
            narrowed = dataclasses.replace(source, columns=[(c, t) for c, t in source.columns if c in decoded])
            groups: dict[tuple[tuple[str, str], ...], list] = {}
            for obj in source.objects:
                groups.setdefault(obj.partition, []).append(obj)
            parts = [dataclasses.replace(narrowed, objects=objects) for objects in groups.values()]
            if not parts:
                parts = [narrowed]  # no object: an empty chunk still gives the view its columns
            fingerprints = [part.fingerprint() for part in parts]
            missing = [(fp, part) for fp, part in zip(fingerprints, parts) if fp not in self._parts]
            if missing:
                self._decode_parts(narrowed, missing, lake)
            cur = self._chunk_cursor()  # the view binds its chunks by name when created
            try:
                chosen: dict[str, list[int]] = {}
                for fp in dict.fromkeys(fingerprints):
                    chunk, index = self._parts[fp]
                    chosen.setdefault(chunk, []).append(index)
                selects = []
                for chunk, indexes in chosen.items():
                    select = f"SELECT * EXCLUDE (__part) FROM {chunk}"
                    if len(indexes) < self._chunk_parts[chunk]:
                        select += f" WHERE __part IN ({', '.join(str(i) for i in sorted(indexes))})"
                    selects.append(select)
                cur.execute(f"CREATE OR REPLACE VIEW {name} AS {' UNION ALL '.join(selects)}")
                kept[:] = [snapshot for snapshot in kept if snapshot.view != name]
                kept.append(_Snapshot(name, list(chosen), decoded))
                while len(kept) > _KEEP_PER_TABLE:
                    cur.execute(f"DROP VIEW IF EXISTS {kept.pop(0).view}")
                self._evict(cur, current=name)
            finally:
                cur.close()
        return name

    def _decode_parts(self, source: TableSource, missing: list[tuple[str, TableSource]], lake: Lake) -> None:
        """Decode the partitions in `missing` (fingerprint, partition) in one scan into one new chunk."""
        objects = [obj for _, part in missing for obj in part.objects]
        part_of_object = [i for i, (_, part) in enumerate(missing) for _ in part.objects]
        paths = lake.fetch(objects, source.format) if objects else []
        table = self._decode(dataclasses.replace(source, objects=objects), paths, part_of_object)
        chunk = "chunk_" + hashlib.sha256(" ".join(fp for fp, _ in missing).encode()).hexdigest()[:24]
        with self._chunk_rows_lock:
            self._chunk_rows[chunk] = table
        self._chunks[chunk] = table.nbytes
        self._chunk_parts[chunk] = len(missing)
        for index, (fp, _) in enumerate(missing):
            self._parts[fp] = (chunk, index)

    def _drop_chunk(self, cur: duckdb.DuckDBPyConnection, chunk: str) -> None:
        with self._chunk_rows_lock:
            held_as_arrow = self._chunk_rows.pop(chunk, None) is not None
        self._stays_arrow.discard(chunk)
        if not held_as_arrow:
            cur.execute(f"DROP TABLE IF EXISTS {chunk}")

    def _settle(self) -> None:
        """Copy the chunks still held as Arrow into tables of the query database (see the module doc).

        Called with the load lock held, by the load after the one that decoded them (so not on the
        path of the query that decoded them); a query already running keeps the Arrow it registered.
        """
        with self._chunk_rows_lock:
            pending = {chunk: rows for chunk, rows in self._chunk_rows.items() if chunk not in self._stays_arrow}
        if not pending:
            return
        cur = self._db.cursor()
        try:
            for chunk, rows in pending.items():
                cur.register("incoming_chunk", rows)
                try:
                    cur.execute(f"CREATE OR REPLACE TABLE {chunk} AS SELECT * FROM incoming_chunk")
                except duckdb.Error:  # over the memory limit: it is scanned as Arrow, as on its first query
                    self._stays_arrow.add(chunk)
                    continue
                finally:
                    cur.unregister("incoming_chunk")
                with self._chunk_rows_lock:  # new cursors now find the table by the chunk's name
                    del self._chunk_rows[chunk]
        finally:
            cur.close()

    def _evict(self, cur: duckdb.DuckDBPyConnection, current: str) -> None:
        """Drop unused chunks, then least recently used snapshots while the chunks exceed their cap."""
        while True:
            in_use = {c for kept in self._snapshots.values() for snapshot in kept for c in snapshot.chunks}
            for chunk in set(self._chunks) - in_use:
                self._drop_chunk(cur, chunk)
                del self._chunks[chunk]
                del self._chunk_parts[chunk]
            self._parts = {fp: where for fp, where in self._parts.items() if where[0] in self._chunks}
            if self.decoded_bytes <= self.max_decoded_bytes:
                return
            # Each table's list is least recently used first; evict the oldest of the tables' oldest.
            pinned = {current}.union(*self._pins.values())
            victims = [(identity, victim) for identity, kept in self._snapshots.items()
                       for victim in [v for v in kept if v.view not in pinned][:1]]
            if not victims:
                return
            identity, victim = min(victims, key=lambda v: v[1].used)
            self._snapshots[identity].remove(victim)
            cur.execute(f"DROP VIEW IF EXISTS {victim.view}")
            if not self._snapshots[identity]:
                del self._snapshots[identity]
                self._decoded.pop(identity, None)  # nothing decoded is kept: start narrow again

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
    def _decode(self, source: TableSource, paths: list[Path], part_of_object: list[int] | None = None) -> pa.Table:
        """Rows of `source`'s objects (local files `paths`), with its partition keys and `__part`.

        `__part` is `part_of_object[i]` for the rows of object i (0 for all when not given).
        When a JSON value's fast read might differ from the SerDe's (a decimal's rounding,
        json_decimals.py; OpenX's text and integer rules, openx_json.py), the files are read
        again line by line.
        """
        part_of_object = part_of_object if part_of_object is not None else [0] * len(paths)
        columns = source.columns + source.partition_keys
        if not paths:
            schema = ", ".join(f"CAST(NULL AS {duckdb_type(t)}) AS {_quote(c)}" for c, t in columns)
            return self._loader.sql(f"SELECT {schema}, CAST(0 AS INTEGER) AS __part LIMIT 0").to_arrow_table()
        flags = _fast_scan_flags(source)
        cur = self._loader.cursor()
        try:
            try:
                table = self._scan(cur, source, paths, part_of_object, flags, exact=False)
            except QueryFailed as exc:
                if not (source.format == "json" and source.ignore_malformed and exc.error_type == "HIVE_CURSOR_ERROR"):
                    raise
                # ignore.malformed.json: the line-by-line read gives each unreadable line a row of NULLs.
                return self._scan(cur, source, paths, part_of_object, flags, exact=True)
            if not flags:
                return table
            if pc.any(table[json_decimals.INEXACT]).as_py():
                # Rare (the project's usual lines never are): the whole batch is read again exactly.
                return self._scan(cur, source, paths, part_of_object, flags, exact=True)
            return table.drop_columns([json_decimals.INEXACT])
        finally:
            cur.close()

    def _scan(self, cur: duckdb.DuckDBPyConnection, source: TableSource, paths: list[Path],
              part_of_object: list[int], flags: list[str], exact: bool) -> pa.Table:
        """One scan of `paths` into Arrow rows (see _decode).

        With `flags` (JSON only: SQL over the fast scan's renderings), the fast scan also tells for
        each row whether a value in it might not be what the SerDe reads (INEXACT); the `exact`
        scan reads every line with openx_json.read_rows instead (numbers keep their token's text).
        """
        names = _resolved(paths)
        files = "[" + ", ".join("'" + name.replace("'", "''") + "'" for name in names) + "]"
        select = [f"{_column_expression(c, t, source.openx)} AS {_quote(c)}" for c, t in source.columns]
        if source.format == "json":
            types = {c: 'VARCHAR' if _is_simple(t) else duckdb_type(t) for c, t in source.columns}
            # Never DuckDB's ignore_errors: it keeps the first of two keys naming one column, where
            # the SerDe gives that row NULLs. A table that ignores malformed JSON reads a batch
            # holding such a line line by line instead (_decode).
            options = (f"format='newline_delimited', filename=true, ignore_errors=false, "
                       f"maximum_object_size={_maximum_object_size(source)}")
            if source.case_insensitive:
                options += ", case_insensitive_keys=true"
            if not exact:
                spec = ", ".join(f"{_quote(c)}: '{t}'" for c, t in types.items())
                scan = f"read_json({files}, columns={{{spec}}}, {options})"
            else:
                try:
                    lines = openx_json.read_rows(paths, source.columns, source.case_insensitive,
                                                 source.ignore_malformed, source.openx)
                except openx_json.BadRow as exc:
                    raise QueryFailed("HIVE_CURSOR_ERROR", f"Row is not a valid JSON Object - {exc}") from None
                except openx_json.BadValue as exc:
                    raise QueryFailed("HIVE_BAD_DATA", f"Error parsing field value in table "
                                      f"{source.database}.{source.name}: {exc}") from None
                cur.register("exact_lines", lines)
                scan = "exact_lines"
                # Nested columns arrive as JSON text here (the fast scan reads them typed).
                select = [expression if _is_simple(t) else
                          f"CAST(CAST(j.{_quote(c)} AS JSON) AS {duckdb_type(t)}) AS {_quote(c)}"
                          for (c, t), expression in zip(source.columns, select)]
        else:
            select = [(f"substr(CAST(j.{_quote(c)} AS VARCHAR), 1, {declared_length(t)})"
                       if declared_length(t) is not None else f"CAST(j.{_quote(c)} AS {duckdb_type(t)})")
                      + f" AS {_quote(c)}" for c, t in source.columns]
            scan = f"read_parquet({files}, filename=true, union_by_name=true)"
        join = ""
        partitions = {o.partition for o in source.objects}
        if len(set(part_of_object)) == 1 and len(partitions) == 1:
            # One partition: its values are constants, no per-file join needed.
            values = dict(next(iter(partitions)))
            select += [f"CAST('{str(values.get(k, '')).replace(chr(39), chr(39) * 2)}' AS {duckdb_type(t)}) "
                       f"AS {_quote(k)}" for k, t in source.partition_keys]
            select.append(f"CAST({part_of_object[0]} AS INTEGER) AS __part")
        else:
            mapping: dict[str, list[Any]] = {"filename": names,
                                             "__part": part_of_object}
            for key, _ in source.partition_keys:
                mapping[key] = [dict(o.partition).get(key) for o in source.objects]
            cur.register("partition_values", pa.table(mapping))
            join = " JOIN partition_values p ON j.filename = p.filename"
            select += [f"CAST(p.{_quote(k)} AS {duckdb_type(t)}) AS {_quote(k)}" for k, t in source.partition_keys]
            select.append("CAST(p.__part AS INTEGER) AS __part")
        if flags and not exact:
            select.append(f"({' OR '.join(flags)}) AS {json_decimals.INEXACT}")
        sql = f"SELECT {', '.join(select)} FROM {scan} j{join}"
        try:
            return cur.sql(sql).to_arrow_table()
        except duckdb.ConversionException as exc:
            raise QueryFailed("HIVE_BAD_DATA", f"Error parsing field value in table "
                              f"{source.database}.{source.name}: {_first_line(exc)}") from None
        except duckdb.InvalidInputException as exc:
            duplicate = _DUPLICATE_KEY.search(str(exc))
            if duplicate:  # AWS's wording for two keys naming one column (openx_json.py)
                raise QueryFailed("HIVE_CURSOR_ERROR", f"Row is not a valid JSON Object - JSONException: "
                                  f'Duplicate key "{duplicate.group(1).lower()}"') from None
            raise QueryFailed("HIVE_CURSOR_ERROR", f"Row is not a valid JSON Object - {_first_line(exc)}") from None
        finally:
            if exact and source.format == "json":
                cur.unregister("exact_lines")


_DUPLICATE_KEY = re.compile(r'has duplicate key "((?:[^"\\]|\\.)*)"')


def _fast_scan_flags(source: TableSource) -> list[str]:
    """SQL flags (over the fast scan's renderings) of values the fast scan may read differently
    from the SerDe: decimals whose double rendering might round otherwise (json_decimals.py) and,
    for OpenX tables, numbers, objects and arrays in varchar columns and integer columns' values
    that are not plain integers (openx_json.py)."""
    if source.format != "json":
        return []
    flags = [json_decimals.may_round_differently(f"j.{_quote(c)}", scale)
             for c, (_, scale) in json_decimals.decimal_columns(source.columns).items()]
    if source.openx:
        for name, hive_type in source.columns:
            base = openx_json.base_type(hive_type)
            if base in ("string", "varchar", "char"):
                flags.append(openx_json.varchar_may_differ(f"j.{_quote(name)}"))
            elif base in ("tinyint", "smallint", "int", "integer", "bigint"):
                flags.append(openx_json.integer_may_differ(f"j.{_quote(name)}"))
    return flags


# A JSON line may be as long as this (Hive reads lines of any length; 128 MiB covers what is sane).
_MAX_JSON_LINE = 128 * 1024 * 1024
_DUCKDB_DEFAULT_OBJECT_SIZE = 16 * 1024 * 1024


def _maximum_object_size(source: TableSource) -> int:
    """read_json's maximum_object_size: no line is longer than its object, so no more than the largest.

    DuckDB sizes its read buffers by it, so asking for 128 MiB on files of a few MB costs a
    fifth more CPU; its default (16 MiB) is the floor, 128 MiB the ceiling.
    """
    # A compressed object's lines can be longer than the object itself.
    largest = max((_MAX_JSON_LINE if o.key.endswith((".gz", ".zst")) else o.size + 1 for o in source.objects),
                  default=0)
    return max(_DUCKDB_DEFAULT_OBJECT_SIZE, min(_MAX_JSON_LINE, largest))


def _resolved(paths: list[Path]) -> list[str]:
    """The absolute, symlink-free names of `paths` (the cache's files), resolving each folder once.

    Path.resolve() stats every component of every path: 100 files cost a cold query ~0.1 s on a
    busy machine. The cache's files are regular files (links to bodies are hard links), so
    resolving their folder is enough.
    """
    folders: dict[Path, Path] = {}
    names = []
    for path in paths:
        if path.parent not in folders:
            folders[path.parent] = path.parent.resolve()
        names.append((folders[path.parent] / path.name).as_posix())
    return names


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def interrupt(cursor: Any) -> None:
    try:
        cursor.interrupt()
    except Exception:  # the query may have just finished
        pass

"""`IcebergTables`: every operation the local Athena runs on an Iceberg table, by database and name.

One instance per (plane, region). Each call loads the table fresh from the
Glue catalog (its `metadata_location`), so a commit by anyone else — another
query, another process — is seen, and pyiceberg's commit through Glue's
`UpdateTable` with the loaded `VersionId` fails rather than overwrite a
concurrent commit (ICEBERG_COMMIT_ERROR, as Trino names it).

Within this process, writes to one table are serialised (load, plan and commit
under one lock): two MERGEs started together — a scheduled one and "Merge now" —
then run one after the other, the second planned on the first's snapshot. A
copy-on-write plan made on a stale snapshot must never be committed: it would
re-add rows the other commit already rewrote (seen once as duplicated keys that
then failed every later MERGE with MERGE_TARGET_ROW_MULTIPLE_MATCHES).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlglot
from pyiceberg.exceptions import (
    CommitFailedException,
    NoSuchIcebergTableError,
    NoSuchPropertyException,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.table import Table
from sqlglot import exp

from localcloud.iceberg import cow, dml, maintenance, metadata_tables, timetravel
from localcloud.iceberg.catalog import open_catalog
from localcloud.iceberg.exceptions import IcebergError, not_supported, table_not_found
from localcloud.iceberg.merge import Translate, plan_merge, trino_to_duckdb
from localcloud.iceberg.schema import arrow_schema, iceberg_schema, partition_spec
from localcloud.plane import parse_s3_url

# One lock per table written in this process (see the module docstring); never removed, as
# a process writes few tables.
_WRITE_LOCKS: dict[tuple[str, str], threading.RLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(database: str, name: str) -> threading.RLock:
    key = (database.lower(), name.lower())
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.RLock())


# Athena's TBLPROPERTIES that pyiceberg's writer must also see under Iceberg's own name.
_PYICEBERG_ALIASES = {"write_target_data_file_size_bytes": "write.target-file-size-bytes"}


@dataclass
class MergeResult:
    """What one MERGE INTO did; `snapshot_id` is None when it changed nothing (no snapshot, as in Trino)."""

    inserted: int
    updated: int
    deleted: int
    snapshot_id: int | None

    @property
    def rows_affected(self) -> int:
        return self.inserted + self.updated + self.deleted


def _with_aliases(properties: Mapping[str, str]) -> dict[str, str]:
    merged = {key: str(value) for key, value in properties.items()}
    for athena_name, iceberg_name in _PYICEBERG_ALIASES.items():
        if athena_name in merged:
            merged[iceberg_name] = merged[athena_name]
    return merged


class IcebergTables:
    """Iceberg tables in the local cloud's Glue catalog, data and metadata in its S3."""

    def __init__(self, plane: Any, region: str = "ap-south-1"):
        self.region = region
        self.catalog = open_catalog(plane, region)
        self._s3 = plane.client("s3", region)

    # -- catalog -------------------------------------------------------------------------

    def table(self, database: str, name: str) -> Table:
        try:
            return self.catalog.load_table((database, name))
        except NoSuchIcebergTableError as exc:
            # A Hive table of the same catalog (the lake's JSON tables): not ours to change.
            raise not_supported(f"Not an Iceberg table: {database}.{name}") from exc
        except NoSuchPropertyException as exc:
            raise not_supported(f"Not an Iceberg table: {database}.{name}") from exc
        except NoSuchTableError as exc:
            raise table_not_found(database, name) from exc

    def create_table(self, database: str, name: str, columns: Sequence[tuple[str, str]], location: str,
                     properties: Mapping[str, str] | None = None, partitioned_by: Sequence[str] = ()) -> Table:
        """CREATE TABLE ... [PARTITIONED BY (...)] LOCATION ... TBLPROPERTIES ('table_type'='ICEBERG', ...).

        Format v2, Parquet; `partitioned_by` holds Trino's partition transforms
        (`col`, `day(col)`, `bucket(16, col)`, …).
        """
        parse_s3_url(location)
        table_properties = _with_aliases({key: value for key, value in (properties or {}).items()
                                          if key.lower() != "table_type"})
        schema = iceberg_schema(columns)
        try:
            return self.catalog.create_table((database, name), schema=schema, location=location.rstrip("/"),
                                             properties=table_properties,
                                             partition_spec=partition_spec(schema, partitioned_by))
        except TableAlreadyExistsError as exc:
            raise IcebergError("ALREADY_EXISTS", f"Table 'awsdatacatalog.{database}.{name}' already exists") from exc

    def drop_table(self, database: str, name: str, purge: bool = True) -> None:
        """DROP TABLE: the Glue entry goes and, with `purge`, the table's files.

        The files are every object under the table's location, as Trino's
        Iceberg connector removes them. A table at a bucket's root shares its
        folder with whatever else is in the bucket, so there only the files
        the table's own metadata names are removed.
        """
        table = self.table(database, name)
        bucket, prefix = parse_s3_url(table.metadata.location.rstrip("/") + "/")
        if prefix.strip("/"):
            doomed = None
        else:
            snapshot_ids = [snapshot.snapshot_id for snapshot in table.metadata.snapshots]
            owned = maintenance.referenced_files(table, snapshot_ids)
            owned.update(entry.metadata_file for entry in table.metadata.metadata_log)
            owned.add(table.metadata_location)
            doomed = [parse_s3_url(path) for path in owned]
        self.catalog.drop_table((database, name))
        if not purge:
            return
        if doomed is None:
            doomed = [(bucket, obj["Key"])
                      for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                      for obj in page.get("Contents", [])]
        keys = [key for file_bucket, key in doomed if file_bucket == bucket]
        for start in range(0, len(keys), 1000):
            self._s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys[start:start + 1000]],
                                                           "Quiet": True})

    def set_properties(self, database: str, name: str, properties: Mapping[str, str]) -> None:
        """ALTER TABLE ... SET TBLPROPERTIES."""
        table = self.table(database, name)
        with table.transaction() as transaction:
            transaction.set_properties(_with_aliases(properties))

    # -- reads ---------------------------------------------------------------------------

    def scan(self, database: str, name: str, *, snapshot_id: int | None = None,
             as_of_timestamp: dt.datetime | None = None) -> pa.Table:
        """The table's rows now, `FOR VERSION AS OF snapshot_id` or `FOR TIMESTAMP AS OF as_of_timestamp`."""
        table = self.table(database, name)
        if snapshot_id is not None:
            snapshot_id = timetravel.snapshot_as_of_version(table, snapshot_id)
        elif as_of_timestamp is not None:
            snapshot_id = timetravel.snapshot_as_of_time(table, database, name, as_of_timestamp)
        schema = arrow_schema(table.schema())
        rows = table.scan(snapshot_id=snapshot_id).to_arrow()
        return rows.select(schema.names).cast(schema)

    def snapshots(self, database: str, name: str) -> pa.Table:
        return metadata_tables.snapshots(self.table(database, name))

    def history(self, database: str, name: str) -> pa.Table:
        return metadata_tables.history(self.table(database, name))

    def files(self, database: str, name: str) -> pa.Table:
        return metadata_tables.files(self.table(database, name))

    # -- writes --------------------------------------------------------------------------

    def append(self, database: str, name: str, rows: pa.Table) -> int | None:
        """INSERT INTO: one `append` snapshot (none for zero rows); returns the snapshot id."""
        with _write_lock(database, name):
            table = self.table(database, name)
            with self._committing(database, name):
                return cow.commit_rewrite(table, [], rows)

    def delete_where(self, database: str, name: str, predicate: str | exp.Expression | None,
                     translate: Translate = trino_to_duckdb) -> int:
        """DELETE FROM t [WHERE predicate]; returns the rows deleted."""
        with _write_lock(database, name):
            table = self.table(database, name)
            current = cow.read_with_files(table)
            changes = dml.plan_delete(current.rows, name, predicate, translate)
            with self._committing(database, name):
                cow.commit_row_changes(table, current, changes)
            return changes.rows_affected

    def update_where(self, database: str, name: str, assignments: Mapping[str, str | exp.Expression],
                     predicate: str | exp.Expression | None = None,
                     translate: Translate = trino_to_duckdb) -> int:
        """UPDATE t SET ... [WHERE predicate]; returns the rows updated."""
        with _write_lock(database, name):
            table = self.table(database, name)
            current = cow.read_with_files(table)
            changes = dml.plan_update(current.rows, name, assignments, predicate, translate)
            with self._committing(database, name):
                cow.commit_row_changes(table, current, changes)
            return changes.rows_affected

    def overwrite(self, database: str, name: str, rows: pa.Table,
                  predicate: str | exp.Expression | None = None,
                  translate: Translate = trino_to_duckdb) -> int:
        """Rows matching `predicate` (all without one) replaced by `rows`, in one snapshot."""
        with _write_lock(database, name):
            table = self.table(database, name)
            current = cow.read_with_files(table)
            changes = dml.plan_delete(current.rows, name, predicate, translate)
            changes.inserted = rows
            with self._committing(database, name):
                cow.commit_row_changes(table, current, changes)
            return changes.rows_affected

    def merge(self, merge: str | exp.Merge, source: pa.Table, default_database: str | None = None,
              translate: Translate = trino_to_duckdb) -> MergeResult:
        """MERGE INTO: `source` is the USING relation's rows, already evaluated by the caller."""
        if isinstance(merge, str):
            merge = sqlglot.parse_one(merge, read="trino")
        if not isinstance(merge, exp.Merge):
            raise IcebergError("SYNTAX_ERROR", "not a MERGE statement")
        target_ref = merge.this
        database = target_ref.db or default_database
        if not database:
            raise IcebergError("SYNTAX_ERROR", "MERGE target needs a database (schema must be specified)")
        with _write_lock(database, target_ref.name):
            table = self.table(database, target_ref.name)
            current = cow.read_with_files(table)
            changes = plan_merge(merge, current.rows, source, translate)
            with self._committing(database, target_ref.name):
                snapshot_id = cow.commit_row_changes(table, current, changes)
        return MergeResult(inserted=changes.inserted.num_rows, updated=changes.updated.num_rows,
                           deleted=len(changes.deleted_ids), snapshot_id=snapshot_id)

    # -- maintenance ---------------------------------------------------------------------

    def optimize(self, database: str, name: str, predicate: str | exp.Expression | None = None,
                 translate: Translate = trino_to_duckdb) -> maintenance.OptimizeResult:
        """OPTIMIZE t REWRITE DATA USING BIN_PACK [WHERE predicate on partition columns]."""
        with _write_lock(database, name):
            table = self.table(database, name)
            where = dml.parse_expression(predicate)
            selected = maintenance.files_in_partitions(table, where, translate) if where is not None else None
            with self._committing(database, name):
                return maintenance.optimize(table, selected)

    def vacuum(self, database: str, name: str, now: dt.datetime | None = None) -> maintenance.VacuumResult:
        """VACUUM t."""
        with _write_lock(database, name):
            table = self.table(database, name)
            now_ms = timetravel.epoch_ms(now) if now is not None else None
            with self._committing(database, name):
                return maintenance.vacuum(table, self._s3, now_ms)

    # -- helpers -------------------------------------------------------------------------

    class _committing:
        """Turns pyiceberg's lost-race error into Trino's ICEBERG_COMMIT_ERROR."""

        def __init__(self, database: str, name: str):
            self.database, self.name = database, name

        def __enter__(self) -> None:
            return None

        def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> bool:
            if exc_type is not None and issubclass(exc_type, CommitFailedException):
                raise IcebergError("ICEBERG_COMMIT_ERROR",
                                   f"Failed to commit Iceberg update to table: {self.database}.{self.name}") from exc
            return False

"""OPTIMIZE ... REWRITE DATA USING BIN_PACK and VACUUM, driven by Athena's table properties.

Athena's properties (its "Create Iceberg tables" and VACUUM pages), defaults:
- `write_target_data_file_size_bytes` 512 MB: the size rewritten files aim at;
- `optimize_rewrite_min_data_file_size_bytes` 0.75 x target and
  `optimize_rewrite_max_data_file_size_bytes` 1.8 x target: files smaller or
  larger are candidates for rewriting;
- `optimize_rewrite_data_file_threshold` 5: with fewer candidates nothing is
  rewritten (the table here is unpartitioned, so it counts for the table);
- `vacuum_max_snapshot_age_seconds` 432000 (5 days): older snapshots expire,
  and orphan files older than this are removed;
- `vacuum_min_snapshots_to_keep` 1: this many most recent snapshots are kept
  whatever their age;
- `vacuum_max_metadata_files_to_keep` 100: previous metadata files kept.

OPTIMIZE commits one snapshot that replaces the candidate files by bin-packed
ones (pyiceberg records it as `overwrite`; Iceberg's Java library, which
Athena uses, records `replace` — pyiceberg cannot write that operation).
VACUUM expires snapshots in one metadata commit and then deletes the files
only expired snapshots referenced, metadata files past the limit, and
orphans past the age, by listing the table's location in S3.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.transforms import IdentityTransform
from sqlglot import exp

from localcloud.iceberg.cow import commit_rewrite
from localcloud.iceberg.exceptions import IcebergError
from localcloud.iceberg.merge import Translate, connect, duckdb_error
from localcloud.iceberg.metadata_tables import live_data_files
from localcloud.iceberg.schema import arrow_schema
from localcloud.plane import parse_s3_url

_FILE_POSITION = "__iceberg_file_position"
DEFAULT_TARGET_FILE_SIZE = 512 * 1024 * 1024
DEFAULT_REWRITE_THRESHOLD = 5
DEFAULT_MAX_SNAPSHOT_AGE_SECONDS = 432000
DEFAULT_MIN_SNAPSHOTS_TO_KEEP = 1
DEFAULT_MAX_METADATA_FILES_TO_KEEP = 100


def _int_property(table: Table, name: str, default: int) -> int:
    value = table.properties.get(name)
    return int(value) if value not in (None, "") else default


@dataclass
class OptimizeResult:
    rewritten_files: int = 0
    added_files: int = 0
    snapshot_id: int | None = None


@dataclass
class VacuumResult:
    expired_snapshot_ids: list[int] = field(default_factory=list)
    deleted_files: list[str] = field(default_factory=list)


def optimize(table: Table, selected: Callable[[list[DataFile]], list[DataFile]] | None = None) -> OptimizeResult:
    """Rewrite too-small and too-large data files into target-sized ones, as one snapshot.

    `selected` narrows the files considered (OPTIMIZE … WHERE: see `files_in_partitions`).
    """
    target = _int_property(table, "write_target_data_file_size_bytes", DEFAULT_TARGET_FILE_SIZE)
    smallest = _int_property(table, "optimize_rewrite_min_data_file_size_bytes", int(target * 0.75))
    largest = _int_property(table, "optimize_rewrite_max_data_file_size_bytes", int(target * 1.8))
    threshold = _int_property(table, "optimize_rewrite_data_file_threshold", DEFAULT_REWRITE_THRESHOLD)
    candidates = [data_file for data_file in live_data_files(table)
                  if data_file.file_size_in_bytes < smallest or data_file.file_size_in_bytes > largest]
    if selected is not None:
        candidates = selected(candidates)
    if not candidates or len(candidates) < threshold:
        return OptimizeResult()
    schema = arrow_schema(table.schema())
    scan = table.scan()
    candidate_paths = {data_file.file_path for data_file in candidates}
    tasks = [task for task in scan.plan_files() if task.file.file_path in candidate_paths]
    rows = ArrowScan(table.metadata, table.io, table.schema(), AlwaysTrue()).to_table(tasks)
    rows = rows.select(schema.names).cast(schema) if rows.num_rows else schema.empty_table()
    before = {data_file.file_path for data_file in live_data_files(table)}
    snapshot_id = commit_rewrite(table, candidates, rows)
    table.refresh()
    added = [data_file for data_file in live_data_files(table) if data_file.file_path not in before]
    return OptimizeResult(rewritten_files=len(candidates), added_files=len(added), snapshot_id=snapshot_id)


def files_in_partitions(table: Table, predicate: exp.Expression, translate: Translate) -> Callable[
        [list[DataFile]], list[DataFile]]:
    """OPTIMIZE's WHERE: the files whose partition values satisfy `predicate`.

    Athena allows only partition columns in that predicate (its OPTIMIZE page):
    here, columns with an identity partition, whose value every file records.
    """
    spec = table.spec()
    schema = table.schema()
    identity = {schema.find_field(field.source_id).name: position for position, field in enumerate(spec.fields)
                if isinstance(field.transform, IdentityTransform)}
    for column in predicate.find_all(exp.Column):
        if column.name.lower() not in identity:
            raise IcebergError("NOT_SUPPORTED", "Only partition columns are allowed in the WHERE clause of "
                               f"OPTIMIZE: {column.name.lower()}")
    types = arrow_schema(schema)

    def selected(files: list[DataFile]) -> list[DataFile]:
        if not files:
            return files
        values = {name: _partition_values([data_file.partition[position] for data_file in files],
                                          types.field(name).type) for name, position in identity.items()}
        values[_FILE_POSITION] = pa.array(range(len(files)), pa.int64())
        connection = connect()
        try:
            connection.register("partition_values", pa.table(values))
            try:
                chosen = connection.execute(f"SELECT {_FILE_POSITION} FROM partition_values "
                                            f"WHERE ({translate(predicate)})").fetchall()
            except duckdb.Error as exc:
                raise duckdb_error(exc) from exc
        finally:
            connection.close()
        return [files[row[0]] for row in sorted(chosen)]

    return selected


def _partition_values(values: list, arrow_type: pa.DataType) -> pa.Array:
    """Partition values as Iceberg records them (a date as days since the epoch) -> the column's type."""
    if pa.types.is_date32(arrow_type):
        return pa.array(values, pa.int32()).cast(arrow_type)
    return pa.array(values).cast(arrow_type)


def referenced_files(table: Table, snapshot_ids: list[int]) -> set[str]:
    """Manifest lists, manifests and live data files of the given snapshots."""
    paths: set[str] = set()
    for snapshot_id in snapshot_ids:
        snapshot = table.metadata.snapshot_by_id(snapshot_id)
        if snapshot is None:
            continue
        paths.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            paths.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                paths.add(entry.data_file.file_path)
    return paths


def snapshots_to_expire(table: Table, now_ms: int) -> list[int]:
    """Snapshots older than the age limit, beyond the most recent `vacuum_min_snapshots_to_keep`."""
    max_age_ms = _int_property(table, "vacuum_max_snapshot_age_seconds", DEFAULT_MAX_SNAPSHOT_AGE_SECONDS) * 1000
    keep = max(1, _int_property(table, "vacuum_min_snapshots_to_keep", DEFAULT_MIN_SNAPSHOTS_TO_KEEP))
    newest_first = sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms, reverse=True)
    protected = {ref.snapshot_id for ref in table.metadata.refs.values()}
    return [snapshot.snapshot_id for snapshot in newest_first[keep:]
            if snapshot.timestamp_ms < now_ms - max_age_ms and snapshot.snapshot_id not in protected]


def vacuum(table: Table, s3: Any, now_ms: int | None = None) -> VacuumResult:
    """Expire old snapshots, then delete the files nothing retained refers to."""
    bucket, prefix = parse_s3_url(table.metadata.location.rstrip("/") + "/")
    if not prefix.strip("/"):
        # Athena's VACUUM wants the table in a folder, not at a bucket's root (its documented error).
        raise IcebergError("GENERIC_INTERNAL_ERROR", f"Path missing in file system location: s3://{bucket}")
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    max_age_ms = _int_property(table, "vacuum_max_snapshot_age_seconds", DEFAULT_MAX_SNAPSHOT_AGE_SECONDS) * 1000
    keep_metadata = _int_property(table, "vacuum_max_metadata_files_to_keep", DEFAULT_MAX_METADATA_FILES_TO_KEEP)
    expire = snapshots_to_expire(table, now_ms)
    before = referenced_files(table, [s.snapshot_id for s in table.metadata.snapshots])
    if expire:
        table.maintenance.expire_snapshots().by_ids(expire).commit()
        table.refresh()
    retained = referenced_files(table, [s.snapshot_id for s in table.metadata.snapshots])
    only_expired = before - retained
    # Metadata files: the current one and the last `keep_metadata` in the log stay; older logged
    # ones go. A metadata file not in the log may be a concurrent writer's commit in flight,
    # so it goes only once it is older than the age limit, like any orphan.
    logged = [entry.metadata_file for entry in table.metadata.metadata_log]
    kept_metadata = {table.metadata_location, *(logged[-keep_metadata:] if keep_metadata > 0 else [])}
    dropped_metadata = set(logged) - kept_metadata
    doomed: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/"):
                continue  # a folder marker pyarrow's S3 filesystem writes, not a file of the table
            path = f"s3://{bucket}/{obj['Key']}"
            if path in retained or path in kept_metadata:
                continue
            age_ms = now_ms - int(obj["LastModified"].timestamp() * 1000)
            if path in only_expired or path in dropped_metadata or age_ms > max_age_ms:
                doomed.append(obj["Key"])
    for start in range(0, len(doomed), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in doomed[start:start + 1000]],
                                                 "Quiet": True})
    return VacuumResult(expired_snapshot_ids=expire, deleted_files=[f"s3://{bucket}/{key}" for key in doomed])

"""The metadata tables `"t$snapshots"`, `"t$history"` and `"t$files"` as Arrow, with Trino's columns.

Column names, order and types follow Trino's Iceberg connector documentation
(the engine Athena v3 runs): `committed_at`/`made_current_at` are
`timestamp(3) with time zone`, maps are `map(integer, bigint)`, bounds are
the Iceberg human-readable strings of each column's lower/upper value.
"""

from __future__ import annotations

import pyarrow as pa
from pyiceberg.conversions import from_bytes
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.transforms import IdentityTransform

TIMESTAMP_TZ = pa.timestamp("ms", tz="UTC")

SNAPSHOTS_SCHEMA = pa.schema([
    ("committed_at", TIMESTAMP_TZ),
    ("snapshot_id", pa.int64()),
    ("parent_id", pa.int64()),
    ("operation", pa.string()),
    ("manifest_list", pa.string()),
    ("summary", pa.map_(pa.string(), pa.string())),
])

HISTORY_SCHEMA = pa.schema([
    ("made_current_at", TIMESTAMP_TZ),
    ("snapshot_id", pa.int64()),
    ("parent_id", pa.int64()),
    ("is_current_ancestor", pa.bool_()),
])

COUNTS = pa.map_(pa.int32(), pa.int64())
BOUNDS = pa.map_(pa.int32(), pa.string())
FILES_SCHEMA = pa.schema([
    ("content", pa.int32()),
    ("file_path", pa.string()),
    ("file_format", pa.string()),
    ("record_count", pa.int64()),
    ("file_size_in_bytes", pa.int64()),
    ("column_sizes", COUNTS),
    ("value_counts", COUNTS),
    ("null_value_counts", COUNTS),
    ("nan_value_counts", COUNTS),
    ("lower_bounds", BOUNDS),
    ("upper_bounds", BOUNDS),
    ("key_metadata", pa.binary()),
    ("split_offsets", pa.list_(pa.int64())),
    ("equality_ids", pa.list_(pa.int32())),
])


def snapshots(table: Table) -> pa.Table:
    rows = [{
        "committed_at": snapshot.timestamp_ms,
        "snapshot_id": snapshot.snapshot_id,
        "parent_id": snapshot.parent_snapshot_id,
        "operation": snapshot.summary.operation.value if snapshot.summary else None,
        "manifest_list": snapshot.manifest_list,
        "summary": list((snapshot.summary.additional_properties if snapshot.summary else {}).items()),
    } for snapshot in sorted(table.metadata.snapshots, key=lambda s: (s.timestamp_ms, s.sequence_number or 0))]
    return pa.Table.from_pylist(rows, schema=SNAPSHOTS_SCHEMA)


def history(table: Table) -> pa.Table:
    ancestors = set()
    snapshot = table.metadata.current_snapshot()
    while snapshot is not None:
        ancestors.add(snapshot.snapshot_id)
        snapshot = table.metadata.snapshot_by_id(snapshot.parent_snapshot_id) if snapshot.parent_snapshot_id else None
    rows = []
    for entry in table.metadata.snapshot_log:
        snapshot = table.metadata.snapshot_by_id(entry.snapshot_id)
        if snapshot is None:  # expired: Iceberg drops it from the log
            continue
        rows.append({
            "made_current_at": entry.timestamp_ms,
            "snapshot_id": entry.snapshot_id,
            "parent_id": snapshot.parent_snapshot_id,
            "is_current_ancestor": entry.snapshot_id in ancestors,
        })
    return pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA)


def live_data_files(table: Table, snapshot_id: int | None = None) -> list[DataFile]:
    """The data and delete files of a snapshot (the current one by default)."""
    snapshot = (table.metadata.snapshot_by_id(snapshot_id) if snapshot_id is not None
                else table.metadata.current_snapshot())
    if snapshot is None:
        return []
    return [entry.data_file for manifest in snapshot.manifests(table.io)
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True)]


def _bounds(table: Table, bounds: dict[int, bytes] | None) -> list[tuple[int, str]] | None:
    if bounds is None:
        return None
    schema = table.schema()
    readable = []
    for field_id, raw in sorted(bounds.items()):
        field_type = schema.find_type(field_id)
        readable.append((field_id, IdentityTransform().to_human_string(field_type, from_bytes(field_type, raw))))
    return readable


def _counts(values: dict[int, int] | None) -> list[tuple[int, int]] | None:
    return None if values is None else sorted(values.items())


def files(table: Table) -> pa.Table:
    rows = [{
        "content": int(data_file.content),
        "file_path": data_file.file_path,
        "file_format": data_file.file_format.value if hasattr(data_file.file_format, "value") else str(data_file.file_format),
        "record_count": data_file.record_count,
        "file_size_in_bytes": data_file.file_size_in_bytes,
        "column_sizes": _counts(data_file.column_sizes),
        "value_counts": _counts(data_file.value_counts),
        "null_value_counts": _counts(data_file.null_value_counts),
        "nan_value_counts": _counts(data_file.nan_value_counts),
        "lower_bounds": _bounds(table, data_file.lower_bounds),
        "upper_bounds": _bounds(table, data_file.upper_bounds),
        "key_metadata": data_file.key_metadata,
        "split_offsets": data_file.split_offsets,
        "equality_ids": data_file.equality_ids,
    } for data_file in live_data_files(table)]
    return pa.Table.from_pylist(rows, schema=FILES_SCHEMA)

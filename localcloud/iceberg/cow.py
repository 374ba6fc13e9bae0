"""Copy-on-write: read a snapshot with each row's data file, and commit a rewrite as one snapshot.

DELETE, UPDATE and MERGE change rows in place. pyiceberg writes no delete
files, so a change is committed copy-on-write: every data file holding a
changed row is replaced by a new file with that file's surviving rows, plus
new files for inserted rows, in ONE snapshot. Files without a changed row are
left as they are, so a small change costs a small rewrite.

(Athena itself writes position delete files, merge-on-read; the table's rows
are the same either way, but its `$files` shows delete files this does not.)
"""

from __future__ import annotations

import concurrent.futures
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Operation
from pyiceberg.table.update.snapshot import _OverwriteFiles

from localcloud.iceberg.schema import arrow_schema

READ_THREADS = 4
ROW_ID = "__iceberg_row_id"
FILE_INDEX = "__iceberg_file_index"


@dataclass
class FileRows:
    """The current snapshot's rows with ROW_ID (position in `rows`) and FILE_INDEX (into `files`)."""

    rows: pa.Table
    files: list[DataFile]


def read_with_files(table: Table) -> FileRows:
    """Every row of the current snapshot, tagged with the data file it lives in."""
    schema = arrow_schema(table.schema())
    tasks = list(table.scan().plan_files())

    def read(index: int) -> pa.Table:
        piece = ArrowScan(table.metadata, table.io, table.schema(), AlwaysTrue()).to_table([tasks[index]])
        piece = piece.select(schema.names).cast(schema)
        return piece.append_column(FILE_INDEX, pa.array([index] * piece.num_rows, pa.int32()))

    # One GET per file over loopback HTTP: a few at a time, in file order.
    with concurrent.futures.ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        pieces = list(pool.map(read, range(len(tasks))))
    empty = schema.empty_table().append_column(FILE_INDEX, pa.array([], pa.int32()))
    rows = pa.concat_tables([empty, *pieces]) if pieces else empty
    rows = rows.append_column(ROW_ID, pa.array(range(rows.num_rows), pa.int64()))
    return FileRows(rows=rows, files=[task.file for task in tasks])


def commit_rewrite(table: Table, removed: Sequence[DataFile], added_rows: pa.Table,
                   operation: Operation | None = None) -> int | None:
    """Replace `removed` data files by files holding `added_rows`, as one snapshot; its id, None if no change.

    The operation recorded in the snapshot is `append` (only additions),
    `delete` (only removals) or `overwrite` (both), as Iceberg defines them,
    unless the caller names one.
    """
    schema = arrow_schema(table.schema())
    added_rows = added_rows.select(schema.names).cast(schema)
    if not removed and added_rows.num_rows == 0:
        return None
    if not removed:
        table.append(added_rows)
        return table.metadata.current_snapshot_id
    if operation is None:
        operation = Operation.OVERWRITE if added_rows.num_rows else Operation.DELETE
    committing = _without_commit_retries(table)
    with committing.transaction() as transaction:
        # pyiceberg's public overwrite() deletes by predicate in one snapshot and appends in
        # another; its file-level producer lets both happen in one snapshot, as Iceberg's
        # OverwriteFiles does, and takes the operation to record.
        commit_uuid = uuid.uuid4()
        producer = _OverwriteFiles(operation=operation, transaction=transaction, io=table.io,
                                   commit_uuid=commit_uuid)
        with producer as overwrite:
            for data_file in removed:
                overwrite.delete_data_file(data_file)
            if added_rows.num_rows:
                for data_file in _dataframe_to_data_files(transaction.table_metadata, added_rows, table.io,
                                                          write_uuid=commit_uuid):
                    overwrite.append_data_file(data_file)
    return committing.metadata.current_snapshot_id


def _without_commit_retries(table: Table) -> Table:
    """The same table whose commits fail on a concurrent commit instead of being rebased and retried.

    A rewrite was planned from every row of the snapshot it read; rebased onto
    someone else's newer snapshot it could undo their change. So, as Athena
    does for a conflicting DELETE/UPDATE/MERGE, the statement fails
    (ICEBERG_COMMIT_ERROR) and the caller runs it again on the new state.
    pyiceberg reads its retry count from the table's properties when it
    commits; this override lives only in memory (the catalog builds the new
    metadata from what Glue points at, so it is never written).
    """
    properties = {**table.metadata.properties, "commit.retry.num-retries": "0"}
    metadata = table.metadata.model_copy(update={"properties": properties})
    return Table(table.name(), metadata, table.metadata_location, table.io, table.catalog)


@dataclass
class RowChanges:
    """What a DELETE/UPDATE/MERGE does to the rows read by `read_with_files`.

    `updated` holds the new version of each updated row with its ROW_ID;
    `deleted_ids` the ROW_IDs of deleted rows; `inserted` the new rows.
    """

    updated: pa.Table
    deleted_ids: pa.Array
    inserted: pa.Table

    @property
    def rows_affected(self) -> int:
        return self.updated.num_rows + len(self.deleted_ids) + self.inserted.num_rows


def commit_row_changes(table: Table, current: FileRows, changes: RowChanges) -> int | None:
    """Rewrite only the files holding an updated or deleted row, add the inserts: one snapshot."""
    import pyarrow.compute as pc

    schema = arrow_schema(table.schema())
    touched_ids = pa.concat_arrays([changes.updated.column(ROW_ID).combine_chunks().cast(pa.int64()),
                                    changes.deleted_ids.cast(pa.int64())])
    rows = current.rows
    touched_mask = pc.is_in(rows.column(ROW_ID), value_set=touched_ids)
    touched_files = sorted(set(pc.filter(rows.column(FILE_INDEX), touched_mask).to_pylist()))
    in_touched_files = pc.is_in(rows.column(FILE_INDEX), value_set=pa.array(touched_files, pa.int32()))
    untouched_rows = rows.filter(pc.and_(in_touched_files, pc.invert(touched_mask)))
    added = pa.concat_tables([
        untouched_rows.select(schema.names).cast(schema),
        changes.updated.select(schema.names).cast(schema),
        changes.inserted.select(schema.names).cast(schema),
    ])
    return commit_rewrite(table, [current.files[i] for i in touched_files], added)

"""Iceberg tables for the local cloud: a real Apache Iceberg implementation (pyiceberg).

Tables are registered in the local cloud's Glue catalog exactly as Athena and
pyiceberg register them on AWS (Glue table Parameters `table_type=ICEBERG`,
`metadata_location=s3://...`), and their data and metadata files live in the
local S3. Nothing here is a table format of our own: pyiceberg writes the
metadata JSON, manifest lists, manifests and Parquet data files.

`IcebergTables` (in `tables.py`) is the one entry point: create/drop, scan
(current, `snapshot_id`, `as_of_timestamp`), append, delete/update/overwrite by
a SQL predicate, `MERGE INTO`, the metadata tables (`$snapshots`, `$history`,
`$files`), `OPTIMIZE ... REWRITE DATA USING BIN_PACK` and `VACUUM`. The local
Athena calls it; tests call it directly.
"""

from localcloud.iceberg.exceptions import IcebergError
from localcloud.iceberg.tables import IcebergTables, MergeResult

__all__ = ["IcebergError", "IcebergTables", "MergeResult"]

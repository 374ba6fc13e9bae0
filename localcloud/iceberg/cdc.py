"""Apply a batch of lake change records to the Iceberg table `cdc_data.orders`: two Athena MERGE statements.

The SQL is Athena's (Trino's) own and is meant to run unchanged on AWS; locally
it runs through `IcebergTables.merge`. Per batch of change records (the lake's
fields: orderid, product_name, quantity, price decimal(10,2), updated_at, op,
is_deleted, event_id, sequence_number, event_time):

1. `orders_tombstones` MERGE: the latest delete per orderid in the batch is
   recorded (orderid, sequence_number, event_time), only if newer than the
   tombstone already there.
2. `orders` MERGE: the latest change per orderid in the batch (by sequence
   number; duplicate deliveries share an event_id and a sequence number, so
   they collapse to one) applies only if its sequence number is newer than the
   row's; an upsert also only if newer than the order's tombstone, so a late
   older change cannot resurrect a deleted order; a delete removes the row.

Sequence numbers are digit strings of 21-40 characters, compared left-padded
with zeros to 40 (`lpad`), which orders them exactly like the numbers.
Both statements are idempotent: a batch applied twice, or a batch that failed
between the two statements and is applied again, gives the same table.
`SELECT * FROM cdc_data.orders` is exactly the live orders: tombstones live in
their own table.
"""

from __future__ import annotations

import pyarrow as pa
import sqlglot

from localcloud.iceberg.merge import evaluate_source
from localcloud.iceberg.tables import IcebergTables, MergeResult

SEQUENCE_WIDTH = 40

ORDERS_COLUMNS = [
    ("orderid", "string"),
    ("product_name", "string"),
    ("quantity", "int"),
    ("price", "decimal(10,2)"),
    ("updated_at", "timestamp"),
    ("sequence_number", "string"),
    ("event_time", "timestamp"),
]
TOMBSTONE_COLUMNS = [("orderid", "string"), ("sequence_number", "string"), ("event_time", "timestamp")]

# The change records a batch carries, as Arrow (the lake contract's columns that matter here).
CHANGE_SCHEMA = pa.schema([
    ("orderid", pa.string()),
    ("product_name", pa.string()),
    ("quantity", pa.int32()),
    ("price", pa.decimal128(10, 2)),
    ("updated_at", pa.timestamp("us")),
    ("op", pa.string()),
    ("is_deleted", pa.bool_()),
    ("event_id", pa.string()),
    ("sequence_number", pa.string()),
    ("event_time", pa.timestamp("us")),
])


def _seq(column: str) -> str:
    return f"lpad({column}, {SEQUENCE_WIDTH}, '0')"


def tombstones_merge_sql(changes: str, database: str = "cdc_data", tombstones: str = "orders_tombstones") -> str:
    """MERGE recording the latest delete per orderid of the batch in `changes`."""
    return f"""MERGE INTO {database}.{tombstones} AS t
USING (
  SELECT orderid, sequence_number, event_time
  FROM (
    SELECT orderid, sequence_number, event_time,
      row_number() OVER (PARTITION BY orderid ORDER BY {_seq('sequence_number')} DESC, event_id) AS recency_rank
    FROM {changes}
    WHERE coalesce(is_deleted, false)
  ) AS deletes
  WHERE recency_rank = 1
) AS s
ON t.orderid = s.orderid
WHEN MATCHED AND {_seq('s.sequence_number')} > {_seq('t.sequence_number')} THEN
  UPDATE SET sequence_number = s.sequence_number, event_time = s.event_time
WHEN NOT MATCHED THEN
  INSERT (orderid, sequence_number, event_time) VALUES (s.orderid, s.sequence_number, s.event_time)"""


def orders_merge_sql(changes: str, database: str = "cdc_data", orders: str = "orders",
                     tombstones: str = "orders_tombstones") -> str:
    """MERGE applying the latest change per orderid of the batch in `changes`, newer-wins, deletes final."""
    newer_than_row = f"{_seq('s.sequence_number')} > {_seq('t.sequence_number')}"
    newer_than_tombstone = (f"(s.tombstone_sequence_number IS NULL OR "
                            f"{_seq('s.sequence_number')} > {_seq('s.tombstone_sequence_number')})")
    return f"""MERGE INTO {database}.{orders} AS t
USING (
  SELECT latest.orderid, latest.product_name, latest.quantity, latest.price, latest.updated_at,
    latest.is_deleted, latest.sequence_number, latest.event_time,
    tombstone.sequence_number AS tombstone_sequence_number
  FROM (
    SELECT orderid, product_name, quantity, price, updated_at, coalesce(is_deleted, false) AS is_deleted,
      sequence_number, event_time,
      row_number() OVER (PARTITION BY orderid ORDER BY {_seq('sequence_number')} DESC, event_id) AS recency_rank
    FROM {changes}
  ) AS latest
  LEFT JOIN {database}.{tombstones} AS tombstone ON tombstone.orderid = latest.orderid
  WHERE latest.recency_rank = 1
) AS s
ON t.orderid = s.orderid
WHEN MATCHED AND s.is_deleted AND {newer_than_row} THEN
  DELETE
WHEN MATCHED AND NOT s.is_deleted AND {newer_than_row} AND {newer_than_tombstone} THEN
  UPDATE SET product_name = s.product_name, quantity = s.quantity, price = s.price, updated_at = s.updated_at,
    sequence_number = s.sequence_number, event_time = s.event_time
WHEN NOT MATCHED AND NOT s.is_deleted AND {newer_than_tombstone} THEN
  INSERT (orderid, product_name, quantity, price, updated_at, sequence_number, event_time)
  VALUES (s.orderid, s.product_name, s.quantity, s.price, s.updated_at, s.sequence_number, s.event_time)"""


def create_tables(tables: IcebergTables, location: str, database: str = "cdc_data",
                  orders: str = "orders", tombstones: str = "orders_tombstones",
                  properties: dict[str, str] | None = None) -> None:
    """CREATE TABLE both Iceberg tables under `location` (s3://bucket/prefix)."""
    base = location.rstrip("/")
    tables.create_table(database, orders, ORDERS_COLUMNS, f"{base}/{orders}", properties)
    tables.create_table(database, tombstones, TOMBSTONE_COLUMNS, f"{base}/{tombstones}", properties)


def apply_batch(tables: IcebergTables, batch: pa.Table, database: str = "cdc_data",
                orders: str = "orders", tombstones: str = "orders_tombstones") -> tuple[MergeResult, MergeResult]:
    """Run both MERGE statements for one batch, the batch bound as relation `changes`, tombstones first."""
    batch = batch.select(CHANGE_SCHEMA.names).cast(CHANGE_SCHEMA)
    results = []
    for sql in (tombstones_merge_sql("changes", database, tombstones),
                orders_merge_sql("changes", database, orders, tombstones)):
        merge = sqlglot.parse_one(sql, read="trino")
        relations = {"changes": batch,
                     f"{database}.{tombstones}": tables.scan(database, tombstones)}
        results.append(tables.merge(merge, evaluate_source(merge, relations)))
    return results[0], results[1]

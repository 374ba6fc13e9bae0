"""Test helper: apply a batch of change records to `cdc_data.orders` with the project's two MERGE statements.

The SQL is `salescdc.current_state`'s own (the statements the schedule runs on
AWS and locally), here over an in-memory batch bound as a relation and run
straight through `IcebergTables.merge`, so the engine's CDC semantics can be
tested without a lake. Per batch of change records (the lake's
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
from salescdc import current_state

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


def tombstones_merge_sql(changes: str, database: str = "cdc_data", tombstones: str = "orders_tombstones") -> str:
    """The project's tombstones MERGE (salescdc.current_state) over the batch in relation `changes`."""
    return current_state.tombstones_merge_for(changes, f"{database}.{tombstones}")


def orders_merge_sql(changes: str, database: str = "cdc_data", orders: str = "orders",
                     tombstones: str = "orders_tombstones") -> str:
    """The project's orders MERGE (salescdc.current_state) over the batch in relation `changes`."""
    return current_state.orders_merge_for(changes, f"{database}.{orders}", f"{database}.{tombstones}")


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

"""The current orders as an Iceberg table, `cdc_data.orders`: its DDL, the CDC MERGE and merge on read.

Everything here is Athena (Trino) SQL that runs unchanged on AWS and on the
local cloud; `up` creates the tables (salescdc.infra), `merge_now` and the
schedule run the MERGE, the Sales page reads `current_state_select_sql`.

Design (Debezium-style sink, applied by key and sequence number):

* `orders` holds exactly the live orders, one row each, with the
  `sequence_number` and `event_time` of the change that produced the row;
  `orders_tombstones` holds the latest delete per order, so a late older change
  cannot resurrect a deleted order and `SELECT * FROM orders` needs no filter,
  plus one progress row (orderid '') with the newest event_time its MERGE read.
* A MERGE reads the lake's change records of the recent `dt` partitions only
  (O(changes since the last merge), never O(history)), reduces them to the
  latest change per order (duplicates share event_id and sequence number) and
  applies it only if its sequence number is newer than the row's (and, for an
  upsert, the tombstone's). Applying the same records again changes nothing,
  so overlapping windows, duplicate and re-delivered objects are harmless.
  Tombstones are merged first: a run interrupted between the two statements
  is repaired by the next one.
* The watermark: every change the tables absorbed has an `event_time` no later
  than the merge that absorbed it, and a change not absorbed yet reached the
  lake after that merge read it (minus Firehose's buffering, at most 15
  minutes), so its `dt` (the arrival day) is on or after the day of the tables'
  newest `event_time` minus `OVERLAP_DAYS`. Reading from there is complete.
* The schedule cannot look the watermark up first (one StartQueryExecution per
  run), so each scheduled statement bounds `dt` by a scalar subquery over its
  own target table's newest `event_time` (`own_watermark_since`): the orders
  MERGE must not start after deletes the tombstones MERGE absorbed in the same
  round (after a long pause that would skip days of upserts), and on AWS the
  two schedules may run in either order. Trino evaluates the subquery first and
  prunes `dt` partitions with its value (dynamic filtering); so does the local
  Athena. A table with no row yet has no watermark: its statement reads every
  partition. The tombstones table's progress row moves its watermark with every
  change it reads; the orders table's moves with every upsert (a run of only
  deletes holds it, and so the readers' window, at the last upsert's day).

Sequence numbers are digit strings of 21-40 characters, compared left-padded
with zeros to 40, which orders them exactly like the numbers they spell.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from salescdc.contract import SEQUENCE_WIDTH
from salescdc.settings import Settings

ORDERS_TABLE = "orders"
TOMBSTONES_TABLE = "orders_tombstones"
# The tombstones table's progress row (see tombstones_merge_for): an orderid no order can have.
PROGRESS_ROW = ""
# Under the lake bucket but outside the lake's own prefix (orders/), which order_changes reads.
ICEBERG_PREFIX = "iceberg/"
# Days of partitions before the watermark day a merge re-reads (see the module docstring).
OVERLAP_DAYS = 1
SCHEDULE_GROUP = "sales-cdc-current-state"
SCHEDULE_EXPRESSION = "rate(5 minutes)"
# One schedule per MERGE statement (a universal target makes one API call); tombstones sort first.
SCHEDULE_NAMES = ("merge-1-tombstones", "merge-2-orders")
# Maintenance: every commit of a MERGE adds small files and a snapshot; once a day they are compacted
# (OPTIMIZE … BIN_PACK) and snapshots older than the retention expire with their files (VACUUM).
MAINTENANCE_EXPRESSION = "rate(1 day)"

ORDERS_COLUMNS: list[tuple[str, str]] = [
    ("orderid", "string"),
    ("product_name", "string"),
    ("quantity", "int"),
    ("price", "decimal(10,2)"),
    ("updated_at", "timestamp"),
    ("sequence_number", "string"),
    ("event_time", "timestamp"),
]
TOMBSTONE_COLUMNS: list[tuple[str, str]] = [
    ("orderid", "string"),
    ("sequence_number", "string"),
    ("event_time", "timestamp"),
]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _seq(column: str) -> str:
    return f"lpad({column}, {SEQUENCE_WIDTH}, '0')"


def table_location(bucket: str, table: str) -> str:
    return f"s3://{bucket}/{ICEBERG_PREFIX}{table}/"


def create_table_sql(settings: Settings, table: str, columns: list[tuple[str, str]], location: str) -> str:
    """Athena's CREATE TABLE for an Iceberg table (Hive DDL: backticks, no EXTERNAL).

    `vacuum_max_snapshot_age_seconds` is the retention VACUUM applies (Settings.snapshot_retention_s).
    """
    cols = ",\n  ".join(f"`{name}` {athena_type}" for name, athena_type in columns)
    return (
        f"CREATE TABLE `{settings.glue_database}`.`{table}` (\n  {cols}\n)\n"
        f"LOCATION '{location}'\n"
        "TBLPROPERTIES ('table_type'='ICEBERG', "
        f"'vacuum_max_snapshot_age_seconds'='{settings.snapshot_retention_s}')"
    )


def drop_table_sql(settings: Settings, table: str) -> str:
    """DROP TABLE of an Iceberg table: Athena removes its data and metadata too."""
    return f"DROP TABLE IF EXISTS `{settings.glue_database}`.`{table}`"


def _qualified(settings: Settings, table: str) -> str:
    return f"{_quote(settings.glue_database)}.{_quote(table)}"


def _recent_changes(settings: Settings, since_dt: str, as_of: dt.datetime | None = None) -> str:
    """The lake's change records of the partitions from `since_dt` (a SQL expression) on; with `as_of`,
    only those that had arrived by then."""
    arrived = f" AND arrival_time <= {_timestamp(as_of)}" if as_of else ""
    return f"SELECT * FROM {_qualified(settings, settings.glue_table)} WHERE dt >= {since_dt}{arrived}"


def _timestamp(moment: dt.datetime) -> str:
    """A Trino timestamp literal (UTC, naive: Athena's Iceberg timestamps have no zone)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return f"TIMESTAMP '{moment.isoformat(sep=' ', timespec='microseconds')}'"


def _table(settings: Settings, table: str, as_of: dt.datetime | None = None,
           empty_then: frozenset[str] = frozenset()) -> str:
    """An Iceberg table, read as of a past moment (time travel) when `as_of` is given.

    A table without a snapshot at or before that moment has no version to travel to (Athena
    fails with INVALID_ARGUMENTS); if it had simply not committed yet (`empty_then`, see
    `tables_empty_at`) it held no rows then, which the empty relation says exactly.
    """
    if as_of and table in empty_then:
        return f"(SELECT * FROM {_qualified(settings, table)} WHERE false) AS {_quote(table + '_then')}"
    travel = f" FOR TIMESTAMP AS OF {_timestamp(as_of)}" if as_of else ""
    return f"{_qualified(settings, table)}{travel}"


def first_snapshots_sql(settings: Settings) -> str:
    """The oldest snapshot still kept of each table: when it was committed and whether it was the very first."""
    parts = [
        f"""SELECT '{table}' AS table_name, committed_at, parent_id IS NULL AS first_ever
FROM {_quote(settings.glue_database)}.{_quote(table + '$snapshots')}"""
        for table in (ORDERS_TABLE, TOMBSTONES_TABLE)
    ]
    return "\nUNION ALL\n".join(parts)


def tables_empty_at(first_snapshots: Any, as_of: dt.datetime | None) -> frozenset[str]:
    """The tables that had not committed anything yet at `as_of` (from `first_snapshots_sql`'s frame).

    A table whose oldest kept snapshot is not its first lost older ones to VACUUM: it is not
    listed, so time travel before its retention fails as Athena does.
    """
    if as_of is None:
        return frozenset()
    moment = as_of.astimezone(dt.timezone.utc).replace(tzinfo=None) if as_of.tzinfo else as_of
    empty = set()
    for table in (ORDERS_TABLE, TOMBSTONES_TABLE):
        rows = first_snapshots[first_snapshots["table_name"] == table]
        if rows.empty:
            empty.add(table)
            continue
        oldest = rows.sort_values("committed_at").iloc[0]
        committed = oldest["committed_at"]
        committed = committed.tz_convert("UTC").tz_localize(None) if getattr(committed, "tzinfo", None) else committed
        if bool(oldest["first_ever"]) and moment < committed:
            empty.add(table)
    return frozenset(empty)


def dt_literal(day: dt.date | None) -> str:
    """A `dt` bound as a SQL literal; None (nothing absorbed yet) reads every partition."""
    return "'0000-00-00'" if day is None else f"'{day.isoformat()}'"


def own_watermark_since(settings: Settings, table: str) -> str:
    """The first `dt` a statement merging into `table` must read, from that table's own newest event_time,
    as a scalar subquery (a SQL expression; '0000-00-00', every partition, while the table is empty)."""
    return (f"(SELECT coalesce(CAST(CAST(max(event_time) AS date) - INTERVAL '{OVERLAP_DAYS}' DAY AS varchar), "
            f"'0000-00-00') FROM {_qualified(settings, table)})")


def scheduled_merge_statements(settings: Settings) -> list[str]:
    """Both MERGE statements as the schedules run them: each from its own table's watermark."""
    return [tombstones_merge_sql(settings, own_watermark_since(settings, TOMBSTONES_TABLE)),
            orders_merge_sql(settings, own_watermark_since(settings, ORDERS_TABLE))]


def tombstones_merge_sql(settings: Settings, since_dt: str) -> str:
    """MERGE recording the latest delete per order among the recent change records."""
    return tombstones_merge_for(f"({_recent_changes(settings, since_dt)}) AS recent",
                                _qualified(settings, TOMBSTONES_TABLE))


def orders_merge_sql(settings: Settings, since_dt: str) -> str:
    """MERGE applying the latest recent change per order: newer wins, a delete removes, tombstones are final."""
    return orders_merge_for(f"({_recent_changes(settings, since_dt)}) AS recent",
                            _qualified(settings, ORDERS_TABLE), _qualified(settings, TOMBSTONES_TABLE))


def tombstones_merge_for(changes: str, tombstones: str) -> str:
    """The tombstones MERGE over any relation of change records (`changes`: a table name or `(…) AS x`).

    Besides the latest delete per order it keeps one progress row, orderid '' (never an order:
    DynamoDB refuses an empty key), holding the newest event_time among all the changes it read,
    deletes or not. Without it the table's newest event_time, its watermark, would advance only
    with a delete, and every reader bounded by it would re-read the lake back to the last delete.
    """
    return f"""MERGE INTO {tombstones} AS t
USING (
  SELECT orderid, sequence_number, event_time
  FROM (
    SELECT orderid, sequence_number, event_time,
      row_number() OVER (PARTITION BY orderid ORDER BY {_seq('sequence_number')} DESC, event_id) AS recency_rank
    FROM {changes}
    WHERE coalesce(is_deleted, false) AND orderid <> '{PROGRESS_ROW}'
  ) AS deletes
  WHERE recency_rank = 1
  UNION ALL
  SELECT '{PROGRESS_ROW}', '0', max(event_time) FROM {changes} HAVING max(event_time) IS NOT NULL
) AS s
ON t.orderid = s.orderid
WHEN MATCHED AND s.orderid = '{PROGRESS_ROW}' AND s.event_time > t.event_time THEN
  UPDATE SET event_time = s.event_time
WHEN MATCHED AND s.orderid <> '{PROGRESS_ROW}' AND {_seq('s.sequence_number')} > {_seq('t.sequence_number')} THEN
  UPDATE SET sequence_number = s.sequence_number, event_time = s.event_time
WHEN NOT MATCHED THEN
  INSERT (orderid, sequence_number, event_time) VALUES (s.orderid, s.sequence_number, s.event_time)"""


def orders_merge_for(changes: str, orders: str, tombstones: str) -> str:
    """The orders MERGE over any relation of change records: newer wins, a delete removes, tombstones are final."""
    newer_than_row = f"{_seq('s.sequence_number')} > {_seq('t.sequence_number')}"
    newer_than_tombstone = (
        f"(s.tombstone_sequence_number IS NULL OR "
        f"{_seq('s.sequence_number')} > {_seq('s.tombstone_sequence_number')})"
    )
    return f"""MERGE INTO {orders} AS t
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
  LEFT JOIN {tombstones} AS tombstone ON tombstone.orderid = latest.orderid
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


def merge_statements(settings: Settings, since_dt: str) -> list[str]:
    """Both MERGE statements, in the order they must run (tombstones first)."""
    return [tombstones_merge_sql(settings, since_dt), orders_merge_sql(settings, since_dt)]


def maintenance_statements(settings: Settings) -> list[tuple[str, str]]:
    """(name, statement) for OPTIMIZE then VACUUM of both tables, in the order they run."""
    out = []
    for verb, sql in (("optimize", "OPTIMIZE {t} REWRITE DATA USING BIN_PACK"), ("vacuum", "VACUUM {t}")):
        for table in (TOMBSTONES_TABLE, ORDERS_TABLE):
            out.append((f"maintain-{len(out) + 1}-{verb}-{table.replace('_', '-')}",
                        sql.format(t=_qualified(settings, table))))
    return out


def watermark_sql(settings: Settings, as_of: dt.datetime | None = None,
                  empty_then: frozenset[str] = frozenset()) -> str:
    """How far both tables have absorbed the change log (NULL when both are empty), now or as of a
    past moment: reads O(live orders + tombstones).

    The older of the two tables' newest event_time, not the newer: the two MERGEs run as separate
    statements (and on AWS as separate schedules, in either order), so after a pause one table can
    be days ahead of the other, and reading only from the newer one's day would skip the changes
    the other has not absorbed. A table with no rows yet (nothing merged) does not hold the
    watermark back. The tombstones table's newest event_time is its progress row's (tombstones_merge_for)."""
    return f"""SELECT CASE
    WHEN o IS NULL THEN t
    WHEN t IS NULL OR o < t THEN o
    ELSE t
  END AS absorbed_until
FROM (SELECT
  (SELECT max(event_time) FROM {_table(settings, ORDERS_TABLE, as_of, empty_then)}) AS o,
  (SELECT max(event_time) FROM {_table(settings, TOMBSTONES_TABLE, as_of, empty_then)}) AS t
) AS absorbed"""


def since_day(absorbed_until: dt.datetime | None) -> dt.date | None:
    """The first `dt` partition a merge, or a merge-on-read query, must read."""
    if absorbed_until is None:
        return None
    return absorbed_until.date() - dt.timedelta(days=OVERLAP_DAYS)


def current_state_select_sql(settings: Settings, since_dt: str, as_of: dt.datetime | None = None,
                             empty_then: frozenset[str] = frozenset()) -> str:
    """Merge on read: the live orders from the Iceberg table plus the change records it may not have absorbed.

    Candidates per order are the table's row, its tombstone and the latest
    recent change record (deduplicated by event_id); the newest by sequence
    number wins and a delete leaves the order out — exactly `orders_current`'s
    answer, reading O(live orders + recent changes). Columns: orderid,
    product_name, quantity, price, updated_at, sequence_number, event_time.
    With `as_of`: the live orders as the lake knew them then — both tables as of
    that moment (time travel) plus the change records that had arrived by then.
    """
    return f"""WITH candidates AS (
  SELECT orderid, product_name, quantity, price, updated_at, sequence_number, event_time, false AS is_deleted
  FROM {_table(settings, ORDERS_TABLE, as_of, empty_then)}
  UNION ALL
  SELECT orderid, NULL, NULL, NULL, NULL, sequence_number, event_time, true
  FROM {_table(settings, TOMBSTONES_TABLE, as_of, empty_then)}
  UNION ALL
  SELECT orderid, product_name, quantity, price, updated_at, sequence_number, event_time,
    coalesce(is_deleted, false)
  FROM ({_recent_changes(settings, since_dt, as_of)}) AS recent
),
ranked AS (
  SELECT *,
    row_number() OVER (PARTITION BY orderid ORDER BY {_seq('sequence_number')} DESC, event_time DESC) AS recency_rank
  FROM candidates
)
SELECT orderid, product_name, quantity, price, updated_at, sequence_number, event_time
FROM ranked
WHERE recency_rank = 1 AND NOT is_deleted"""


# -- running it through Athena ------------------------------------------------
@dataclass(frozen=True)
class MergeRun:
    """One `merge_now`: from which partition it read and what the two statements scanned."""

    since: dt.date | None
    data_scanned_bytes: int


def watermark_from(frame: Any) -> dt.datetime | None:
    """The watermark out of `watermark_sql`'s result frame, as a naive UTC datetime (None: nothing absorbed)."""
    value = frame.iloc[0, 0] if len(frame) else None
    if value is None or value != value:  # NULL comes back as None or NaT
        return None
    return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value


def absorbed_until(analytics: Any) -> dt.datetime | None:
    """The watermark (see `watermark_sql`); `analytics` is a salescdc.analytics.Analytics."""
    return watermark_from(analytics.run(watermark_sql(analytics.settings)).frame)


def current_state_relation(settings: Settings, watermark: dt.datetime | None,
                           as_of: dt.datetime | None = None, empty_then: frozenset[str] = frozenset()) -> str:
    """The merge-on-read query as a FROM-clause relation, reading the lake from the watermark's day on
    (`watermark` from `watermark_sql(settings, as_of, empty_then)`)."""
    select = current_state_select_sql(settings, dt_literal(since_day(watermark)), as_of, empty_then)
    return f"(\n{select}\n) AS current_orders"


def maintain_now(analytics: Any) -> int:
    """Compact both tables' small files and expire their old snapshots now; returns the bytes scanned."""
    return sum(analytics.run(sql).data_scanned_bytes or 0 for _, sql in maintenance_statements(analytics.settings))


def merge_now(analytics: Any) -> MergeRun:
    """Apply every change record not absorbed yet: the two MERGE statements from the watermark's day on."""
    since = since_day(absorbed_until(analytics))
    scanned = 0
    for sql in merge_statements(analytics.settings, dt_literal(since)):
        scanned += analytics.run(sql).data_scanned_bytes or 0
    return MergeRun(since, scanned)


# -- what the Health page shows ----------------------------------------------------
def pending_changes_sql(settings: Settings, since_dt: str) -> str:
    """How many recent change events are newer than everything the tables hold for their order (not merged yet)."""
    absorbed = (f"greatest(coalesce({_seq('o.sequence_number')}, ''), "
                f"coalesce({_seq('t.sequence_number')}, ''))")
    return f"""SELECT count(DISTINCT c.event_id) AS pending
FROM ({_recent_changes(settings, since_dt)}) AS c
LEFT JOIN {_qualified(settings, ORDERS_TABLE)} AS o ON o.orderid = c.orderid
LEFT JOIN {_qualified(settings, TOMBSTONES_TABLE)} AS t ON t.orderid = c.orderid
WHERE {_seq('c.sequence_number')} > {absorbed}"""


def table_stats_sql(settings: Settings, table: str = ORDERS_TABLE) -> str:
    """Last commit, snapshot count and data file count of one Iceberg table, from its metadata tables."""
    db = _quote(settings.glue_database)
    return f"""SELECT
  (SELECT max(committed_at) FROM {db}.{_quote(table + '$snapshots')}) AS last_commit,
  (SELECT count(*) FROM {db}.{_quote(table + '$snapshots')}) AS snapshots,
  (SELECT count(*) FROM {db}.{_quote(table + '$files')}) AS files"""


@dataclass(frozen=True)
class TableHealth:
    """The Iceberg table as the Health page shows it."""

    last_commit: Any
    snapshots: int
    files: int
    live_orders: int
    pending_changes: int
    absorbed_until: dt.datetime | None


def table_health(analytics: Any) -> TableHealth:
    """Read `orders`' last commit, snapshot and file counts, live rows and the changes not merged yet."""
    settings = analytics.settings
    stats = analytics.run(table_stats_sql(settings)).frame.iloc[0]
    watermark = absorbed_until(analytics)
    pending = analytics.run(pending_changes_sql(settings, dt_literal(since_day(watermark)))).frame
    live = analytics.run(f"SELECT count(*) AS n FROM {_qualified(settings, ORDERS_TABLE)}").frame
    return TableHealth(
        last_commit=stats["last_commit"],
        snapshots=int(stats["snapshots"]),
        files=int(stats["files"]),
        live_orders=int(live["n"].iloc[0]),
        pending_changes=int(pending["pending"].iloc[0]),
        absorbed_until=watermark,
    )

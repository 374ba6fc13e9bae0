"""The Athena views `up` creates, as plain Trino SQL.

Kept free of exotic functions so the local Athena engine (sqlglot -> DuckDB)
runs the exact statement real Athena runs.
"""

from __future__ import annotations

from salescdc.contract import SEQUENCE_WIDTH
from salescdc.settings import Settings

# Columns the view exposes: the order's latest state plus where that state came from.
_VIEW_COLUMNS = (
    "orderid",
    "product_name",
    "quantity",
    "price",
    "updated_at",
    "op",
    "event_id",
    "sequence_number",
    "event_time",
    "arrival_time",
    "extra",
)


def _quote(identifier: str) -> str:
    """A Trino quoted identifier (Glue names are lower-case; quoting keeps odd ones legal)."""
    return '"' + identifier.replace('"', '""') + '"'


def orders_current_select_sql(settings: Settings) -> str:
    """The SELECT behind `orders_current`: one row per live order.

    * Duplicate deliveries (Firehose/Kinesis are at-least-once) share an `event_id`;
      they are reduced to one row *before* ranking so a duplicate can never tie
      or win the ranking.
    * The latest event per `orderid` wins by `sequence_number`. Those are digit
      strings of 21-40 characters, too wide for BIGINT and beyond DECIMAL(38), so
      they are compared as strings left-padded with zeros to a fixed width, which
      orders them exactly like the numbers they spell.
    * An order whose latest event is a delete is left out.
    """
    table = f"{_quote(settings.glue_database)}.{_quote(settings.glue_table)}"
    cols = ",\n    ".join(_VIEW_COLUMNS)
    return f"""WITH deduplicated AS (
  SELECT
    {cols},
    is_deleted,
    row_number() OVER (PARTITION BY event_id ORDER BY arrival_time ASC) AS delivery_rank
  FROM {table}
),
ranked AS (
  SELECT
    {cols},
    is_deleted,
    row_number() OVER (
      PARTITION BY orderid
      ORDER BY lpad(sequence_number, {SEQUENCE_WIDTH}, '0') DESC, event_time DESC
    ) AS recency_rank
  FROM deduplicated
  WHERE delivery_rank = 1
)
SELECT
    {cols}
FROM ranked
WHERE recency_rank = 1
  AND coalesce(is_deleted, false) = false"""


def orders_current_sql(settings: Settings) -> str:
    """The CREATE OR REPLACE VIEW statement for `orders_current` (Athena/Trino SQL).

    Run it with the Glue database as the query's database context.
    """
    return f"CREATE OR REPLACE VIEW {_quote(settings.view_name)} AS\n{orders_current_select_sql(settings)}"

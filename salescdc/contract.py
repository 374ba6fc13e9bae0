"""The lake record contract: what Firehose writes, one JSON object per line.

Written once here so the Glue table (infra), the local Athena engine and the
tests agree. README.md documents the same contract for people.
"""

from __future__ import annotations

# Objects land under this prefix, partitioned by day (dt=YYYY-MM-DD).
LAKE_PREFIX = "orders/"
ERROR_PREFIX = "errors/"
ATHENA_RESULTS_PREFIX = "athena-results/"

# Athena timestamps as the JSON SerDe reads them: "yyyy-MM-dd HH:mm:ss.SSS", UTC.
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # trim to milliseconds when formatting

OPS = ("INSERT", "MODIFY", "REMOVE")

# (column, Glue/Athena type, meaning) in the order lines carry them.
COLUMNS: list[tuple[str, str, str]] = [
    ("orderid", "string", "the order's key"),
    ("product_name", "string", "product sold"),
    ("quantity", "int", "units"),
    ("price", "decimal(10,2)", "unit price, exactly the item's decimal digits"),
    ("updated_at", "timestamp", "the writer's own timestamp if the item has one, else null"),
    ("op", "string", "INSERT | MODIFY | REMOVE"),
    ("is_deleted", "boolean", "true for REMOVE"),
    ("event_id", "string", "DynamoDB stream eventID; duplicates share it"),
    ("sequence_number", "string", "DynamoDB stream SequenceNumber (21-40 digits)"),
    ("event_time", "timestamp", "ApproximateCreationDateTime of the change"),
    ("arrival_time", "timestamp", "when Kinesis received the record"),
    ("extra", "string", "JSON object of any other item attributes"),
]

PARTITION_COLUMNS: list[tuple[str, str, str]] = [("dt", "string", "day of delivery, YYYY-MM-DD")]

FIELD_NAMES = [name for name, _, _ in COLUMNS]

# Sequence numbers are compared as zero-padded strings of this width.
SEQUENCE_WIDTH = 40


def format_timestamp(dt: "datetime.datetime") -> str:  # type: ignore[name-defined]  # noqa: F821
    """UTC datetime -> 'yyyy-MM-dd HH:mm:ss.SSS'."""
    return dt.strftime(TIMESTAMP_FORMAT)[:-3]

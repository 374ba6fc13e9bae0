"""The lake record contract: what Firehose writes, one JSON object per line.

Written once here so the Glue table (infra), the local Athena engine and the
tests agree. README.md documents the same contract for people.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

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
    ("extra", "string", "JSON object of other item attributes and of values that do not fit their column"),
]

PARTITION_COLUMNS: list[tuple[str, str, str]] = [("dt", "string", "day of delivery, YYYY-MM-DD")]

FIELD_NAMES = [name for name, _, _ in COLUMNS]

# Sequence numbers are compared as zero-padded strings of this width.
SEQUENCE_WIDTH = 40


def format_timestamp(when: dt.datetime) -> str:
    """UTC datetime -> 'yyyy-MM-dd HH:mm:ss.SSS' (the lake's timestamp columns)."""
    return when.strftime(TIMESTAMP_FORMAT)[:-3]


def utc_timestamp(now: dt.datetime | None = None) -> str:
    """An item's `updated_at`: ISO-8601 UTC with milliseconds, e.g. 2026-01-31T12:00:00.123Z.

    The generator and the Orders page both write it; the transform turns it into the lake's format.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_timestamp(value: Any) -> dt.datetime | None:
    """A lake or item timestamp ('2026-01-31 12:00:00.123', ISO-8601 with Z, epoch seconds) as aware UTC.

    None for an empty or unreadable value; a value without an offset is taken as UTC.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return parse_timestamp(value.to_pydatetime())
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc)
    text = str(value).strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)

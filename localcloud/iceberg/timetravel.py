"""Which snapshot `FOR VERSION AS OF` and `FOR TIMESTAMP AS OF` read, with Trino's errors.

Trino (Athena's engine) resolves a timestamp through the table's snapshot log:
the latest entry made current at or before the instant; none is
INVALID_ARGUMENTS "No version history table <schema>.<table> at or before
<instant>". A snapshot id the table does not have is INVALID_ARGUMENTS
"Iceberg snapshot ID does not exists: <id>" (Trino's wording, typo included).
"""

from __future__ import annotations

import datetime as dt

from pyiceberg.table import Table

from localcloud.iceberg.exceptions import IcebergError


def java_instant(epoch_ms: int) -> str:
    """Java's Instant.toString(): ISO-8601 in UTC, fraction only when non-zero (as Trino prints it)."""
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if epoch_ms % 1000:
        text += f".{epoch_ms % 1000:03d}"
    return text + "Z"


def epoch_ms(moment: dt.datetime) -> int:
    """A naive datetime is UTC (Athena's session time zone)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def snapshot_as_of_version(table: Table, snapshot_id: int) -> int:
    if table.metadata.snapshot_by_id(snapshot_id) is None:
        raise IcebergError("INVALID_ARGUMENTS", f"Iceberg snapshot ID does not exists: {snapshot_id}")
    return snapshot_id


def snapshot_as_of_time(table: Table, database: str, name: str, as_of: dt.datetime) -> int:
    when = epoch_ms(as_of)
    entries = [entry for entry in table.metadata.snapshot_log
               if entry.timestamp_ms <= when and table.metadata.snapshot_by_id(entry.snapshot_id) is not None]
    if not entries:
        raise IcebergError("INVALID_ARGUMENTS", f"No version history table {database}.{name} at or before {java_instant(when)}")
    return max(entries, key=lambda entry: entry.timestamp_ms).snapshot_id

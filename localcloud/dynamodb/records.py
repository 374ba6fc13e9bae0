"""Stream records as DynamoDB Streams writes them, on top of moto's `StreamShard`.

moto writes a record for every write, even one that changes nothing, stamps
every record `awsRegion: us-east-1`, keeps millisecond creation times and
sizes records by their JSON length. AWS (DynamoDB developer guide, "Change
data capture for DynamoDB Streams" / the Streams API reference):
- a PutItem or UpdateItem that does not change any data writes no record,
  and a DeleteItem of a missing item writes none (moto already skips that);
- `awsRegion` is the table's region; `eventVersion` is "1.1";
- `ApproximateCreationDateTime` is epoch seconds, rounded down to the second;
- `SizeBytes` is the size of the record's keys and images, measured the way
  DynamoDB measures items (attribute names plus values).
`install()` swaps moto's StreamShard for `FaithfulStreamShard` in the module
that creates shards, so every stream enabled afterwards behaves like this.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from moto.dynamodb.models import table as moto_table
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import StreamShard

EVENT_VERSION = "1.1"
_original_set_stream_specification = moto_table.Table.set_stream_specification


def normalised(value: Any) -> Any:
    """A DynamoDB JSON value in a form where equal data compares equal ("1.50" == "1.5", sets unordered)."""
    if isinstance(value, dict) and len(value) == 1:
        (kind, inner), = value.items()
        if kind == "N":
            return ("N", _number(inner))
        if kind in ("SS", "BS"):
            return (kind, frozenset(inner))
        if kind == "NS":
            return ("NS", frozenset(_number(v) for v in inner))
        if kind == "M":
            return ("M", tuple(sorted((k, normalised(v)) for k, v in inner.items())))
        if kind == "L":
            return ("L", tuple(normalised(v) for v in inner))
        return (kind, inner)
    if isinstance(value, dict):
        return tuple(sorted((k, normalised(v)) for k, v in value.items()))
    return value


def _number(text: Any) -> Any:
    try:
        return Decimal(str(text)).normalize()
    except InvalidOperation:
        return text


def same_item(old: Any, new: Any) -> bool:
    """True when a write left the item exactly as it was."""
    return normalised(old.to_json()["Attributes"]) == normalised(new.to_json()["Attributes"])


def attribute_map_size(attributes: dict[str, Any]) -> int:
    return sum(len(name.encode()) + DynamoType(value).size() for name, value in attributes.items())


class FaithfulStreamShard(StreamShard):
    """moto's shard, minus the no-op records, with AWS's record fields."""

    def add(self, old: Any, new: Any) -> None:
        if old is not None and new is not None and same_item(old, new):
            return
        before = len(self.items)
        super().add(old, new)
        if len(self.items) > before:
            self._make_faithful(self.items[-1])

    def _make_faithful(self, stream_record: Any) -> None:
        record = stream_record.record
        record["awsRegion"] = self.table.region_name
        record["eventVersion"] = EVENT_VERSION
        body = record["dynamodb"]
        now = dt.datetime.now(dt.timezone.utc)
        body["ApproximateCreationDateTime"] = now.replace(microsecond=0)
        body["SizeBytes"] = sum(attribute_map_size(body[part]) for part in ("Keys", "NewImage", "OldImage")
                                if part in body)
        stream_record.created_at = time.time()  # precise time, for lag; AWS only shows whole seconds


def _set_stream_specification(self: Any, streams: dict[str, Any] | None) -> None:
    _original_set_stream_specification(self, streams)
    # AWS stream labels carry milliseconds ("2024-05-01T10:11:12.345"); moto's carry microseconds.
    label = getattr(self, "latest_stream_label", None)
    if label and len(label) > 23 and label[19] == ".":
        self.latest_stream_label = label[:23]


def install() -> None:
    """Make every stream enabled from now on use FaithfulStreamShard (idempotent)."""
    moto_table.StreamShard = FaithfulStreamShard  # type: ignore[misc]
    moto_table.Table.set_stream_specification = _set_stream_specification  # type: ignore[method-assign]

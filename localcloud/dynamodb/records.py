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
`install()` plugs these rules into moto's stream shards through
`localcloud.moto_patches`, so every stream enabled afterwards behaves like this.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from localcloud import moto_patches

EVENT_VERSION = "1.1"


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


# -- sizes as DynamoDB counts them ----------------------------------------------------
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html:
# a string is its UTF-8 bytes, a number about 1 byte per two significant digits plus 1, a
# binary its raw bytes, a null or Boolean 1 byte, a List or Map 3 bytes plus 1 byte per
# element plus the elements (a Map's with their names); a set the sum of its members.
def number_size(text: str) -> int:
    """A number's size: leading and trailing zeroes are not stored, nor is how it was written (1E2 = 100)."""
    try:
        digits = "".join(map(str, Decimal(str(text)).as_tuple().digits))  # exact: no context rounding
    except InvalidOperation:
        digits = str(text)
    significant = len(digits.strip("0")) or 1
    return (significant + 1) // 2 + 1


def _binary_size(value: Any) -> int:
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    import base64
    import binascii

    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return len(str(value).encode())


def attribute_value_size(value: dict[str, Any]) -> int:
    """The size DynamoDB counts for one attribute value ({"S": "x"}), its name not included."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return number_size(inner)
    if kind == "B":
        return _binary_size(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(member).encode()) for member in inner)
    if kind == "NS":
        return sum(number_size(member) for member in inner)
    if kind == "BS":
        return sum(_binary_size(member) for member in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_value_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + attribute_value_size(element) for name, element in inner.items())
    return len(str(inner).encode())


def attribute_map_size(attributes: dict[str, Any]) -> int:
    """An item's (or a key's) size: each attribute's name plus its value."""
    return sum(len(name.encode()) + attribute_value_size(value) for name, value in attributes.items())


def make_faithful(shard: Any, stream_record: Any) -> None:
    """Give a record moto just wrote AWS's fields: the table's region, version 1.1, whole seconds, real size."""
    record = stream_record.record
    record["awsRegion"] = shard.table.region_name
    record["eventVersion"] = EVENT_VERSION
    body = record["dynamodb"]
    now = dt.datetime.now(dt.timezone.utc)
    body["ApproximateCreationDateTime"] = now.replace(microsecond=0)
    body["SizeBytes"] = sum(attribute_map_size(body[part]) for part in ("Keys", "NewImage", "OldImage")
                            if part in body)
    stream_record.created_at = time.time()  # precise time, for lag; AWS only shows whole seconds


def aws_stream_label(label: str) -> str:
    """AWS stream labels carry milliseconds ("2024-05-01T10:11:12.345"); moto's carry microseconds."""
    if len(label) > 23 and label[19] == ".":
        return label[:23]
    return label


def install() -> None:
    """Make every stream enabled from now on write records as AWS does (idempotent)."""
    moto_patches.install_stream_shard(skip=same_item, finish=make_faithful)
    moto_patches.trim_stream_labels(aws_stream_label)

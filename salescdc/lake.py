"""The lake bucket as the dashboard reads it: newest objects, freshness, lines, processing-failed records.

Firehose writes objects under `orders/dt=YYYY-MM-DD/` (and failed records under
`errors/processing-failed/dt=…/`), named `<stream>-<version>-yyyy-MM-dd-HH-mm-ss-<random>`
in UTC, so within one partition names sort by time. The readers here use that to
list only what can hold what they look for: the Health page's newest objects and
failed records, and an order's journey (`salescdc.journey`) after a save.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from salescdc.clients import ClientFactory
from salescdc.contract import ERROR_PREFIX, LAKE_PREFIX
from salescdc.settings import Settings

PROCESSING_FAILED_PREFIX = f"{ERROR_PREFIX}processing-failed/"


@dataclass
class Freshness:
    newest_key: str | None
    newest_time: dt.datetime | None
    age_s: float | None


@dataclass(frozen=True)
class FailedRecord:
    """A record Firehose could not transform, as written under errors/processing-failed/."""

    object_key: str
    error_code: str
    error_message: str
    attempts: int | None
    arrival: dt.datetime | None
    payload: str  # the decoded rawData (pretty JSON when it is JSON)
    lambda_arn: str = ""


@dataclass(frozen=True)
class LakeObject:
    key: str
    size: int
    last_modified: dt.datetime


def _partitions(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The dt=… partition prefixes under `prefix`, oldest first."""
    found: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        found += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return sorted(p for p in found if p[len(prefix):].startswith("dt="))


def _list(s3: Any, bucket: str, prefix: str, start_after: str | None = None) -> list[LakeObject]:
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if start_after:
        kwargs["StartAfter"] = start_after
    objects: list[LakeObject] = []
    for page in s3.get_paginator("list_objects_v2").paginate(**kwargs):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith("/"):
                objects.append(LakeObject(obj["Key"], int(obj["Size"]), obj["LastModified"]))
    return objects


def _object_name_start(settings: Settings, factory: ClientFactory, when: dt.datetime) -> str | None:
    """The first possible object name written at `when` or later, or None when it cannot be known.

    Firehose names objects `<stream>-<version>-yyyy-MM-dd-HH-mm-ss-<random>` (UTC), so within one
    partition names sort by time and a listing can start just before `when` instead of reading
    the whole day (tens of thousands of objects at zero buffering).
    """
    try:
        described = factory.client("firehose").describe_delivery_stream(DeliveryStreamName=settings.firehose_name)
        version = described["DeliveryStreamDescription"]["VersionId"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, KeyError):
        return None
    return f"{settings.firehose_name}-{version}-{when.astimezone(dt.timezone.utc):%Y-%m-%d-%H-%M-%S}"


# Object names carry the second they were written; LastModified can differ from it by a little.
_NAME_CLOCK_SLACK = dt.timedelta(seconds=60)
_RECENT_WINDOW = dt.timedelta(minutes=10)


def newest_objects(
    settings: Settings,
    factory: ClientFactory,
    prefix: str = LAKE_PREFIX,
    limit: int = 10,
    since: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> list[LakeObject]:
    """The newest objects under `prefix` (newest first), reading only what can hold them.

    With `since`: every object modified at or after it, from the partitions of its day onwards,
    listed from the first name Firehose could have given it. Without: the `limit` newest, looking
    at the last minutes of the newest partition first and at whole partitions only if needed.
    """
    s3 = factory.client("s3")
    bucket = factory.bucket_name()
    partitions = _partitions(s3, bucket, prefix)
    if since is not None:
        # A partition is named after the delivery day, which can be a day before `since` only at midnight.
        earlier = f"{prefix}dt={(since - dt.timedelta(days=1)).astimezone(dt.timezone.utc):%Y-%m-%d}/"
        start = _object_name_start(settings, factory, since - _NAME_CLOCK_SLACK)
        objects: list[LakeObject] = []
        for partition in (p for p in partitions if p >= earlier):
            found = _list(s3, bucket, partition, start_after=partition + start if start else None)
            objects += [o for o in found if o.last_modified >= since - dt.timedelta(seconds=1)]
        objects.sort(key=lambda o: (o.last_modified, o.key), reverse=True)
        return objects
    if partitions:
        cutoff = (now or dt.datetime.now(dt.timezone.utc)) - _RECENT_WINDOW
        start = _object_name_start(settings, factory, cutoff)
        if start:
            recent = _list(s3, bucket, partitions[-1], start_after=partitions[-1] + start)
            if len(recent) >= limit:
                recent.sort(key=lambda o: (o.last_modified, o.key), reverse=True)
                return recent[:limit]
    objects = []
    for partition in reversed(partitions):
        objects += _list(s3, bucket, partition)
        if len(objects) >= limit:
            break
    objects.sort(key=lambda o: (o.last_modified, o.key), reverse=True)
    return objects[:limit]


def lake_freshness(settings: Settings, factory: ClientFactory, now: dt.datetime | None = None) -> Freshness:
    """How old the newest order object in the lake is."""
    newest = newest_objects(settings, factory, limit=1)
    if not newest:
        return Freshness(None, None, None)
    now = now or dt.datetime.now(dt.timezone.utc)
    obj = newest[0]
    return Freshness(obj.key, obj.last_modified, max(0.0, (now - obj.last_modified).total_seconds()))


def read_lines(factory: ClientFactory, key: str) -> list[str]:
    """The non-empty lines of one lake object."""
    body = factory.client("s3").get_object(Bucket=factory.bucket_name(), Key=key)["Body"].read()
    return [line for line in body.decode("utf-8", errors="replace").splitlines() if line.strip()]


def decode_raw_data(raw: str) -> str:
    """Firehose's base64 rawData -> the original record text (pretty JSON when it is JSON)."""
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return f"(rawData is not valid base64: {str(raw)[:200]})"
    text = data.decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, sort_keys=True)
    except ValueError:
        return text


def _millis(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def processing_failed_records(
    settings: Settings, factory: ClientFactory, limit: int = 20, max_objects: int = 10
) -> list[FailedRecord]:
    """The newest records Firehose wrote under errors/processing-failed/, decoded."""
    records: list[FailedRecord] = []
    for obj in newest_objects(settings, factory, prefix=PROCESSING_FAILED_PREFIX, limit=max_objects):
        for line in reversed(read_lines(factory, obj.key)):
            try:
                entry = json.loads(line)
            except ValueError:
                records.append(FailedRecord(obj.key, "Unreadable", "The error line is not JSON.", None, None, line))
                continue
            records.append(
                FailedRecord(
                    object_key=obj.key,
                    error_code=str(entry.get("errorCode", "")),
                    error_message=str(entry.get("errorMessage", "")),
                    attempts=entry.get("attemptsMade"),
                    arrival=_millis(entry.get("arrivalTimestamp")),
                    payload=decode_raw_data(entry.get("rawData", "")),
                    lambda_arn=str(entry.get("lambdaArn", "")),
                )
            )
            if len(records) >= limit:
                return records
    return records

"""Kinesis Data Streams as the service itself behaves: atomic writes and the stream's own CloudWatch metrics.

moto assigns a shard's next sequence number as "last + 1" without a lock
(its own comment: "not safe for concurrency"), so two concurrent writers on a
threaded server can overwrite each other's record. We serialise writes per
process. And on AWS the stream, not the producer, publishes AWS/Kinesis
metrics (IncomingRecords, IncomingBytes, PutRecords.*, GetRecords.*,
OutgoingRecords, dimension StreamName) for every writer and reader, so that
is where we count them. Both by wrapping moto's backend methods at install
time (never by editing moto), through `localcloud.moto_patches`.

Newer moto publishes some of those metrics itself (5.2.5: IncomingRecords and
IncomingBytes on every put). Counting them again would double every "records
in", so at install time we probe what moto emits for one put, in a scratch
account, and publish only the names it does not.
"""

from __future__ import annotations

import threading
import time
from base64 import b64decode
from collections.abc import Callable
from typing import Any

from localcloud import moto_patches

_WRITE_LOCK = threading.RLock()
_publish: Callable[..., None] | None = None  # the running cloud's MetricsPublisher.add (one cloud per process)
_moto_emits: frozenset[str] = frozenset()  # AWS/Kinesis metric names moto already publishes on a put
_PROBE_ACCOUNT = "000000000042"  # a scratch account, reset after the probe; never a real one
_PROBE_REGION = "us-east-1"


def _stream_name(stream_arn: str | None, stream_name: str | None) -> str:
    return stream_name or (stream_arn or "").rsplit("/", 1)[-1]


def _emit(region: str, name: str, value: float, unit: str, stream: str) -> None:
    if _publish is not None and name not in _moto_emits:
        _publish("AWS/Kinesis", name, value, unit, {"StreamName": stream}, region)


def _data_bytes(data: Any) -> int:
    try:
        return len(b64decode(data or b""))
    except (ValueError, TypeError):
        return 0


def _wrap_put_record(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_record(self: Any, stream_arn: str, stream_name: str, partition_key: str,
                   explicit_hash_key: str, data: str) -> Any:
        stream = _stream_name(stream_arn, stream_name)
        started = time.monotonic()
        try:
            with _WRITE_LOCK:
                result = original(self, stream_arn, stream_name, partition_key, explicit_hash_key, data)
        except Exception:
            _emit(self.region_name, "PutRecord.Success", 0, "Count", stream)
            raise
        _emit(self.region_name, "PutRecord.Success", 1, "Count", stream)
        _emit(self.region_name, "PutRecord.Latency", (time.monotonic() - started) * 1000, "Milliseconds", stream)
        _emit(self.region_name, "PutRecord.Bytes", _data_bytes(data), "Bytes", stream)
        _emit(self.region_name, "IncomingRecords", 1, "Count", stream)
        _emit(self.region_name, "IncomingBytes", _data_bytes(data), "Bytes", stream)
        return result

    return put_record


def _refuse_long_partition_keys(records: list[dict[str, Any]]) -> None:
    """AWS validates the whole PutRecords request first and writes nothing when a key is over 256
    characters; moto writes the records before the bad one, then fails the call."""
    for index, record in enumerate(records, start=1):
        key = record.get("PartitionKey") or ""
        if len(key) > 256:
            raise moto_patches.MotoServiceError("ValidationException",
                                f"1 validation error detected: Value '{key}' at 'records.{index}.member.partitionKey' "
                                "failed to satisfy constraint: Member must have length less than or equal to 256")


def _wrap_put_records(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_records(self: Any, stream_arn: str, stream_name: str, records: list[dict[str, Any]]) -> Any:
        stream = _stream_name(stream_arn, stream_name)
        started = time.monotonic()
        try:
            _refuse_long_partition_keys(records)
            with _WRITE_LOCK:
                result = original(self, stream_arn, stream_name, records)
        except Exception:
            _emit(self.region_name, "PutRecords.Success", 0, "Count", stream)
            raise
        failed = int(result.get("FailedRecordCount", 0))
        size = sum(_data_bytes(r.get("Data")) for r in records)
        _emit(self.region_name, "PutRecords.Success", 1, "Count", stream)
        _emit(self.region_name, "PutRecords.Latency", (time.monotonic() - started) * 1000, "Milliseconds", stream)
        _emit(self.region_name, "PutRecords.TotalRecords", len(records), "Count", stream)
        _emit(self.region_name, "PutRecords.SuccessfulRecords", len(records) - failed, "Count", stream)
        _emit(self.region_name, "PutRecords.FailedRecords", failed, "Count", stream)
        _emit(self.region_name, "PutRecords.Bytes", size, "Bytes", stream)
        _emit(self.region_name, "IncomingRecords", len(records) - failed, "Count", stream)
        _emit(self.region_name, "IncomingBytes", size, "Bytes", stream)
        return result

    return put_records


def _wrap_get_records(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_records(self: Any, stream_arn: str | None, shard_iterator: str, limit: int | None) -> Any:
        started = time.monotonic()
        result = original(self, stream_arn, shard_iterator, limit)
        _next_iterator, records, _millis_behind = result
        stream = _stream_name(stream_arn, None if stream_arn else moto_patches.stream_name_of_iterator(shard_iterator))
        size = sum(_data_bytes(r.data) for r in records)
        # AWS: the age of the last record returned by GetRecords (0 when the consumer is caught up).
        age_ms = max(0.0, (time.time() - moto_patches.kinesis_arrival_epoch(records[-1])) * 1000) if records else 0.0
        _emit(self.region_name, "GetRecords.Success", 1, "Count", stream)
        _emit(self.region_name, "GetRecords.Latency", (time.monotonic() - started) * 1000, "Milliseconds", stream)
        _emit(self.region_name, "GetRecords.Records", len(records), "Count", stream)
        _emit(self.region_name, "GetRecords.Bytes", size, "Bytes", stream)
        _emit(self.region_name, "GetRecords.IteratorAgeMilliseconds", age_ms, "Milliseconds", stream)
        _emit(self.region_name, "OutgoingRecords", len(records), "Count", stream)
        _emit(self.region_name, "OutgoingBytes", size, "Bytes", stream)
        return result

    return get_records


def install(publish: Callable[..., None] | None) -> None:
    """Wrap moto's Kinesis backend once per process; metrics go to `publish` (MetricsPublisher.add)."""
    global _publish, _moto_emits
    _publish = publish
    _moto_emits = moto_patches.kinesis_metrics_moto_publishes(_PROBE_ACCOUNT, _PROBE_REGION)
    for name, wrap in (("put_record", _wrap_put_record), ("put_records", _wrap_put_records),
                       ("get_records", _wrap_get_records)):
        moto_patches.wrap_kinesis_backend(name, wrap)

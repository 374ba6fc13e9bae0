"""DynamoDB Streams read API (DescribeStream, GetShardIterator, GetRecords) over moto's tables.

Why not moto's: its iterators never expire and pile up forever (one per
GetRecords call), an unknown shard or iterator is a 500, and it answers for
an old stream ARN with the table's current stream. Here, as on AWS:
iterators expire 15 minutes after they are issued (ExpiredIteratorException),
a malformed one is a ValidationException, a missing stream or shard is
ResourceNotFoundException, and a shard closes (no NextShardIterator once read
to its end) when its table is deleted or its stream disabled.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend

from localcloud import moto_patches
from localcloud.dynamodb.exceptions import (
    ExpiredIteratorException,
    ResourceNotFoundException,
    TrimmedDataAccessException,
    ValidationException,
)
from localcloud.moto_patches import dynamodb_stream_window
from localcloud.routing import base64_binaries, epoch_seconds

ITERATOR_LIFETIME_S = 15 * 60
GET_RECORDS_MAX = 1000
ITERATOR_TYPES = ("TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")


@dataclass
class _Iterator:
    stream_arn: str
    table: Any
    shard: Any
    next_seq: int  # sequence number of the next record to return (a position that survives trimming)
    issued: float


def _parse_stream_arn(arn: str) -> tuple[str, str, str, str]:
    """arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label> -> (region, account, table, label)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "dynamodb":
        raise ValidationException(f"Invalid StreamArn: {arn}")
    resource = parts[5].split("/")
    if len(resource) != 4 or resource[0] != "table" or resource[2] != "stream":
        raise ValidationException(f"Invalid StreamArn: {arn}")
    return parts[3], parts[4], resource[1], resource[3]


class DynamoDBStreamsBackend(BaseBackend):
    """The read side of DynamoDB Streams for one account and region: the iterators it has issued.

    The records themselves are moto's (each table's stream shard); `moto_api` reset clears
    the iterators together with the tables.
    """

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self._iterators: dict[str, _Iterator] = {}
        self._lock = threading.Lock()
        self._last_prune = time.monotonic()

    # -- lookups -------------------------------------------------------
    def _stream(self, arn: str) -> tuple[Any, Any]:
        region, account, table_name, label = _parse_stream_arn(arn)
        table = moto_patches.dynamodb_table(account, region, table_name)
        if table is None or table.latest_stream_label != label or table.stream_shard is None:
            raise ResourceNotFoundException(f"Requested resource not found: Stream: {arn} not found")
        return table, table.stream_shard

    @staticmethod
    def _closed(table: Any, shard: Any) -> bool:
        """A shard closes when its table is deleted or its stream disabled/replaced."""
        current = moto_patches.dynamodb_table(table.account_id, table.region_name, table.name)
        return current is not table or table.stream_shard is not shard

    # -- API actions ---------------------------------------------------
    def describe_stream(self, arn: str) -> dict[str, Any]:
        table, shard = self._stream(arn)
        return {
            "StreamArn": arn,
            "StreamLabel": table.latest_stream_label,
            "StreamStatus": "ENABLED",
            "StreamViewType": table.stream_specification["StreamViewType"],
            "CreationRequestDateTime": epoch_seconds(shard.created_on),
            "TableName": table.name,
            "KeySchema": table.schema,
            "Shards": [shard.to_json()],
        }

    def get_shard_iterator(self, arn: str, shard_id: str, iterator_type: str,
                           sequence_number: str | None) -> str:
        table, shard = self._stream(arn)
        if shard.id != shard_id:
            raise ResourceNotFoundException(f"Requested resource not found: Shard does not exist: {shard_id}")
        if iterator_type not in ITERATOR_TYPES:
            raise ValidationException(
                f"1 validation error detected: Value '{iterator_type}' at 'shardIteratorType' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(ITERATOR_TYPES)}]"
            )
        start, retained = dynamodb_stream_window(shard)  # records older than the retention are trimmed
        if iterator_type == "TRIM_HORIZON":
            index = 0
        elif iterator_type == "LATEST":
            index = len(retained)
        else:
            if not sequence_number or not sequence_number.isdigit():
                raise ValidationException(f"Invalid SequenceNumber for {iterator_type}: {sequence_number!r}")
            seq = int(sequence_number)
            if seq < start:
                raise TrimmedDataAccessException(
                    f"Sequence number {sequence_number} is before the oldest record of shard {shard_id}"
                )
            index = seq - start + (1 if iterator_type == "AFTER_SEQUENCE_NUMBER" else 0)
            if index > len(retained):
                raise ValidationException(
                    f"Invalid SequenceNumber {sequence_number}: no such record in shard {shard_id}"
                )
        return self._issue(_Iterator(arn, table, shard, start + index, time.monotonic()))

    def get_records(self, iterator_id: str, limit: int | None) -> dict[str, Any]:
        if limit is None:
            limit = GET_RECORDS_MAX
        if not 1 <= limit <= GET_RECORDS_MAX:
            raise ValidationException(
                f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
                f"Member must have value between 1 and {GET_RECORDS_MAX}"
            )
        with self._lock:
            it = self._iterators.get(iterator_id)
        if it is None:
            raise ValidationException("Invalid ShardIterator: it was not issued by GetShardIterator or GetRecords.")
        if time.monotonic() - it.issued > ITERATOR_LIFETIME_S:
            raise ExpiredIteratorException(
                f"Iterator expired. The iterator was created {int(time.monotonic() - it.issued)} seconds ago; "
                f"iterators are valid for {ITERATOR_LIFETIME_S} seconds."
            )
        closed = self._closed(it.table, it.shard)
        start, retained = dynamodb_stream_window(it.shard)
        index = it.next_seq - start
        if index < 0:
            raise TrimmedDataAccessException(
                f"The iterator points at sequence number {it.next_seq}, which was trimmed: it is older than "
                f"the stream's retention period."
            )
        items = retained[index : index + limit]
        records = [serialise(r.to_json()) for r in items]
        end = index + len(items)
        result: dict[str, Any] = {"Records": records}
        if not (closed and end >= len(retained)):
            result["NextShardIterator"] = self._issue(_Iterator(it.stream_arn, it.table, it.shard, start + end,
                                                                time.monotonic()))
        return result

    # -- iterators -----------------------------------------------------
    def _issue(self, iterator: _Iterator) -> str:
        token = f"{iterator.stream_arn}|1|{secrets.token_urlsafe(96)}"
        with self._lock:
            self._iterators[token] = iterator
            now = time.monotonic()
            if now - self._last_prune > 60:
                self._last_prune = now
                expired = [k for k, v in self._iterators.items() if now - v.issued > ITERATOR_LIFETIME_S]
                for k in expired:
                    del self._iterators[k]
        return token


def serialise(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record as the JSON the API sends (timestamps as epoch seconds, binaries as base64)."""
    body = dict(record.get("dynamodb", {}))
    if "ApproximateCreationDateTime" in body:
        body["ApproximateCreationDateTime"] = epoch_seconds(body["ApproximateCreationDateTime"])
    for part in ("Keys", "NewImage", "OldImage"):
        if part in body:
            body[part] = base64_binaries(body[part])
    out = dict(record)
    out["dynamodb"] = body
    return out


dynamodbstreams_backends = BackendDict(DynamoDBStreamsBackend, "dynamodbstreams")

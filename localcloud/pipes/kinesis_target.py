"""A pipe's Kinesis target: PartitionKey evaluation and ordered, retried PutRecords.

AWS's rules we keep: PartitionKey is a JSONPath evaluated on each event
(a value not starting with `$.` is a constant); PutRecords takes at most 500
records and 5 MB per call; a partial failure is retried for exactly the
rejected records. Kinesis does not keep the order of records inside one
PutRecords call, so one call carries at most one record per partition key:
a record of key K is written only after every earlier record of K was
accepted, and a rejected record makes the later records of its key wait.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from jsonpath_ng import parse as parse_jsonpath
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError

from localcloud.pipes.exceptions import RecordTransformError, TargetRejected, aws_error

log = logging.getLogger("localcloud.pipes")

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024
MAX_BYTES_PER_RECORD = 1024 * 1024
# Kinesis refuses a whole PutRecords call with one of these: the request itself is wrong (a partition
# key over 256 characters, a record over 1 MiB, no permission), so sending it again as is cannot help.
REQUEST_REFUSED = frozenset({"ValidationException", "InvalidArgumentException", "AccessDeniedException",
                             "KMSAccessDeniedException", "KMSDisabledException", "KMSInvalidStateException",
                             "KMSNotFoundException", "KMSOptInRequired"})


class PartitionKey:
    """The target's PartitionKey: a constant, or a JSONPath (`$.…`) evaluated per event."""

    def __init__(self, expression: str):
        self.expression = expression
        self._path = None
        if expression.startswith("$."):
            try:
                self._path = parse_jsonpath(expression)
            except (JsonPathLexerError, JsonPathParserError, Exception) as exc:  # jsonpath-ng raises plain Exception too
                raise RecordTransformError(f"PartitionKey {expression!r} is not a valid JSONPath: {exc}") from exc

    def evaluate(self, event: dict[str, Any]) -> str:
        if self._path is None:
            value: Any = self.expression
        else:
            matches = self._path.find(event)
            if not matches:
                raise RecordTransformError(
                    f"PartitionKey path {self.expression} matched nothing in event {event.get('eventID')}"
                )
            value = matches[0].value
            if not isinstance(value, str):
                value = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
        if not value:
            # botocore refuses an empty key before sending; say which event made it.
            raise RecordTransformError(
                f"PartitionKey {self.expression} gave an empty value for event {event.get('eventID')}"
            )
        # A key over Kinesis's 256 characters goes out as is: Kinesis refuses it, as on AWS.
        return value


@dataclass
class OutgoingRecord:
    data: bytes
    partition_key: str
    source_seq: str

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode())


class KinesisTarget:
    """Delivers a batch of pipe events to one Kinesis stream, in per-key order, retrying what failed."""

    def __init__(
        self,
        client: Any,
        stream_arn: str,
        partition_key: PartitionKey,
        pipe_name: str,
        max_backoff_s: float = 2.0,
    ):
        self.client = client
        self.stream_arn = stream_arn
        self.stream_name = stream_arn.split("/", 1)[-1]
        self.partition_key = partition_key
        self.pipe_name = pipe_name
        self.max_backoff_s = max_backoff_s
        # Test seam: replace to inject partial failures (same signature as client.put_records).
        self.put_records: Callable[..., dict[str, Any]] = client.put_records

    def prepare(self, events: list[tuple[str, dict[str, Any]]]) -> list[OutgoingRecord]:
        """(source sequence number, event) pairs -> records; raises RecordTransformError for a bad one."""
        records = []
        for seq, event in events:
            data = json.dumps(event, separators=(",", ":")).encode()
            record = OutgoingRecord(data, self.partition_key.evaluate(event), seq)
            if record.size > MAX_BYTES_PER_RECORD:
                raise RecordTransformError(
                    f"event {event.get('eventID')} is {record.size} bytes; a Kinesis record holds at most 1 MiB"
                )
            records.append(record)
        return records

    def deliver(
        self,
        records: list[OutgoingRecord],
        stopping: Callable[[], bool],
        on_error: Callable[[str | None], None],
        sleep: Callable[[float], bool],
    ) -> bool:
        """Write every record; True once all are accepted, False if asked to stop first.

        `sleep(seconds)` waits and returns True when the worker is being stopped. Throttling,
        a missing stream or an unreachable endpoint are retried here, indefinitely, as AWS retries
        its internal and availability errors; a call Kinesis refuses outright raises TargetRejected
        (nothing of that call was written) for the caller to count, bisect and dead-letter.
        """
        pending = list(records)
        accepted_seqs: set[str] = set()
        backoff = 0.1
        while pending:
            if stopping():
                return False
            call = _next_call(pending)
            try:
                response = self.put_records(
                    StreamARN=self.stream_arn,
                    Records=[{"Data": r.data, "PartitionKey": r.partition_key} for r in call],
                )
            except (ClientError, BotoCoreError) as exc:
                reason = describe_target_error(exc, self.stream_name)
                if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in REQUEST_REFUSED:
                    raise TargetRejected(reason, frozenset(accepted_seqs)) from exc
                on_error(reason)
                log.warning("pipe %s: PutRecords to %s failed: %s", self.pipe_name, self.stream_name, reason)
                if sleep(backoff):
                    return False
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            results = response.get("Records", [])
            rejected = {id(r) for r, res in zip(call, results) if res.get("ErrorCode")}
            if len(results) != len(call):  # a malformed answer: trust nothing in it
                rejected = {id(r) for r in call}
            accepted = [r for r in call if id(r) not in rejected]
            done = {id(r) for r in accepted}
            accepted_seqs.update(r.source_seq for r in accepted)
            pending = [r for r in pending if id(r) not in done]
            if rejected:
                codes = sorted({res.get("ErrorCode") for res in results if res.get("ErrorCode")})
                reason = (f"Kinesis rejected {len(rejected)} of {len(call)} records "
                          f"({', '.join(str(c) for c in codes)}); retrying them in order")
                on_error(reason)
                log.warning("pipe %s: %s", self.pipe_name, reason)
                if sleep(backoff):
                    return False
                backoff = min(backoff * 2, self.max_backoff_s)
            else:
                backoff = 0.1
        on_error(None)
        return True


def _next_call(pending: list[OutgoingRecord]) -> list[OutgoingRecord]:
    """The next PutRecords call: pending records in order, at most one per key, within AWS's limits."""
    call: list[OutgoingRecord] = []
    keys: set[str] = set()
    size = 0
    for record in pending:
        if record.partition_key in keys:
            continue
        keys.add(record.partition_key)  # even if it does not fit: later records of this key must wait
        if len(call) >= MAX_RECORDS_PER_CALL or size + record.size > MAX_BYTES_PER_CALL:
            continue
        call.append(record)
        size += record.size
    return call


def describe_target_error(exc: Exception, stream_name: str) -> str:
    if (error := aws_error(exc)) is not None:
        code, message = error
        if code == "ResourceNotFoundException":
            return f"Target stream not found: {stream_name} ({message})"
        if code in ("ProvisionedThroughputExceededException", "ThrottlingException", "LimitExceededException"):
            return f"Target stream {stream_name} is throttling writes ({code})"
        return f"Target stream {stream_name} rejected PutRecords: {code}: {message}"
    return f"Target stream {stream_name} is unreachable: {exc}"


__all__ = ["KinesisTarget", "PartitionKey", "OutgoingRecord"]

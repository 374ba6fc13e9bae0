"""A pipe's dead-letter queue: what EventBridge Pipes sends to SQS for records it gave up on.

For a stream source (DynamoDB, Kinesis) Pipes does not put the records themselves in the queue,
only where they are: one message per failed batch, naming the shard, the first and last sequence
numbers and the stream, so the records can be read back from the stream while it retains them
(24 h for DynamoDB Streams). The shape, as AWS delivers it for a DynamoDB stream source (AWS's
Pipes docs show none; observed messages and the Lambda event-source-mapping on-failure record,
which Pipes shares, agree on the DDBStreamBatchInfo block):

    {"context": {"partnerResourceArn": "arn:aws:pipes:...:pipe/NAME",
                 "condition": "RetryAttemptsExhausted"},
     "version": "1.0", "timestamp": "2024-03-08T00:00:00.000Z",
     "DDBStreamBatchInfo": {"shardId": "...", "startSequenceNumber": "...", "endSequenceNumber": "...",
                            "approximateArrivalOfFirstRecord": "2024-03-08T00:00:00Z",
                            "approximateArrivalOfLastRecord": "2024-03-08T00:00:00Z",
                            "batchSize": 1, "streamArn": "arn:aws:dynamodb:...:table/T/stream/..."}}

`condition` is RetryAttemptsExhausted after MaximumRetryAttempts, MaximumRecordAgeExceeded for a
record older than MaximumRecordAgeInSeconds.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from localcloud.pipes.events import epoch_seconds
from localcloud.pipes.exceptions import DeadLetterUnavailable

RETRIES_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_TOO_OLD = "MaximumRecordAgeExceeded"


def _iso(seconds: float, millis: bool = False) -> str:
    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def dead_letter_message(pipe_arn: str, stream_arn: str, shard_id: str, records: list[dict[str, Any]],
                        condition: str, now: float) -> dict[str, Any]:
    """The message for one run of consecutive records of one shard (as GetRecords returned them)."""
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]

    def arrival(body: dict[str, Any]) -> str | None:
        value = body.get("ApproximateCreationDateTime")
        return None if value is None else _iso(float(epoch_seconds(value)))

    return {
        "context": {"partnerResourceArn": pipe_arn, "condition": condition},
        "version": "1.0",
        "timestamp": _iso(now, millis=True),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": arrival(first),
            "approximateArrivalOfLastRecord": arrival(last),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


class DeadLetterQueue:
    """The SQS queue of a pipe's DeadLetterConfig, written over HTTP through the service plane."""

    def __init__(self, client: Any, queue_arn: str):
        self.client = client
        self.arn = queue_arn
        parts = queue_arn.split(":")
        if len(parts) != 6 or parts[2] != "sqs":
            raise DeadLetterUnavailable(f"DeadLetterConfig Arn {queue_arn!r} is not an SQS queue ARN")
        self.account_id, self.name = parts[4], parts[5]
        self._url: str | None = None

    def send(self, message: dict[str, Any]) -> None:
        """Send one message; DeadLetterUnavailable if SQS does not take it (the caller retries)."""
        try:
            if self._url is None:
                self._url = self.client.get_queue_url(QueueName=self.name,
                                                      QueueOwnerAWSAccountId=self.account_id)["QueueUrl"]
            self.client.send_message(QueueUrl=self._url, MessageBody=json.dumps(message))
        except (ClientError, BotoCoreError) as exc:
            self._url = None  # the queue may have been re-created: look it up again next time
            raise DeadLetterUnavailable(f"Dead-letter queue {self.arn} did not take the message: {exc}") from exc


__all__ = ["DeadLetterQueue", "dead_letter_message", "RETRIES_EXHAUSTED", "RECORD_TOO_OLD"]

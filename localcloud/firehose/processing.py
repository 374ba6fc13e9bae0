"""The processor Lambda contract: Firehose's event, the response check, AWS's error records.

Event and response follow AWS's documented data-transformation model: every input recordId
must come back exactly once with result Ok / Dropped / ProcessingFailed and base64 data;
anything else fails the whole invocation (Firehose then retries it).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from typing import Any

from localcloud.firehose.exceptions import InvocationFailed

RESULTS = ("Ok", "Dropped", "ProcessingFailed")

# Error codes and messages Firehose reports for processor failures.
FUNCTION_ERROR = ("Lambda.FunctionError",
                  "The Lambda function was successfully invoked but it returned an error result.")
JSON_ERROR = ("Lambda.JsonProcessingException",
              "There was an error parsing returned records from the Lambda function. Ensure that the returned "
              "records follow the status model required by Kinesis Data Firehose.")
MISSING_ID = ("Lambda.MissingRecordId",
              "One or more record IDs were not returned. Ensure that the Lambda function returns all received "
              "record IDs.")
DUPLICATE_ID = ("Lambda.DuplicatedRecordId",
                "Multiple records were returned with the same record ID. Ensure that the Lambda function returns "
                "unique record IDs for each record.")
NOT_FOUND = ("Lambda.ResourceNotFound", "The Lambda function was not found.")
# For a record the function returned with result ProcessingFailed. AWS's docs list no codes for
# error lines; this is what Firehose writes (observed, and independent emulators agree).
PROCESSING_FAILED = ("Lambda.ProcessingFailedStatus", "ProcessingFailed status set for record")


@dataclass
class SourceRecord:
    """One Kinesis record as Firehose buffers it."""

    record_id: str
    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes
    arrival_ms: int  # Kinesis ApproximateArrivalTimestamp, epoch ms

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Outcome:
    """What happened to one record after processing."""

    record: SourceRecord
    result: str  # Ok | Dropped | ProcessingFailed
    data: bytes = b""
    error_code: str = ""
    error_message: str = ""
    attempts: int = 1


def record_id(shard_id: str, sequence_number: str) -> str:
    """Deterministic and unique per delivery stream: the same record keeps its id across retries."""
    shard_num = shard_id.rsplit("-", 1)[-1]
    return f"{sequence_number.zfill(56)}{shard_num.zfill(12)}000000"


def build_event(records: list[SourceRecord], delivery_stream_arn: str, source_stream_arn: str,
                region: str) -> dict[str, Any]:
    return {
        "invocationId": str(uuid.uuid4()),
        "deliveryStreamArn": delivery_stream_arn,
        "sourceKinesisStreamArn": source_stream_arn,
        "region": region,
        "records": [
            {
                "recordId": r.record_id,
                "approximateArrivalTimestamp": r.arrival_ms,
                "data": base64.b64encode(r.data).decode("ascii"),
                "kinesisRecordMetadata": {
                    "shardId": r.shard_id,
                    "partitionKey": r.partition_key,
                    "approximateArrivalTimestamp": r.arrival_ms,
                    "sequenceNumber": r.sequence_number,
                    "subsequenceNumber": 0,
                },
            }
            for r in records
        ],
    }


def parse_response(payload: bytes, records: list[SourceRecord], attempts: int) -> list[Outcome]:
    """Check the Lambda's answer; raise InvocationFailed when it breaks the status model."""
    try:
        body = json.loads(payload)
        returned = body["records"]
        if not isinstance(returned, list):
            raise TypeError("records is not a list")
    except (ValueError, KeyError, TypeError):
        raise InvocationFailed(*JSON_ERROR) from None
    by_id = {r.record_id: r for r in records}
    outcomes: dict[str, Outcome] = {}
    for item in returned:
        if not isinstance(item, dict):
            raise InvocationFailed(*JSON_ERROR)
        rid = item.get("recordId")
        if rid in outcomes:
            raise InvocationFailed(*DUPLICATE_ID)
        if rid not in by_id:
            raise InvocationFailed(*MISSING_ID)
        result = item.get("result")
        if result not in RESULTS:
            raise InvocationFailed(*JSON_ERROR)
        data = b""
        if result == "Ok":
            raw = item.get("data")
            if not isinstance(raw, str):
                raise InvocationFailed(*JSON_ERROR)
            try:
                data = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise InvocationFailed(*JSON_ERROR) from None
        outcome = Outcome(by_id[rid], result, data, attempts=attempts)
        if result == "ProcessingFailed":
            outcome.error_code, outcome.error_message = PROCESSING_FAILED
        outcomes[rid] = outcome
    if len(outcomes) != len(records):
        raise InvocationFailed(*MISSING_ID)
    return [outcomes[r.record_id] for r in records]


def error_line(outcome: Outcome, lambda_arn: str, attempt_ending_ms: int) -> bytes:
    """One processing-failed record in AWS's documented JSON shape, newline-terminated.

    Field names exactly as https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html
    lists them: attemptsMade, arrivalTimestamp, errorCode, errorMessage, attemptEndingTimestamp,
    rawData, lambdaArn.
    """
    doc = {
        "attemptsMade": outcome.attempts,
        "arrivalTimestamp": outcome.record.arrival_ms,
        "errorCode": outcome.error_code,
        "errorMessage": outcome.error_message,
        "attemptEndingTimestamp": attempt_ending_ms,
        "rawData": base64.b64encode(outcome.record.data).decode("ascii"),
        "lambdaArn": lambda_arn,
    }
    return (json.dumps(doc) + "\n").encode("utf-8")

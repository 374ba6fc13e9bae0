"""Turn a DynamoDB Streams GetRecords record into the event EventBridge Pipes sends to its target.

The shape is the one Pipes (and Lambda) deliver for a DynamoDB stream source:
the stream record's fields plus `eventSourceARN` (the stream ARN), with
`dynamodb.ApproximateCreationDateTime` as epoch seconds, e.g.

    {"eventID": "...", "eventName": "INSERT", "eventVersion": "1.1",
     "eventSource": "aws:dynamodb", "awsRegion": "ap-south-1",
     "dynamodb": {"ApproximateCreationDateTime": 1672592664, "Keys": {...},
                  "NewImage": {...}, "SequenceNumber": "...", "SizeBytes": 59,
                  "StreamViewType": "NEW_AND_OLD_IMAGES"},
     "eventSourceARN": "arn:aws:dynamodb:...:table/T/stream/2024-..."}
"""

from __future__ import annotations

from typing import Any

from localcloud.routing import base64_binaries, epoch_seconds

_DYNAMODB_FIELDS = ("ApproximateCreationDateTime", "Keys", "NewImage", "OldImage", "SequenceNumber",
                    "SizeBytes", "StreamViewType")


def to_pipe_event(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """One Pipes event for one stream record (as boto3's dynamodbstreams.get_records returns it)."""
    body = record.get("dynamodb", {})
    dynamodb: dict[str, Any] = {}
    for field in _DYNAMODB_FIELDS:
        if field in body:
            dynamodb[field] = body[field]
    for image in ("Keys", "NewImage", "OldImage"):
        if image in dynamodb:
            # boto3 decoded Binary values to bytes; the event is JSON, where Pipes sends them base64-encoded.
            dynamodb[image] = base64_binaries(dynamodb[image])
    if "ApproximateCreationDateTime" in dynamodb:
        dynamodb["ApproximateCreationDateTime"] = epoch_seconds(dynamodb["ApproximateCreationDateTime"])
    event: dict[str, Any] = {
        "eventID": record.get("eventID"),
        "eventName": record.get("eventName"),
        "eventVersion": record.get("eventVersion"),
        "eventSource": record.get("eventSource", "aws:dynamodb"),
        "awsRegion": record.get("awsRegion"),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # present for deletions made by TTL
        event["userIdentity"] = record["userIdentity"]
    return event

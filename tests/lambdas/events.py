"""Builders for the events the transform receives, shaped like AWS's documented examples.

Firehose data-transformation event (Firehose developer guide): invocationId,
deliveryStreamArn, sourceKinesisStreamArn, region, records[] with recordId,
approximateArrivalTimestamp (epoch ms), data (base64), kinesisRecordMetadata.
Each record's data is a DynamoDB stream record as EventBridge Pipes delivers it
(EventBridge user guide, "Amazon DynamoDB stream as a source"): eventID, eventVersion,
eventName, eventSource, eventSourceARN, awsRegion, dynamodb{Keys, NewImage, OldImage,
SequenceNumber, SizeBytes, StreamViewType, ApproximateCreationDateTime (epoch s)}.
"""

from __future__ import annotations

import base64
import json
from typing import Any

TABLE_STREAM_ARN = "arn:aws:dynamodb:ap-south-1:123456789012:table/OrdersRawTable/stream/2024-06-11T10:00:00.000"
ARRIVAL_MS = 1718100000123  # 2024-06-11 10:00:00.123 UTC


def item(orderid: str = "42", **attrs: Any) -> dict[str, Any]:
    """A typed image: orderid plus the given attributes (already typed)."""
    return {"orderid": {"S": orderid}, **attrs}


def order_image(orderid: str = "42", product: str = "Laptop", quantity: str = "3", price: str = "193.72",
                updated_at: str | None = "2024-06-11T09:59:59.500Z") -> dict[str, Any]:
    image = item(orderid, product_name={"S": product}, quantity={"N": quantity}, price={"N": price})
    if updated_at is not None:
        image["updated_at"] = {"S": updated_at}
    return image


def stream_record(event_name: str = "INSERT", *, orderid: str = "42", new: dict | None = None,
                  old: dict | None = None, view: str = "NEW_AND_OLD_IMAGES", seq: str = "111000000000000000001",
                  event_id: str = "c81e728d9d4c2f636f067f89cc14862c", created: Any = 1718099999.25) -> dict:
    dynamodb: dict[str, Any] = {
        "Keys": {"orderid": {"S": orderid}},
        "SequenceNumber": seq,
        "SizeBytes": 59,
        "StreamViewType": view,
    }
    if created is not None:
        dynamodb["ApproximateCreationDateTime"] = created
    if new is not None:
        dynamodb["NewImage"] = new
    if old is not None:
        dynamodb["OldImage"] = old
    return {
        "eventID": event_id,
        "eventVersion": "1.1",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "eventSourceARN": TABLE_STREAM_ARN,
        "awsRegion": "ap-south-1",
        "dynamodb": dynamodb,
    }


def b64(payload: Any) -> str:
    raw = payload if isinstance(payload, bytes) else (payload if isinstance(payload, str) else json.dumps(payload)).encode()
    return base64.b64encode(raw).decode()


def firehose_record(data: str, record_id: str = "49546986683135544286507457936321625675700192471156785154000000",
                    arrival_ms: int | None = ARRIVAL_MS) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "recordId": record_id,
        "data": data,
        "kinesisRecordMetadata": {
            "shardId": "shardId-000000000000",
            "partitionKey": "42",
            "approximateArrivalTimestamp": arrival_ms,
            "sequenceNumber": "49546986683135544286507457936321625675700192471156785154",
            "subsequenceNumber": 0,
        },
    }
    if arrival_ms is not None:
        rec["approximateArrivalTimestamp"] = arrival_ms
    return rec


def firehose_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "invocationId": "invocationIdExample",
        "deliveryStreamArn": "arn:aws:firehose:ap-south-1:123456789012:deliverystream/kinesis-to-s3-nrt-batch",
        "sourceKinesisStreamArn": "arn:aws:kinesis:ap-south-1:123456789012:stream/kinesisfor-sales-data",
        "region": "ap-south-1",
        "records": records,
    }

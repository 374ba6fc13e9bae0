"""The whole pipeline provisioned on a local cloud, and the change records it delivered to the lake.

End-to-end tests provision the app's stack exactly as the panel does (no Firehose buffering, short
polls) and read back what reached S3; this is that set-up and that read, once.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from salescdc.clients import ClientFactory
from salescdc.settings import Settings


def provisioned(endpoint_url: str) -> tuple[Settings, ClientFactory]:
    """Provision the pipeline on the local cloud at `endpoint_url` with Firehose delivering every record at once."""
    from salescdc.infra import ApplyOptions, provision

    settings = Settings(endpoint_url=endpoint_url, buffer_interval_s=0, buffer_size_mb=1)
    factory = ClientFactory(settings)
    provision(settings, factory, options=ApplyOptions(poll_interval_s=0.1, timeout_s=120, role_propagation_s=5))
    return settings, factory


def lake_lines(factory: ClientFactory, **json_options: Any) -> list[dict[str, Any]]:
    """Every JSON line Firehose wrote under the bucket's orders/ prefix; `json_options` go to json.loads."""
    return [json.loads(line, **json_options)
            for body in lake_objects(factory).values() for line in body.splitlines() if line.strip()]


def lake_objects(factory: ClientFactory) -> dict[str, bytes]:
    """Every object Firehose wrote under the bucket's orders/ prefix, by key."""
    s3, bucket = factory.client("s3"), factory.bucket_name()
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="orders/"):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return out


def stream_event_ids(settings: Settings, factory: ClientFactory) -> set[str]:
    """Every change DynamoDB Streams recorded: the number of events the lake must hold."""
    ddb, streams = factory.client("dynamodb"), factory.client("dynamodbstreams")
    arn = ddb.describe_table(TableName=settings.table_name)["Table"]["LatestStreamArn"]
    ids: set[str] = set()
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            ids.update(r["eventID"] for r in page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return ids


def all_events_in_lake(settings: Settings, factory: ClientFactory, extra: dict[str, bytes] | None = None) -> None:
    """Wait until every change the stream recorded is in the lake (or in `extra`, objects held back by the test)."""
    from tests.support.waiting import eventually

    events = stream_event_ids(settings, factory)
    held_back = list((extra or {}).values())

    def ids() -> set[str]:
        bodies = list(lake_objects(factory).values()) + held_back
        return {json.loads(line)["event_id"] for body in bodies for line in body.splitlines() if line.strip()}

    eventually(lambda: ids() >= events, f"all {len(events)} events in the lake", timeout=120, interval=0.5)


# An order as the oracles compare it: product, quantity, exact price.
Row = tuple[str, int, Decimal]


def dynamodb_rows(settings: Settings, factory: ClientFactory) -> dict[str, Row]:
    """The oracle: a scan of the orders table."""
    return {
        item["orderid"]: (item["product_name"], int(item["quantity"]), Decimal(str(item["price"])))
        for page in factory.client("dynamodb").get_paginator("scan").paginate(TableName=settings.table_name)
        for item in [{k: list(v.values())[0] for k, v in raw.items()} for raw in page["Items"]]
    }


def relation_rows(analytics: Any, relation: str) -> dict[str, Row]:
    """`relation` (a table, view or parenthesised query) read through Athena, one row per order."""
    frame = analytics.run(
        f"SELECT orderid, product_name, quantity, CAST(price AS varchar) AS price FROM {relation}"
    ).frame
    rows = {r.orderid: (r.product_name, int(r.quantity), Decimal(r.price)) for r in frame.itertuples()}
    assert len(rows) == len(frame), f"one row per order in {relation}"
    return rows

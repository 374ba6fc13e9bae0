"""The heart of the product: the lake reconstructs exactly the current table.

A seeded generator run of inserts, updates and deletes goes through the whole
local pipeline (Streams -> Pipe -> Kinesis -> Firehose + Lambda -> S3); then
every lake object is delivered a second time (Firehose is at-least-once) and
`orders_current`, read through Athena with pyathena, must equal a scan of the
DynamoDB table — the oracle — row for row, with exact decimals.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

from salescdc.clients import ClientFactory
from salescdc.generator import GeneratorOptions, OrderGenerator
from salescdc.settings import Settings
from tests.support.pipeline import lake_objects, stream_event_ids
from tests.support.waiting import eventually


def _athena(settings: Settings, factory: ClientFactory) -> Any:
    import pyathena

    return pyathena.connect(
        s3_staging_dir=f"s3://{factory.bucket_name()}/athena-results/",
        region_name=settings.region,
        work_group=settings.athena_workgroup,
        schema_name=settings.glue_database,
        endpoint_url=settings.endpoint_url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        poll_interval=0.05,
    )


def test_orders_current_equals_the_table_after_a_seeded_mixed_run_with_redelivery(
    provisioned_pipeline: tuple[Settings, ClientFactory],
) -> None:
    from pyathena.pandas.cursor import PandasCursor

    settings, factory = provisioned_pipeline
    options = GeneratorOptions(rate_per_s=150, count=240, update_share=0.35, delete_share=0.15, seed=20261127)
    stats = OrderGenerator(settings, factory, options).run(threading.Event())
    assert stats.written == 240 and stats.updates > 40 and stats.deletes > 15

    # Rapid successive changes of one order: ordering within a key must survive the pipeline.
    table = factory.resource("dynamodb").Table(settings.table_name)
    for quantity in range(1, 6):
        table.put_item(Item={"orderid": "hot", "product_name": "Phone", "quantity": quantity,
                             "price": Decimal("193.72")})

    events = stream_event_ids(settings, factory)
    def lake_lines() -> list[dict[str, Any]]:
        return [json.loads(l) for body in lake_objects(factory).values() for l in body.splitlines() if l.strip()]

    eventually(lambda: {line["event_id"] for line in lake_lines()} >= events, f"all {len(events)} events in the lake",
               timeout=120, interval=0.5, context=lambda: f"the lake has {len(lake_lines())} lines")
    lines = lake_lines()
    assert {line["event_id"] for line in lines} == events, "the lake holds exactly the stream's events"

    # Firehose delivers at least once: deliver every object again under a new name.
    s3, bucket = factory.client("s3"), factory.bucket_name()
    for key, body in lake_objects(factory).items():
        s3.put_object(Bucket=bucket, Key=key + "-redelivered", Body=body)

    oracle = {
        item["orderid"]: (item["product_name"], int(item["quantity"]), Decimal(str(item["price"])))
        for page in factory.client("dynamodb").get_paginator("scan").paginate(TableName=settings.table_name)
        for item in [{k: list(v.values())[0] for k, v in raw.items()} for raw in page["Items"]]
    }
    assert oracle["hot"] == ("Phone", 5, Decimal("193.72"))

    conn = _athena(settings, factory)
    with conn.cursor(PandasCursor) as cursor:
        df = cursor.execute(
            "SELECT orderid, product_name, quantity, CAST(price AS varchar) AS price FROM orders_current"
        ).as_pandas()
    lake = {r.orderid: (r.product_name, int(r.quantity), Decimal(r.price)) for r in df.itertuples()}
    assert len(df) == len(lake), "one row per live order"
    assert lake == oracle

    with conn.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT event_id) FROM order_changes")
        total, distinct = cursor.fetchone()
    assert (total, distinct) == (2 * len(events), len(events))

"""The Iceberg table `cdc_data.orders` is exactly the DynamoDB table, whatever order the lake delivers changes in.

A seeded insert/update/delete workload goes through the whole local pipeline
(Streams -> Pipe -> Kinesis -> Firehose + Lambda -> S3). Then the lake misbehaves
as AWS allows: a random half of its objects is held back while the other half is
merged (newer changes before older ones), the held objects arrive late under new
names, every object is delivered twice, and more changes happen between merges.
After each `merge_now` — run more than once, it is idempotent — `SELECT * FROM
cdc_data.orders` must equal a DynamoDB scan row for row with exact decimals, and
at every step the merge-on-read query must give exactly `orders_current`'s answer.
"""

from __future__ import annotations

import json
import random
import threading
from decimal import Decimal
from typing import Any

from salescdc.analytics import Analytics, live_sales_queries, sales_queries
from salescdc.clients import ClientFactory
from salescdc.current_state import (
    absorbed_until,
    current_state_select_sql,
    dt_literal,
    merge_now,
    since_day,
    watermark_sql,
)
from salescdc.generator import GeneratorOptions, OrderGenerator
from salescdc.settings import Settings
from tests.support.pipeline import Row, all_events_in_lake, dynamodb_rows, lake_objects, relation_rows

# A day inside the lake table's partition projection range (2024-01-01 on), long before any merge.
OLD_PARTITION = "orders/dt=2024-06-01/"


def _merge_on_read(analytics: Analytics) -> dict[str, Row]:
    since = since_day(absorbed_until(analytics))
    return relation_rows(analytics, f"({current_state_select_sql(analytics.settings, dt_literal(since))}) AS current_state")


CURRENT_STATE_QUERIES = ("kpis", "by_product", "top_orders", "price_distribution")


def _assert_sales_reads_the_same_both_ways(analytics: Analytics) -> None:
    """Every Sales query over live orders answers the same via merge on read as via orders_current."""
    settings = analytics.settings
    watermark = analytics.run(watermark_sql(settings))
    live, reference = live_sales_queries(settings, watermark), sales_queries(settings)
    for name in CURRENT_STATE_QUERIES:
        assert "orders_current" not in live[name].sql and '"orders"' in live[name].sql
        got, want = analytics.run(live[name].sql).frame, analytics.run(reference[name].sql).frame
        assert not want.empty, name
        assert got.to_dict("records") == want.to_dict("records"), name


def _workload(settings: Settings, factory: ClientFactory, seed: int, count: int) -> None:
    options = GeneratorOptions(rate_per_s=150, count=count, update_share=0.35, delete_share=0.2, seed=seed)
    stats = OrderGenerator(settings, factory, options).run(threading.Event())
    assert stats.written == count and stats.updates > 0 and stats.deletes > 0


def _lines(bodies: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for body in bodies for line in body.splitlines() if line.strip()]


def _touch_merged_orders(settings: Settings, factory: ClientFactory, orders: dict[str, Row], seed: int) -> None:
    """Updates, deletes and a re-insert of orders the table already holds: MERGE's MATCHED clauses."""
    table = factory.resource("dynamodb").Table(settings.table_name)
    chosen = random.Random(seed).sample(sorted(orders), k=12)
    for orderid in chosen[:6]:
        product, quantity, price = orders[orderid]
        table.put_item(Item={"orderid": orderid, "product_name": product, "quantity": quantity + 7,
                             "price": price + Decimal("0.01")})
    for orderid in chosen[6:]:
        table.delete_item(Key={"orderid": orderid})
    table.put_item(Item={"orderid": chosen[-1], "product_name": "Phone", "quantity": 1, "price": Decimal("0.10")})


def test_orders_equals_dynamodb_under_held_back_late_duplicated_and_interleaved_deliveries(
    pipeline_merged_by_test: tuple[Settings, ClientFactory],
) -> None:
    settings, factory = pipeline_merged_by_test
    analytics = Analytics(settings, factory)
    s3, bucket = factory.client("s3"), factory.bucket_name()
    shuffle = random.Random(20261129)

    # 1. A first workload; a random half of its objects is held back, the rest is merged.
    _workload(settings, factory, seed=1301, count=200)
    all_events_in_lake(settings, factory, {})
    objects = lake_objects(factory)
    held = dict(shuffle.sample(sorted(objects.items()), k=len(objects) // 2))
    assert held and len(held) < len(objects)
    for key in held:
        s3.delete_object(Bucket=bucket, Key=key)
    assert _merge_on_read(analytics) == relation_rows(analytics, "orders_current")
    merge_now(analytics)
    merged = relation_rows(analytics, "cdc_data.orders")
    assert merged and merged == relation_rows(analytics, "orders_current")

    # What was merged becomes old history: an earlier dt partition, which later merges no longer read,
    # so only tombstones stop a late, older change from resurrecting an order deleted there.
    absorbed = lake_objects(factory)
    for key, body in absorbed.items():
        s3.put_object(Bucket=bucket, Key=OLD_PARTITION + key.rsplit("/", 1)[1], Body=body)
        s3.delete_object(Bucket=bucket, Key=key)
    deleted_then = {line["orderid"] for line in _lines(absorbed.values()) if line["is_deleted"]}
    late_upserts = {line["orderid"] for line in _lines(held.values()) if not line["is_deleted"]}
    assert deleted_then & late_upserts, "the workload must hold a delete merged before a late older upsert"

    # 2. More changes (new orders, and updates/deletes/a re-insert of merged ones), then the held objects
    #    arrive late under new names, and every object of today is delivered a second time.
    _workload(settings, factory, seed=1302, count=150)
    _touch_merged_orders(settings, factory, merged, seed=1303)
    all_events_in_lake(settings, factory, held)
    for key, body in held.items():
        s3.put_object(Bucket=bucket, Key=key + "-late", Body=body)
    today = [item for item in lake_objects(factory).items() if not item[0].startswith(OLD_PARTITION)]
    for key, body in shuffle.sample(today, k=len(today)):
        s3.put_object(Bucket=bucket, Key=key + "-redelivered", Body=body)
    oracle = dynamodb_rows(settings, factory)
    assert relation_rows(analytics, "orders_current") == oracle
    # Before the merge the table is stale; merge on read is already exact.
    assert relation_rows(analytics, "cdc_data.orders") != oracle
    assert _merge_on_read(analytics) == oracle
    _assert_sales_reads_the_same_both_ways(analytics)

    run = merge_now(analytics)
    assert run.since is not None and OLD_PARTITION < f"orders/dt={run.since.isoformat()}/"
    assert relation_rows(analytics, "cdc_data.orders") == oracle
    merge_now(analytics)  # idempotent: nothing changes
    assert relation_rows(analytics, "cdc_data.orders") == oracle
    assert _merge_on_read(analytics) == oracle
    _assert_sales_reads_the_same_both_ways(analytics)

    # 3. Changes after the merge: the table lags, merge on read does not, the next merge catches up.
    _touch_merged_orders(settings, factory, oracle, seed=1304)
    all_events_in_lake(settings, factory, held)
    oracle = dynamodb_rows(settings, factory)
    assert relation_rows(analytics, "cdc_data.orders") != oracle
    assert _merge_on_read(analytics) == oracle
    merge_now(analytics)
    assert relation_rows(analytics, "cdc_data.orders") == oracle

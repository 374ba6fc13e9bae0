"""Time travel: the live orders as of a past moment are exactly the DynamoDB table as it was then.

The Iceberg tables are read `FOR TIMESTAMP AS OF` that moment and merged on read
with the change records that had arrived by then, so later merges and later
changes (even ones not merged yet) do not show.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from salescdc.analytics import Analytics, live_sales_queries
from salescdc.clients import ClientFactory
from salescdc.current_state import current_state_relation, merge_now, watermark_from, watermark_sql
from salescdc.generator import GeneratorOptions, OrderGenerator
from salescdc.settings import Settings
from tests.support.pipeline import all_events_in_lake, dynamodb_rows, relation_rows


def _as_of(analytics: Analytics, moment: dt.datetime) -> dict:
    watermark = watermark_from(analytics.run(watermark_sql(analytics.settings, moment)).frame)
    return relation_rows(analytics, current_state_relation(analytics.settings, watermark, moment))


def test_live_orders_as_of_a_past_moment(pipeline_merged_by_test: tuple[Settings, ClientFactory]) -> None:
    settings, factory = pipeline_merged_by_test
    analytics = Analytics(settings, factory)
    OrderGenerator(settings, factory, GeneratorOptions(rate_per_s=150, count=100, update_share=0.3,
                                                       delete_share=0.15, seed=41)).run(threading.Event())
    all_events_in_lake(settings, factory, {})
    merge_now(analytics)
    then = dynamodb_rows(settings, factory)
    time.sleep(0.05)
    moment = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.05)

    # Later: more changes, one merge, and changes that are not merged at all.
    OrderGenerator(settings, factory, GeneratorOptions(rate_per_s=150, count=80, update_share=0.3,
                                                       delete_share=0.15, seed=42)).run(threading.Event())
    all_events_in_lake(settings, factory, {})
    merge_now(analytics)
    OrderGenerator(settings, factory, GeneratorOptions(rate_per_s=150, count=40, update_share=0.3,
                                                       delete_share=0.15, seed=43)).run(threading.Event())
    all_events_in_lake(settings, factory, {})
    now = dynamodb_rows(settings, factory)
    assert now != then

    assert _as_of(analytics, moment) == then
    assert _merge_on_read_now(analytics) == now
    # The Sales KPIs as of that moment are the reference's KPIs over the same rows.
    watermark = analytics.run(watermark_sql(settings, moment))
    kpis = analytics.run(live_sales_queries(settings, watermark, moment)["kpis"].sql).frame
    assert int(kpis["live_orders"].iloc[0]) == len(then)
    revenue = sum(quantity * price for _, quantity, price in then.values())
    assert kpis["revenue"].iloc[0] == float(revenue)


def _merge_on_read_now(analytics: Analytics) -> dict:
    watermark = watermark_from(analytics.run(watermark_sql(analytics.settings)).frame)
    return relation_rows(analytics, current_state_relation(analytics.settings, watermark))

"""The Sales queries, the pyathena runner and the order journey against a real provisioned local cloud.

Lake lines are written straight to S3 (the contract's shape), so every expected
number is known exactly; nothing is written to DynamoDB, so the pipeline adds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from salescdc import journey as journeys
from salescdc.analytics import (Analytics, PollBackoff, QueryError, QueryResult, dataframe_to_csv, order_events_sql,
                                sales_queries)
from salescdc.clients import ClientFactory
from salescdc.contract import format_timestamp
from salescdc.current_state import merge_now
from salescdc.infra import ApplyOptions, provision
from salescdc.settings import Settings
from tests.support.schedules import remove_schedules

NOW = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) - dt.timedelta(minutes=2)
SEQ = iter(range(10**20, 10**21))


def line(orderid, op, quantity, price, minute=0, event_id=None, product="Phone", deleted=False):
    at = NOW + dt.timedelta(minutes=minute)
    return {
        "orderid": orderid, "product_name": product, "quantity": quantity, "price": Decimal(price),
        "updated_at": format_timestamp(at), "op": op, "is_deleted": deleted,
        "event_id": event_id or f"e-{orderid}-{op}-{minute}", "sequence_number": str(next(SEQ)),
        "event_time": format_timestamp(at), "arrival_time": format_timestamp(at + dt.timedelta(milliseconds=300)),
        "extra": "{}",
    }


LINES = [
    line("1", "INSERT", 2, "10.00", 0, product="Phone"),
    line("1", "MODIFY", 3, "10.00", 1, product="Phone"),  # latest state of order 1: 3 x 10.00
    line("2", "INSERT", 1, "499.99", 0, product="Laptop"),
    line("2", "INSERT", 1, "499.99", 0, product="Laptop"),  # a duplicate delivery (same event_id)
    line("3", "INSERT", 5, "20.50", 0, product="Tablet"),
    line("3", "REMOVE", 5, "20.50", 1, product="Tablet", deleted=True),  # deleted: not live
    line("4", "INSERT", 4, "12.25", 1, product="Phone"),
]


@pytest.fixture(scope="module")
def lake(cloud):
    settings = Settings(endpoint_url=cloud.url)
    factory = ClientFactory(settings)
    provision(settings, factory, options=ApplyOptions(poll_interval_s=0.1, timeout_s=120, role_propagation_s=5))
    remove_schedules(cloud, factory)  # the journey test decides when the Iceberg tables absorb changes
    body = "".join(json.dumps(x, default=str) + "\n" for x in LINES).encode()
    factory.client("s3").put_object(
        Bucket=factory.bucket_name(),
        Key=f"orders/dt={NOW:%Y-%m-%d}/{settings.firehose_name}-1-{NOW:%Y-%m-%d-%H-%M-%S}-test",
        Body=body,
    )
    return settings, factory, Analytics(settings, factory)


def run(lake, name):
    settings, _, analytics = lake
    return analytics.run(sales_queries(settings)[name].sql)


def test_kpis_count_live_orders_once(lake):
    result = run(lake, "kpis")
    [row] = result.frame.to_dict("records")
    # live: order 1 (3 x 10.00), order 2 (1 x 499.99, duplicate counted once), order 4 (4 x 12.25)
    assert row["live_orders"] == 3
    assert row["units"] == 8
    assert row["revenue"] == pytest.approx(30.00 + 499.99 + 49.00)
    assert row["avg_order_value"] == pytest.approx((30.00 + 499.99 + 49.00) / 3)
    assert result.run_time_ms is not None and result.data_scanned_bytes > 0 and result.query_id
    assert result.sql.startswith("SELECT")


def test_events_last_hour_per_op(lake):
    frame = run(lake, "events_last_hour").frame
    assert dict(zip(frame["op"], frame["events"])) == {"INSERT": 4, "MODIFY": 1, "REMOVE": 1}


def test_revenue_and_units_by_product(lake):
    frame = run(lake, "by_product").frame
    by = {r["product_name"]: r for r in frame.to_dict("records")}
    assert set(by) == {"Laptop", "Phone"}
    assert by["Phone"]["units"] == 7 and by["Phone"]["revenue"] == pytest.approx(79.00)
    assert list(frame["product_name"]) == ["Laptop", "Phone"]  # by revenue, highest first


def test_time_series_by_minute(lake):
    revenue = run(lake, "revenue_over_time").frame
    assert len(revenue) == 2 and revenue["orders"].sum() == 4
    mix = run(lake, "op_mix_over_time").frame
    assert mix["events"].sum() == 6
    assert set(mix["op"]) == {"INSERT", "MODIFY", "REMOVE"}


def test_top_orders_and_price_bands(lake):
    top = run(lake, "top_orders").frame
    assert list(top["orderid"]) == ["2", "4", "1"]
    assert top["order_value"].iloc[0] == pytest.approx(499.99)
    bands = run(lake, "price_distribution").frame
    assert dict(zip(bands["price_from"], bands["orders"])) == {0: 2, 450: 1}


def test_failed_query_carries_athenas_reason(lake):
    _, _, analytics = lake
    with pytest.raises(QueryError) as caught:
        analytics.run("SELECT * FROM no_such_table")
    assert "Athena could not run the query:" in str(caught.value)
    assert caught.value.reason and "no_such_table" in caught.value.reason.lower()
    with pytest.raises(QueryError, match="empty"):
        analytics.run("  ;  ")


def test_ad_hoc_query_and_csv(lake):
    _, _, analytics = lake
    result = analytics.run("SELECT orderid, op FROM order_changes WHERE orderid = '3' ORDER BY op")
    assert result.frame.to_dict("records") == [{"orderid": "3", "op": "INSERT"}, {"orderid": "3", "op": "REMOVE"}]
    assert dataframe_to_csv(result.frame).decode().splitlines() == ["orderid,op", "3,INSERT", "3,REMOVE"]


def test_order_events_sql_quotes_the_orderid(lake):
    settings, _, analytics = lake
    assert "'it''s'" in order_events_sql(settings, "it's")
    assert analytics.run(order_events_sql(settings, "it's")).frame.empty


def test_journey_follows_a_saved_change_to_queryable(lake):
    settings, factory, analytics = lake
    # A delete two hours ago keeps this line out of every other test's numbers (not live, outside the hour).
    written = NOW - dt.timedelta(hours=2)
    record = {**line("9", "REMOVE", 1, "1.00", event_id="journey-event", deleted=True),
              "updated_at": format_timestamp(written), "event_time": format_timestamp(written),
              "arrival_time": format_timestamp(written + dt.timedelta(milliseconds=300))}
    journey = journeys.start("9", saved_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1),
                             saved_stamp=written.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")
    journeys.refresh(journey, settings, factory)  # nothing in the lake yet
    assert journey.events == {} and journey.last_error is None
    # Named the way Firehose names objects: the journey lists from the name matching the save time.
    version = factory.client("firehose").describe_delivery_stream(
        DeliveryStreamName=settings.firehose_name)["DeliveryStreamDescription"]["VersionId"]
    now = dt.datetime.now(dt.timezone.utc)
    factory.client("s3").put_object(
        Bucket=factory.bucket_name(),
        Key=f"orders/dt={now:%Y-%m-%d}/{settings.firehose_name}-{version}-{now:%Y-%m-%d-%H-%M-%S}-journey-test",
        Body=(json.dumps(record, default=str) + "\n").encode(),
    )
    journeys.refresh(journey, settings, factory, analytics)
    assert journey.last_error is None
    event = journey.saved_event
    assert event is not None and event.op == "REMOVE" and event.event_id == "journey-event"
    assert event.arrival_time - event.written_time == dt.timedelta(milliseconds=300)
    assert event.s3_key.endswith("journey-test") and event.s3_time is not None
    assert event.queryable_time is not None and journey.complete
    [row] = journey.rows()
    assert row["this save"] == "yes" and row["Kinesis arrival +s"] == 0.3
    # Queryable, but no MERGE has run since it landed: not in the Iceberg table yet.
    assert event.iceberg_time is None and not journey.absorbed and row["In Iceberg table"] == "…"

    merge_now(analytics)  # the delete: order 9's row gone (it never had one) and a tombstone as new as it
    journeys.refresh(journey, settings, factory, analytics)
    assert journey.last_error is None and journey.absorbed
    assert event.iceberg_time >= event.queryable_time
    [row] = journey.rows()
    assert row["In Iceberg table +s"] > 0


def test_a_change_is_absorbed_only_when_the_iceberg_table_holds_it_or_something_newer():
    def event(op, sequence):
        return journeys.JourneyEvent(event_id="e", op=op, sequence_number=sequence)

    upsert, delete = event("MODIFY", "1" + "0" * 20), event("REMOVE", "1" + "0" * 20)
    older, newer = "9" * 20, "2" + "0" * 20  # 20 digits < 21 digits: compared as numbers, not as text
    assert upsert.absorbed_by(upsert.sequence_number, None) and upsert.absorbed_by(newer, None)
    assert not upsert.absorbed_by(older, None) and not upsert.absorbed_by(None, None)
    assert upsert.absorbed_by(None, newer)  # deleted since
    assert not upsert.absorbed_by(older, newer)  # the tombstone is merged, the row's delete not yet
    assert delete.absorbed_by(None, delete.sequence_number) and delete.absorbed_by(newer, older)
    assert not delete.absorbed_by(older, delete.sequence_number)  # between the two MERGE statements
    assert not delete.absorbed_by(None, older) and not delete.absorbed_by(delete.sequence_number, None)


def test_polls_wait_10_ms_then_double_to_a_quarter_second_and_never_after_the_end():
    waits: list[float] = []
    backoff = PollBackoff(sleep=waits.append)

    class Execution:
        def __init__(self, state):
            self.state = state

    for _ in range(7):
        backoff(Execution("RUNNING"))
    backoff(Execution("SUCCEEDED"))
    assert waits == [0.01, 0.02, 0.04, 0.08, 0.16, 0.25, 0.25]


def test_run_many_answers_each_statement_in_order_and_keeps_failures_apart(lake):
    _, _, analytics = lake
    answers = analytics.run_many(["SELECT 1 AS n", "SELECT * FROM no_such_table", "SELECT 3 AS n"])
    assert [type(a) for a in answers] == [QueryResult, QueryError, QueryResult]
    assert int(answers[0].frame["n"].iloc[0]) == 1 and int(answers[2].frame["n"].iloc[0]) == 3
    assert "no_such_table" in str(answers[1]) or "does not exist" in str(answers[1])


def test_pyathenas_result_reader_gets_one_client_per_set_of_arguments() -> None:
    from salescdc.analytics import ClientReusingSession

    made = []

    class Session:
        region_name = "ap-south-1"

        def client(self, *args, **kwargs):
            made.append((args, kwargs))
            return object()

    config_a, config_b = object(), object()
    session = ClientReusingSession(Session())
    first = session.client("s3", region_name="ap-south-1", config=config_a)
    assert session.client("s3", region_name="ap-south-1", config=config_a) is first
    assert session.client("s3", region_name="ap-south-1", config=config_b) is not first
    assert session.client("athena", region_name="ap-south-1", config=config_a) is not first
    assert len(made) == 3 and session.region_name == "ap-south-1"


class _RoundsAnalytics:
    """An Analytics stand-in: answers the watermark query with `watermarks` in turn, anything else with one row."""

    def __init__(self, watermarks: list):
        from salescdc.settings import Settings

        self.settings = Settings()
        self.watermarks = list(watermarks)
        self.rounds: list[list[str]] = []

    def run_many(self, sqls: list[str]) -> list:
        import pandas as pd

        from salescdc.analytics import QueryResult

        self.rounds.append(sqls)
        out = []
        for sql in sqls:
            frame = (pd.DataFrame({"absorbed_until": [self.watermarks.pop(0)]}) if "absorbed_until" in sql
                     else pd.DataFrame({"n": [1]}))
            out.append(QueryResult(frame=frame, sql=sql, run_time_ms=1, data_scanned_bytes=1, query_id="q"))
        return out


def test_live_sales_runs_its_queries_with_the_next_watermark_in_one_round() -> None:
    import datetime as dt

    from salescdc.analytics import run_live_sales

    day = dt.datetime(2026, 12, 5, 10)
    analytics = _RoundsAnalytics([day, day + dt.timedelta(days=1), day - dt.timedelta(days=3)])
    first = run_live_sales(analytics, None, names=("kpis",))  # nothing known yet: the watermark first
    assert [len(r) for r in analytics.rounds] == [1, 1] and "dt >= '2026-12-04'" in first.queries["kpis"].sql
    later = run_live_sales(analytics, first.watermark, names=("kpis",))
    # One round, from the previous watermark (exact: an earlier day only re-reads absorbed changes).
    assert [len(r) for r in analytics.rounds] == [1, 1, 2] and "dt >= '2026-12-04'" in later.queries["kpis"].sql
    # The tables went back (emptied, recreated): the queries run again from the new, earlier watermark.
    again = run_live_sales(analytics, later.watermark, names=("kpis",))
    assert [len(r) for r in analytics.rounds] == [1, 1, 2, 2, 1] and "dt >= '2026-12-01'" in again.queries["kpis"].sql

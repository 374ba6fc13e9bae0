"""Every page through AppTest against a provisioned local cloud: buttons, seeded editor edits, live data."""

from __future__ import annotations

import base64
import decimal
import json
from decimal import Decimal
from typing import Any

import pytest

from salescdc.analytics import Analytics
from salescdc.infra import ApplyOptions, provision
from salescdc.orders import OrderRepository
from tests.app.conftest import factory_for, no_exceptions, open_page, settings_for, texts
from tests.support.schedules import remove_schedules
from tests.support.waiting import eventually


@pytest.fixture(scope="module")
def pipeline(cloud: Any) -> None:
    """Provision once for the module (the Provision button itself is tested in test_pipeline_page)."""
    from salescdc.settings import Settings
    from salescdc.clients import ClientFactory

    settings = Settings(endpoint_url=cloud.url, buffer_interval_s=0)
    factory = ClientFactory(settings)
    provision(settings, factory, options=ApplyOptions(poll_interval_s=0.1, timeout_s=120, role_propagation_s=5))
    remove_schedules(cloud, factory)  # only the tests' own Merge now runs write the Iceberg tables


@pytest.fixture
def env(app_env: dict[str, str], pipeline: None) -> dict[str, str]:
    return app_env


def put(env: dict[str, str], orderid: str, quantity: int = 2, price: str = "10.50", product: str = "Phone") -> None:
    factory_for(env).client("dynamodb").put_item(
        TableName=settings_for(env).table_name,
        Item={"orderid": {"S": orderid}, "product_name": {"S": product}, "quantity": {"N": str(quantity)},
              "price": {"N": price}, "updated_at": {"S": "2026-01-01T00:00:00.000Z"}},
    )


def get(env: dict[str, str], orderid: str) -> dict[str, Any] | None:
    return OrderRepository(settings_for(env), factory_for(env)).get(orderid)


def search(at: Any, orderid: str) -> None:
    at.text_input(key="orders_search").set_value(orderid)
    at.checkbox(key="orders_exact").check()
    at.button(key="orders_load").click().run()
    no_exceptions(at)


def editor_key(at: Any) -> str:
    return f"orders_editor_{at.session_state['orders_edit'].version}"


def rows(at: Any) -> list[dict[str, Any]]:
    return at.session_state["orders_edit"].rows


def messages(at: Any) -> list[str]:
    return [row["message"] for row in rows(at)]


# -- Orders ----------------------------------------------------------------------------
def test_orders_edit_is_saved_and_its_journey_becomes_queryable(env):
    put(env, "7001", quantity=2)
    at = open_page("app_pages/orders.py")
    search(at, "7001")
    assert [r["orderid"] for r in rows(at)] == ["7001"]
    at.session_state[editor_key(at)] = {"edited_rows": {0: {"quantity": 5, "price": 12.34}},
                                        "added_rows": [], "deleted_rows": []}
    at.button(key="orders_save").click().run()
    no_exceptions(at)
    assert messages(at) == ["saved"]
    item = get(env, "7001")
    assert item["quantity"] == 5 and item["price"] == Decimal("12.34")
    assert item["updated_at"] != "2026-01-01T00:00:00.000Z"

    def queryable() -> bool:
        at.run()
        no_exceptions(at)
        return at.session_state["orders_view"]["journey"].complete

    eventually(queryable, "the saved change to be queryable in Athena", timeout=90, interval=0.5)
    journey = at.session_state["orders_view"]["journey"]
    saved = journey.saved_event
    assert saved.op == "MODIFY" and saved.quantity == 5
    assert saved.arrival_time and saved.s3_time and saved.queryable_time
    assert "The saved change is queryable in Athena." in texts(at)
    assert saved.iceberg_time is None  # this module's schedules are removed: nothing merged it yet

    from salescdc.current_state import merge_now
    merge_now(Analytics(settings_for(env), factory_for(env)))  # what Health → Merge now runs

    def absorbed() -> bool:
        at.run()
        no_exceptions(at)
        return at.session_state["orders_view"]["journey"].absorbed

    eventually(absorbed, "the saved change to be in the Iceberg table", timeout=90, interval=0.5)
    assert "The saved change is in the Iceberg table." in texts(at)


def test_orders_add_and_delete_rows(env):
    put(env, "7101")
    at = open_page("app_pages/orders.py")
    search(at, "7101")
    at.session_state[editor_key(at)] = {
        "edited_rows": {},
        "added_rows": [{"orderid": "7102", "product_name": "Tablet", "quantity": 3, "price": 99.99}],
        "deleted_rows": [0],
    }
    at.button(key="orders_save").click().run()
    no_exceptions(at)
    outcomes = {(o[1], o[2]): o[0] for o in at.session_state["orders_edit"].last_save}
    assert outcomes == {("add", "7102"): "saved", ("delete", "7101"): "saved"}
    assert get(env, "7101") is None
    assert get(env, "7102")["price"] == Decimal("99.99")
    assert messages(at) == ["added"]


def test_orders_invalid_rows_get_a_message_on_the_row_and_nothing_is_written(env):
    put(env, "7201", quantity=2)
    at = open_page("app_pages/orders.py")
    search(at, "7201")
    at.session_state[editor_key(at)] = {
        "edited_rows": {0: {"quantity": 0}},
        "added_rows": [{"orderid": "7201", "product_name": "", "quantity": 1, "price": 1.234}],
        "deleted_rows": [],
    }
    at.button(key="orders_save").click().run()
    no_exceptions(at)
    edited_message, added_message = messages(at)
    assert edited_message.startswith("invalid:") and "quantity must be a whole number" in edited_message
    assert added_message.startswith("invalid:")
    assert "product_name must not be empty" in added_message and "at most 2 decimals" in added_message
    assert get(env, "7201")["quantity"] == 2


def test_orders_conflict_shows_the_current_value_and_keeps_it(env):
    put(env, "7301", quantity=2)
    at = open_page("app_pages/orders.py")
    search(at, "7301")
    put(env, "7301", quantity=4)  # someone (the generator) writes it after it was loaded
    at.session_state[editor_key(at)] = {"edited_rows": {0: {"quantity": 9}}, "added_rows": [], "deleted_rows": []}
    at.button(key="orders_save").click().run()
    no_exceptions(at)
    [message] = messages(at)
    assert message.startswith("conflict:") and "changed since it was loaded" in message
    assert rows(at)[0]["quantity"] == 4  # the row now shows the current value
    assert get(env, "7301")["quantity"] == 4


def test_orders_paging(env):
    for i in range(30):
        put(env, f"75{i:02d}")
    at = open_page("app_pages/orders.py")
    at.text_input(key="orders_search").set_value("75")
    at.button(key="orders_load").click().run()
    first = {r["orderid"] for r in rows(at)}
    assert len(first) == 25
    at.button(key="orders_next").click().run()
    no_exceptions(at)
    second = {r["orderid"] for r in rows(at)}
    assert len(second) == 5 and not first & second
    at.button(key="orders_prev").click().run()
    assert {r["orderid"] for r in rows(at)} == first


# -- Sales / Query / Health -------------------------------------------------------------
def test_sales_page_shows_kpis_from_athena(env):
    put(env, "7401", quantity=3, price="100.00", product="Laptop")
    at = open_page("app_pages/sales.py")

    def revenue_shown() -> bool:
        at.run()
        no_exceptions(at)
        assert not at.error, [e.value for e in at.error]
        metrics = {m.label: m.value for m in at.metric}
        return metrics.get("Live orders") not in (None, "0")

    eventually(revenue_shown, "orders to reach the Sales KPIs", timeout=90, interval=1)
    metrics = {m.label: m.value for m in at.metric}
    assert decimal.Decimal(metrics["Revenue"].replace(",", "")) >= Decimal("300.00")
    page = texts(at)
    assert "SELECT" in page and '"cdc_data"."orders"' in page  # each chart's SQL is shown
    # Live orders come from the Iceberg table merged on read (the order is not merged yet), not the view.
    assert "orders_current" not in page
    assert "Run time" in page and "data scanned" in page


def test_sales_page_as_of_a_past_moment_shows_the_orders_of_then(env):
    import datetime as dt
    import time

    from salescdc.current_state import (
        current_state_relation,
        first_snapshots_sql,
        merge_now,
        tables_empty_at,
        watermark_from,
        watermark_sql,
    )

    settings, factory = settings_for(env), factory_for(env)
    analytics = Analytics(settings, factory)
    put(env, "7601", quantity=3, price="20.00", product="Phone")
    eventually(lambda: not analytics.run("SELECT 1 FROM order_changes WHERE orderid = '7601'").frame.empty,
               "the order in the lake", timeout=60, interval=0.5)
    merge_now(analytics)
    time.sleep(1.1)  # the control takes whole seconds
    moment = dt.datetime.now(dt.timezone.utc).replace(microsecond=0, tzinfo=None)
    time.sleep(1.1)
    put(env, "7602", quantity=1, price="5.00", product="Phone")  # after the moment: not shown as of then
    eventually(lambda: not analytics.run("SELECT 1 FROM order_changes WHERE orderid = '7602'").frame.empty,
               "the later order in the lake", timeout=60, interval=0.5)

    def then() -> int:
        empty = tables_empty_at(analytics.run(first_snapshots_sql(settings)).frame, moment)
        watermark = watermark_from(analytics.run(watermark_sql(settings, moment, empty)).frame)
        relation = current_state_relation(settings, watermark, moment, empty)
        return int(analytics.run(f"SELECT count(*) AS n FROM {relation}").frame["n"].iloc[0])

    at = open_page("app_pages/sales.py")
    at.toggle(key="sales_as_of").set_value(True).run()
    at.text_input(key="sales_as_of_at").set_value(moment.isoformat(sep=" ")).run()
    no_exceptions(at)
    assert not at.error, [e.value for e in at.error]
    page = texts(at)
    assert not at.info, [i.value for i in at.info]
    assert "FOR TIMESTAMP AS OF TIMESTAMP" in page
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Live orders"] == f"{then():,}"
    at.toggle(key="sales_as_of").set_value(False).run()
    assert "FOR TIMESTAMP AS OF" not in texts(at)
    # Now the later order counts too: as of the moment there was exactly one live order less.
    assert {m.label: m.value for m in at.metric}["Live orders"] == f"{then() + 1:,}"


def test_query_page_runs_sql_and_offers_csv(env):
    at = open_page("app_pages/query.py")
    at.text_area(key="query_sql").set_value("SELECT 1 AS one, 'a' AS letter")
    at.button(key="query_run").click().run()
    no_exceptions(at)
    assert not at.error
    result = at.session_state["query_view"]["result"]
    assert result.frame.to_dict("records") == [{"one": 1, "letter": "a"}]
    assert "Run time" in texts(at)
    [download] = at.get("download_button")
    assert download.proto.label == "Download CSV"


def test_query_page_shows_athenas_error(env):
    at = open_page("app_pages/query.py")
    at.text_area(key="query_sql").set_value("SELECT * FROM no_such_table")
    at.button(key="query_run").click().run()
    no_exceptions(at)
    [error] = at.error
    assert "Athena could not run the query" in error.value
    assert "no_such_table" in error.value.lower()


def test_health_page_shows_every_stage_running(env):
    at = open_page("app_pages/health.py")
    no_exceptions(at)
    page = texts(at)
    for stage in ("DynamoDB stream", "Pipe", "Kinesis", "Lambda", "Firehose", "S3", "Glue", "Athena"):
        assert f"**{stage}**" in page
    assert "RUNNING" in page and "ENABLED" in page
    assert "dead-letter queue: **0**" in page  # the pipe's DLQ depth, read with GetQueueAttributes
    assert "Could not read" not in page


def test_health_page_redrive_button_sends_the_failed_records_back(env):
    factory = factory_for(env)
    s3 = factory.client("s3")
    # A record the transform cannot read (not a Pipes event): redriven, it fails again and comes back.
    line = json.dumps({"attemptsMade": 1, "arrivalTimestamp": 0, "errorCode": "Lambda.ProcessingFailedStatus",
                       "errorMessage": "ProcessingFailed status set for record", "attemptEndingTimestamp": 0,
                       "rawData": base64.b64encode(b"not a pipes event").decode(), "lambdaArn": "arn"})
    s3.put_object(Bucket=factory.bucket_name(), Key="errors/processing-failed/dt=2026-01-01/page-test",
                  Body=(line + "\n").encode())
    at = open_page("app_pages/health.py")
    at.button(key="health_redrive").click().run()
    no_exceptions(at)
    assert [s.value for s in at.success] == ["Sent 1 record back through the pipeline from 1 error object."]
    moved = s3.list_objects_v2(Bucket=factory.bucket_name(), Prefix="errors/redriven/")["Contents"]
    assert [o["Key"] for o in moved] == ["errors/redriven/dt=2026-01-01/page-test"]


def test_health_page_redrive_button_says_so_when_another_redrive_runs(env):
    import time

    from salescdc.redrive import LOCK_KEY

    factory = factory_for(env)
    s3 = factory.client("s3")
    now_ms = int(time.time() * 1000)  # the lock of a run in another process, not yet past its time
    s3.put_object(Bucket=factory.bucket_name(), Key=LOCK_KEY, Body=json.dumps(
        {"token": "other-process", "started_ms": now_ms, "expires_ms": now_ms + 60_000}).encode())
    try:
        at = open_page("app_pages/health.py")
        at.button(key="health_redrive").click().run()
        no_exceptions(at)
        (warning,) = [w.value for w in at.warning if "redrive" in w.value]
        assert warning.startswith("Another redrive started at ") and warning.endswith(
            "so this one sent nothing; try again when it has finished.")
        assert not at.success
    finally:
        s3.delete_object(Bucket=factory.bucket_name(), Key=LOCK_KEY)


def test_health_page_shows_the_iceberg_table_and_its_buttons_merge_and_compact(env):
    put(env, "7501", quantity=2, price="50.00", product="Phone")
    at = open_page("app_pages/health.py")
    no_exceptions(at)
    assert "Could not read" not in texts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert {"Last commit (UTC)", "Snapshots", "Data files", "Live orders", "Changes not merged yet"} <= set(metrics)
    analytics = Analytics(settings_for(env), factory_for(env))

    def merged() -> bool:
        at.button(key="health_merge_now").click().run()
        no_exceptions(at)
        assert not at.error, [e.value for e in at.error]
        shown = {m.label: m.value for m in at.metric}
        in_table = analytics.run("SELECT quantity FROM cdc_data.orders WHERE orderid = '7501'").frame
        return shown["Changes not merged yet"] == "0" and list(in_table["quantity"]) == [2]

    eventually(merged, "the order merged into the Iceberg table by the Merge now button", timeout=90, interval=1)
    assert at.success[0].value.startswith("Merged the changes from")
    at.button(key="health_maintain_now").click().run()
    no_exceptions(at)
    assert [s.value for s in at.success] == ["Compacted the small files and expired the snapshots past the retention."]


# -- Pipeline -----------------------------------------------------------------------------
def test_generator_start_shows_counters_then_stop(env):
    at = open_page("app_pages/pipeline.py")
    at.number_input(key="pipeline_rate").set_value(20.0)
    at.slider(key="pipeline_update_share").set_value(0.3)
    at.slider(key="pipeline_delete_share").set_value(0.0)
    at.button(key="pipeline_start_generator").click().run()
    no_exceptions(at)
    try:
        def counted() -> bool:
            at.run()
            metrics = {m.label: m.value for m in at.metric}
            return metrics.get("Generator") == "running" and metrics.get("Inserts", "0") != "0"

        eventually(counted, "the generator's counters to move", timeout=60, interval=0.5)
    finally:
        at.button(key="pipeline_stop_generator").click().run()
    no_exceptions(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Generator"] == "stopped"
    assert int(metrics["Inserts"].replace(",", "")) > 0


def test_run_crawler_button(env):
    at = open_page("app_pages/pipeline.py")
    at.button(key="pipeline_crawler").click().run()
    no_exceptions(at)
    assert any(s.value.startswith("Crawler Kinesis-s3-data-crawler:") for s in at.success), [e.value for e in at.error]


def test_aws_target_shows_account_and_hourly_cost_never_a_credential(env, monkeypatch):
    # The AWS code path (credential chain, no local-cloud launcher) pointed at the local cloud's endpoint.
    monkeypatch.setenv("SALESCDC_TARGET", "aws")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLESECRETID1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-show-this-secret")
    at = open_page("app_pages/pipeline.py")
    no_exceptions(at)
    page = texts(at)
    assert "AWS · region ap-south-1" in page
    assert "123456789012" in page  # the account id
    assert "Estimated cost: $" in page and "per hour" in page
    assert "do-not-show-this-secret" not in page and "AKIAEXAMPLESECRETID1" not in page
    assert not [c for c in at.sidebar.caption if "local cloud" in c.value.lower()]

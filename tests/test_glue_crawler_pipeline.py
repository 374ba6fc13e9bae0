"""The crawler on the real pipeline's output: provision, write orders, let the lake fill, crawl.

Everything runs over HTTP against a real local cloud: infra provisioning,
DynamoDB -> Pipe -> Kinesis -> Firehose (+ the transform Lambda) -> S3, then
the provisioned crawler (catalog target on order_changes) keeps that table up
to date instead of creating a second one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from localcloud.glue import crawler as crawler_module
from localcloud.testing import running_localcloud
from salescdc import contract, current_state
from salescdc.clients import ClientFactory
from salescdc.infra import ApplyOptions, inspect, provision, start_crawler
from salescdc.settings import Settings
from tests.support.waiting import eventually

GUARD_S = 90  # a bound against hangs on a loaded machine, not a speed assertion


def test_crawler_keeps_order_changes_up_to_date_from_pipeline_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crawler_module, "MIN_RUNNING_SECONDS", 0.2)
    monkeypatch.setattr(crawler_module, "STOPPING_SECONDS", 0.05)
    with running_localcloud(tmp_path / "cloud") as cloud:
        settings = Settings.from_env({
            "AWS_ENDPOINT_URL": cloud.url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
            "SALESCDC_BUFFER_INTERVAL_S": "0", "SALESCDC_PIPE_STARTING_POSITION": "TRIM_HORIZON",
        })
        factory = ClientFactory(settings)
        provision(settings, factory, options=ApplyOptions(poll_interval_s=0.1, timeout_s=60, role_propagation_s=5))

        ddb, s3, glue = factory.client("dynamodb"), factory.client("s3"), factory.client("glue")
        for orderid in ("1", "2", "3"):
            ddb.put_item(TableName=settings.table_name, Item={
                "orderid": {"S": orderid}, "product_name": {"S": "Laptop"},
                "quantity": {"N": "2"}, "price": {"N": "193.72"},
            })
        ddb.put_item(TableName=settings.table_name, Item={  # a new attribute travels in `extra`
            "orderid": {"S": "2"}, "product_name": {"S": "Phone"}, "quantity": {"N": "1"},
            "price": {"N": "10.5"}, "coupon": {"S": "SPRING"},
        })
        ddb.delete_item(TableName=settings.table_name, Key={"orderid": {"S": "3"}})
        bucket = factory.bucket_name()

        def lake_lines() -> int:
            objects = s3.list_objects_v2(Bucket=bucket, Prefix=contract.LAKE_PREFIX).get("Contents", [])
            return sum(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().count(b"\n") for o in objects)

        eventually(lambda: lake_lines() >= 5, "5 change lines in the lake", timeout=GUARD_S, interval=0.1)

        def crawl() -> dict:
            start_crawler(settings, factory)
            eventually(lambda: glue.get_crawler(Name=settings.crawler_name)["Crawler"]["State"] == "READY",
                       "the crawler to finish", timeout=GUARD_S)
            return glue.get_crawler(Name=settings.crawler_name)["Crawler"]

        crawler = crawl()
        assert crawler["LastCrawl"]["Status"] == "SUCCEEDED", crawler["LastCrawl"]
        tables = {t["Name"] for t in glue.get_tables(DatabaseName=settings.glue_database)["TableList"]}
        # No second table beside order_changes: the rest are what infra itself declares (the view and the
        # Iceberg current-state tables).
        assert tables == {settings.glue_table, settings.view_name, current_state.ORDERS_TABLE,
                          current_state.TOMBSTONES_TABLE}
        table = glue.get_table(DatabaseName=settings.glue_database, Name=settings.glue_table)["Table"]
        assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
            (name, kind) for name, kind, _ in contract.COLUMNS
        ]
        assert table["Parameters"]["recordCount"] == str(lake_lines())
        assert table["Parameters"]["UPDATED_BY_CRAWLER"] == settings.crawler_name
        today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
        partitions = glue.get_partitions(DatabaseName=settings.glue_database,
                                         TableName=settings.glue_table)["Partitions"]
        assert [p["Values"] for p in partitions] == [[today]]
        assert partitions[0]["StorageDescriptor"]["Location"] == f"s3://{bucket}/orders/dt={today}/"
        assert partitions[0]["StorageDescriptor"]["Columns"] == table["StorageDescriptor"]["Columns"]

        crawl()  # nothing new: nothing changes
        metrics = glue.get_crawler_metrics(CrawlerNameList=[settings.crawler_name])["CrawlerMetricsList"][0]
        assert (metrics["TablesCreated"], metrics["TablesUpdated"], metrics["TablesDeleted"]) == (0, 0, 0)
        # and provisioning still sees its table as declared (the crawler only added statistics)
        status = {(s.kind, s.name): s for s in inspect(settings, factory)}
        assert status[("glue.table", settings.glue_table)].status == "present", status[
            ("glue.table", settings.glue_table)]

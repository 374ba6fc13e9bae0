"""The Glue crawler over HTTP against a real local cloud: it reads the lake in S3 and writes the catalog.

Data is shaped like the lake contract (salescdc.contract): NDJSON under
orders/dt=YYYY-MM-DD/, with a new field appearing on the second day.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from localcloud.glue import crawler as crawler_module
from salescdc import contract
from tests.support.aws import Clients
from tests.support.waiting import eventually

ROLE = "arn:aws:iam::123456789012:role/glue-crawler"
POLL_S = 0.02


@pytest.fixture(autouse=True)
def quick_crawls(monkeypatch: pytest.MonkeyPatch) -> None:
    # Long enough for a poller to see RUNNING and STOPPING, short enough to keep the suite fast.
    monkeypatch.setattr(crawler_module, "MIN_RUNNING_SECONDS", 0.2)
    monkeypatch.setattr(crawler_module, "STOPPING_SECONDS", 0.05)


@pytest.fixture
def lake(aws: Clients) -> dict[str, str]:
    """A fresh bucket and database per test, so no test sees another's tables."""
    suffix = uuid.uuid4().hex[:8]
    bucket, database = f"lake-{suffix}", f"cdc_{suffix}"
    aws["s3"].create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    aws["glue"].create_database(DatabaseInput={"Name": database})
    return {"bucket": bucket, "database": database, "suffix": suffix}


def change(orderid: int, day: str, **extra_fields: object) -> dict[str, object]:
    """One lake line as the contract describes it."""
    record = {
        "orderid": str(orderid),
        "product_name": "Laptop",
        "quantity": 2,
        "price": 193.72 if orderid % 2 else 100,  # an integral price must still make the column double
        "updated_at": None,
        "op": "INSERT",
        "is_deleted": False,
        "event_id": uuid.uuid4().hex,
        "sequence_number": str(10**25 + orderid),
        "event_time": f"{day} 10:00:00.123",
        "arrival_time": f"{day} 10:00:00.456",
        "extra": "{}",
    }
    assert list(record) == contract.FIELD_NAMES  # the fixture follows the contract
    record.update(extra_fields)
    return record


def put_lines(s3, bucket: str, key: str, records: list[object], raw_lines: list[str] = ()) -> None:  # type: ignore[no-untyped-def]
    body = "".join(json.dumps(r) + "\n" for r in records) + "".join(line + "\n" for line in raw_lines)
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode())


def write_two_days(s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    put_lines(s3, bucket, "orders/dt=2024-05-01/kinesis-to-s3-1-2024-05-01-10-00-00-a",
              [change(i, "2024-05-01") for i in range(1, 6)])
    put_lines(s3, bucket, "orders/dt=2024-05-02/kinesis-to-s3-1-2024-05-02-10-00-00-b",
              [change(i, "2024-05-02") for i in range(6, 9)] + [change(9, "2024-05-02", discount=5)])


def run_crawler(glue, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Start the crawler and poll it to READY; returns the distinct states seen, in order."""
    glue.start_crawler(Name=name)
    seen: list[str] = []

    def ready() -> bool:
        state = glue.get_crawler(Name=name)["Crawler"]["State"]
        if not seen or seen[-1] != state:
            seen.append(state)
        return state == "READY"

    eventually(ready, f"crawler {name} to become READY", interval=POLL_S, context=lambda: f"states seen {seen}")
    return seen


def columns(table: dict) -> dict[str, str]:
    return {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}


def s3_crawler(glue, lake: dict, name: str, path: str, **kwargs: object) -> None:  # type: ignore[no-untyped-def]
    glue.create_classifier(JsonClassifier={"Name": f"read_json_{lake['suffix']}", "JsonPath": "$"})
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=lake["database"],
                        Targets={"S3Targets": [{"Path": path}]}, Classifiers=[f"read_json_{lake['suffix']}"],
                        **kwargs)


EXPECTED_INFERRED = {
    "orderid": "string", "product_name": "string", "quantity": "int", "price": "double",
    "updated_at": "string", "op": "string", "is_deleted": "boolean", "event_id": "string",
    "sequence_number": "string", "event_time": "string", "arrival_time": "string", "extra": "string",
    "discount": "int",
}


def test_s3_target_creates_table_and_partitions(aws: Clients, lake: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # long enough that even a slow, shared machine answers GetCrawler while the crawl is RUNNING and STOPPING
    monkeypatch.setattr(crawler_module, "MIN_RUNNING_SECONDS", 1.0)
    monkeypatch.setattr(crawler_module, "STOPPING_SECONDS", 0.5)
    glue, s3 = aws["glue"], aws["s3"]
    write_two_days(s3, lake["bucket"])
    s3_crawler(glue, lake, "orders-crawler", f"s3://{lake['bucket']}/orders/")

    states = run_crawler(glue, "orders-crawler")
    assert states == ["RUNNING", "STOPPING", "READY"]
    crawler = glue.get_crawler(Name="orders-crawler")["Crawler"]
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    assert crawler["LastCrawl"]["LogGroup"] == "/aws-glue/crawlers"
    assert crawler["LastCrawl"]["LogStream"] == "orders-crawler"

    table = glue.get_table(DatabaseName=lake["database"], Name="orders")["Table"]
    assert list(columns(table).items()) == list(EXPECTED_INFERRED.items())  # first-seen order, new field last
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert table["StorageDescriptor"]["Location"] == f"s3://{lake['bucket']}/orders/"
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert table["TableType"] == "EXTERNAL_TABLE"
    params = table["Parameters"]
    assert params["classification"] == "json"
    assert params["compressionType"] == "none"
    assert params["recordCount"] == "9" and params["objectCount"] == "2"
    assert params["UPDATED_BY_CRAWLER"] == "orders-crawler"
    first_run = glue.list_crawls(CrawlerName="orders-crawler")["Crawls"][0]["CrawlId"]
    assert params["CRAWL_RUN_ID"] == first_run

    partitions = glue.get_partitions(DatabaseName=lake["database"], TableName="orders")["Partitions"]
    by_value = {tuple(p["Values"]): p for p in partitions}
    assert set(by_value) == {("2024-05-01",), ("2024-05-02",)}
    assert by_value[("2024-05-02",)]["StorageDescriptor"]["Location"] == (
        f"s3://{lake['bucket']}/orders/dt=2024-05-02/")
    assert by_value[("2024-05-01",)]["Parameters"]["recordCount"] == "5"

    metrics = glue.get_crawler_metrics(CrawlerNameList=["orders-crawler"])["CrawlerMetricsList"][0]
    assert (metrics["TablesCreated"], metrics["TablesUpdated"], metrics["TablesDeleted"]) == (1, 0, 0)
    summary = json.loads(glue.list_crawls(CrawlerName="orders-crawler")["Crawls"][0]["Summary"])
    assert summary == {"TABLE": {"ADD": {"Count": 1}}, "PARTITION": {"ADD": {"Count": 2}}}


def test_second_run_without_new_data_changes_nothing(aws: Clients, lake: dict) -> None:
    glue, s3 = aws["glue"], aws["s3"]
    write_two_days(s3, lake["bucket"])
    s3_crawler(glue, lake, "twice", f"s3://{lake['bucket']}/orders/")
    run_crawler(glue, "twice")
    before = glue.get_table(DatabaseName=lake["database"], Name="orders")["Table"]

    run_crawler(glue, "twice")
    metrics = glue.get_crawler_metrics(CrawlerNameList=["twice"])["CrawlerMetricsList"][0]
    assert (metrics["TablesCreated"], metrics["TablesUpdated"], metrics["TablesDeleted"]) == (0, 0, 0)
    after = glue.get_table(DatabaseName=lake["database"], Name="orders")["Table"]
    assert after["VersionId"] == before["VersionId"]
    crawls = glue.list_crawls(CrawlerName="twice")["Crawls"]
    assert [c["State"] for c in crawls] == ["COMPLETED", "COMPLETED"]
    assert json.loads(crawls[0]["Summary"]) == {}

    # A new day: one partition added, the table's statistics updated.
    put_lines(s3, lake["bucket"], "orders/dt=2024-05-03/c", [change(10, "2024-05-03")])
    run_crawler(glue, "twice")
    summary = json.loads(glue.list_crawls(CrawlerName="twice")["Crawls"][0]["Summary"])
    assert summary["PARTITION"] == {"ADD": {"Count": 1}}
    assert glue.get_table(DatabaseName=lake["database"], Name="orders")["Table"]["Parameters"]["recordCount"] == "10"


def declared_order_changes(glue, lake: dict) -> None:  # type: ignore[no-untyped-def]
    """order_changes as provisioning declares it: the contract's types, not what a crawler would infer."""
    glue.create_table(DatabaseName=lake["database"], TableInput={
        "Name": "order_changes",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json", "EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": n, "Type": t} for n, t, _ in contract.PARTITION_COLUMNS],
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t, _ in contract.COLUMNS],
            "Location": f"s3://{lake['bucket']}/orders/",
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                          "Parameters": {"timestamp.formats": "yyyy-MM-dd HH:mm:ss.SSS"}},
        },
    })


KEEP_DECLARED = json.dumps({
    "Version": 1.0,
    "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"},
                      "Tables": {"AddOrUpdateBehavior": "MergeNewColumns"}},
})


def order_changes_crawler(aws: Clients, lake: dict, name: str, update_behavior: str, **configuration: str) -> None:
    """Two days in the lake, order_changes declared over them, and crawler `name` with that table as its target."""
    write_two_days(aws["s3"], lake["bucket"])
    declared_order_changes(aws["glue"], lake)
    aws["glue"].create_crawler(
        Name=name, Role=ROLE, DatabaseName=lake["database"],
        Targets={"CatalogTargets": [{"DatabaseName": lake["database"], "Tables": ["order_changes"]}]},
        SchemaChangePolicy={"UpdateBehavior": update_behavior, "DeleteBehavior": "LOG"}, **configuration,
    )


def test_catalog_target_keeps_declared_types_and_adds_columns_and_partitions(aws: Clients, lake: dict) -> None:
    glue, s3 = aws["glue"], aws["s3"]
    order_changes_crawler(aws, lake, "catalog-crawler", "UPDATE_IN_DATABASE", Configuration=KEEP_DECLARED)
    run_crawler(glue, "catalog-crawler")
    assert glue.get_crawler(Name="catalog-crawler")["Crawler"]["LastCrawl"]["Status"] == "SUCCEEDED"

    tables = [t["Name"] for t in glue.get_tables(DatabaseName=lake["database"])["TableList"]]
    assert tables == ["order_changes"]  # updated in place, no second table
    table = glue.get_table(DatabaseName=lake["database"], Name="order_changes")["Table"]
    declared = {n: t for n, t, _ in contract.COLUMNS}
    assert columns(table) == {**declared, "discount": "int"}
    assert table["StorageDescriptor"]["SerdeInfo"]["Parameters"] == {"timestamp.formats": "yyyy-MM-dd HH:mm:ss.SSS"}
    assert table["Parameters"]["EXTERNAL"] == "TRUE" and table["Parameters"]["recordCount"] == "9"

    partitions = glue.get_partitions(DatabaseName=lake["database"], TableName="order_changes")["Partitions"]
    assert sorted(p["Values"][0] for p in partitions) == ["2024-05-01", "2024-05-02"]
    for partition in partitions:  # InheritFromTable: partitions carry the table's declared schema
        assert columns(partition) == columns(table)
        assert partition["StorageDescriptor"]["Location"].endswith(f"/orders/dt={partition['Values'][0]}/")

    run_crawler(glue, "catalog-crawler")
    metrics = glue.get_crawler_metrics(CrawlerNameList=["catalog-crawler"])["CrawlerMetricsList"][0]
    assert (metrics["TablesCreated"], metrics["TablesUpdated"]) == (0, 0)

    put_lines(s3, lake["bucket"], "orders/dt=2024-05-03/c", [change(10, "2024-05-03", coupon="SPRING")])
    run_crawler(glue, "catalog-crawler")
    table = glue.get_table(DatabaseName=lake["database"], Name="order_changes")["Table"]
    assert columns(table) == {**declared, "discount": "int", "coupon": "string"}
    values = sorted(p["Values"][0] for p in
                    glue.get_partitions(DatabaseName=lake["database"], TableName="order_changes")["Partitions"])
    assert values == ["2024-05-01", "2024-05-02", "2024-05-03"]


def test_catalog_target_without_merge_replaces_declared_types_like_aws(aws: Clients, lake: dict) -> None:
    """Glue's default UPDATE_IN_DATABASE rewrites the table from the data: why MergeNewColumns matters."""
    glue = aws["glue"]
    order_changes_crawler(aws, lake, "replacing", "UPDATE_IN_DATABASE")
    run_crawler(glue, "replacing")
    table = glue.get_table(DatabaseName=lake["database"], Name="order_changes")["Table"]
    assert columns(table)["price"] == "double" and columns(table)["event_time"] == "string"
    assert glue.get_crawler_metrics(CrawlerNameList=["replacing"])["CrawlerMetricsList"][0]["TablesUpdated"] == 1


def test_update_behavior_log_adds_partitions_but_keeps_the_table(aws: Clients, lake: dict) -> None:
    glue = aws["glue"]
    order_changes_crawler(aws, lake, "logonly", "LOG", Configuration=json.dumps(
        {"Version": 1.0, "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}}}))
    run_crawler(glue, "logonly")
    table = glue.get_table(DatabaseName=lake["database"], Name="order_changes")["Table"]
    assert columns(table) == {n: t for n, t, _ in contract.COLUMNS}
    assert table["VersionId"] == "1"
    assert len(glue.get_partitions(DatabaseName=lake["database"], TableName="order_changes")["Partitions"]) == 2


def test_malformed_lines_are_skipped_counted_and_logged(aws: Clients, lake: dict) -> None:
    glue, s3, logs = aws["glue"], aws["s3"], aws["logs"]
    put_lines(s3, lake["bucket"], "orders/dt=2024-05-01/a", [change(1, "2024-05-01"), change(2, "2024-05-01")],
              raw_lines=['{"orderid": "3", "price": ', "not json at all", "42"])
    s3_crawler(glue, lake, "tolerant", f"s3://{lake['bucket']}/orders/")
    run_crawler(glue, "tolerant")
    crawler = glue.get_crawler(Name="tolerant")["Crawler"]
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    table = glue.get_table(DatabaseName=lake["database"], Name="orders")["Table"]
    assert table["Parameters"]["recordCount"] == "2"
    assert columns(table) == {k: v for k, v in EXPECTED_INFERRED.items() if k != "discount"}
    events = logs.filter_log_events(logGroupName="/aws-glue/crawlers", logStreamNames=["tolerant"])["events"]
    prefix = f"[{crawler['LastCrawl']['MessagePrefix']}]"
    assert any(e["message"].startswith(prefix) and "3 malformed record(s)" in e["message"] for e in events)


def test_array_documents_with_json_path_classifier(aws: Clients, lake: dict) -> None:
    glue, s3 = aws["glue"], aws["s3"]
    s3.put_object(Bucket=lake["bucket"], Key="batches/b1.json",
                  Body=json.dumps([{"id": 1, "tags": ["a"]}, {"ID": 2 ** 40, "nested": {"x": 1.5}}]).encode())
    glue.create_classifier(JsonClassifier={"Name": f"arr_{lake['suffix']}", "JsonPath": "$[*]"})
    glue.create_crawler(Name="arrays", Role=ROLE, DatabaseName=lake["database"], TablePrefix="raw_",
                        Targets={"S3Targets": [{"Path": f"s3://{lake['bucket']}/batches"}]},
                        Classifiers=[f"arr_{lake['suffix']}"])
    run_crawler(glue, "arrays")
    table = glue.get_table(DatabaseName=lake["database"], Name="raw_batches")["Table"]
    # Glue lowercases column names, so "id" and "ID" are one column
    assert columns(table) == {"id": "bigint", "tags": "array<string>", "nested": "struct<x:double>"}
    assert table["PartitionKeys"] == []

    # Without the classifier the built-in JSON classifier sees one document: a single `array` column.
    glue.create_crawler(Name="builtin", Role=ROLE, DatabaseName=lake["database"], TablePrefix="builtin_",
                        Targets={"S3Targets": [{"Path": f"s3://{lake['bucket']}/batches/"}]})
    run_crawler(glue, "builtin")
    table = glue.get_table(DatabaseName=lake["database"], Name="builtin_batches")["Table"]
    assert list(columns(table)) == ["array"]


def test_bucket_root_with_dissimilar_folders_makes_one_table_each(aws: Clients, lake: dict) -> None:
    glue, s3 = aws["glue"], aws["s3"]
    write_two_days(s3, lake["bucket"])
    put_lines(s3, lake["bucket"], "errors/processing-failed/dt=2024-05-01/e",
              [{"attemptsMade": 4, "arrivalTimestamp": 1, "errorCode": "Lambda.X", "errorMessage": "m",
                "attemptEndingTimestamp": 2, "rawData": "eA==", "lambdaArn": "arn"}])
    s3.put_object(Bucket=lake["bucket"], Key="orders/_SUCCESS", Body=b"x")  # hidden files are skipped
    s3_crawler(glue, lake, "root", f"s3://{lake['bucket']}/",
               SchemaChangePolicy={"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "DELETE_FROM_DATABASE"})
    run_crawler(glue, "root")
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=lake["database"])["TableList"]}
    assert set(tables) == {"orders", "errors"}
    assert [k["Name"] for k in tables["errors"]["PartitionKeys"]] == ["partition_0", "dt"]
    assert [k["Name"] for k in tables["orders"]["PartitionKeys"]] == ["dt"]

    # Data gone + DELETE_FROM_DATABASE: the partition goes, then the table.
    s3.delete_object(Bucket=lake["bucket"], Key="orders/dt=2024-05-02/kinesis-to-s3-1-2024-05-02-10-00-00-b")
    run_crawler(glue, "root")
    values = [p["Values"] for p in glue.get_partitions(DatabaseName=lake["database"], TableName="orders")["Partitions"]]
    assert values == [["2024-05-01"]]
    # (A lone folder under a bucket root would make a table named after the bucket, as on AWS,
    # so another dissimilar folder keeps the tables folder-named.)
    put_lines(s3, lake["bucket"], "audit/a", [{"who": "me", "what": "edit", "when": 1}])
    s3.delete_object(Bucket=lake["bucket"], Key="errors/processing-failed/dt=2024-05-01/e")
    run_crawler(glue, "root")
    assert {t["Name"] for t in glue.get_tables(DatabaseName=lake["database"])["TableList"]} == {"orders", "audit"}
    assert glue.get_crawler_metrics(CrawlerNameList=["root"])["CrawlerMetricsList"][0]["TablesDeleted"] == 1


def test_running_twice_refused_and_stop_cancels(aws: Clients, lake: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crawler_module, "MIN_RUNNING_SECONDS", 30.0)  # stays RUNNING until we stop it
    monkeypatch.setattr(crawler_module, "STOPPING_SECONDS", 1.0)  # and STOPPING long enough to be seen
    glue, s3 = aws["glue"], aws["s3"]
    write_two_days(s3, lake["bucket"])
    s3_crawler(glue, lake, "stoppable", f"s3://{lake['bucket']}/orders/")
    glue.start_crawler(Name="stoppable")
    assert glue.get_crawler(Name="stoppable")["Crawler"]["State"] == "RUNNING"
    with pytest.raises(glue.exceptions.CrawlerRunningException):
        glue.start_crawler(Name="stoppable")
    with pytest.raises(glue.exceptions.CrawlerRunningException):
        glue.delete_crawler(Name="stoppable")
    glue.stop_crawler(Name="stoppable")
    assert glue.get_crawler(Name="stoppable")["Crawler"]["State"] == "STOPPING"
    eventually(lambda: glue.get_crawler(Name="stoppable")["Crawler"]["State"] == "READY", "READY", interval=POLL_S)
    assert glue.get_crawler(Name="stoppable")["Crawler"]["LastCrawl"]["Status"] == "CANCELLED"
    assert glue.list_crawls(CrawlerName="stoppable")["Crawls"][0]["State"] == "STOPPED"
    with pytest.raises(glue.exceptions.CrawlerNotRunningException):
        glue.stop_crawler(Name="stoppable")


def test_failures_are_reported_in_last_crawl(cloud: object, aws: Clients, lake: dict) -> None:
    import urllib.request

    glue = aws["glue"]
    glue.create_crawler(Name="nodb", Role=ROLE, DatabaseName=f"missing_{lake['suffix']}",
                        Targets={"S3Targets": [{"Path": f"s3://{lake['bucket']}/orders/"}]})
    run_crawler(glue, "nodb")
    last = glue.get_crawler(Name="nodb")["Crawler"]["LastCrawl"]
    assert last["Status"] == "FAILED" and "missing_" in last["ErrorMessage"]
    with urllib.request.urlopen(f"{cloud.url}/_localcloud/health") as resp:  # type: ignore[attr-defined]
        crawlers = json.load(resp)["runners"]["glue-crawlers"]["crawlers"]
    assert crawlers["123456789012/ap-south-1/nodb"]["last_status"] == "FAILED"

    glue.create_crawler(Name="notable", Role=ROLE, DatabaseName=lake["database"],
                        Targets={"CatalogTargets": [{"DatabaseName": lake["database"], "Tables": ["nope"]}]})
    run_crawler(glue, "notable")
    last = glue.get_crawler(Name="notable")["Crawler"]["LastCrawl"]
    assert last["Status"] == "FAILED" and "nope" in last["ErrorMessage"]
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.start_crawler(Name=f"ghost_{lake['suffix']}")


def test_update_crawler_changes_definition_and_bumps_version(aws: Clients, lake: dict) -> None:
    glue = aws["glue"]
    glue.create_crawler(Name="upd", Role=ROLE, DatabaseName=lake["database"],
                        Targets={"S3Targets": [{"Path": f"s3://{lake['bucket']}/orders/"}]})
    before = glue.get_crawler(Name="upd")["Crawler"]
    glue.update_crawler(Name="upd", Configuration=KEEP_DECLARED, TablePrefix="p_",
                        SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"})
    after = glue.get_crawler(Name="upd")["Crawler"]
    assert after["Version"] == before["Version"] + 1
    assert json.loads(after["Configuration"]) == json.loads(KEEP_DECLARED)
    assert after["TablePrefix"] == "p_" and after["SchemaChangePolicy"]["UpdateBehavior"] == "LOG"
    assert after["Targets"] == before["Targets"]
    with pytest.raises(glue.exceptions.InvalidInputException):
        glue.update_crawler(Name="upd", Configuration="{not json")


def test_exclusions_gzip_and_table_level(aws: Clients, lake: dict) -> None:
    import gzip

    glue, s3 = aws["glue"], aws["s3"]
    s3.put_object(Bucket=lake["bucket"], Key="lake/orders/dt=2024-05-01/a.json.gz",
                  Body=gzip.compress(b'{"orderid": "1", "quantity": 3}\n{"orderid": "2", "quantity": 4}\n'))
    s3.put_object(Bucket=lake["bucket"], Key="lake/orders/dt=2024-05-01/skip.tmp", Body=b'{"junk": true}\n')
    glue.create_crawler(
        Name="levels", Role=ROLE, DatabaseName=lake["database"],
        Targets={"S3Targets": [{"Path": f"s3://{lake['bucket']}/lake/", "Exclusions": ["**.tmp"]}]},
        # bucket = level 1, lake/ = 2, orders/ = 3: the table sits at orders/, not at lake/
        Configuration=json.dumps({"Version": 1.0, "Grouping": {"TableLevelConfiguration": 3}}),
    )
    run_crawler(glue, "levels")
    table = glue.get_table(DatabaseName=lake["database"], Name="orders")["Table"]
    assert columns(table) == {"orderid": "string", "quantity": "int"}
    assert table["Parameters"]["compressionType"] == "gzip" and table["Parameters"]["recordCount"] == "2"
    assert table["StorageDescriptor"]["Location"] == f"s3://{lake['bucket']}/lake/orders/"


def test_combine_compatible_schemas_keeps_one_table(aws: Clients, lake: dict) -> None:
    glue, s3 = aws["glue"], aws["s3"]
    put_lines(s3, lake["bucket"], "mixed/a/1", [{"x": 1, "y": 2, "z": 3}])
    put_lines(s3, lake["bucket"], "mixed/b/1", [{"p": "q"}])
    glue.create_crawler(
        Name="combine", Role=ROLE, DatabaseName=lake["database"],
        Targets={"S3Targets": [{"Path": f"s3://{lake['bucket']}/mixed/"}]},
        Configuration=json.dumps({"Version": 1.0, "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas"}}),
    )
    run_crawler(glue, "combine")
    tables = glue.get_tables(DatabaseName=lake["database"])["TableList"]
    assert [t["Name"] for t in tables] == ["mixed"]
    assert columns(tables[0]) == {"x": "int", "y": "int", "z": "int", "p": "string"}
    assert tables[0]["PartitionKeys"] == [{"Name": "partition_0", "Type": "string"}]


def test_new_folders_only_adds_new_partitions_and_leaves_known_ones(aws: Clients, lake: dict) -> None:
    glue, s3 = aws["glue"], aws["s3"]
    write_two_days(s3, lake["bucket"])
    s3_crawler(glue, lake, "incremental", f"s3://{lake['bucket']}/orders/",
               SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
               RecrawlPolicy={"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"})
    run_crawler(glue, "incremental")
    # a change inside a known folder is not looked at; a new folder is
    put_lines(s3, lake["bucket"], "orders/dt=2024-05-01/late", [change(20, "2024-05-01", late=True)])
    put_lines(s3, lake["bucket"], "orders/dt=2024-05-04/new", [change(21, "2024-05-04")])
    run_crawler(glue, "incremental")
    summary = json.loads(glue.list_crawls(CrawlerName="incremental")["Crawls"][0]["Summary"])
    assert summary == {"PARTITION": {"ADD": {"Count": 1}}}
    table = glue.get_table(DatabaseName=lake["database"], Name="orders")["Table"]
    assert "late" not in columns(table)
    values = sorted(p["Values"][0] for p in
                    glue.get_partitions(DatabaseName=lake["database"], TableName="orders")["Partitions"])
    assert values == ["2024-05-01", "2024-05-02", "2024-05-04"]


def test_definitions_glue_refuses_are_refused(aws: Clients, lake: dict) -> None:
    glue = aws["glue"]
    base = {"Role": ROLE, "DatabaseName": lake["database"],
            "Targets": {"S3Targets": [{"Path": f"s3://{lake['bucket']}/orders/"}]}}
    with pytest.raises(glue.exceptions.InvalidInputException, match="unsupported keys: UpdateBehavior"):
        glue.create_crawler(Name="bad1", **base, Configuration=json.dumps(
            {"Version": 1.0, "CrawlerOutput": {"Partitions": {"UpdateBehavior": "LOG"}}}))
    with pytest.raises(glue.exceptions.InvalidInputException, match="only LOG"):
        glue.create_crawler(Name="bad2", **base, RecrawlPolicy={"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"})
    with pytest.raises(glue.exceptions.InvalidInputException, match="only apply to Amazon S3"):
        glue.create_crawler(
            Name="bad3", Role=ROLE, DatabaseName=lake["database"],
            Targets={"CatalogTargets": [{"DatabaseName": lake["database"], "Tables": ["t"]}]},
            SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
            RecrawlPolicy={"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"})
    assert glue.batch_get_crawlers(CrawlerNames=["bad1", "bad2", "bad3"])["CrawlersNotFound"] == ["bad1", "bad2", "bad3"]
    glue.create_crawler(Name="good", **base)
    with pytest.raises(glue.exceptions.AlreadyExistsException):
        glue.create_crawler(Name="good", **base)
    with pytest.raises(glue.exceptions.InvalidInputException):
        glue.update_crawler(Name="good", RecrawlPolicy={"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"})


def test_table_threshold_fails_the_crawl_and_creates_nothing(aws: Clients, lake: dict) -> None:
    glue, s3 = aws["glue"], aws["s3"]
    put_lines(s3, lake["bucket"], "many/a/1", [{"a": 1}])
    put_lines(s3, lake["bucket"], "many/b/1", [{"b": "x"}])
    glue.create_crawler(
        Name="threshold", Role=ROLE, DatabaseName=lake["database"],
        Targets={"S3Targets": [{"Path": f"s3://{lake['bucket']}/many/"}]},
        Configuration=json.dumps({"Version": 1.0, "CrawlerOutput": {"Tables": {"TableThreshold": 1}}}),
    )
    run_crawler(glue, "threshold")
    last = glue.get_crawler(Name="threshold")["Crawler"]["LastCrawl"]
    assert last["Status"] == "FAILED" and "table threshold" in last["ErrorMessage"]
    assert glue.get_tables(DatabaseName=lake["database"])["TableList"] == []


def athena_answer(aws: Clients, lake: dict, sql: str) -> dict:
    """Run `sql` in the lake's database; the finished QueryExecution's status and, if it succeeded, its rows."""
    athena = aws["athena"]
    qid = athena.start_query_execution(
        QueryString=sql, QueryExecutionContext={"Database": lake["database"]},
        ResultConfiguration={"OutputLocation": f"s3://{lake['bucket']}/athena-results/"})["QueryExecutionId"]

    def finished() -> dict | None:
        status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        return status if status["State"] not in ("QUEUED", "RUNNING") else None

    status = eventually(finished, f"query {qid} to finish", interval=POLL_S)
    if status["State"] != "SUCCEEDED":
        return {"status": status}
    rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
    return {"status": status, "rows": [[d.get("VarCharValue") for d in row["Data"]] for row in rows[1:]]}


def test_athena_reads_the_table_a_crawl_just_changed(aws: Clients, lake: dict) -> None:
    # Athena keeps Glue's answers until Glue is written; a crawl writes the catalog in-process, as
    # Glue's own, so it must say so (CatalogWriter.changed) or Athena would read the old table.
    glue, s3 = aws["glue"], aws["s3"]
    put_lines(s3, lake["bucket"], "orders/dt=2024-05-01/a", [change(i, "2024-05-01") for i in range(1, 4)])
    s3_crawler(glue, lake, "fresh", f"s3://{lake['bucket']}/orders/")
    run_crawler(glue, "fresh")
    assert athena_answer(aws, lake, "SELECT count(*) FROM orders")["rows"] == [["3"]]
    missing = athena_answer(aws, lake, "SELECT max(discount) FROM orders")["status"]
    assert missing["State"] == "FAILED" and "discount" in missing["StateChangeReason"]
    put_lines(s3, lake["bucket"], "orders/dt=2024-05-01/b", [change(9, "2024-05-01", discount=5)])
    run_crawler(glue, "fresh")  # adds the column to the table
    assert athena_answer(aws, lake, "SELECT max(discount) FROM orders")["rows"] == [["5"]]


def test_a_crawl_tells_the_plane_of_each_catalog_write(cloud: Any, aws: Clients, lake: dict,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # What Athena keeps of Glue lasts until the plane hears of a Glue write (localcloud/generations.py).
    told: list[int] = []
    monkeypatch.setattr(cloud.plane.writes, "glue_written", lambda: told.append(1))
    write_two_days(aws["s3"], lake["bucket"])
    s3_crawler(aws["glue"], lake, "told", f"s3://{lake['bucket']}/orders/")
    run_crawler(aws["glue"], "told")
    assert len(told) == 3  # the table and its two partitions

"""The crawler's pure planning (localcloud/glue/planning.py), without a cloud: listings and schemas in, plans out."""

from __future__ import annotations

import datetime as dt
import json

from localcloud.glue.planning import (
    TablePlan,
    crawled_table_input,
    free_table_name,
    group_tables,
    plan_partitions,
    plan_s3_target,
    sample,
    updated_table_input,
    wanted,
)
from localcloud.glue.s3source import S3Object
from localcloud.glue.scanning import FileScan, scan_object
from localcloud.glue.settings import CrawlerSettings

BUCKET = "lake"
WHEN = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)


class Notes:
    """Collects what planning logs."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(f"INFO {message}")

    def warning(self, message: str) -> None:
        self.lines.append(f"WARN {message}")


def obj(key: str, size: int = 10) -> S3Object:
    return S3Object(BUCKET, key, size, "etag", WHEN)


def scan(key: str, *records: dict) -> FileScan:
    data = "\n".join(json.dumps(r) for r in records).encode()
    return scan_object(obj(key, len(data)), data, [])


def settings(**overrides) -> CrawlerSettings:
    fields = {"name": "c", "role": "arn:aws:iam::123456789012:role/service-role/CrawlerRole", "database": "db",
              "table_prefix": "", **overrides}
    return CrawlerSettings(**fields)


def test_wanted_skips_folder_markers_empty_and_hidden_files_and_exclusions() -> None:
    assert wanted(obj("orders/a.json"), "orders/", [])
    assert not wanted(obj("orders/"), "orders/", [])
    assert not wanted(obj("orders/b.json", size=0), "orders/", [])
    assert not wanted(obj("orders/_SUCCESS"), "orders/", [])
    assert not wanted(obj("orders/.a.json.crc"), "orders/", [])
    assert not wanted(obj("orders/x/y/a.tmp"), "orders/", ["**.tmp"])
    assert wanted(obj("orders/x/a.tmp"), "orders/", ["*.tmp"])  # `*` stays within one folder
    assert not wanted(obj("orders/a.tmp"), "orders/", ["*.{tmp,bak}"])


def test_sample_keeps_at_most_n_objects_per_folder_in_listing_order() -> None:
    objects = [obj("t/a/1"), obj("t/a/2"), obj("t/a/3"), obj("t/b/1")]
    assert [o.key for o in sample(objects, 2)] == ["t/a/1", "t/a/2", "t/b/1"]
    assert sample(objects, None) == objects


def test_similar_sibling_folders_make_one_table() -> None:
    scans = [scan("t/x=1/a.json", {"id": 1, "name": "a"}), scan("t/x=2/a.json", {"id": 2, "name": "b"})]
    notes = Notes()
    assert group_tables("t/", scans, False, notes) == [("t/", scans)]
    assert notes.lines == []


def test_dissimilar_sibling_folders_make_one_table_each_unless_combined() -> None:
    orders = scan("raw/orders/a.json", {"order_id": 1, "qty": 2, "price": 1.5})
    users = scan("raw/users/a.json", {"user_id": "u", "email": "e", "country": "IN"})
    notes = Notes()
    assert group_tables("raw/", [orders, users], False, notes) == [("raw/orders/", [orders]),
                                                                    ("raw/users/", [users])]
    assert any("dissimilar schemas" in line for line in notes.lines)
    assert group_tables("raw/", [orders, users], True, Notes()) == [("raw/", [orders, users])]


def test_key_value_folders_become_partition_keys_and_others_partition_n() -> None:
    scans = [scan("t/Year=2024/07/a.json", {"id": 1}), scan("t/Year=2025/01/b.json", {"id": 2})]
    plan = plan_partitions(TablePlan("t", BUCKET, "t/", [], scans), None, Notes())
    assert plan.partition_keys == ["year", "partition_1"]
    assert sorted(plan.partitions) == [("2024", "07"), ("2025", "01")]
    assert plan.partition_location(("2024", "07")) == "s3://lake/t/Year=2024/07/"


def test_a_file_above_the_partition_folders_is_in_no_partition() -> None:
    deep = [scan(f"t/d={i}/a.json", {"id": i}) for i in range(3)]
    top = scan("t/top.json", {"id": 9})
    notes = Notes()
    plan = plan_partitions(TablePlan("t", BUCKET, "t/", [], [*deep, top]), None, notes)
    assert plan.partition_keys == ["d"]
    assert all(top not in files for files in plan.partitions.values())
    assert any("t/top.json sits above the partition folders" in line for line in notes.lines)


def test_declared_partition_keys_are_kept_and_none_means_unpartitioned() -> None:
    scans = [scan("t/2024/a.json", {"id": 1})]
    assert plan_partitions(TablePlan("t", BUCKET, "t/", [], scans), ["dt"], Notes()).partitions == {("2024",): scans}
    unpartitioned = plan_partitions(TablePlan("t", BUCKET, "t/", [], list(scans)), [], Notes())
    assert unpartitioned.partition_keys == [] and unpartitioned.partitions == {}


def test_a_name_taken_by_a_table_elsewhere_gets_a_location_hash() -> None:
    assert free_table_name("orders", "s3://lake/orders/", None) == "orders"
    assert free_table_name("orders", "s3://lake/orders/", "s3://lake/orders") == "orders"
    other = free_table_name("orders", "s3://lake/orders/", "s3://other/orders/")
    assert other.startswith("orders_") and len(other) == len("orders_") + 8


def test_s3_target_names_tables_after_their_root_with_prefix_and_table_level() -> None:
    scans = [scan("data/Sales-2024/x=1/a.json", {"id": 1}), scan("data/Sales-2024/x=2/b.json", {"id": 2}),
             scan("data/top.json", {"id": 3})]
    notes = Notes()
    plans = plan_s3_target(BUCKET, "data/", scans, settings(table_prefix="raw_", table_level=3),
                           lambda name: None, notes)
    assert [(p.name, p.root, p.partition_keys) for p in plans] == [("raw_sales_2024", "data/Sales-2024/", ["x"])]
    assert any("above table level 3" in line for line in notes.lines)


def test_crawled_table_input_describes_json_data() -> None:
    plan = plan_partitions(TablePlan("t", BUCKET, "t/", [], [scan("t/p=1/a.json", {"b": 1, "a": "x"})]), None,
                           Notes())
    table = crawled_table_input(plan, "c", "arn:aws:iam::1:role/service-role/CrawlerRole", "123456789012")
    assert table["CreatedBy"] == "arn:aws:sts::123456789012:assumed-role/CrawlerRole/AWS-Crawler"
    assert table["PartitionKeys"] == [{"Name": "p", "Type": "string"}]
    sd = table["StorageDescriptor"]
    assert sd["Location"] == "s3://lake/t/"
    assert sd["SerdeInfo"]["Parameters"]["paths"] == "a,b"
    assert {c["Name"]: c["Type"] for c in sd["Columns"]} == {"b": "int", "a": "string"}
    assert table["Parameters"]["recordCount"] == "1" and table["Parameters"]["UPDATED_BY_CRAWLER"] == "c"


def test_merge_new_columns_adds_columns_and_keeps_the_owners_choices() -> None:
    current = {"Name": "T", "Parameters": {"classification": "custom", "owner": "me"},
               "PartitionKeys": [{"Name": "p", "Type": "string"}],
               "StorageDescriptor": {"Columns": [{"Name": "a", "Type": "decimal(10,2)"}],
                                     "SerdeInfo": {"Parameters": {"paths": "a"}}}}
    plan = TablePlan("t", BUCKET, "t/", ["p"], [scan("t/p=1/x.json", {"a": 1.5, "b": "x", "p": "1"})])
    crawled = crawled_table_input(plan, "c", "r", "1")
    merged = updated_table_input(current, crawled, merge_new_columns=True)
    assert merged["StorageDescriptor"]["Columns"] == [{"Name": "a", "Type": "decimal(10,2)"},
                                                      {"Name": "b", "Type": "string"}]
    assert merged["Parameters"]["classification"] == "custom" and merged["Parameters"]["owner"] == "me"
    assert merged["StorageDescriptor"]["SerdeInfo"]["Parameters"]["paths"] == "a,b"
    replaced = updated_table_input(current, crawled, merge_new_columns=False)
    assert replaced["Name"] == "T" and "owner" not in replaced["Parameters"]
    assert current["StorageDescriptor"]["Columns"] == [{"Name": "a", "Type": "decimal(10,2)"}]  # not mutated

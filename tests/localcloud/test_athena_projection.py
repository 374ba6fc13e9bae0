"""Partition projection: the partitions Athena projects, and only the kept ones' prefixes are listed.

With projection Athena computes the partitions a query may read from the table's properties and
the query's partition filter, and lists only those locations; a dashboard query of today's
partition costs the same on day 300 as on day 1. No cloud here: the S3 client is a recording fake.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from localcloud.athena.lake import Lake, projected_partitions

DAYS = {"projection.enabled": "true", "projection.dt.type": "date", "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": "2024-01-01,NOW", "projection.dt.interval": "1", "projection.dt.interval.unit": "DAYS"}


def test_a_daily_date_projection_runs_from_its_first_day_to_today() -> None:
    partitions = projected_partitions([("dt", "string")], DAYS)
    assert partitions is not None
    today = dt.datetime.now(dt.timezone.utc).date()
    assert partitions[0] == (("dt", "2024-01-01"),) and partitions[-1] == (("dt", today.isoformat()),)
    assert len(partitions) == (today - dt.date(2024, 1, 1)).days + 1


def test_enum_and_integer_projections_and_their_product() -> None:
    params = {"projection.region.type": "enum", "projection.region.values": "eu,us",
              "projection.n.type": "integer", "projection.n.range": "1,5", "projection.n.interval": "2",
              "projection.n.digits": "2"}
    assert projected_partitions([("region", "string"), ("n", "int")], params) == [
        (("region", "eu"), ("n", "01")), (("region", "eu"), ("n", "03")), (("region", "eu"), ("n", "05")),
        (("region", "us"), ("n", "01")), (("region", "us"), ("n", "03")), (("region", "us"), ("n", "05"))]


def test_what_cannot_be_stepped_is_not_enumerated() -> None:
    assert projected_partitions([("id", "string")], {"projection.id.type": "injected"}) is None
    hourly = {**DAYS, "projection.dt.format": "yyyy-MM-dd-HH", "projection.dt.interval.unit": "HOURS"}
    assert projected_partitions([("dt", "string")], hourly) is None


class RecordingS3:
    """list_objects_v2 over fixed keys, recording each prefix asked for."""

    class exceptions:  # noqa: N801 - boto3's attribute name
        NoSuchBucket = KeyError

    def __init__(self, keys: list[str]):
        self.keys = keys
        self.prefixes: list[str] = []

    def get_paginator(self, name: str) -> Any:
        assert name == "list_objects_v2"
        return self

    def paginate(self, Bucket: str, Prefix: str) -> Any:  # noqa: N803 - boto3's names
        self.prefixes.append(Prefix)
        yield {"Contents": [{"Key": k, "ETag": '"e"', "Size": 1} for k in self.keys if k.startswith(Prefix)]}


GLUE_TABLE = {"Name": "changes", "DatabaseName": "db", "Parameters": DAYS,
              "PartitionKeys": [{"Name": "dt", "Type": "string"}],
              "StorageDescriptor": {"Location": "s3://lake/orders/", "Columns": [{"Name": "x", "Type": "int"}],
                                    "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}}}


def test_only_the_kept_partitions_are_listed(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    days = [(today - dt.timedelta(days=n)).isoformat() for n in range(5)]
    s3 = RecordingS3([f"orders/dt={day}/part-{i}.json" for day in days for i in range(3)])
    keep_recent = lambda source, candidates: [c for c in candidates if c[0][1] >= days[1]]  # noqa: E731
    source = Lake(s3, tmp_path).table_source(GLUE_TABLE, catalog=None, keep=keep_recent)
    assert sorted(s3.prefixes) == [f"orders/dt={days[1]}/", f"orders/dt={days[0]}/"]
    assert sorted(o.key for o in source.objects) == sorted(f"orders/dt={d}/part-{i}.json" for d in days[:2]
                                                           for i in range(3))
    assert {o.partition for o in source.objects} == {(("dt", days[0]),), (("dt", days[1]),)}


def test_without_a_filter_the_table_is_listed_once(tmp_path: Path) -> None:
    s3 = RecordingS3(["orders/dt=2024-05-01/a.json", "orders/dt=1999-01-01/outside.json"])
    source = Lake(s3, tmp_path).table_source(GLUE_TABLE, catalog=None, keep=lambda source, candidates: None)
    assert s3.prefixes == ["orders/"]
    assert [o.key for o in source.objects] == ["orders/dt=2024-05-01/a.json"]  # outside the projection's range


def test_a_literal_partition_filter_is_evaluated_once_and_one_that_may_vary_every_time() -> None:
    import duckdb
    from sqlglot import exp, parse_one

    from localcloud.athena.lake import TableSource
    from localcloud.athena.queries import QueryPlanner

    con = duckdb.connect()
    calls = []

    def evaluate(sql: str, relations: dict | None = None) -> list:
        calls.append(sql)
        cursor = con.cursor()
        for name, table in (relations or {}).items():
            cursor.register(name, table)
        return cursor.sql(sql).fetchall()

    planner = QueryPlanner(None, None, evaluate=evaluate)
    candidates = [(("dt", f"2026-12-0{d}"),) for d in range(1, 8)]
    for where, runs in (("dt >= '2026-12-05'", 1), ("dt >= CAST(current_date AS varchar)", 2)):
        calls.clear()
        # A table name of its own per case: the remembered answers are keyed by the filter's text.
        tree = parse_one(f"SELECT * FROM t WHERE {where}", read="trino")
        source = TableSource(catalog="awsdatacatalog", database="db", name="t", columns=[],
                             partition_keys=[("dt", "string")], format="json", ignore_malformed=False)
        kept = [planner._kept(tree.find(exp.Table), "t", source, candidates) for _ in range(2)]
        assert len(calls) == runs, where
        if runs == 1:
            assert kept[0] == kept[1] == candidates[4:]

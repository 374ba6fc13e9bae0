"""CTAS, INSERT INTO and UNLOAD over HTTP: files in the emulated S3, tables and partitions in Glue.

A real local cloud holds a small JSON source table; every statement goes
through StartQueryExecution, and what it wrote is checked three ways: the
objects in S3 (and the manifest Athena lists them in), the Glue table and
partitions, and reading the rows back through Athena. awswrangler's default
read_sql_query (ctas_approach=True) and its unload_approach ride on the same.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from localcloud.testing import running_localcloud
from tests.support.athena import result_rows, run_query, state

REGION = "ap-south-1"
BUCKET = "writes-lake"
DB = "writes_db"
OPEN_WG = "open"  # lets a query choose its own locations
ENFORCED_WG = "enforced"
SOURCE = [
    {"orderid": "1", "product": "Laptop", "price": 10.5, "day": "2024-05-01"},
    {"orderid": "2", "product": "Phone", "price": 99.99, "day": "2024-05-01"},
    {"orderid": "3", "product": "Tablet", "price": 5.0, "day": "2024-05-02"},
]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """This module's local cloud (in place of tests/conftest.py's), with the resources its tests read."""
    with running_localcloud(tmp_path_factory.mktemp("athena-writes")) as cloud:
        kw = {"endpoint_url": cloud.url, "region_name": REGION, "aws_access_key_id": "test",
              "aws_secret_access_key": "test"}
        s3 = boto3.client("s3", **kw)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key="source/part-0.json",
                      Body="".join(json.dumps(r) + "\n" for r in SOURCE).encode())
        athena = boto3.client("athena", **kw)
        athena.create_work_group(Name=OPEN_WG, Configuration={
            "EnforceWorkGroupConfiguration": False,
            "ResultConfiguration": {"OutputLocation": f"s3://{BUCKET}/results/"}})
        athena.create_work_group(Name=ENFORCED_WG, Configuration={
            "EnforceWorkGroupConfiguration": True,
            "ResultConfiguration": {"OutputLocation": f"s3://{BUCKET}/enforced-results/"}})
        cloud.kw, cloud.s3, cloud.athena_client = kw, s3, athena
        cloud.glue = boto3.client("glue", **kw)
        assert state(run(cloud, f"CREATE DATABASE {DB}")) == "SUCCEEDED"
        assert state(run(cloud, f"""CREATE EXTERNAL TABLE {DB}.source (orderid string, product string,
            price decimal(10,2), day string)
            ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://{BUCKET}/source/'""")) == "SUCCEEDED"
        yield cloud


def run(cloud: Any, sql: str, workgroup: str = OPEN_WG) -> dict[str, Any]:
    return run_query(cloud.athena_client, sql, WorkGroup=workgroup, QueryExecutionContext={"Database": DB})


def rows(cloud: Any, sql: str) -> list[list[str | None]]:
    execution = run(cloud, sql)
    assert state(execution) == "SUCCEEDED"
    return result_rows(cloud.athena_client, execution)


def manifest_files(cloud: Any, execution: dict[str, Any]) -> list[str]:
    url = execution["Statistics"]["DataManifestLocation"]
    bucket, key = url[len("s3://"):].split("/", 1)
    return cloud.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().split()


def test_ctas_writes_partitioned_parquet_registers_glue_and_reads_back(cloud: Any) -> None:
    execution = run(cloud, f"""CREATE TABLE {DB}.by_day WITH (partitioned_by = ARRAY['day'])
        AS SELECT orderid, product, price, day FROM source""")
    assert state(execution) == "SUCCEEDED"
    assert (execution["StatementType"], execution["SubstatementType"]) == ("DDL", "CREATE_TABLE_AS_SELECT")
    result = cloud.athena_client.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    assert result["UpdateCount"] == 3
    # CTAS's files, its manifest too, are in the result location's tables/ sub-folder (Athena's docs).
    assert execution["Statistics"]["DataManifestLocation"] == \
        f"s3://{BUCKET}/results/tables/{execution['QueryExecutionId']}-manifest.csv"
    files = manifest_files(cloud, execution)
    # Without external_location: under the result location's tables/<query id>/, one folder per day.
    base = f"s3://{BUCKET}/results/tables/{execution['QueryExecutionId']}/"
    assert sorted(f.rsplit("/", 1)[0] + "/" for f in files) == [base + "day=2024-05-01/", base + "day=2024-05-02/"]
    bucket, key = files[0][len("s3://"):].split("/", 1)
    written = pq.read_table(io.BytesIO(cloud.s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    assert written.column_names == ["orderid", "product", "price"]
    table = cloud.glue.get_table(DatabaseName=DB, Name="by_day")["Table"]
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == \
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == \
        [("orderid", "string"), ("product", "string"), ("price", "decimal(10,2)")]
    assert table["PartitionKeys"] == [{"Name": "day", "Type": "string"}]
    parts = cloud.glue.get_partitions(DatabaseName=DB, TableName="by_day")["Partitions"]
    assert sorted(p["Values"][0] for p in parts) == ["2024-05-01", "2024-05-02"]
    assert rows(cloud, "SELECT orderid, price, day FROM by_day ORDER BY orderid") == \
        [["1", "10.50", "2024-05-01"], ["2", "99.99", "2024-05-01"], ["3", "5.00", "2024-05-02"]]


def test_ctas_json_to_an_external_location_and_its_refusals(cloud: Any) -> None:
    location = f"s3://{BUCKET}/tables/cheap/"
    execution = run(cloud, f"""CREATE TABLE {DB}.cheap WITH (format = 'JSON', external_location = '{location}')
        AS SELECT orderid, price FROM source WHERE price < 50""")
    assert state(execution) == "SUCCEEDED"
    assert all(f.startswith(location) and f.endswith(".gz") for f in manifest_files(cloud, execution))
    assert rows(cloud, "SELECT orderid FROM cheap ORDER BY 1") == [["1"], ["3"]]
    again = run(cloud, f"""CREATE TABLE {DB}.cheap2 WITH (external_location = '{location}') AS SELECT 1 AS x""")
    assert again["Status"]["StateChangeReason"].startswith("HIVE_PATH_ALREADY_EXISTS: Target directory")
    exists = run(cloud, f"CREATE TABLE {DB}.cheap AS SELECT 1 AS x")
    assert exists["Status"]["StateChangeReason"] == f"TABLE_ALREADY_EXISTS: Table 'awsdatacatalog.{DB}.cheap' " \
        "already exists"
    enforced = run(cloud, f"CREATE TABLE {DB}.e WITH (external_location = 's3://{BUCKET}/e/') AS SELECT 1 AS x",
                   workgroup=ENFORCED_WG)
    assert enforced["Status"]["State"] == "FAILED"
    order = run(cloud, f"CREATE TABLE {DB}.bad WITH (partitioned_by = ARRAY['orderid']) AS "
                       "SELECT orderid, price FROM source")
    assert order["Status"]["StateChangeReason"].startswith("HIVE_COLUMN_ORDER_MISMATCH")
    orc = run(cloud, f"CREATE TABLE {DB}.orc WITH (format = 'ORC') AS SELECT 1 AS x")
    assert orc["Status"]["StateChangeReason"].startswith("NOT_SUPPORTED")


def test_ctas_with_no_data_registers_an_empty_table(cloud: Any) -> None:
    assert state(run(cloud, f"CREATE TABLE {DB}.shape AS SELECT orderid, price FROM source WITH NO DATA")) == \
        "SUCCEEDED"
    assert rows(cloud, "SELECT count(*) FROM shape") == [["0"]]


def test_insert_into_appends_and_registers_new_partitions(cloud: Any) -> None:
    assert state(run(cloud, f"""CREATE TABLE {DB}.log WITH (partitioned_by = ARRAY['day'])
        AS SELECT orderid, price, day FROM source WHERE day = '2024-05-01'""")) == "SUCCEEDED"
    execution = run(cloud, f"INSERT INTO {DB}.log SELECT orderid, price, day FROM source WHERE day = '2024-05-02'")
    assert state(execution) == "SUCCEEDED" and execution["StatementType"] == "DML"
    assert execution["Statistics"]["DataManifestLocation"] == \
        f"s3://{BUCKET}/results/{execution['QueryExecutionId']}-manifest.csv"
    assert len(manifest_files(cloud, execution)) == 1
    # A column list: the missing column is NULL.
    assert state(run(cloud, f"INSERT INTO {DB}.log (day, orderid) VALUES ('2024-05-03', '9')")) == "SUCCEEDED"
    assert rows(cloud, "SELECT orderid, price, day FROM log ORDER BY orderid") == [
        ["1", "10.50", "2024-05-01"], ["2", "99.99", "2024-05-01"], ["3", "5.00", "2024-05-02"],
        ["9", None, "2024-05-03"]]
    parts = cloud.glue.get_partitions(DatabaseName=DB, TableName="log")["Partitions"]
    assert sorted(p["Values"][0] for p in parts) == ["2024-05-01", "2024-05-02", "2024-05-03"]
    mismatch = run(cloud, f"INSERT INTO {DB}.log SELECT orderid FROM source")
    assert mismatch["Status"]["StateChangeReason"].startswith("TYPE_MISMATCH: Insert query has mismatched column")


def test_unload_writes_files_and_a_manifest(cloud: Any) -> None:
    location = f"s3://{BUCKET}/unloaded/"
    execution = run(cloud, f"UNLOAD (SELECT orderid, price FROM source ORDER BY orderid) TO '{location}' "
                           "WITH (format = 'PARQUET', compression = 'SNAPPY')")
    assert state(execution) == "SUCCEEDED"
    assert (execution["StatementType"], execution["SubstatementType"]) == ("DML", "UNLOAD")
    assert execution["Statistics"]["DataManifestLocation"] == \
        f"s3://{BUCKET}/results/{execution['QueryExecutionId']}-manifest.csv"
    files = manifest_files(cloud, execution)
    assert files and all(f.startswith(location) for f in files)
    bucket, key = files[0][len("s3://"):].split("/", 1)
    table = pq.read_table(io.BytesIO(cloud.s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    assert table.column("orderid").to_pylist() == ["1", "2", "3"]
    again = run(cloud, f"UNLOAD (SELECT 1 AS x) TO '{location}' WITH (format = 'PARQUET')")
    assert again["Status"]["State"] == "FAILED"


def test_awswrangler_default_ctas_approach_and_unload_approach(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import awswrangler as wr

    monkeypatch.setenv("AWS_ENDPOINT_URL", cloud.url)
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    df = wr.athena.read_sql_query("SELECT orderid, price FROM source ORDER BY orderid", database=DB,
                                  workgroup=OPEN_WG, boto3_session=session)
    assert [(r.orderid, float(r.price)) for r in df.itertuples()] == [("1", 10.5), ("2", 99.99), ("3", 5.0)]
    unloaded = wr.athena.read_sql_query("SELECT orderid FROM source", database=DB, workgroup=OPEN_WG,
                                        ctas_approach=False, unload_approach=True,
                                        s3_output=f"s3://{BUCKET}/wr-unload/", boto3_session=session)
    assert sorted(unloaded["orderid"]) == ["1", "2", "3"]
    # The CTAS approach's temporary table is gone again.
    assert not [t for t in cloud.glue.get_tables(DatabaseName=DB)["TableList"] if t["Name"].startswith("temp_table")]

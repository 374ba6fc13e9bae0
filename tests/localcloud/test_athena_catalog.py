"""Athena's catalog actions see the Glue Data Catalog: boto3 and pyathena's metadata calls over HTTP.

A real local cloud, a Glue database and a partitioned table created through
the Glue API (as the crawler or infra would), then Athena's ListDataCatalogs,
GetDataCatalog, ListDatabases, GetDatabase, ListTableMetadata and
GetTableMetadata — with their paging — and pyathena's cursor methods built on
them. (SQLAlchemy is not installed in the project's environment, so its
reflection is exercised through pyathena's own metadata calls.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from pyathena import connect

from localcloud.testing import running_localcloud

REGION = "ap-south-1"
BUCKET = "catalog-test-results"
DB = "sales_catalog"


def table_input(name: str) -> dict[str, Any]:
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json"},
        "PartitionKeys": [{"Name": "dt", "Type": "string"}],
        "StorageDescriptor": {
            "Columns": [{"Name": "orderid", "Type": "string", "Comment": "the order"},
                        {"Name": "price", "Type": "decimal(10,2)"}],
            "Location": f"s3://{BUCKET}/{name}/",
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
        },
    }


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_localcloud(tmp_path_factory.mktemp("athena-catalog")) as cloud:
        kw = {"endpoint_url": cloud.url, "region_name": REGION, "aws_access_key_id": "test",
              "aws_secret_access_key": "test"}
        boto3.client("s3", **kw).create_bucket(Bucket=BUCKET,
                                               CreateBucketConfiguration={"LocationConstraint": REGION})
        glue = boto3.client("glue", **kw)
        glue.create_database(DatabaseInput={"Name": DB, "Description": "sales"})
        glue.create_database(DatabaseInput={"Name": "other_db"})
        for name in ("orders", "order_changes", "products"):
            glue.create_table(DatabaseName=DB, TableInput=table_input(name))
        cloud.clients = kw
        yield cloud


@pytest.fixture()
def athena(cloud: Any) -> Any:
    return boto3.client("athena", **cloud.clients)


def test_list_and_get_data_catalogs_show_the_glue_catalog(athena: Any) -> None:
    summaries = athena.list_data_catalogs()["DataCatalogsSummary"]
    assert {"CatalogName": "AwsDataCatalog", "Type": "GLUE"} in summaries
    catalog = athena.get_data_catalog(Name="AwsDataCatalog")["DataCatalog"]
    assert (catalog["Name"], catalog["Type"]) == ("AwsDataCatalog", "GLUE")


def test_list_databases_pages_through_glue(athena: Any) -> None:
    first = athena.list_databases(CatalogName="AwsDataCatalog", MaxResults=1)
    assert len(first["DatabaseList"]) == 1 and "NextToken" in first
    names = [d["Name"] for page in athena.get_paginator("list_databases").paginate(
        CatalogName="AwsDataCatalog", PaginationConfig={"PageSize": 1}) for d in page["DatabaseList"]]
    assert {DB, "other_db"} <= set(names) and len(names) == len(set(names))


def test_get_database_and_a_missing_one(athena: Any) -> None:
    database = athena.get_database(CatalogName="AwsDataCatalog", DatabaseName=DB)["Database"]
    assert (database["Name"], database["Description"]) == (DB, "sales")
    with pytest.raises(athena.exceptions.MetadataException):
        athena.get_database(CatalogName="AwsDataCatalog", DatabaseName="nope")


def test_table_metadata_has_columns_partition_keys_and_glue_types(athena: Any) -> None:
    table = athena.get_table_metadata(CatalogName="AwsDataCatalog", DatabaseName=DB,
                                      TableName="orders")["TableMetadata"]
    assert table["Name"] == "orders" and table["TableType"] == "EXTERNAL_TABLE"
    assert table["Columns"] == [{"Name": "orderid", "Type": "string", "Comment": "the order"},
                                {"Name": "price", "Type": "decimal(10,2)"}]
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert table["Parameters"]["location"] == f"s3://{BUCKET}/orders/"
    with pytest.raises(athena.exceptions.MetadataException):
        athena.get_table_metadata(CatalogName="AwsDataCatalog", DatabaseName=DB, TableName="nope")


def test_list_table_metadata_filters_and_pages(athena: Any) -> None:
    page = athena.list_table_metadata(CatalogName="AwsDataCatalog", DatabaseName=DB, MaxResults=2)
    assert len(page["TableMetadataList"]) == 2 and "NextToken" in page
    rest = athena.list_table_metadata(CatalogName="AwsDataCatalog", DatabaseName=DB, MaxResults=2,
                                      NextToken=page["NextToken"])
    names = {t["Name"] for t in page["TableMetadataList"] + rest["TableMetadataList"]}
    assert names == {"orders", "order_changes", "products"}
    filtered = athena.list_table_metadata(CatalogName="AwsDataCatalog", DatabaseName=DB, Expression="order.*")
    assert sorted(t["Name"] for t in filtered["TableMetadataList"]) == ["order_changes", "orders"]


def test_pyathena_metadata_calls(cloud: Any) -> None:
    cursor = connect(s3_staging_dir=f"s3://{BUCKET}/results/", region_name=REGION, endpoint_url=cloud.url,
                     aws_access_key_id="test", aws_secret_access_key="test", schema_name=DB).cursor()
    assert DB in [d.name for d in cursor.list_databases(catalog_name="AwsDataCatalog")]
    table = cursor.get_table_metadata("orders", catalog_name="AwsDataCatalog", schema_name=DB)
    assert [c.name for c in table.columns] == ["orderid", "price"]
    assert [c.name for c in table.partition_keys] == ["dt"]
    assert {t.name for t in cursor.list_table_metadata(catalog_name="AwsDataCatalog", schema_name=DB)} == \
        {"orders", "order_changes", "products"}


def query(athena: Any, sql: str) -> list[list[str | None]]:
    import time

    qid = athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": DB},
                                       ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/results/"})["QueryExecutionId"]
    for _ in range(600):
        status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.05)
    assert status["State"] == "SUCCEEDED", status
    rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"][1:]
    return [[d.get("VarCharValue") for d in r["Data"]] for r in rows]


def test_information_schema_tables_columns_and_schemata(athena: Any) -> None:
    assert query(athena, f"SELECT table_name, table_type FROM information_schema.tables "
                         f"WHERE table_schema = '{DB}' ORDER BY table_name") == \
        [["order_changes", "BASE TABLE"], ["orders", "BASE TABLE"], ["products", "BASE TABLE"]]
    assert query(athena, "SELECT column_name, ordinal_position, data_type FROM information_schema.columns "
                         f"WHERE table_schema = '{DB}' AND table_name = 'orders' ORDER BY ordinal_position") == \
        [["orderid", "1", "varchar"], ["price", "2", "decimal(10,2)"], ["dt", "3", "varchar"]]
    schemata = query(athena, "SELECT schema_name FROM information_schema.schemata")
    assert [DB] in schemata and ["information_schema"] in schemata
    assert query(athena, "SELECT count(*) FROM information_schema.columns c WHERE c.table_schema = 'other_db'") \
        == [["0"]]


def test_execution_parameters_fill_question_marks(athena: Any) -> None:
    import time

    def run(sql: str, parameters: list[str] | None) -> dict[str, Any]:
        kw = {"ExecutionParameters": parameters} if parameters else {}
        qid = athena.start_query_execution(QueryString=sql, ResultConfiguration={
            "OutputLocation": f"s3://{BUCKET}/results/"}, **kw)["QueryExecutionId"]
        for _ in range(600):
            execution = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
            if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                return execution
            time.sleep(0.05)
        raise AssertionError("did not finish")

    done = run("SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
               [f"'{DB}'", "'orders'"])
    assert done["Status"]["State"] == "SUCCEEDED" and done["ExecutionParameters"] == [f"'{DB}'", "'orders'"]
    rows = athena.get_query_results(QueryExecutionId=done["QueryExecutionId"])["ResultSet"]["Rows"]
    assert [r["Data"][0]["VarCharValue"] for r in rows] == ["table_name", "orders"]
    failed = run("SELECT ?", None)
    assert failed["Status"]["StateChangeReason"] == \
        "INVALID_PARAMETER_USAGE: Incorrect number of parameters: expected 1 but found 0"

"""Athena's catalog actions see the Glue Data Catalog: boto3 and pyathena's metadata calls over HTTP.

A real local cloud, a Glue database and a partitioned table created through
the Glue API (as the crawler or infra would), then Athena's ListDataCatalogs,
GetDataCatalog, ListDatabases, GetDatabase, ListTableMetadata and
GetTableMetadata — with their paging — pyathena's cursor methods built on
them, and SQLAlchemy reflection and `pd.read_sql_table` through pyathena's dialect.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from pyathena import connect

from localcloud.testing import running_localcloud
from tests.support.athena import result_rows, run_query

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
    """This module's local cloud (in place of tests/conftest.py's), with the resources its tests read."""
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
    other = athena.get_database(CatalogName="AwsDataCatalog", DatabaseName="other_db")["Database"]
    assert "Description" not in other  # absent, not empty, as the API's shape requires
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
    names_only = athena.list_table_metadata(CatalogName="AwsDataCatalog", DatabaseName=DB, Expression="products",
                                            AttributesToGet=["TABLE_NAME"])
    assert names_only["TableMetadataList"] == [{"Name": "products"}]


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

    execution = run_query(athena, sql, QueryExecutionContext={"Database": DB},
                          ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/results/"})
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    return result_rows(athena, execution)


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

    def run(sql: str, parameters: list[str] | None) -> dict[str, Any]:
        kw = {"ExecutionParameters": parameters} if parameters else {}
        return run_query(athena, sql, ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/results/"}, **kw)

    done = run("SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
               [f"'{DB}'", "'orders'"])
    assert done["Status"]["State"] == "SUCCEEDED" and done["ExecutionParameters"] == [f"'{DB}'", "'orders'"]
    rows = athena.get_query_results(QueryExecutionId=done["QueryExecutionId"])["ResultSet"]["Rows"]
    assert [r["Data"][0]["VarCharValue"] for r in rows] == ["table_name", "orders"]
    failed = run("SELECT ?", None)
    assert failed["Status"]["StateChangeReason"] == \
        "INVALID_PARAMETER_USAGE: Incorrect number of parameters: expected 1 but found 0"


def _sqlalchemy_engine(cloud: Any) -> Any:
    """pyathena's SQLAlchemy dialect against the local cloud: URL query arguments go to pyathena.connect."""
    from urllib.parse import quote_plus

    from sqlalchemy import create_engine

    return create_engine(
        f"awsathena+rest://test:test@athena.{REGION}.amazonaws.com:443/{DB}"
        f"?s3_staging_dir={quote_plus(f's3://{BUCKET}/results/')}&endpoint_url={quote_plus(cloud.url)}"
        f"&region_name={REGION}"
    )


def test_sqlalchemy_reflection_sees_the_glue_tables(cloud: Any) -> None:
    from sqlalchemy import inspect

    engine = _sqlalchemy_engine(cloud)
    try:
        inspector = inspect(engine)
        assert DB in inspector.get_schema_names()
        assert set(inspector.get_table_names(schema=DB)) == {"orders", "order_changes", "products"}
        assert inspector.has_table("orders", schema=DB)
        assert not inspector.has_table("no_such_table", schema=DB)
        columns = {c["name"]: c for c in inspector.get_columns("orders", schema=DB)}
        assert list(columns) == ["orderid", "price", "dt"]  # partition keys come last, as Athena lists them
        assert (columns["price"]["type"].precision, columns["price"]["type"].scale) == (10, 2)
        assert columns["orderid"]["comment"] == "the order"
    finally:
        engine.dispose()


def test_pandas_read_sql_table_reads_a_lake_table(cloud: Any) -> None:
    import pandas as pd

    s3 = boto3.client("s3", **cloud.clients)
    s3.put_object(Bucket=BUCKET, Key="products/dt=2026-11-29/part-0.json",
                  Body=b'{"orderid": "o-1", "price": 19.99}\n{"orderid": "o-2", "price": 5.00}\n')
    glue = boto3.client("glue", **cloud.clients)
    glue.create_partition(DatabaseName=DB, TableName="products", PartitionInput={
        "Values": ["2026-11-29"],
        "StorageDescriptor": {**table_input("products")["StorageDescriptor"],
                              "Location": f"s3://{BUCKET}/products/dt=2026-11-29/"}})
    engine = _sqlalchemy_engine(cloud)
    try:
        frame = pd.read_sql_table("products", engine, schema=DB)
    finally:
        engine.dispose()
    # read_sql_table coerces decimals to float by default (coerce_float=True); the values are what matter
    rows = sorted((r.orderid, float(r.price), r.dt) for r in frame.itertuples())
    assert rows == [("o-1", 19.99, "2026-11-29"), ("o-2", 5.0, "2026-11-29")]


class _CountingCatalog:
    """A GlueCatalog stand-in that counts what reaches Glue."""

    def __init__(self, tables: dict[tuple[str, str], dict]):
        self.tables, self.calls = tables, []

    def get_table(self, database: str, name: str) -> dict | None:
        self.calls.append(("GetTable", name))
        return self.tables.get((database, name))

    def get_tables_named(self, database: str, names: set[str]) -> dict[str, dict]:
        self.calls.append(("GetTables", tuple(sorted(names))))
        return {n: self.tables[(database, n)] for n in names if (database, n) in self.tables}

    def put_table(self, database: str, table_input: dict, replace: bool) -> None:
        self.calls.append(("PutTable", table_input["Name"]))
        self.tables[(database, table_input["Name"])] = table_input


def test_a_plan_reads_each_table_once_and_several_of_a_database_in_one_call() -> None:
    from localcloud.athena.catalog import PlanCatalog

    glue = _CountingCatalog({("db", "a"): {"Name": "a"}, ("db", "b"): {"Name": "b"}})
    catalog = PlanCatalog(glue)  # type: ignore[arg-type]
    with catalog.planning():
        catalog.prefetch("db", {"a", "b", "missing"})
        assert catalog.get_table("db", "a") == {"Name": "a"} and catalog.get_table("db", "b") == {"Name": "b"}
        assert catalog.get_table("db", "missing") is None and catalog.get_table("db", "missing") is None
    assert glue.calls == [("GetTables", ("a", "b", "missing")), ("GetTable", "missing")]
    # Outside planning (DDL, CTAS, Iceberg writes) every read reaches Glue, and a write drops what was read.
    glue.calls.clear()
    catalog.get_table("db", "a")
    catalog.get_table("db", "a")
    with catalog.planning():
        catalog.get_table("db", "a")
        catalog.put_table("db", {"Name": "a", "v": 2}, replace=True)
        assert catalog.get_table("db", "a") == {"Name": "a", "v": 2}
    assert [c[0] for c in glue.calls] == ["GetTable", "GetTable", "GetTable", "PutTable", "GetTable"]

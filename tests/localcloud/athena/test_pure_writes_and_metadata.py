"""Pure parts of CTAS/UNLOAD and of the catalog answers, without a cloud: properties, types, files, shapes."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot

from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.information_schema import athena_type
from localcloud.athena.metadata import name_filter, table_metadata
from localcloud.athena.writes import encode, glue_type, parse_unload, properties, split_partitions


def ctas_properties(text: str):  # noqa: ANN201 - a WriteProperties
    tree = sqlglot.parse_one(f"CREATE TABLE t WITH ({text}) AS SELECT 1", read="athena")
    return properties(tree.args.get("properties"))


def test_ctas_properties_and_their_defaults() -> None:
    default = ctas_properties("format = 'PARQUET'")
    assert (default.format, default.compression, default.external_location) == ("PARQUET", "GZIP", None)
    props = ctas_properties("format = 'JSON', external_location = 's3://b/t/', partitioned_by = ARRAY['dt'], "
                            "bucketed_by = ARRAY['id'], bucket_count = 4, write_compression = 'NONE'")
    assert (props.format, props.compression, props.external_location, props.partitioned_by, props.bucketed_by,
            props.bucket_count) == ("JSON", "NONE", "s3://b/t/", ["dt"], ["id"], 4)
    with pytest.raises(QueryFailed, match="NOT_SUPPORTED"):
        ctas_properties("format = 'ORC'")
    with pytest.raises(QueryFailed, match="INVALID_TABLE_PROPERTY"):
        ctas_properties("no_such_property = 1")
    with pytest.raises(QueryFailed, match="INVALID_TABLE_PROPERTY"):
        ctas_properties("bucketed_by = ARRAY['id']")


def test_glue_types_of_result_columns() -> None:
    relation = duckdb.sql("SELECT 'a' s, 1 i, 2::BIGINT b, sum(1) h, 1.5::DECIMAL(10,2) d, [1] l, "
                          "{'x': 1} r, MAP(['k'], [1.0::DOUBLE]) m, DATE '2024-01-01' dd, TIMESTAMP '2024-01-01' t")
    assert [glue_type(t) for t in relation.types] == [
        "string", "int", "bigint", "bigint", "decimal(10,2)", "array<int>", "struct<x:int>", "map<string,double>",
        "date", "timestamp"]


def test_encoded_files_read_back() -> None:
    table = pa.table({"id": ["1", "2"], "at": [dt.datetime(2024, 5, 1, 10, 0, 0, 250000), None]})
    body, suffix = encode(table, "PARQUET", "GZIP")
    assert suffix == ".parquet" and pq.read_table(io.BytesIO(body)).column("id").to_pylist() == ["1", "2"]
    body, suffix = encode(table, "JSON", "GZIP")
    lines = gzip.decompress(body).decode().splitlines()
    assert suffix == ".gz" and json.loads(lines[0]) == {"id": "1", "at": "2024-05-01 10:00:00.250"}


def test_rows_split_by_partition_values_with_hives_null_partition() -> None:
    table = pa.table({"v": [1, 2, 3], "dt": ["a", None, "a"]})
    parts = dict(split_partitions(table, ["dt"]))
    assert parts[("a",)].column("v").to_pylist() == [1, 3]
    assert parts[("__HIVE_DEFAULT_PARTITION__",)].column_names == ["v"]


def test_unload_statement_parts() -> None:
    assert parse_unload("UNLOAD (SELECT (1) AS x) TO 's3://b/p/' WITH (format = 'JSON')") == \
        ("SELECT (1) AS x", "s3://b/p/", "format = 'JSON'")
    assert parse_unload("SELECT 1") is None


def test_table_metadata_shape_and_types_in_athena_names() -> None:
    glue = {"Name": "t", "TableType": "EXTERNAL_TABLE", "CreateTime": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
            "PartitionKeys": [{"Name": "dt", "Type": "string"}], "Parameters": {"classification": "json"},
            "StorageDescriptor": {"Columns": [{"Name": "a", "Type": "int", "Comment": "c"}], "Location": "s3://b/t/"}}
    metadata = table_metadata(glue)
    assert metadata["CreateTime"] == 1704067200.0
    assert metadata["Columns"] == [{"Name": "a", "Type": "int", "Comment": "c"}]
    assert metadata["Parameters"] == {"classification": "json", "location": "s3://b/t/"}
    assert athena_type("struct<a:int,b:array<string>>") == "row(a integer,b array(varchar))"
    assert athena_type("decimal(10,2)") == "decimal(10,2)"
    assert name_filter("order.*")("Orders") and not name_filter("order.*")("products")

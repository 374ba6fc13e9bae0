"""varchar(n) through the local Athena: values truncated as Athena reads them, n in ColumnInfo's Precision.

Athena truncates a varchar(n) column's longer values to n characters when it
reads them, and types the column varchar(n): GetQueryResults' ColumnInfo says
Type "varchar", Precision n (as Trino's JDBC ColumnInfo does; an unbounded
varchar says 2147483647). The same for CAST(x AS varchar(n)). A char(n) column,
whose values Trino pads with spaces and compares padded, is refused rather than
read as an unpadded string.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.localcloud.test_athena import BUCKET, DB, RESULTS, WORKGROUP, Lake, glue_table_input, lake_with
from tests.support.aws import REGION

UNBOUNDED = 2147483647
COLUMNS = [("code", "varchar(5)"), ("name", "string"), ("flag", "char(3)")]


@pytest.fixture(scope="module")
def lake(cloud: Any) -> Lake:
    lk = lake_with(cloud, {})
    lk.glue.create_table(DatabaseName=DB, TableInput=glue_table_input("coded", f"s3://{BUCKET}/coded/",
                                                                      columns=COLUMNS))
    lk.s3.put_object(Bucket=BUCKET, Key="coded/dt=2024-05-01/x",
                     Body=b'{"code": "ABCDEFGH", "name": "long name", "flag": "x"}\n'
                          b'{"code": "\xc3\xa9t\xc3\xa9", "name": "short", "flag": "yy"}\n')
    return lk


def _columns(lake: Lake, sql: str) -> tuple[list[tuple[str, str, int]], list[list[str | None]]]:
    execution = lake.query(sql)
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    page = lake.athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    info = [(c["Name"], c["Type"], c["Precision"]) for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]]
    rows = [[d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"][1:]]
    return info, rows


def test_a_varchar_n_column_is_truncated_when_read_and_reports_its_length(lake: Lake) -> None:
    info, rows = _columns(lake, "SELECT code, name FROM coded ORDER BY name")
    assert info == [("code", "varchar", 5), ("name", "varchar", UNBOUNDED)]
    assert rows == [["ABCDE", "long name"], ["été", "short"]]


def test_the_length_follows_aliases_subqueries_and_ctes(lake: Lake) -> None:
    info, _ = _columns(lake, "WITH c AS (SELECT code AS k FROM coded) SELECT x.k AS kk, k FROM (SELECT k FROM c) x "
                             "CROSS JOIN (SELECT 1) ORDER BY 1 LIMIT 1")
    assert info == [("kk", "varchar", 5), ("k", "varchar", 5)]


def test_a_cast_to_varchar_n_truncates_and_reports_n(lake: Lake) -> None:
    info, rows = _columns(lake, "SELECT CAST(name AS varchar(4)) AS n4, upper(code) AS u, 'abc' AS lit "
                                "FROM coded ORDER BY name")
    # upper(varchar(5)) and the literal are typed with lengths by Trino too; the local engine says unbounded
    # (column_lengths.py): metadata only, the values are Athena's.
    assert info == [("n4", "varchar", 4), ("u", "varchar", UNBOUNDED), ("lit", "varchar", UNBOUNDED)]
    assert rows == [["long", "ABCDE", "abc"], ["shor", "ÉTÉ", "abc"]]


def test_pyathena_sees_the_length_in_its_description(lake: Lake) -> None:
    import pyathena

    with pyathena.connect(s3_staging_dir=RESULTS, region_name=REGION, work_group=WORKGROUP, schema_name=DB,
                          endpoint_url=lake.cloud.url, aws_access_key_id="test", aws_secret_access_key="test",
                          poll_interval=0.05).cursor() as cursor:
        rows = cursor.execute("SELECT code, CAST(code AS varchar(2)) AS c2, name FROM coded ORDER BY name").fetchall()
        assert [(d[0], d[1], d[4]) for d in cursor.description] == [
            ("code", "varchar", 5), ("c2", "varchar", 2), ("name", "varchar", UNBOUNDED)]
    assert rows == [("ABCDE", "AB", "long name"), ("été", "ét", "short")]


def test_a_char_n_column_is_refused_only_when_read(lake: Lake) -> None:
    assert lake.failure("SELECT flag FROM coded").startswith(
        "NOT_SUPPORTED: Column 'flag' of type char(3), whose values Athena pads with spaces, is not supported")
    assert lake.failure("SELECT * FROM coded").startswith("NOT_SUPPORTED: Column 'flag'")
    assert lake.rows("SELECT count(*) FROM coded WHERE name = 'short'")[1:] == [["1"]]

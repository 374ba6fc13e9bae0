"""Athena on the local cloud, over HTTP, the way pyathena, awswrangler and the dashboard use it.

One local cloud for the module: a lake bucket with NDJSON objects shaped like
salescdc.contract, the `order_changes` table as infra defines it (partition
projection on dt), a workgroup with an enforced output location, and the
`orders_current` view created through Athena DDL from salescdc.infra.views.
Every answer is checked against values computed here by hand.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import time
from typing import Any

import boto3
import botocore.config
import pytest

from salescdc.contract import COLUMNS, PARTITION_COLUMNS, format_timestamp
from salescdc.infra.views import orders_current_sql
from salescdc.settings import Settings
from tests.support.aws import REGION, client
from tests.support.waiting import eventually

BUCKET = "sales-cdc-lake-test"
DB = "cdc_data"
WORKGROUP = "sales-cdc"
RESULTS = f"s3://{BUCKET}/athena-results/"
D = decimal.Decimal


# -- the lake ---------------------------------------------------------------------
def change(orderid: str, seq: str, op: str, product: str = "Laptop", quantity: int = 1, price: str = "10.00",
           event_id: str | None = None, event_time: str = "2024-05-01 10:00:00.000",
           arrival_time: str | None = None, extra: str = "{}") -> dict[str, Any]:
    return {
        "orderid": orderid, "product_name": product, "quantity": quantity,
        # A JSON number with exactly the item's digits, as the transform writes it.
        "price": decimal.Decimal(price),
        "updated_at": None, "op": op, "is_deleted": op == "REMOVE",
        "event_id": event_id or f"ev-{orderid}-{seq[-3:]}", "sequence_number": seq,
        "event_time": event_time, "arrival_time": arrival_time or event_time, "extra": extra,
    }


def ndjson(records: list[dict[str, Any]]) -> bytes:
    def default(v: Any) -> Any:
        if isinstance(v, decimal.Decimal):
            return float(v)  # replaced below by the exact digits
        raise TypeError(v)

    lines = []
    for r in records:
        text = json.dumps({k: (f"@@{v}@@" if isinstance(v, decimal.Decimal) else v) for k, v in r.items()})
        lines.append(text.replace('"@@', "").replace('@@"', ""))
    return ("\n".join(lines) + "\n").encode()


SEQ21 = "100000000000000000001"
# Changes across two days: inserts, updates, deletes, a duplicate delivery, and
# sequence numbers of 21 and 40 digits that compare wrongly as unpadded strings.
DAY1 = [
    change("1", SEQ21, "INSERT", "Laptop", 1, "10.50"),
    change("2", "200000000000000000001", "INSERT", "Phone", 2, "99.99"),
    change("3", "300000000000000000001", "INSERT", "Tablet", 2, "5.00", event_id="dup-3"),
    change("4", "999999999999999999999", "INSERT", "Headphones", 1, "7.77"),
    change("5", "500000000000000000001", "INSERT", "charger", 1, "1.10"),
]
DAY2 = [
    change("1", "1000000000000000000000000000000000000002", "MODIFY", "Laptop", 3, "193.72",
           event_time="2024-05-02 09:30:00.250"),
    change("2", "200000000000000000002", "REMOVE", "Phone", 2, "99.99", event_time="2024-05-02 11:00:00.000"),
    # The same stream record delivered twice (Firehose is at-least-once).
    change("3", "300000000000000000001", "INSERT", "Tablet", 2, "5.00", event_id="dup-3",
           arrival_time="2024-05-02 00:00:05.000"),
    change("4", "1000000000000000000000", "MODIFY", "Headphones", 4, "8.88", event_time="2024-05-02 12:00:00.000"),
    change("5", "500000000000000000002", "REMOVE", "charger", 1, "1.10", event_time="2024-05-02 12:30:00.000"),
    change("5", "500000000000000000003", "INSERT", "charger", 2, "2.20", event_time="2024-05-02 13:00:00.000"),
]


def oracle_current(records: list[dict[str, Any]]) -> dict[str, tuple[str, int, D]]:
    """orders_current by hand: one delivery per event, latest by numeric sequence, deletes dropped."""
    seen, unique = set(), []
    for r in records:
        if r["event_id"] not in seen:
            seen.add(r["event_id"])
            unique.append(r)
    latest: dict[str, dict[str, Any]] = {}
    for r in unique:
        if r["orderid"] not in latest or int(r["sequence_number"]) > int(latest[r["orderid"]]["sequence_number"]):
            latest[r["orderid"]] = r
    return {k: (r["product_name"], r["quantity"], r["price"]) for k, r in latest.items() if not r["is_deleted"]}


ORACLE = oracle_current(DAY1 + DAY2)


def glue_table_input(name: str, location: str, projection: bool = True, serde_params: dict | None = None,
                     columns: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    params = {"EXTERNAL": "TRUE", "classification": "json"}
    if projection:
        params.update({
            "projection.enabled": "true", "projection.dt.type": "date", "projection.dt.format": "yyyy-MM-dd",
            "projection.dt.range": "2024-01-01,NOW", "storage.location.template": f"{location}dt=${{dt}}",
        })
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": params,
        "PartitionKeys": [{"Name": n, "Type": t} for n, t, _ in PARTITION_COLUMNS],
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in (columns or [(n, t) for n, t, _ in COLUMNS])],
            "Location": location,
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                          "Parameters": serde_params or {"serialization.format": "1"}},
        },
    }


class Lake:
    """boto3 clients on the local cloud plus a `query` helper that waits like a client would."""

    def __init__(self, cloud: Any):
        self.cloud = cloud
        self.s3 = client(cloud, "s3")
        self.glue = client(cloud, "glue")
        self.athena = client(cloud, "athena")

    def start(self, sql: str, workgroup: str = WORKGROUP, database: str = DB, **extra: Any) -> str:
        return self.athena.start_query_execution(
            QueryString=sql, QueryExecutionContext={"Database": database, "Catalog": "AwsDataCatalog"},
            WorkGroup=workgroup, **extra,
        )["QueryExecutionId"]

    def wait(self, qid: str, timeout: float = 60) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            execution = self.athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
            return execution if execution["Status"]["State"] not in ("QUEUED", "RUNNING") else None

        return eventually(finished, f"query {qid} to finish", timeout=timeout, interval=0.02)

    def query(self, sql: str, **kw: Any) -> dict[str, Any]:
        return self.wait(self.start(sql, **kw))

    def rows(self, sql: str, **kw: Any) -> list[list[str | None]]:
        execution = self.query(sql, **kw)
        assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
        out: list[list[str | None]] = []
        token = None
        while True:
            page = self.athena.get_query_results(
                QueryExecutionId=execution["QueryExecutionId"], **({"NextToken": token} if token else {})
            )
            out += [[d.get("VarCharValue") for d in row["Data"]] for row in page["ResultSet"]["Rows"]]
            token = page.get("NextToken")
            if not token:
                return out

    def ok(self, sql: str, **kw: Any) -> dict[str, Any]:
        execution = self.query(sql, **kw)
        assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
        return execution

    def rows_cold_then_warm(self, sql: str) -> list[tuple]:
        """`sql`'s rows through pyathena, decoded cold then warm (tests.support.athena.rows_cold_then_warm)."""
        from tests.support.athena import pyathena_connection, rows_cold_then_warm

        connection = pyathena_connection(self.cloud.url, RESULTS, REGION, WORKGROUP, DB)
        return rows_cold_then_warm(connection, self.cloud.athena.engine, sql)

    def failure(self, sql: str, **kw: Any) -> str:
        execution = self.query(sql, **kw)
        assert execution["Status"]["State"] == "FAILED", execution["Status"]
        return execution["Status"]["StateChangeReason"]


def lake_with(cloud: Any, objects: dict[str, bytes], **workgroup: Any) -> Lake:
    """The lake bucket holding `objects`, `order_changes` over it and the enforced workgroup (plus `workgroup`)."""
    lk = Lake(cloud)
    lk.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    lk.glue.create_database(DatabaseInput={"Name": DB})
    lk.glue.create_table(DatabaseName=DB, TableInput=glue_table_input("order_changes", f"s3://{BUCKET}/orders/"))
    for key, body in objects.items():
        lk.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    lk.athena.create_work_group(Name=WORKGROUP, Configuration={
        "ResultConfiguration": {"OutputLocation": RESULTS}, "EnforceWorkGroupConfiguration": True, **workgroup})
    return lk


def lake_with_table(cloud: Any, table: str, columns: Any, objects: dict[str, bytes]) -> Lake:
    """`lake_with` no objects of its own plus OpenX table `table` (`columns`) under s3://BUCKET/<table>/,
    holding `objects` (keys relative to that folder)."""
    lk = lake_with(cloud, {})
    lk.glue.create_table(DatabaseName=DB, TableInput=glue_table_input(table, f"s3://{BUCKET}/{table}/",
                                                                      columns=columns))
    for key, body in objects.items():
        lk.s3.put_object(Bucket=BUCKET, Key=f"{table}/{key}", Body=body)
    return lk


@pytest.fixture(scope="module")
def lake(cloud: Any) -> Lake:
    lk = lake_with(cloud, {
        "orders/dt=2024-05-01/kinesis-to-s3-1-2024-05-01-10-00-00-a": ndjson(DAY1),
        "orders/dt=2024-05-02/kinesis-to-s3-1-2024-05-02-10-00-00-b": ndjson(DAY2),
    }, BytesScannedCutoffPerQuery=1_000_000_000)
    created = lk.query(orders_current_sql(Settings()))
    assert created["Status"]["State"] == "SUCCEEDED", created["Status"]
    return lk


# -- orders_current and the view as Athena stores it ------------------------------------
def test_orders_current_equals_hand_computed_oracle(lake: Lake) -> None:
    rows = lake.rows("SELECT orderid, product_name, quantity, price FROM orders_current ORDER BY orderid")
    assert rows[0] == ["orderid", "product_name", "quantity", "price"]
    got = {r[0]: (r[1], int(r[2]), D(r[3])) for r in rows[1:]}
    assert got == ORACLE
    # The 40-digit sequence wins over the 21-digit one; 22 digits beat 21 nines; a re-insert after a delete lives.
    assert got["1"] == ("Laptop", 3, D("193.72"))
    assert got["4"] == ("Headphones", 4, D("8.88"))
    assert got["5"] == ("charger", 2, D("2.20"))
    assert "2" not in got


def test_view_is_stored_in_glue_the_way_athena_stores_views(lake: Lake) -> None:
    table = lake.glue.get_table(DatabaseName=DB, Name="orders_current")["Table"]
    assert table["TableType"] == "VIRTUAL_VIEW"
    assert table["Parameters"]["presto_view"] == "true"
    assert table["ViewExpandedText"] == "/* Presto View */"
    text = table["ViewOriginalText"]
    assert text.startswith("/* Presto View: ") and text.endswith(" */")
    definition = json.loads(base64.b64decode(text[len("/* Presto View: "):-3]))
    assert definition["catalog"] == "awsdatacatalog" and definition["schema"] == DB
    assert definition["originalSql"].lstrip().upper().startswith("WITH DEDUPLICATED")
    columns = {c["name"]: c["type"] for c in definition["columns"]}
    assert columns["price"] == "decimal(10,2)" and columns["quantity"] == "integer"
    assert columns["event_time"] == "timestamp" and columns["orderid"] == "varchar"
    glue_columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    assert glue_columns["orderid"] == "string" and glue_columns["quantity"] == "int"


def test_view_resolves_when_queried_from_another_database(lake: Lake) -> None:
    rows = lake.rows(f"SELECT count(*) FROM {DB}.orders_current", database="default")
    assert rows == [["_col0"], [str(len(ORACLE))]]


# -- result shapes -----------------------------------------------------------------------
def test_column_info_is_complete_and_values_are_athena_text(lake: Lake) -> None:
    execution = lake.query(
        "SELECT orderid, quantity, price, is_deleted, event_time, dt, CAST(1 AS bigint) AS big, 2.5e0 AS dbl, "
        "DATE '2024-05-01' AS d, ARRAY[1, 2] AS arr "
        "FROM order_changes WHERE sequence_number = '100000000000000000001'"
    )
    page = lake.athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    info = {c["Name"]: c for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]}
    assert {k: info[k]["Type"] for k in info} == {
        "orderid": "varchar", "quantity": "integer", "price": "decimal", "is_deleted": "boolean",
        "event_time": "timestamp", "dt": "varchar", "big": "bigint", "dbl": "double", "d": "date", "arr": "array",
    }
    assert (info["price"]["Precision"], info["price"]["Scale"]) == (10, 2)
    assert info["orderid"]["Precision"] == 2147483647 and info["orderid"]["CaseSensitive"] is True
    assert info["quantity"]["CaseSensitive"] is False and info["quantity"]["Nullable"] == "UNKNOWN"
    for c in info.values():
        assert set(c) >= {"CatalogName", "SchemaName", "TableName", "Name", "Label", "Type", "Precision", "Scale",
                          "Nullable", "CaseSensitive"}
    values = [d.get("VarCharValue") for d in page["ResultSet"]["Rows"][1]["Data"]]
    assert values == ["1", "1", "10.50", "false", "2024-05-01 10:00:00.000", "2024-05-01", "1", "2.5",
                      "2024-05-01", "[1, 2]"]


def test_result_csv_is_written_with_athenas_quoting(lake: Lake) -> None:
    execution = lake.query("SELECT 'say \"hi\"' AS quoted, CAST(NULL AS varchar) AS nothing, 42 AS n")
    location = execution["ResultConfiguration"]["OutputLocation"]
    assert location == f"{RESULTS}{execution['QueryExecutionId']}.csv"
    key = location.split(f"s3://{BUCKET}/", 1)[1]
    body = lake.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    assert body == '"quoted","nothing","n"\n"say ""hi""",,"42"\n'


def test_enforced_workgroup_location_wins_over_the_clients(lake: Lake) -> None:
    execution = lake.query("SELECT 1", ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/elsewhere/"})
    assert execution["ResultConfiguration"]["OutputLocation"].startswith(RESULTS)


def test_unenforced_workgroup_uses_the_clients_location(lake: Lake) -> None:
    execution = lake.query("SELECT 1", workgroup="primary",
                           ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/mine/"})
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["ResultConfiguration"]["OutputLocation"] == f"s3://{BUCKET}/mine/{execution['QueryExecutionId']}.csv"
    with pytest.raises(lake.athena.exceptions.InvalidRequestException, match="output location"):
        lake.start("SELECT 1", workgroup="primary")


def test_paging_with_max_results_and_next_token(lake: Lake) -> None:
    execution = lake.query("SELECT x FROM UNNEST(sequence(1, 2500)) AS t(x) ORDER BY x")
    qid = execution["QueryExecutionId"]
    first = lake.athena.get_query_results(QueryExecutionId=qid, MaxResults=1000)
    assert len(first["ResultSet"]["Rows"]) == 1000 and "NextToken" in first
    assert first["ResultSet"]["Rows"][0]["Data"][0]["VarCharValue"] == "x"  # the header counts in the first page
    values = [r["Data"][0]["VarCharValue"] for r in first["ResultSet"]["Rows"][1:]]
    token = first["NextToken"]
    while token:
        page = lake.athena.get_query_results(QueryExecutionId=qid, MaxResults=1000, NextToken=token)
        values += [r["Data"][0]["VarCharValue"] for r in page["ResultSet"]["Rows"]]
        token = page.get("NextToken")
    assert values == [str(i) for i in range(1, 2501)]


def test_statistics_count_bytes_of_the_objects_read(lake: Lake) -> None:
    size = sum(o["Size"] for o in lake.s3.list_objects_v2(Bucket=BUCKET, Prefix="orders/")["Contents"])
    execution = lake.query("SELECT count(*) FROM order_changes")
    stats = execution["Statistics"]
    assert stats["DataScannedInBytes"] == size
    assert stats["TotalExecutionTimeInMillis"] >= stats["EngineExecutionTimeInMillis"] >= 0
    assert stats["QueryQueueTimeInMillis"] >= 0
    assert execution["StatementType"] == "DML" and execution["SubstatementType"] == "SELECT"
    # Cached objects are still scanned: the count does not drop on a warm query.
    assert lake.query("SELECT count(*) FROM order_changes")["Statistics"]["DataScannedInBytes"] == size


def test_changed_object_is_read_again_and_unchanged_ones_come_from_the_cache(lake: Lake) -> None:
    key = "extra/dt=2024-05-03/obj"
    lake.glue.create_table(DatabaseName=DB, TableInput=glue_table_input("cache_probe", f"s3://{BUCKET}/extra/"))
    lake.s3.put_object(Bucket=BUCKET, Key=key, Body=ndjson([change("9", SEQ21, "INSERT", price="1.00")]))
    assert lake.rows("SELECT price FROM cache_probe")[1:] == [["1.00"]]
    cache = lake.cloud.athena.cache_dir
    cached_before = sorted(p.name for p in cache.iterdir())
    assert lake.rows("SELECT price FROM cache_probe")[1:] == [["1.00"]]
    assert sorted(p.name for p in cache.iterdir()) == cached_before
    lake.s3.put_object(Bucket=BUCKET, Key=key, Body=ndjson([change("9", SEQ21, "INSERT", price="2.00")]))
    assert lake.rows("SELECT price FROM cache_probe")[1:] == [["2.00"]]
    assert len(list(cache.iterdir())) == len(cached_before) + 1


def test_empty_table_gives_zero_rows(lake: Lake) -> None:
    lake.glue.create_table(DatabaseName=DB, TableInput=glue_table_input("empty_changes", f"s3://{BUCKET}/none/"))
    assert lake.rows("SELECT orderid FROM empty_changes") == [["orderid"]]
    assert lake.rows("SELECT count(*) AS n FROM empty_changes") == [["n"], ["0"]]


def test_partition_projection_reads_only_days_in_range(lake: Lake) -> None:
    # A dt folder outside projection.dt.range is not a partition Athena would read.
    lake.glue.create_table(DatabaseName=DB, TableInput=glue_table_input("ranged", f"s3://{BUCKET}/ranged/"))
    lake.s3.put_object(Bucket=BUCKET, Key="ranged/dt=2023-12-31/old", Body=ndjson([change("7", SEQ21, "INSERT")]))
    lake.s3.put_object(Bucket=BUCKET, Key="ranged/dt=2024-02-01/new", Body=ndjson([change("8", SEQ21, "INSERT")]))
    lake.s3.put_object(Bucket=BUCKET, Key="ranged/dt=2024-02-01/_SUCCESS", Body=b"not data")
    assert lake.rows("SELECT orderid, dt FROM ranged") == [["orderid", "dt"], ["8", "2024-02-01"]]


def test_registered_partitions_and_msck_repair(lake: Lake) -> None:
    lake.glue.create_table(DatabaseName=DB, TableInput=glue_table_input("registered", f"s3://{BUCKET}/reg/",
                                                                        projection=False))
    lake.s3.put_object(Bucket=BUCKET, Key="reg/dt=2024-03-01/a", Body=ndjson([change("11", SEQ21, "INSERT")]))
    # Without projection, Athena reads only partitions in the catalog: none yet.
    assert lake.rows("SELECT count(*) FROM registered")[1:] == [["0"]]
    lake.ok("MSCK REPAIR TABLE registered")
    assert lake.rows("SHOW PARTITIONS registered") == [["dt=2024-03-01"]]
    assert lake.rows("SELECT orderid, dt FROM registered")[1:] == [["11", "2024-03-01"]]
    lake.s3.put_object(Bucket=BUCKET, Key="elsewhere/x", Body=ndjson([change("12", SEQ21, "INSERT")]))
    lake.ok(f"ALTER TABLE registered ADD PARTITION (dt = '2024-03-02') LOCATION 's3://{BUCKET}/elsewhere/'")
    assert lake.failure("ALTER TABLE registered ADD PARTITION (dt='2024-03-02')").startswith("ALREADY_EXISTS")
    lake.ok("ALTER TABLE registered ADD IF NOT EXISTS PARTITION (dt='2024-03-02')")
    assert lake.rows("SELECT orderid, dt FROM registered ORDER BY orderid")[1:] == [
        ["11", "2024-03-01"], ["12", "2024-03-02"]]
    lake.ok("ALTER TABLE registered DROP PARTITION (dt='2024-03-01')")
    assert lake.rows("SHOW PARTITIONS registered") == [["dt=2024-03-02"]]


def test_malformed_json_fails_the_query_unless_the_table_ignores_it(lake: Lake) -> None:
    bad = b'{"orderid": "1", "quantity": 1}\n{"orderid": oops\n'
    lake.glue.create_table(DatabaseName=DB, TableInput=glue_table_input("strict", f"s3://{BUCKET}/bad/"))
    lake.glue.create_table(DatabaseName=DB, TableInput=glue_table_input(
        "lenient", f"s3://{BUCKET}/bad/", serde_params={"ignore.malformed.json": "true"}))
    lake.s3.put_object(Bucket=BUCKET, Key="bad/dt=2024-05-01/x", Body=bad)
    assert lake.failure("SELECT * FROM strict").startswith("HIVE_CURSOR_ERROR: Row is not a valid JSON Object")
    # OpenX's ignore.malformed.json turns the bad line into a row of NULLs.
    assert lake.rows("SELECT orderid, quantity FROM lenient ORDER BY orderid NULLS LAST")[1:] == [
        ["1", "1"], [None, None]]


def test_missing_fields_read_as_null_and_iso_or_epoch_millis_timestamps_parse(lake: Lake) -> None:
    lake.glue.create_table(DatabaseName=DB, TableInput=glue_table_input("sparse", f"s3://{BUCKET}/sparse/"))
    lake.s3.put_object(Bucket=BUCKET, Key="sparse/dt=2024-05-01/x",
                       Body=b'{"orderid": "1", "event_time": "2024-05-01T10:00:00.5Z", "surprise": 1}\n'
                            b'{"orderid": "2", "event_time": 1714557600250}\n')
    assert lake.rows("SELECT orderid, price, event_time FROM sparse ORDER BY orderid")[1:] == [
        ["1", None, "2024-05-01 10:00:00.500"], ["2", None, "2024-05-01 10:00:00.250"]]


# -- clients -----------------------------------------------------------------------------
def _pyathena(lake: Lake, **kw: Any) -> Any:
    import pyathena

    return pyathena.connect(
        s3_staging_dir=RESULTS, region_name=REGION, work_group=WORKGROUP, schema_name=DB,
        endpoint_url=lake.cloud.url, aws_access_key_id="test", aws_secret_access_key="test",
        poll_interval=0.05, **kw,
    )


def test_pyathena_default_cursor(lake: Lake) -> None:
    with _pyathena(lake).cursor() as cursor:
        cursor.execute("SELECT orderid, quantity, price, event_time, op = 'REMOVE' AS gone FROM orders_current "
                       "ORDER BY orderid")
        rows = cursor.fetchall()
        assert [d[0] for d in cursor.description] == ["orderid", "quantity", "price", "event_time", "gone"]
        assert [d[1] for d in cursor.description] == ["varchar", "integer", "decimal", "timestamp", "boolean"]
        assert {r[0]: (r[1], r[2]) for r in rows} == {k: (q, p) for k, (_, q, p) in ORACLE.items()}
        assert isinstance(rows[0][2], decimal.Decimal) and isinstance(rows[0][3], dt.datetime)
        assert rows[0][3] == dt.datetime(2024, 5, 2, 9, 30, 0, 250000) and rows[0][4] is False
        assert cursor.data_scanned_in_bytes > 0


def test_pyathena_pandas_cursor_reads_the_result_file_from_s3(lake: Lake) -> None:
    from pyathena.pandas.cursor import PandasCursor

    with _pyathena(lake, cursor_class=PandasCursor).cursor() as cursor:
        df = cursor.execute(
            "SELECT product_name, sum(price * quantity) AS revenue FROM orders_current "
            "GROUP BY product_name ORDER BY product_name"
        ).as_pandas()
    expected: dict[str, D] = {}
    for product, quantity, price in ORACLE.values():
        expected[product] = expected.get(product, D(0)) + price * quantity
    assert {r.product_name: D(str(r.revenue)) for r in df.itertuples()} == expected


def test_awswrangler_read_sql_query(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    import awswrangler as wr

    monkeypatch.setenv("AWS_ENDPOINT_URL", lake.cloud.url)
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    df = wr.athena.read_sql_query(
        "SELECT orderid, quantity FROM orders_current ORDER BY orderid", database=DB, workgroup=WORKGROUP,
        ctas_approach=False, boto3_session=session,
    )
    assert {str(r.orderid): int(r.quantity) for r in df.itertuples()} == {k: q for k, (_, q, _) in ORACLE.items()}


# -- the dashboard's queries --------------------------------------------------------------
def test_dashboard_queries(lake: Lake) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    recent = [
        change("r1", SEQ21, "INSERT", event_time=format_timestamp(now - dt.timedelta(minutes=5))),
        change("r2", SEQ21, "INSERT", event_time=format_timestamp(now - dt.timedelta(minutes=10))),
        change("r1", "100000000000000000002", "MODIFY", event_time=format_timestamp(now - dt.timedelta(minutes=1))),
        change("r3", SEQ21, "REMOVE", event_time=format_timestamp(now - dt.timedelta(hours=3))),
    ]
    lake.glue.create_table(DatabaseName=DB, TableInput=glue_table_input("live", f"s3://{BUCKET}/live/"))
    lake.s3.put_object(Bucket=BUCKET, Key=f"live/dt={now:%Y-%m-%d}/x", Body=ndjson(recent))
    per_op = lake.rows("SELECT op, count(*) AS events FROM live "
                       "WHERE event_time > current_timestamp - INTERVAL '1' HOUR GROUP BY op ORDER BY op")
    assert per_op == [["op", "events"], ["INSERT", "2"], ["MODIFY", "1"]]
    over_time = lake.rows(
        "SELECT date_trunc('day', event_time) AS day, sum(price * quantity) AS revenue FROM order_changes "
        "WHERE op <> 'REMOVE' GROUP BY 1 ORDER BY 1"
    )
    revenue: dict[str, D] = {}
    for r in DAY1 + DAY2:
        if r["op"] != "REMOVE":
            revenue[r["event_time"][:10]] = revenue.get(r["event_time"][:10], D(0)) + r["price"] * r["quantity"]
    day1, day2 = revenue["2024-05-01"], revenue["2024-05-02"]
    assert over_time == [["day", "revenue"], ["2024-05-01 00:00:00.000", str(day1)],
                         ["2024-05-02 00:00:00.000", str(day2)]]
    by_product = lake.rows("SELECT product_name, sum(price * quantity) AS revenue, sum(quantity) AS units "
                           "FROM orders_current GROUP BY product_name ORDER BY revenue DESC")
    assert by_product[1] == ["Laptop", "581.16", "3"]


# -- errors and states ----------------------------------------------------------------------
def test_error_messages_in_athenas_words(lake: Lake) -> None:
    assert lake.failure("SELECT * FROM x") == \
        "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.cdc_data.x' does not exist"
    assert lake.failure("SELECT * FROM nowhere.x") == "SCHEMA_NOT_FOUND: line 1:15: Schema 'nowhere' does not exist"
    assert lake.failure("SELECT nope FROM order_changes") == (
        "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved or requester is not authorized to "
        "access requested resources")
    assert lake.failure("SELECT * FROM order_changes WHERE").startswith("SYNTAX_ERROR: line 1:")
    assert lake.failure("SELECT no_such_function(1)") == \
        "FUNCTION_NOT_FOUND: line 1:8: Function 'no_such_function' not registered"
    failed = lake.query("SELECT * FROM x")
    assert failed["Status"]["AthenaError"]["ErrorCategory"] == 2
    with pytest.raises(lake.athena.exceptions.InvalidRequestException, match="FAILED"):
        lake.athena.get_query_results(QueryExecutionId=failed["QueryExecutionId"])


def test_unknown_execution_id_is_an_invalid_request(lake: Lake) -> None:
    with pytest.raises(lake.athena.exceptions.InvalidRequestException):
        lake.athena.get_query_execution(QueryExecutionId="00000000-0000-0000-0000-000000000000")


def test_stop_query_execution_cancels_a_running_query(lake: Lake) -> None:
    qid = lake.start("SELECT count(*) FROM UNNEST(sequence(1, 200000)) AS a(x) "
                     "CROSS JOIN UNNEST(sequence(1, 200000)) AS b(y) WHERE a.x * b.y % 7 = 3")
    eventually(lambda: lake.athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
               != "QUEUED", "the query to leave QUEUED", timeout=30, interval=0.02)
    time.sleep(0.2)
    lake.athena.stop_query_execution(QueryExecutionId=qid)
    execution = lake.wait(qid)
    assert execution["Status"]["State"] == "CANCELLED"
    lake.ok("SELECT 1")  # the workers are free again


def test_bytes_scanned_cutoff_fails_the_query(lake: Lake) -> None:
    lake.athena.create_work_group(Name="capped", Configuration={
        "ResultConfiguration": {"OutputLocation": RESULTS}, "EnforceWorkGroupConfiguration": True,
        "BytesScannedCutoffPerQuery": 10_485_760,
    })
    lake.glue.create_table(DatabaseName=DB, TableInput=glue_table_input("big", f"s3://{BUCKET}/big/"))
    line = ndjson([change("b", SEQ21, "INSERT", extra=json.dumps({"pad": "x" * 1000}))])
    lake.s3.put_object(Bucket=BUCKET, Key="big/dt=2024-05-01/x", Body=line * (10_485_760 // len(line) + 1))
    assert lake.failure("SELECT count(*) FROM big", workgroup="capped") == \
        "Query cancelled! Bytes scanned limit was exceeded"
    assert lake.rows("SELECT count(*) FROM order_changes", workgroup="capped")[1:] == [[str(len(DAY1 + DAY2))]]


def test_list_and_batch_get_query_executions(lake: Lake) -> None:
    qid = lake.query("SELECT 1", workgroup="primary",
                     ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/mine/"})["QueryExecutionId"]
    listed = lake.athena.list_query_executions(WorkGroup="primary")["QueryExecutionIds"]
    assert listed[0] == qid
    batch = lake.athena.batch_get_query_execution(QueryExecutionIds=[qid, "missing-id"])
    assert [e["QueryExecutionId"] for e in batch["QueryExecutions"]] == [qid]
    assert batch["UnprocessedQueryExecutionIds"][0]["QueryExecutionId"] == "missing-id"


def test_workgroup_calls(lake: Lake) -> None:
    unchecked = boto3.client("athena", endpoint_url=lake.cloud.url, region_name=REGION, aws_access_key_id="test",
                             aws_secret_access_key="test",
                             config=botocore.config.Config(parameter_validation=False))
    with pytest.raises(unchecked.exceptions.InvalidRequestException,
                       match="Value '1000' at 'configuration.bytesScannedCutoffPerQuery' failed to satisfy constraint: "
                             "Member must have value greater than or equal to 10000000"):
        unchecked.create_work_group(Name="tiny", Configuration={"BytesScannedCutoffPerQuery": 1000})
    lake.athena.create_work_group(Name="wg2", Configuration={
        "ResultConfiguration": {"OutputLocation": RESULTS}, "EnforceWorkGroupConfiguration": False})
    lake.athena.update_work_group(WorkGroup="wg2", ConfigurationUpdates={
        "EnforceWorkGroupConfiguration": True, "BytesScannedCutoffPerQuery": 20_000_000,
        "ResultConfigurationUpdates": {"OutputLocation": f"s3://{BUCKET}/wg2/"}})
    config = lake.athena.get_work_group(WorkGroup="wg2")["WorkGroup"]["Configuration"]
    assert config["BytesScannedCutoffPerQuery"] == 20_000_000 and config["EnforceWorkGroupConfiguration"] is True
    assert config["ResultConfiguration"]["OutputLocation"] == f"s3://{BUCKET}/wg2/"
    assert "wg2" in [w["Name"] for w in lake.athena.list_work_groups()["WorkGroups"]]
    lake.athena.delete_work_group(WorkGroup="wg2", RecursiveDeleteOption=True)
    with pytest.raises(lake.athena.exceptions.InvalidRequestException, match="not found"):
        lake.athena.get_work_group(WorkGroup="wg2")


# -- DDL ---------------------------------------------------------------------------------------
def test_create_external_table_query_and_drop(lake: Lake) -> None:
    lake.s3.put_object(Bucket=BUCKET, Key="ddl/part-0", Body=b'{"name": "a", "amount": 1.25}\n{"name": "b"}\n')
    created = lake.query(
        f"CREATE EXTERNAL TABLE IF NOT EXISTS ddl_made (name string, amount decimal(10,2)) "
        f"ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://{BUCKET}/ddl/'"
    )
    assert created["Status"]["State"] == "SUCCEEDED", created["Status"]
    assert created["StatementType"] == "DDL"
    table = lake.glue.get_table(DatabaseName=DB, Name="ddl_made")["Table"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("name", "string"), ("amount", "decimal(10,2)")]
    assert lake.rows("SELECT name, amount FROM ddl_made ORDER BY name")[1:] == [["a", "1.25"], ["b", None]]
    assert "ddl_made" in [r[0] for r in lake.rows("SHOW TABLES IN cdc_data")]
    describe = lake.rows("DESCRIBE ddl_made")
    assert [r[0].split("\t")[0].strip() for r in describe] == ["name", "amount"]
    lake.ok("DROP TABLE ddl_made")
    lake.ok("DROP TABLE IF EXISTS ddl_made")
    assert lake.failure("DROP TABLE ddl_made").startswith("TABLE_NOT_FOUND")
    assert lake.s3.get_object(Bucket=BUCKET, Key="ddl/part-0")  # external: the data stays


def test_create_drop_view_and_show(lake: Lake) -> None:
    lake.ok("CREATE VIEW small AS SELECT orderid FROM orders_current WHERE quantity < 3")
    assert lake.failure("CREATE VIEW small AS SELECT 1 AS x").startswith("ALREADY_EXISTS")
    assert sorted(r[0] for r in lake.rows("SELECT orderid FROM small")[1:]) == sorted(
        k for k, (_, q, _) in ORACLE.items() if q < 3)
    assert lake.failure("CREATE VIEW broken AS SELECT nope FROM order_changes").startswith("COLUMN_NOT_FOUND")
    lake.ok("DROP VIEW small")
    assert lake.failure("SELECT * FROM small").startswith("TABLE_NOT_FOUND")
    assert [DB] == [r[0] for r in lake.rows("SHOW DATABASES") if r[0] == DB]
    shown = lake.rows("SHOW TABLES 'orders*'")
    assert shown == [["orders_current"]]


def test_the_dashboards_own_queries_run_and_see_yesterdays_partition(lake: Lake) -> None:
    from salescdc.analytics import order_events_sql, sales_queries

    settings = Settings(glue_table="dash_changes", view_name="orders_current")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    yesterday = now - dt.timedelta(days=1)
    lake.glue.create_table(DatabaseName=DB, TableInput=glue_table_input("dash_changes", f"s3://{BUCKET}/dash/"))
    lake.s3.put_object(Bucket=BUCKET, Key=f"dash/dt={yesterday:%Y-%m-%d}/a", Body=ndjson([
        change("y1", SEQ21, "INSERT", event_time=format_timestamp(yesterday))]))
    lake.s3.put_object(Bucket=BUCKET, Key=f"dash/dt={now:%Y-%m-%d}/b", Body=ndjson([
        change("n1", SEQ21, "INSERT", event_time=format_timestamp(now - dt.timedelta(minutes=2))),
        change("n1", "100000000000000000002", "MODIFY", event_time=format_timestamp(now - dt.timedelta(minutes=1)))]))
    for query in sales_queries(settings).values():
        execution = lake.query(query.sql)
        assert execution["Status"]["State"] == "SUCCEEDED", (query.name, execution["Status"])
    assert lake.rows(sales_queries(settings)["events_last_hour"].sql)[1:] == [["INSERT", "1"], ["MODIFY", "1"]]
    # `dt >= CAST(current_date - INTERVAL '1' DAY AS varchar)` must keep yesterday's 'YYYY-MM-DD' partition.
    events = lake.rows(order_events_sql(settings, "y1", days_back=1))
    assert [r[0] for r in events[1:]] == ["INSERT"]


def test_partition_predicates_prune_what_is_scanned_and_billed(lake: Lake) -> None:
    sizes = {o["Key"].split("/")[1]: o["Size"] for o in lake.s3.list_objects_v2(Bucket=BUCKET, Prefix="orders/")["Contents"]}
    day2 = lake.query("SELECT count(*) FROM order_changes WHERE dt = '2024-05-02'")
    assert day2["Statistics"]["DataScannedInBytes"] == sizes["dt=2024-05-02"]
    assert lake.rows("SELECT count(*) FROM order_changes WHERE dt = '2024-05-02'")[1:] == [[str(len(DAY2))]]
    since = lake.query("SELECT count(*) FROM order_changes c WHERE c.dt >= CAST(DATE '2024-05-02' AS varchar) "
                       "AND op <> 'REMOVE'")
    assert since["Statistics"]["DataScannedInBytes"] == sizes["dt=2024-05-02"]
    # A predicate mixing a partition key with a data column cannot prune: everything is read.
    mixed = lake.query("SELECT count(*) FROM order_changes WHERE dt = '2024-05-02' OR op = 'INSERT'")
    assert mixed["Statistics"]["DataScannedInBytes"] == sum(sizes.values())
    assert lake.rows("SELECT count(*) FROM order_changes WHERE dt = '2024-05-02' OR op = 'INSERT'")[1:] == [
        [str(len(DAY2) + sum(1 for r in DAY1 if r["op"] == "INSERT"))]]


def test_a_new_object_re_decodes_only_its_own_partition(lake: Lake) -> None:
    lake.glue.create_table(DatabaseName=DB, TableInput=glue_table_input("growing", f"s3://{BUCKET}/grow/"))
    lake.s3.put_object(Bucket=BUCKET, Key="grow/dt=2024-05-01/a", Body=ndjson([change("1", SEQ21, "INSERT")]))
    lake.s3.put_object(Bucket=BUCKET, Key="grow/dt=2024-05-02/b", Body=ndjson([change("2", SEQ21, "INSERT")]))
    assert lake.rows("SELECT count(*) FROM growing")[1:] == [["2"]]
    engine = lake.cloud.athena.engine
    before = set(engine._chunks)
    lake.s3.put_object(Bucket=BUCKET, Key="grow/dt=2024-05-02/c", Body=ndjson([change("3", SEQ21, "INSERT")]))
    assert lake.rows("SELECT count(*) FROM growing")[1:] == [["3"]]
    added = set(engine._chunks) - before
    assert len(added) == 1  # day 2 was decoded again; day 1's chunk was reused


def test_pandas_cursor_reads_utility_results_from_their_txt_file(lake: Lake) -> None:
    from pyathena.pandas.cursor import PandasCursor

    with _pyathena(lake, cursor_class=PandasCursor).cursor() as cursor:
        tables = cursor.execute("SHOW TABLES IN cdc_data 'order*'").as_pandas()
        assert cursor.output_location.endswith(".txt")
        assert list(tables.columns) == ["tab_name"]
        assert sorted(tables["tab_name"]) == ["order_changes", "orders_current"]
        ddl = cursor.execute("CREATE OR REPLACE VIEW pandas_view AS SELECT 1 AS one").as_pandas()
        assert ddl.empty
        assert cursor.execute("SELECT * FROM pandas_view").as_pandas().to_dict("records") == [{"one": 1}]


def test_results_that_left_memory_are_read_back_from_their_result_files_unchanged(
        lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the newest result sets stay in memory; GetQueryResults reads older ones from their
    result files (as Athena does for 45 days), with NULL, '' and CSV-hostile text intact."""
    from localcloud.athena import executions

    monkeypatch.setattr(executions, "_MAX_KEPT_RESULTS", 1)
    hostile = """SELECT * FROM (VALUES (1, NULL, ''), (2, 'a,b', 'say "hi"'), (3, 'two' || chr(10) || 'lines',
        'ünï ,"'), (NULL, '""', ',')) AS t(n, s, u) ORDER BY n NULLS LAST"""
    described = lake.ok("DESCRIBE orders_current")["QueryExecutionId"]
    first = lake.ok(hostile)["QueryExecutionId"]
    in_memory = [lake.athena.get_query_results(QueryExecutionId=q) for q in (described, first)]
    lake.ok("SELECT 1")
    lake.ok("SELECT 2")  # each start keeps only the set used last: both are out of memory now
    assert all(executions_result_is_gone(lake, q) for q in (described, first))
    for query_id, before in zip((described, first), in_memory):
        after = lake.athena.get_query_results(QueryExecutionId=query_id)
        assert after["ResultSet"] == before["ResultSet"]
        assert after["UpdateCount"] == before["UpdateCount"]
        paged = lake.athena.get_query_results(QueryExecutionId=query_id, MaxResults=2)
        assert paged["ResultSet"]["Rows"] == before["ResultSet"]["Rows"][:2]
    rows = [[d.get("VarCharValue") for d in r["Data"]] for r in in_memory[1]["ResultSet"]["Rows"]]
    assert rows[1] == ["1", None, ""] and rows[3][1] == "two\nlines" and rows[4][0] is None
    lake.s3.delete_object(Bucket=BUCKET, Key=f"athena-results/{first}.csv")
    lake.ok("SELECT 3")
    lake.ok("SELECT 4")
    with pytest.raises(lake.athena.exceptions.InvalidRequestException, match="does not exist"):
        lake.athena.get_query_results(QueryExecutionId=first)


def executions_result_is_gone(lake: Lake, query_id: str) -> bool:
    return lake.cloud.athena.executions._executions[query_id].result is None


def test_the_oldest_finished_executions_are_forgotten_past_the_cap(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    """The history is bounded (localcloud/athena/executions.py MAX_KEPT_EXECUTIONS; AWS keeps 45 days)."""
    from localcloud.athena import executions

    monkeypatch.setattr(executions, "MAX_KEPT_EXECUTIONS", 3)
    ids = [lake.ok("SELECT 1")["QueryExecutionId"] for _ in range(6)]
    kept = lake.athena.list_query_executions(WorkGroup=WORKGROUP)["QueryExecutionIds"]
    assert ids[-1] in kept and ids[0] not in kept
    with pytest.raises(lake.athena.exceptions.InvalidRequestException):
        lake.athena.get_query_execution(QueryExecutionId=ids[0])
    assert lake.athena.get_query_execution(QueryExecutionId=ids[-1])["QueryExecution"]["Status"]["State"] == "SUCCEEDED"

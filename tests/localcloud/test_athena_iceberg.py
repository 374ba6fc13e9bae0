"""Iceberg tables through the local Athena's real API (StartQueryExecution -> GetQueryResults), over HTTP.

A real local cloud; every statement is Athena SQL sent with boto3. Checked:
CREATE TABLE … TBLPROPERTIES ('table_type'='ICEBERG'), INSERT/UPDATE/DELETE/
MERGE (from a Hive JSON table in the lake), time travel by version and by
timestamp giving the earlier state exactly, the `$` metadata tables, OPTIMIZE,
VACUUM, DROP (with its data), Athena's refusals, and the CDC apply of
salescdc.current_state's two MERGE statements against change
records in the lake: `SELECT * FROM cdc_data.orders` is exactly the live
orders, and a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tests.support import iceberg_cdc as cdc
from localcloud.testing import running_localcloud
from tests.support.athena import result_rows, run_query, state

REGION = "ap-south-1"
BUCKET = "ice-lake"
DB = "ice_db"
CHANGE_COLUMNS = """orderid string, product_name string, quantity int, price decimal(10,2), updated_at timestamp,
    op string, is_deleted boolean, event_id string, sequence_number string, event_time timestamp"""


def seq(n: int) -> str:
    return str(10**20 + n)  # 21 digits, as DynamoDB Streams sequence numbers


def change(orderid: str, n: int, op: str, product: str = "Laptop", quantity: int = 1, price: str = "10.00",
           event_id: str | None = None) -> dict[str, Any]:
    at = f"{dt.datetime(2026, 11, 29, 10) + dt.timedelta(seconds=n):%Y-%m-%d %H:%M:%S}.000"
    return {"orderid": orderid, "product_name": product, "quantity": quantity, "price": price,
            "updated_at": at, "op": op, "is_deleted": op == "REMOVE",
            "event_id": event_id or f"e{orderid}-{n}", "sequence_number": seq(n), "event_time": at}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_localcloud(tmp_path_factory.mktemp("athena-iceberg")) as cloud:
        kw = {"endpoint_url": cloud.url, "region_name": REGION, "aws_access_key_id": "test",
              "aws_secret_access_key": "test"}
        cloud.s3 = boto3.client("s3", **kw)
        cloud.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        cloud.athena_client = boto3.client("athena", **kw)
        cloud.athena_client.create_work_group(Name="ice", Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{BUCKET}/results/"}})
        cloud.glue = boto3.client("glue", **kw)
        assert state(run(cloud, f"CREATE DATABASE {DB}")) == "SUCCEEDED"
        yield cloud


def run(cloud: Any, sql: str, database: str = DB) -> dict[str, Any]:
    return run_query(cloud.athena_client, sql, timeout=60.0, WorkGroup="ice",
                     QueryExecutionContext={"Database": database})


def ok(cloud: Any, sql: str, database: str = DB) -> dict[str, Any]:
    execution = run(cloud, sql, database)
    assert state(execution) == "SUCCEEDED", sql
    return execution


def update_count(cloud: Any, sql: str, database: str = DB) -> int:
    execution = ok(cloud, sql, database)
    return cloud.athena_client.get_query_results(QueryExecutionId=execution["QueryExecutionId"])["UpdateCount"]


def rows(cloud: Any, sql: str, database: str = DB) -> list[list[str | None]]:
    execution = ok(cloud, sql, database)
    return result_rows(cloud.athena_client, execution)


def put_changes(cloud: Any, prefix: str, objects: list[list[dict[str, Any]]]) -> None:
    for index, records in enumerate(objects):
        cloud.s3.put_object(Bucket=BUCKET, Key=f"{prefix}/part-{index}.json",
                            Body="".join(json.dumps(r) + "\n" for r in records).encode())


def keys_under(cloud: Any, prefix: str) -> list[str]:
    listed = cloud.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [obj["Key"] for obj in listed.get("Contents", [])]


def test_create_insert_update_delete_time_travel_metadata_optimize_vacuum_drop(cloud: Any) -> None:
    location = f"s3://{BUCKET}/warehouse/items/"
    created = ok(cloud, f"""CREATE TABLE {DB}.items (id int, name string, price decimal(10,2), ts timestamp)
        PARTITIONED BY (name) LOCATION '{location}'
        TBLPROPERTIES ('table_type'='ICEBERG', 'format'='parquet', 'vacuum_max_snapshot_age_seconds'='60',
            'optimize_rewrite_data_file_threshold'='2')""")
    assert (created["StatementType"], created["SubstatementType"]) == ("DDL", "CREATE_TABLE")
    glue = cloud.glue.get_table(DatabaseName=DB, Name="items")["Table"]
    assert glue["Parameters"]["table_type"].upper() == "ICEBERG"
    assert glue["Parameters"]["vacuum_max_snapshot_age_seconds"] == "60"
    assert rows(cloud, "SELECT count(*) FROM items") == [["0"]]

    inserted = ok(cloud, """INSERT INTO items VALUES (1, 'pen', DECIMAL '1.50', TIMESTAMP '2026-11-29 10:00:00'),
        (2, 'book', DECIMAL '12.25', TIMESTAMP '2026-11-29 11:00:00'),
        (3, 'pen', DECIMAL '2.05', TIMESTAMP '2026-11-29 12:00:00')""")
    assert (inserted["StatementType"], inserted["SubstatementType"]) == ("DML", "INSERT")
    assert cloud.athena_client.get_query_results(
        QueryExecutionId=inserted["QueryExecutionId"])["UpdateCount"] == 3
    first_state = [["1", "pen", "1.50", "2026-11-29 10:00:00.000"], ["2", "book", "12.25", "2026-11-29 11:00:00.000"],
                   ["3", "pen", "2.05", "2026-11-29 12:00:00.000"]]
    selected = ok(cloud, "SELECT id, name, price, ts FROM items ORDER BY id")
    assert rows(cloud, "SELECT id, name, price, ts FROM items ORDER BY id") == first_state
    # Billed for exactly the data files read: the snapshot's files as $files lists them.
    sizes = rows(cloud, 'SELECT sum(file_size_in_bytes), count(*) FROM "items$files"')
    assert selected["Statistics"]["DataScannedInBytes"] == int(sizes[0][0]) > 0
    assert sizes[0][1] == "2"  # one file per partition (pen, book)
    [[first_snapshot]] = rows(cloud, 'SELECT snapshot_id FROM "items$snapshots"')

    # Joins an Iceberg table with a Hive JSON table, inside a CTE and a view.
    put_changes(cloud, "stock", [[{"id": 1, "stock": 7}, {"id": 3, "stock": 0}]])
    ok(cloud, f"CREATE EXTERNAL TABLE {DB}.stock (id int, stock int) ROW FORMAT SERDE "
              f"'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://{BUCKET}/stock/'")
    ok(cloud, "CREATE VIEW pens AS SELECT id, price FROM items WHERE name = 'pen'")
    assert rows(cloud, """WITH p AS (SELECT * FROM pens)
        SELECT p.id, p.price, s.stock FROM p JOIN stock s ON s.id = p.id ORDER BY p.id""") == \
        [["1", "1.50", "7"], ["3", "2.05", "0"]]

    [[files_size]] = rows(cloud, 'SELECT sum(file_size_in_bytes) FROM "items$files"')
    updated = ok(cloud, "UPDATE items SET price = price * 2 WHERE id = 1")
    assert updated["Statistics"]["DataScannedInBytes"] == int(files_size)  # the target's files were read
    assert (updated["StatementType"], updated["SubstatementType"]) == ("DML", "UPDATE")
    assert cloud.athena_client.get_query_results(QueryExecutionId=updated["QueryExecutionId"])["UpdateCount"] == 1
    assert update_count(cloud, "DELETE FROM items WHERE name = 'book'") == 1
    assert update_count(cloud, "DELETE FROM items WHERE id = 99") == 0
    assert rows(cloud, "SELECT id, name, price FROM items ORDER BY id") == [["1", "pen", "3.00"], ["3", "pen", "2.05"]]

    # Time travel: by version, and by the first snapshot's commit instant, both give the first state exactly.
    assert rows(cloud, f"SELECT id, name, price, ts FROM items FOR VERSION AS OF {first_snapshot} ORDER BY id") == \
        first_state
    [[committed]] = rows(cloud, f"SELECT format_datetime(committed_at, 'yyyy-MM-dd HH:mm:ss.SSS') "
                                f"FROM \"items$snapshots\" WHERE snapshot_id = {first_snapshot}")
    assert rows(cloud, f"SELECT id, name, price, ts FROM items FOR TIMESTAMP AS OF TIMESTAMP '{committed} UTC' "
                       "ORDER BY id") == first_state
    # The same instant written in another zone, and a millisecond before it (no snapshot yet).
    committed_at = dt.datetime.fromisoformat(committed).replace(tzinfo=dt.timezone.utc)
    in_kolkata = committed_at.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert rows(cloud, "SELECT count(*) FROM items FOR TIMESTAMP AS OF TIMESTAMP "
                       f"'{in_kolkata:%Y-%m-%d %H:%M:%S.%f} Asia/Kolkata'") == [["3"]]
    before = committed_at - dt.timedelta(milliseconds=1)
    assert state(run(cloud, f"SELECT * FROM items FOR TIMESTAMP AS OF TIMESTAMP '{before:%Y-%m-%d %H:%M:%S.%f} UTC'")
                 ).startswith("FAILED: INVALID_ARGUMENTS")
    assert rows(cloud, "SELECT count(*) FROM items FOR TIMESTAMP AS OF (current_timestamp)") == [["2"]]
    bad_version = run(cloud, "SELECT * FROM items FOR VERSION AS OF 1234567890123456789")
    assert state(bad_version) == \
        "FAILED: INVALID_ARGUMENTS: line 1:15: Iceberg snapshot ID does not exists: 1234567890123456789"
    # Trino's analyzer: a snapshot id is a BIGINT, and 12345 is an integer literal.
    assert state(run(cloud, "SELECT * FROM items FOR VERSION AS OF 12345")) == (
        "FAILED: TYPE_MISMATCH: line 1:15: Type integer is invalid. Supported table version AS OF/BEFORE expression "
        "type is BIGINT or VARCHAR")
    assert state(run(cloud, "SELECT * FROM items FOR TIMESTAMP AS OF DATE '2026-11-29'")) == (
        "FAILED: TYPE_MISMATCH: line 1:15: Type date is invalid. Supported table version AS OF/BEFORE expression "
        "type is Timestamp or Timestamp with Time Zone.")
    too_early = run(cloud, "SELECT * FROM items FOR TIMESTAMP AS OF TIMESTAMP '2000-01-01 00:00:00 UTC'")
    assert state(too_early).startswith(
        f"FAILED: INVALID_ARGUMENTS: line 1:15: No version history table {DB}.items at or before 2000-01-01T00:00:00Z")
    hive_version = run(cloud, "SELECT * FROM stock FOR VERSION AS OF 1")
    assert state(hive_version) == "FAILED: NOT_SUPPORTED: line 1:15: This connector does not support versioned tables"

    history = rows(cloud, 'SELECT snapshot_id, is_current_ancestor FROM "items$history" ORDER BY made_current_at')
    # INSERT, UPDATE, DELETE; a DELETE matching no row commits nothing.
    assert len(history) == 3 and history[0] == [first_snapshot, "true"]
    snapshots = rows(cloud, 'SELECT operation FROM "items$snapshots" ORDER BY committed_at')
    assert [s[0] for s in snapshots] == ["append", "overwrite", "delete"]

    files_before = int(rows(cloud, 'SELECT count(*) FROM "items$files"')[0][0])
    ok(cloud, "INSERT INTO items SELECT id + 10, name, price, ts FROM items")
    assert int(rows(cloud, 'SELECT count(*) FROM "items$files"')[0][0]) > files_before
    optimized = ok(cloud, "OPTIMIZE items REWRITE DATA USING BIN_PACK")
    assert (optimized["StatementType"], optimized["SubstatementType"]) == ("DML", "OPTIMIZE")
    assert rows(cloud, 'SELECT count(*) FROM "items$files"') == [["1"]]  # one partition left: pen
    assert rows(cloud, "SELECT id, price FROM items ORDER BY id") == \
        [["1", "3.00"], ["3", "2.05"], ["11", "3.00"], ["13", "2.05"]]
    assert state(run(cloud, "OPTIMIZE items REWRITE DATA USING BIN_PACK WHERE id > 1")) == \
        "FAILED: NOT_SUPPORTED: Only partition columns are allowed in the WHERE clause of OPTIMIZE: id"
    ok(cloud, "ALTER TABLE items SET TBLPROPERTIES ('vacuum_max_snapshot_age_seconds'='1')")
    assert cloud.glue.get_table(DatabaseName=DB, Name="items")["Table"]["Parameters"][
        "vacuum_max_snapshot_age_seconds"] == "1"
    time.sleep(1.5)
    vacuumed = ok(cloud, "VACUUM items")
    assert vacuumed["SubstatementType"] == "VACUUM"
    assert rows(cloud, 'SELECT count(*) FROM "items$snapshots"') == [["1"]]
    assert state(run(cloud, f"SELECT * FROM items FOR VERSION AS OF {first_snapshot}")).startswith(
        "FAILED: INVALID_ARGUMENTS")
    assert rows(cloud, "SELECT count(*) FROM items") == [["4"]]

    assert keys_under(cloud, "warehouse/items/")
    ok(cloud, "DROP TABLE items")
    assert [k for k in keys_under(cloud, "warehouse/items/") if not k.endswith("/")] == []
    assert state(run(cloud, "SELECT * FROM items")).startswith("FAILED: TABLE_NOT_FOUND")


def test_refusals_as_athena(cloud: Any) -> None:
    assert state(run(cloud, f"""CREATE EXTERNAL TABLE {DB}.ext (id int) LOCATION 's3://{BUCKET}/ext/'
        TBLPROPERTIES ('table_type'='ICEBERG')""")) == \
        "FAILED: NOT_SUPPORTED: External keyword not supported for table type ICEBERG"
    assert state(run(cloud, f"CREATE TABLE {DB}.nolocation (id int) TBLPROPERTIES ('table_type'='ICEBERG')")
                 ).startswith("FAILED: NOT_SUPPORTED")
    put_changes(cloud, "hive", [[{"id": 1}]])
    ok(cloud, f"CREATE EXTERNAL TABLE {DB}.hive (id int) ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' "
              f"LOCATION 's3://{BUCKET}/hive/'")
    refusal = "FAILED: NOT_SUPPORTED: Modifying Hive table rows is only supported for transactional tables"
    assert state(run(cloud, "DELETE FROM hive WHERE id = 1")) == refusal
    assert state(run(cloud, "UPDATE hive SET id = 2")) == refusal
    assert state(run(cloud, "MERGE INTO hive t USING hive s ON t.id = s.id WHEN MATCHED THEN DELETE")) == refusal
    assert rows(cloud, "SELECT id FROM hive") == [["1"]]
    ok(cloud, f"CREATE TABLE {DB}.guarded (id int) LOCATION 's3://{BUCKET}/warehouse/guarded/' "
              "TBLPROPERTIES ('table_type'='ICEBERG')")
    described = ok(cloud, "DESCRIBE guarded")  # unpartitioned: its Glue columns are the whole story
    described_rows = cloud.athena_client.get_query_results(
        QueryExecutionId=described["QueryExecutionId"])["ResultSet"]["Rows"]
    assert [r["Data"][0]["VarCharValue"].split("\t")[:2] for r in described_rows] == [["id" + " " * 22, "int" + " " * 21]]
    # Expressions are policed like queries: no file-reading function, no table in a SET value.
    assert state(run(cloud, "UPDATE guarded SET id = (SELECT count(*) FROM read_csv('/etc/passwd'))")).startswith(
        "FAILED: NOT_SUPPORTED")
    assert state(run(cloud, "SELECT * FROM \"guarded$partitions\"")).startswith("FAILED: NOT_SUPPORTED")
    assert state(run(cloud, "SELECT * FROM \"hive$snapshots\"")).startswith("FAILED: TABLE_NOT_FOUND")


def test_merge_from_a_hive_json_table(cloud: Any) -> None:
    put_changes(cloud, "merge_changes", [[change("a", 1, "INSERT", price="5.10"),
                                          change("b", 2, "INSERT", price="7.00")],
                                         [change("a", 3, "MODIFY", price="5.20"), change("c", 4, "REMOVE")]])
    ok(cloud, f"CREATE EXTERNAL TABLE {DB}.merge_changes ({CHANGE_COLUMNS}) ROW FORMAT SERDE "
              f"'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://{BUCKET}/merge_changes/'")
    ok(cloud, f"CREATE TABLE {DB}.current_prices (orderid string, price decimal(10,2), sequence_number string) "
              f"LOCATION 's3://{BUCKET}/warehouse/current_prices/' TBLPROPERTIES ('table_type'='ICEBERG')")
    ok(cloud, "INSERT INTO current_prices VALUES ('c', DECIMAL '1.00', '0'), ('z', DECIMAL '9.99', '0')")
    merge = """MERGE INTO current_prices t
        USING (SELECT orderid, price, sequence_number, is_deleted FROM (
                 SELECT *, row_number() OVER (PARTITION BY orderid ORDER BY sequence_number DESC) AS rn
                 FROM merge_changes) WHERE rn = 1) s
        ON t.orderid = s.orderid
        WHEN MATCHED AND s.is_deleted THEN DELETE
        WHEN MATCHED THEN UPDATE SET price = s.price, sequence_number = s.sequence_number
        WHEN NOT MATCHED AND NOT s.is_deleted THEN INSERT VALUES (s.orderid, s.price, s.sequence_number)"""
    merged = ok(cloud, merge)
    assert (merged["StatementType"], merged["SubstatementType"]) == ("DML", "MERGE")
    assert cloud.athena_client.get_query_results(QueryExecutionId=merged["QueryExecutionId"])["UpdateCount"] == 3
    assert rows(cloud, "SELECT orderid, price FROM current_prices ORDER BY orderid") == \
        [["a", "5.20"], ["b", "7.00"], ["z", "9.99"]]
    # USING inline VALUES.
    assert update_count(cloud, """MERGE INTO current_prices t
        USING (VALUES ('q', DECIMAL '3.30', '9'), ('z', DECIMAL '0.01', '9')) AS s(orderid, price, sequence_number)
        ON t.orderid = s.orderid
        WHEN MATCHED THEN UPDATE SET price = s.price
        WHEN NOT MATCHED THEN INSERT (orderid, price, sequence_number) VALUES (s.orderid, s.price, s.sequence_number)
        """) == 2
    assert rows(cloud, "SELECT orderid, price FROM current_prices WHERE orderid IN ('q', 'z') ORDER BY orderid") == \
        [["q", "3.30"], ["z", "0.01"]]
    # USING a table by name (an Iceberg table this time), and a target row two source rows match: Trino's error.
    ok(cloud, f"CREATE TABLE {DB}.dupes (orderid string) LOCATION 's3://{BUCKET}/warehouse/dupes/' "
              "TBLPROPERTIES ('table_type'='ICEBERG')")
    ok(cloud, "INSERT INTO dupes VALUES ('w')")
    [[one_row_version]] = rows(cloud, 'SELECT snapshot_id FROM "dupes$snapshots"')
    ok(cloud, "INSERT INTO dupes VALUES ('a'), ('a')")
    # USING a table as of an earlier version: only 'w' then, which current_prices lacks; nothing matches.
    assert update_count(cloud, f"MERGE INTO current_prices t USING dupes FOR VERSION AS OF {one_row_version} s "
                               "ON t.orderid = s.orderid WHEN MATCHED THEN DELETE") == 0
    assert state(run(cloud, "MERGE INTO current_prices t USING dupes s ON t.orderid = s.orderid "
                            "WHEN MATCHED THEN DELETE")) == \
        "FAILED: MERGE_TARGET_ROW_MULTIPLE_MATCHES: One MERGE target table row matched more than one source row"


def test_cdc_apply_through_athena_gives_the_live_orders_exactly(cloud: Any) -> None:
    database = "cdc_data"
    ok(cloud, f"CREATE DATABASE {database}")
    for table, columns in (("orders", cdc.ORDERS_COLUMNS), ("orders_tombstones", cdc.TOMBSTONE_COLUMNS)):
        ok(cloud, f"CREATE TABLE {database}.{table} ({', '.join(f'{n} {t}' for n, t in columns)}) "
                  f"LOCATION 's3://{BUCKET}/warehouse/{table}/' TBLPROPERTIES ('table_type'='ICEBERG')", database)
    # Inserts, updates, deletes; a duplicate delivery (same event), objects out of order, a late older change.
    history = [change("o1", 1, "INSERT", "Laptop", 1, "999.99"), change("o2", 2, "INSERT", "Phone", 2, "19.95"),
               change("o1", 3, "MODIFY", "Laptop", 3, "989.10"), change("o3", 4, "INSERT", "Desk", 1, "120.00"),
               change("o2", 5, "REMOVE", "Phone", 2, "19.95"), change("o4", 6, "INSERT", "Lamp", 5, "0.10"),
               change("o3", 7, "MODIFY", "Desk", 2, "118.55")]
    objects = [[history[6], history[0]], [history[3], history[4], history[4]], [history[5], history[2]],
               [history[1], history[0]]]
    put_changes(cloud, "cdc_changes", objects)
    ok(cloud, f"CREATE EXTERNAL TABLE {database}.changes ({CHANGE_COLUMNS}) ROW FORMAT SERDE "
              f"'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://{BUCKET}/cdc_changes/'", database)
    latest: dict[str, dict[str, Any]] = {}
    for record in history:
        if record["orderid"] not in latest or record["sequence_number"] > latest[record["orderid"]]["sequence_number"]:
            latest[record["orderid"]] = record
    expected = sorted([r["orderid"], r["product_name"], str(r["quantity"]), str(Decimal(r["price"])),
                       r["updated_at"], r["sequence_number"], r["event_time"]]
                      for r in latest.values() if not r["is_deleted"])
    assert [e[0] for e in expected] == ["o1", "o3", "o4"]

    counts = [update_count(cloud, sql, database) for sql in (
        cdc.tombstones_merge_sql(f"{database}.changes"), cdc.orders_merge_sql(f"{database}.changes"))]
    assert counts == [2, 3]  # the delete of o2 and the tombstones' progress row (orderid '')
    assert sorted(rows(cloud, f"SELECT * FROM {database}.orders", database)) == expected
    assert rows(cloud, f"SELECT orderid, sequence_number FROM {database}.orders_tombstones WHERE orderid <> ''",
                database) == [["o2", seq(5)]]
    assert rows(cloud, f"SELECT max(event_time) FROM {database}.orders_tombstones", database) == \
        [[max(r["event_time"] for r in history)]]

    snapshots = rows(cloud, f'SELECT count(*) FROM {database}."orders$snapshots"', database)
    again = [update_count(cloud, sql, database) for sql in (
        cdc.tombstones_merge_sql(f"{database}.changes"), cdc.orders_merge_sql(f"{database}.changes"))]
    assert again == [0, 0]
    assert rows(cloud, f'SELECT count(*) FROM {database}."orders$snapshots"', database) == snapshots
    assert sorted(rows(cloud, f"SELECT * FROM {database}.orders", database)) == expected


def test_identity_partitions_refused_transforms_and_show_create(cloud: Any) -> None:
    ok(cloud, f"""CREATE TABLE {DB}.events (id bigint, name string, day date)
        PARTITIONED BY (day, name) LOCATION 's3://{BUCKET}/warehouse/events/'
        TBLPROPERTIES ('table_type'='ICEBERG')""")
    ok(cloud, """INSERT INTO events VALUES (1, 'pen', DATE '2026-11-28'), (2, 'pen', DATE '2026-11-28'),
        (3, 'book', DATE '2026-11-28'), (4, 'pen', DATE '2026-11-29')""")
    # (2026-11-28, pen), (2026-11-28, book), (2026-11-29, pen): one data file per partition.
    assert rows(cloud, 'SELECT count(*) FROM "events$files"') == [["3"]]
    assert rows(cloud, "SELECT id, name FROM events WHERE day = DATE '2026-11-29'") == [["4", "pen"]]
    assert rows(cloud, "SELECT count(*) FROM events") == [["4"]]
    # OPTIMIZE … WHERE rewrites only files of the partitions it selects.
    ok(cloud, "INSERT INTO events VALUES (5, 'pen', DATE '2026-11-28'), (6, 'book', DATE '2026-11-28')")
    before = rows(cloud, 'SELECT file_path FROM "events$files" WHERE lower_bounds IS NOT NULL ORDER BY file_path')
    assert len(before) == 5
    ok(cloud, "ALTER TABLE events SET TBLPROPERTIES ('optimize_rewrite_data_file_threshold'='2')")
    ok(cloud, "OPTIMIZE events REWRITE DATA USING BIN_PACK WHERE name = 'pen' AND day = DATE '2026-11-28'")
    after = rows(cloud, 'SELECT file_path FROM "events$files" ORDER BY file_path')
    assert len(after) == 4  # the two (2026-11-28, pen) files became one; the others are untouched
    assert len({p[0] for p in before} & {p[0] for p in after}) == 3
    assert rows(cloud, "SELECT id FROM events ORDER BY id") == [["1"], ["2"], ["3"], ["4"], ["5"], ["6"]]
    assert state(run(cloud, "SHOW CREATE TABLE events")).startswith("FAILED: NOT_SUPPORTED")
    assert state(run(cloud, "DESCRIBE events")).startswith("FAILED: NOT_SUPPORTED")
    assert state(run(cloud, f"CREATE TABLE {DB}.badpart (id int) PARTITIONED BY (nope) LOCATION "
                            f"'s3://{BUCKET}/warehouse/badpart/' TBLPROPERTIES ('table_type'='ICEBERG')")
                 ).startswith("FAILED: COLUMN_NOT_FOUND")
    transformed = run(cloud, f"CREATE TABLE {DB}.by_day (id int, ts timestamp) PARTITIONED BY (day(ts)) LOCATION "
                             f"'s3://{BUCKET}/warehouse/by_day/' TBLPROPERTIES ('table_type'='ICEBERG')")
    if importlib.util.find_spec("pyiceberg_core") is None:
        # Writing through a transform needs pyiceberg-core: refused at CREATE, never a table that cannot be written.
        assert state(transformed) == ("FAILED: NOT_SUPPORTED: Partition transform day(ts) is not supported by the "
                                      "local Athena engine (pyiceberg-core is not installed)")
    else:
        assert state(transformed) == "SUCCEEDED"
        ok(cloud, "INSERT INTO by_day VALUES (1, TIMESTAMP '2026-11-28 23:59:59'), (2, TIMESTAMP '2026-11-29 00:00:00')")
        assert rows(cloud, 'SELECT count(*) FROM "by_day$files"') == [["2"]]


def test_pyathena_reads_and_changes_an_iceberg_table(cloud: Any) -> None:
    import pyathena

    connection = pyathena.connect(s3_staging_dir=f"s3://{BUCKET}/results/", region_name=REGION, work_group="ice",
                                  schema_name=DB, endpoint_url=cloud.url, aws_access_key_id="test",
                                  aws_secret_access_key="test", poll_interval=0.05)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {DB}.ledger (id bigint, amount decimal(12,2), at timestamp) "
                       f"LOCATION 's3://{BUCKET}/warehouse/ledger/' TBLPROPERTIES ('table_type'='ICEBERG')")
        cursor.execute("INSERT INTO ledger VALUES (1, DECIMAL '10.10', TIMESTAMP '2026-11-29 08:00:00.123'), "
                       "(2, DECIMAL '0.05', TIMESTAMP '2026-11-29 09:00:00')")
        assert cursor.rowcount == 2
        cursor.execute("UPDATE ledger SET amount = amount + DECIMAL '0.01' WHERE id = 2")
        assert cursor.rowcount == 1
        cursor.execute("SELECT id, amount, at FROM ledger ORDER BY id")
        assert [d[1] for d in cursor.description] == ["bigint", "decimal", "timestamp"]
        assert cursor.fetchall() == [(1, Decimal("10.10"), dt.datetime(2026, 11, 29, 8, 0, 0, 123000)),
                                     (2, Decimal("0.06"), dt.datetime(2026, 11, 29, 9, 0, 0))]
        assert cursor.data_scanned_in_bytes > 0


def test_cdc_apply_through_athena_survives_duplicates_shuffles_and_late_batches(cloud: Any) -> None:
    """Random inserts/updates/deletes delivered in shuffled batches with duplicates and late older changes:
    after every batch's two MERGE statements, orders equals the latest change per order (a DynamoDB table's
    state), row for row with exact decimals."""
    import random

    rng = random.Random(13)
    database = "cdc_random"
    ok(cloud, f"CREATE DATABASE {database}")
    for table, columns in (("orders", cdc.ORDERS_COLUMNS), ("orders_tombstones", cdc.TOMBSTONE_COLUMNS)):
        ok(cloud, f"CREATE TABLE {database}.{table} ({', '.join(f'{n} {t}' for n, t in columns)}) "
                  f"LOCATION 's3://{BUCKET}/warehouse/{database}/{table}/' TBLPROPERTIES ('table_type'='ICEBERG')",
           database)
    history, live = [], {}
    for n in range(1, 61):
        orderid = f"r{rng.randrange(8)}"
        if orderid in live and rng.random() < 0.3:
            history.append(change(orderid, n, "REMOVE", **{k: live[orderid][k] for k in ("quantity",)}))
            del live[orderid]
        else:
            op = "MODIFY" if orderid in live else "INSERT"
            price = f"{rng.randrange(1, 100000) / 100:.2f}"
            record = change(orderid, n, op, rng.choice(["Laptop", "Phone", "Desk"]), rng.randrange(1, 9), price)
            history.append(record)
            live[orderid] = record
    deliveries = history + rng.sample(history, 15)  # duplicate deliveries of the same events
    rng.shuffle(deliveries)  # arrival order is not sequence order: late, older changes included
    batches = [deliveries[i:i + 15] for i in range(0, len(deliveries), 15)]
    # The workload has what the tombstones are for: an older upsert arriving in a later batch than its delete.
    assert any(late["orderid"] == gone["orderid"] and late["sequence_number"] < gone["sequence_number"]
               and not late["is_deleted"] and j // 15 > i // 15
               for i, gone in enumerate(deliveries) if gone["is_deleted"]
               for j, late in enumerate(deliveries))
    delivered: list[dict[str, Any]] = []
    for index, batch in enumerate(batches):
        prefix = f"cdc_random/batch{index}"
        put_changes(cloud, prefix, [batch[:7], batch[7:]])
        ok(cloud, f"CREATE EXTERNAL TABLE {database}.batch{index} ({CHANGE_COLUMNS}) ROW FORMAT SERDE "
                  f"'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://{BUCKET}/{prefix}/'", database)
        for sql in (cdc.tombstones_merge_sql(f"{database}.batch{index}", database),
                    cdc.orders_merge_sql(f"{database}.batch{index}", database)):
            ok(cloud, sql, database)
        delivered += batch
        latest: dict[str, dict[str, Any]] = {}
        for record in delivered:
            if record["orderid"] not in latest or \
                    record["sequence_number"] > latest[record["orderid"]]["sequence_number"]:
                latest[record["orderid"]] = record
        expected = sorted([r["orderid"], r["product_name"], str(r["quantity"]), r["price"], r["updated_at"],
                           r["sequence_number"], r["event_time"]] for r in latest.values() if not r["is_deleted"])
        assert sorted(rows(cloud, f"SELECT * FROM {database}.orders", database)) == expected, f"after batch {index}"
    # Everything delivered: the DynamoDB table's final state.
    assert sorted(r[0] for r in rows(cloud, f"SELECT orderid FROM {database}.orders", database)) == sorted(live)


def test_the_same_query_text_after_a_commit_a_new_object_or_a_new_view_answers_afresh(cloud: Any) -> None:
    # The planner keeps each query's translation by its tables' snapshots (queries.TRANSLATED):
    # one text, asked again after each kind of change, must see the change.
    ok(cloud, f"""CREATE TABLE {DB}.kept (id int, qty int) LOCATION 's3://{BUCKET}/warehouse/kept/'
        TBLPROPERTIES ('table_type'='ICEBERG')""")
    ok(cloud, f"CREATE EXTERNAL TABLE {DB}.extra (id int, qty int) ROW FORMAT SERDE "
              f"'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://{BUCKET}/extra/'")
    ok(cloud, "CREATE VIEW kept_view AS SELECT id, qty FROM kept")
    text = """SELECT count(*), coalesce(sum(qty), 0) FROM (
        SELECT id, qty FROM kept_view UNION ALL SELECT id, qty FROM extra) AS both_tables"""
    assert rows(cloud, text) == rows(cloud, text) == [["0", "0"]]
    ok(cloud, "INSERT INTO kept VALUES (1, 5), (2, 7)")  # an Iceberg commit
    assert rows(cloud, text) == [["2", "12"]]
    put_changes(cloud, "extra", [[{"id": 3, "qty": 100}]])  # a new lake object
    assert rows(cloud, text) == [["3", "112"]]
    ok(cloud, "CREATE OR REPLACE VIEW kept_view AS SELECT id, qty * 2 AS qty FROM kept")  # a new view text
    assert rows(cloud, text) == [["3", "124"]]
    ok(cloud, "DELETE FROM kept WHERE id = 1")  # and a commit that removes rows
    assert rows(cloud, text) == [["2", "114"]]

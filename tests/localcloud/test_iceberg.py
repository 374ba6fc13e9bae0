"""The Iceberg engine against a real local cloud over HTTP: Glue catalog entries, S3 files, DML, time travel,
metadata tables, OPTIMIZE and VACUUM.

Each test makes its own database and table location, so tests share only the
running cloud.
"""

from __future__ import annotations

import datetime as dt
import decimal
import time
import uuid
from collections.abc import Iterator

import pyarrow as pa
import pytest
import sqlglot
from pyiceberg.exceptions import CommitFailedException

from localcloud.iceberg import IcebergError, IcebergTables, cow, dml
from localcloud.iceberg.merge import evaluate_source
from localcloud.plane import parse_s3_url
from tests.support.lake import cloud_with_bucket, new_glue_database

REGION = "ap-south-1"
BUCKET = "iceberg-engine-tests"
COLUMNS = [("id", "string"), ("qty", "int"), ("total", "bigint"), ("price", "decimal(10,2)"),
           ("at", "timestamp"), ("ok", "boolean"), ("day", "date"), ("ratio", "double")]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with cloud_with_bucket(tmp_path_factory.mktemp("iceberg"), BUCKET) as running:
        yield running


@pytest.fixture(scope="module")
def tables(cloud: object) -> IcebergTables:
    return IcebergTables(cloud.plane, REGION)  # type: ignore[attr-defined]


@pytest.fixture
def database(cloud: object) -> str:
    return new_glue_database(cloud, "ice_")


def glue(cloud: object):  # type: ignore[no-untyped-def]
    return cloud.plane.client("glue", REGION)  # type: ignore[attr-defined]


def s3_keys(cloud: object, location: str) -> list[str]:
    bucket, prefix = parse_s3_url(location.rstrip("/") + "/")
    listed = cloud.plane.client("s3", REGION).list_objects_v2(Bucket=bucket, Prefix=prefix)  # type: ignore[attr-defined]
    return [obj["Key"] for obj in listed.get("Contents", [])]


def rows(schema: pa.Schema, *records: dict) -> pa.Table:
    return pa.Table.from_pylist(list(records), schema=schema)


def record(id_: str, qty: int, price: str = "1.00") -> dict:
    return {"id": id_, "qty": qty, "total": 10**12 + qty, "price": decimal.Decimal(price),
            "at": dt.datetime(2026, 11, 29, 12, 0, qty % 60, 123456), "ok": qty % 2 == 0,
            "day": dt.date(2026, 11, 29), "ratio": qty / 4}


def make_table(tables: IcebergTables, database: str, name: str = "t", **properties: str) -> pa.Schema:
    tables.create_table(database, name, COLUMNS, f"s3://{BUCKET}/{database}/{name}",
                        {"table_type": "ICEBERG", **properties})
    return tables.scan(database, name).schema


def by_id(table: pa.Table) -> dict[str, dict]:
    return {row["id"]: row for row in table.to_pylist()}


def test_create_registers_an_iceberg_table_in_glue_with_its_metadata_in_s3(cloud, tables, database) -> None:
    schema = make_table(tables, database)

    entry = glue(cloud).get_table(DatabaseName=database, Name="t")["Table"]
    assert entry["Parameters"]["table_type"] == "ICEBERG"
    metadata_location = entry["Parameters"]["metadata_location"]
    assert metadata_location.startswith(f"s3://{BUCKET}/{database}/t/metadata/")
    assert metadata_location.endswith(".metadata.json")
    assert parse_s3_url(metadata_location)[1] in s3_keys(cloud, f"s3://{BUCKET}/{database}/t")
    assert schema == pa.schema([("id", pa.string()), ("qty", pa.int32()), ("total", pa.int64()),
                                ("price", pa.decimal128(10, 2)), ("at", pa.timestamp("us")), ("ok", pa.bool_()),
                                ("day", pa.date32()), ("ratio", pa.float64())])
    assert tables.table(database, "t").metadata.format_version == 2


def test_unknown_type_missing_and_hive_tables_fail_with_athenas_errors(cloud, tables, database) -> None:
    with pytest.raises(IcebergError) as unknown:
        tables.create_table(database, "bad", [("x", "tinyint")], f"s3://{BUCKET}/{database}/bad")
    assert unknown.value.error_name == "NOT_SUPPORTED"
    with pytest.raises(IcebergError) as missing:
        tables.scan(database, "nope")
    assert (missing.value.error_name, missing.value.message) == (
        "TABLE_NOT_FOUND", f"Table 'awsdatacatalog.{database}.nope' does not exist")
    glue(cloud).create_table(DatabaseName=database, TableInput={
        "Name": "hive_json", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "json"},
        "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "string"}],
                              "Location": f"s3://{BUCKET}/{database}/hive_json/"}})
    with pytest.raises(IcebergError) as hive:
        tables.delete_where(database, "hive_json", None)
    assert hive.value.error_name == "NOT_SUPPORTED"
    make_table(tables, database)
    with pytest.raises(IcebergError) as twice:
        make_table(tables, database)
    assert twice.value.error_name == "ALREADY_EXISTS"


def test_append_then_scan_returns_exact_values(tables, database) -> None:
    schema = make_table(tables, database)
    tables.append(database, "t", rows(schema, record("a", 1, "12345678.90"), record("b", 2, "0.01")))
    tables.append(database, "t", rows(schema, record("c", 3)))

    scanned = by_id(tables.scan(database, "t"))
    assert scanned["a"] == record("a", 1, "12345678.90")
    assert str(scanned["b"]["price"]) == "0.01"
    assert sorted(scanned) == ["a", "b", "c"]


def test_delete_update_and_overwrite_by_predicate_each_commit_one_snapshot(tables, database) -> None:
    schema = make_table(tables, database)
    tables.append(database, "t", rows(schema, record("a", 1), record("b", 2)))
    tables.append(database, "t", rows(schema, record("c", 3), record("d", 4)))
    count = tables.snapshots(database, "t").num_rows

    assert tables.delete_where(database, "t", "qty = 1 OR id = 'zzz'") == 1
    assert tables.update_where(database, "t", {"price": "price * 2 + 0.005", "qty": "qty + 100"}, "t.qty >= 3") == 2
    assert tables.overwrite(database, "t", rows(schema, record("e", 5)), "id = 'b'") == 2  # deleted + added

    assert tables.snapshots(database, "t").num_rows == count + 3
    after = by_id(tables.scan(database, "t"))
    assert sorted(after) == ["c", "d", "e"]
    assert (after["c"]["qty"], after["c"]["price"]) == (103, decimal.Decimal("2.01"))  # cast rounds half up
    assert after["e"] == record("e", 5)
    # A delete where the predicate is NULL keeps the row, as SQL does.
    assert tables.delete_where(database, "t", "NULL") == 0


def test_a_change_rewrites_only_the_files_holding_changed_rows(tables, database) -> None:
    schema = make_table(tables, database)
    for index in range(3):
        tables.append(database, "t", rows(schema, record(f"r{index}", index)))
    before = set(tables.files(database, "t").column("file_path").to_pylist())

    tables.update_where(database, "t", {"qty": "42"}, "id = 'r1'")

    after = set(tables.files(database, "t").column("file_path").to_pylist())
    assert len(before - after) == 1 and len(after - before) == 1 and len(before & after) == 2
    assert tables.snapshots(database, "t").column("operation").to_pylist()[-1] == "overwrite"


MERGE = """MERGE INTO {db}.t AS t USING updates AS s ON t.id = s.id
WHEN MATCHED AND s.qty < 0 THEN DELETE
WHEN MATCHED AND s.qty > 100 THEN UPDATE SET qty = 100, price = s.price
WHEN MATCHED THEN UPDATE SET qty = s.qty
WHEN NOT MATCHED AND s.qty >= 0 THEN INSERT (id, qty, price) VALUES (s.id, s.qty, s.price)"""


def test_merge_applies_the_first_when_clause_that_holds(tables, database) -> None:
    schema = make_table(tables, database)
    tables.append(database, "t", rows(schema, record("a", 1), record("b", 2), record("c", 3), record("keep", 4)))
    source = pa.table({"id": ["a", "b", "c", "new", "skipped"], "qty": [-1, 500, 7, 8, -5],
                       "price": [decimal.Decimal(p) for p in ("9.00", "9.50", "9.00", "8.25", "1.00")]})

    result = tables.merge(MERGE.format(db=database), source)

    assert (result.deleted, result.updated, result.inserted) == (1, 2, 1)
    after = by_id(tables.scan(database, "t"))
    assert sorted(after) == ["b", "c", "keep", "new"]
    assert (after["b"]["qty"], after["b"]["price"]) == (100, decimal.Decimal("9.50"))
    assert (after["c"]["qty"], after["c"]["price"]) == (7, decimal.Decimal("1.00"))
    assert after["keep"] == record("keep", 4)
    assert after["new"]["price"] == decimal.Decimal("8.25") and after["new"]["at"] is None
    assert result.snapshot_id == tables.snapshots(database, "t").column("snapshot_id").to_pylist()[-1]


def test_merge_fails_when_a_target_row_matches_two_source_rows(tables, database) -> None:
    schema = make_table(tables, database)
    tables.append(database, "t", rows(schema, record("a", 1)))
    before = tables.snapshots(database, "t").num_rows

    with pytest.raises(IcebergError) as failed:
        tables.merge(f"MERGE INTO {database}.t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
                     pa.table({"id": ["a", "a"]}))

    assert failed.value.error_name == "MERGE_TARGET_ROW_MULTIPLE_MATCHES"
    assert failed.value.message == "One MERGE target table row matched more than one source row"
    assert tables.snapshots(database, "t").num_rows == before


def test_merge_allows_several_matches_when_exactly_one_acts(tables, database) -> None:
    schema = make_table(tables, database)
    tables.append(database, "t", rows(schema, record("a", 1)))
    source = pa.table({"id": ["a", "a", "a"], "qty": [5, 6, 7], "latest": [False, True, False]})

    result = tables.merge(f"MERGE INTO {database}.t AS t USING s ON t.id = s.id "
                          "WHEN MATCHED AND s.latest THEN UPDATE SET qty = s.qty", source)

    assert result.updated == 1
    assert tables.scan(database, "t").column("qty").to_pylist() == [6]
    with pytest.raises(IcebergError) as two_act:
        tables.merge(f"MERGE INTO {database}.t AS t USING s ON t.id = s.id "
                     "WHEN MATCHED AND s.qty > 5 THEN UPDATE SET qty = s.qty", source)
    assert two_act.value.error_name == "MERGE_TARGET_ROW_MULTIPLE_MATCHES"


def test_merge_that_changes_nothing_commits_no_snapshot(tables, database) -> None:
    schema = make_table(tables, database)
    tables.append(database, "t", rows(schema, record("a", 1)))
    before = tables.snapshots(database, "t").num_rows
    result = tables.merge(MERGE.format(db=database), pa.table({"id": ["zz"], "qty": [-3], "price": [None]}))
    assert result.rows_affected == 0 and result.snapshot_id is None
    assert tables.snapshots(database, "t").num_rows == before


def test_merge_source_subquery_is_evaluated_over_named_relations(tables, database) -> None:
    make_table(tables, database)
    merge = sqlglot.parse_one(
        f"MERGE INTO {database}.t AS t USING (SELECT id, max(qty) AS qty FROM {database}.raw GROUP BY id) AS s "
        "ON t.id = s.id WHEN NOT MATCHED THEN INSERT (id, qty) VALUES (s.id, s.qty)", read="trino")
    source = evaluate_source(merge, {f"{database}.raw": pa.table({"id": ["a", "a", "b"], "qty": [1, 5, 2]})})
    tables.merge(merge, source)
    assert {r["id"]: r["qty"] for r in tables.scan(database, "t").to_pylist()} == {"a": 5, "b": 2}


def test_a_rewrite_planned_before_a_concurrent_commit_fails_instead_of_undoing_it(tables, database) -> None:
    schema = make_table(tables, database)
    tables.append(database, "t", rows(schema, record("a", 1)))
    stale = tables.table(database, "t")
    planned_on = cow.read_with_files(stale)
    changes = dml.plan_delete(planned_on.rows, "t", "id = 'a'")
    tables.append(database, "t", rows(schema, record("b", 2)))  # someone else commits first

    with pytest.raises(CommitFailedException):
        cow.commit_row_changes(stale, planned_on, changes)
    assert sorted(by_id(tables.scan(database, "t"))) == ["a", "b"]


def test_time_travel_by_version_and_timestamp(tables, database) -> None:
    schema = make_table(tables, database)
    tables.append(database, "t", rows(schema, record("a", 1)))
    first = tables.table(database, "t").metadata.current_snapshot_id
    time.sleep(0.01)
    between = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.01)
    tables.update_where(database, "t", {"qty": "2"})
    tables.append(database, "t", rows(schema, record("b", 3)))

    assert tables.scan(database, "t", snapshot_id=first).to_pylist() == [record("a", 1)]
    assert tables.scan(database, "t", as_of_timestamp=between).to_pylist() == [record("a", 1)]
    assert sorted(by_id(tables.scan(database, "t"))) == ["a", "b"]

    with pytest.raises(IcebergError) as bad_version:
        tables.scan(database, "t", snapshot_id=12345)
    assert (bad_version.value.error_name, bad_version.value.message) == (
        "INVALID_ARGUMENTS", "Iceberg snapshot ID does not exists: 12345")
    with pytest.raises(IcebergError) as too_early:
        tables.scan(database, "t", as_of_timestamp=dt.datetime(2001, 1, 1, 0, 0, 0, 500000))
    assert too_early.value.message == f"No version history table {database}.t at or before 2001-01-01T00:00:00.500Z"


def test_metadata_tables_have_trinos_columns_and_the_tables_facts(cloud, tables, database) -> None:
    schema = make_table(tables, database)
    tables.append(database, "t", rows(schema, record("a", 1)))
    tables.append(database, "t", rows(schema, record("b", 7)))
    tables.delete_where(database, "t", "id = 'a'")  # removes a whole file: a `delete` snapshot

    snapshots = tables.snapshots(database, "t")
    assert snapshots.column_names == ["committed_at", "snapshot_id", "parent_id", "operation", "manifest_list",
                                      "summary"]
    assert snapshots.schema.field("committed_at").type == pa.timestamp("ms", tz="UTC")
    assert snapshots.column("operation").to_pylist() == ["append", "append", "delete"]
    first, second, third = snapshots.to_pylist()
    assert first["parent_id"] is None
    assert (second["parent_id"], third["parent_id"]) == (first["snapshot_id"], second["snapshot_id"])
    assert dict(first["summary"])["added-records"] == "1"
    assert dict(third["summary"])["deleted-records"] == "1"

    history = tables.history(database, "t")
    assert history.column_names == ["made_current_at", "snapshot_id", "parent_id", "is_current_ancestor"]
    assert history.column("snapshot_id").to_pylist() == snapshots.column("snapshot_id").to_pylist()
    assert history.column("is_current_ancestor").to_pylist() == [True, True, True]

    files = tables.files(database, "t")
    assert files.column_names == ["content", "file_path", "file_format", "record_count", "file_size_in_bytes",
                                  "column_sizes", "value_counts", "null_value_counts", "nan_value_counts",
                                  "lower_bounds", "upper_bounds", "key_metadata", "split_offsets", "equality_ids"]
    (only,) = files.to_pylist()
    assert (only["content"], only["file_format"], only["record_count"]) == (0, "PARQUET", 1)
    assert dict(only["lower_bounds"]) == {1: "b", 2: "7", 3: str(10**12 + 7), 4: "1.00",
                                          5: "2026-11-29T12:00:07.123456", 6: "false", 7: "2026-11-29", 8: "1.75"}
    assert parse_s3_url(only["file_path"])[1] in s3_keys(cloud, f"s3://{BUCKET}/{database}/t")
    assert dict(only["value_counts"]) == {field_id: 1 for field_id in range(1, 9)}


def test_optimize_bin_packs_small_files_without_changing_rows(tables, database) -> None:
    schema = make_table(tables, database, optimize_rewrite_data_file_threshold="3")
    for index in range(6):
        tables.append(database, "t", rows(schema, record(f"r{index}", index)))
    before_rows = tables.scan(database, "t").sort_by("id")
    assert tables.files(database, "t").num_rows == 6

    result = tables.optimize(database, "t")

    assert (result.rewritten_files, result.added_files) == (6, 1)
    assert tables.files(database, "t").num_rows == 1
    assert tables.scan(database, "t").sort_by("id").equals(before_rows)
    assert tables.snapshots(database, "t").column("snapshot_id").to_pylist()[-1] == result.snapshot_id


def test_optimize_below_the_threshold_rewrites_nothing(tables, database) -> None:
    schema = make_table(tables, database)  # Athena's default threshold: 5 files
    for index in range(4):
        tables.append(database, "t", rows(schema, record(f"r{index}", index)))
    snapshots = tables.snapshots(database, "t").num_rows
    assert tables.optimize(database, "t").rewritten_files == 0
    assert tables.files(database, "t").num_rows == 4
    assert tables.snapshots(database, "t").num_rows == snapshots


def test_vacuum_expires_old_snapshots_and_deletes_their_files(cloud, tables, database) -> None:
    schema = make_table(tables, database, vacuum_max_snapshot_age_seconds="60")
    location = f"s3://{BUCKET}/{database}/t"
    tables.append(database, "t", rows(schema, record("a", 1)))
    old_snapshot = tables.table(database, "t").metadata.current_snapshot_id
    tables.append(database, "t", rows(schema, record("b", 2)))
    tables.delete_where(database, "t", "id = 'a'")
    current_rows = tables.scan(database, "t")
    old_files = set(tables.files(database, "t").column("file_path").to_pylist())
    keys_before = set(s3_keys(cloud, location))

    # Nothing is old enough yet: VACUUM keeps every snapshot.
    assert tables.vacuum(database, "t").expired_snapshot_ids == []
    assert tables.snapshots(database, "t").num_rows == 3

    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=61)
    result = tables.vacuum(database, "t", now=later)

    assert len(result.expired_snapshot_ids) == 2
    assert tables.snapshots(database, "t").num_rows == 1
    assert tables.scan(database, "t").equals(current_rows)
    assert set(tables.files(database, "t").column("file_path").to_pylist()) == old_files
    keys_after = set(s3_keys(cloud, location))
    # The expiry itself is one commit: one new metadata file, and it is the current one.
    (new_metadata,) = keys_after - keys_before
    current_metadata = glue(cloud).get_table(DatabaseName=database, Name="t")["Table"]["Parameters"]["metadata_location"]
    assert new_metadata == parse_s3_url(current_metadata)[1]
    deleted = {parse_s3_url(path)[1] for path in result.deleted_files}
    assert deleted and not deleted & keys_after
    assert any(key.endswith(".parquet") for key in deleted)  # the data file only the deleted row lived in
    for path in tables.files(database, "t").column("file_path").to_pylist():
        assert parse_s3_url(path)[1] in keys_after
    with pytest.raises(IcebergError) as expired:
        tables.scan(database, "t", snapshot_id=old_snapshot)
    assert expired.value.error_name == "INVALID_ARGUMENTS"


def test_vacuum_keeps_the_minimum_number_of_snapshots(tables, database) -> None:
    schema = make_table(tables, database, vacuum_max_snapshot_age_seconds="1", vacuum_min_snapshots_to_keep="2")
    for index in range(4):
        tables.append(database, "t", rows(schema, record(f"r{index}", index)))
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    assert len(tables.vacuum(database, "t", now=later).expired_snapshot_ids) == 2
    assert tables.snapshots(database, "t").num_rows == 2
    assert tables.scan(database, "t").num_rows == 4


def test_drop_table_with_purge_removes_the_glue_entry_and_every_file(cloud, tables, database) -> None:
    schema = make_table(tables, database)
    tables.append(database, "t", rows(schema, record("a", 1)))
    make_table(tables, database, name="t2")  # a neighbour whose files must stay
    assert s3_keys(cloud, f"s3://{BUCKET}/{database}/t")

    tables.drop_table(database, "t")

    assert s3_keys(cloud, f"s3://{BUCKET}/{database}/t") == []
    assert s3_keys(cloud, f"s3://{BUCKET}/{database}/t2")
    names = [t["Name"] for t in glue(cloud).get_tables(DatabaseName=database)["TableList"]]
    assert names == ["t2"]


def test_vacuum_removes_orphan_files_only_once_they_are_older_than_the_retention(cloud, tables, database) -> None:
    schema = make_table(tables, database, vacuum_max_snapshot_age_seconds="60")
    tables.append(database, "t", rows(schema, record("a", 1)))
    s3 = cloud.plane.client("s3", REGION)
    orphan = f"{database}/t/data/left-by-a-failed-writer.parquet"
    s3.put_object(Bucket=BUCKET, Key=orphan, Body=b"not referenced by any snapshot")

    assert tables.vacuum(database, "t").deleted_files == []  # young: it may be a commit in flight
    assert orphan in s3_keys(cloud, f"s3://{BUCKET}/{database}/t")

    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=61)
    assert tables.vacuum(database, "t", now=later).deleted_files == [f"s3://{BUCKET}/{orphan}"]
    assert orphan not in s3_keys(cloud, f"s3://{BUCKET}/{database}/t")
    assert tables.scan(database, "t").to_pylist() == [record("a", 1)]


def test_vacuum_refuses_a_table_at_a_bucket_root_as_athena_does(cloud, tables, database) -> None:
    bucket = f"ice-root-{uuid.uuid4().hex[:8]}"
    cloud.plane.client("s3", REGION).create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    tables.create_table(database, "rooted", [("id", "string")], f"s3://{bucket}/")
    with pytest.raises(IcebergError) as refused:
        tables.vacuum(database, "rooted")
    assert (refused.value.error_name, refused.value.message) == (
        "GENERIC_INTERNAL_ERROR", f"Path missing in file system location: s3://{bucket}")


def test_unknown_columns_fail_with_column_not_found(tables, database) -> None:
    schema = make_table(tables, database)
    tables.append(database, "t", rows(schema, record("a", 1)))
    with pytest.raises(IcebergError) as update:
        tables.update_where(database, "t", {"nope": "1"})
    assert (update.value.error_name, update.value.message) == (
        "COLUMN_NOT_FOUND", "The UPDATE SET target column nope doesn't exist")
    with pytest.raises(IcebergError) as merge:
        tables.merge(f"MERGE INTO {database}.t AS t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET nope = 1",
                     pa.table({"id": ["a"]}))
    assert merge.value.error_name == "COLUMN_NOT_FOUND"
    assert tables.scan(database, "t").to_pylist() == [record("a", 1)]


def test_merge_insert_without_columns_and_a_null_condition_falls_through(tables, database) -> None:
    tables.create_table(database, "small", [("id", "string"), ("n", "int")], f"s3://{BUCKET}/{database}/small")
    tables.append(database, "small", pa.table({"id": ["a"], "n": pa.array([1], pa.int32())}))
    result = tables.merge(
        f"MERGE INTO {database}.small AS t USING s ON t.id = s.id "
        "WHEN MATCHED AND s.n > 0 THEN UPDATE SET n = s.n "  # NULL for 'a': not TRUE, so the next clause
        "WHEN MATCHED THEN DELETE "
        "WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.n * 10)",
        pa.table({"id": ["a", "b"], "n": pa.array([None, 4], pa.int32())}))
    assert (result.deleted, result.inserted, result.updated) == (1, 1, 0)
    assert tables.scan(database, "small").to_pylist() == [{"id": "b", "n": 40}]


def test_dropping_a_table_at_a_bucket_root_removes_only_its_own_files(cloud, tables, database) -> None:
    bucket = f"ice-root-{uuid.uuid4().hex[:8]}"
    s3 = cloud.plane.client("s3", REGION)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="someone-else/data.json", Body=b"{}")
    tables.create_table(database, "rooted", [("id", "string")], f"s3://{bucket}")
    tables.append(database, "rooted", pa.table({"id": ["a"]}))

    tables.drop_table(database, "rooted")

    remaining = [obj["Key"] for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert "someone-else/data.json" in remaining
    assert not [key for key in remaining if key.endswith((".parquet", ".avro", ".metadata.json"))]


def test_concurrent_merges_into_one_table_both_apply_and_never_duplicate_a_key(tables, database) -> None:
    """A scheduled MERGE and "Merge now" may start together: each must plan on the other's result."""
    import threading

    schema = make_table(tables, database)
    tables.append(database, "t", rows(schema, record("a", 1), record("b", 2)))
    upsert = (f"MERGE INTO {database}.t USING s ON t.id = s.id "
              "WHEN MATCHED THEN UPDATE SET qty = s.qty "
              "WHEN NOT MATCHED THEN INSERT (id, qty, price) VALUES (s.id, s.qty, s.price)")
    sources = [pa.table({"id": ["a", f"new{n}"], "qty": [10 + n, n],
                         "price": [decimal.Decimal("2.00"), decimal.Decimal("3.00")]}) for n in range(4)]
    failures: list[BaseException] = []
    start = threading.Barrier(len(sources))

    def run(source: pa.Table) -> None:
        start.wait()
        try:
            tables.merge(upsert, source)
        except BaseException as exc:  # collected: the assertion below names it
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(source,)) for source in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    ids = tables.scan(database, "t").column("id").to_pylist()
    assert sorted(ids) == ["a", "b", "new0", "new1", "new2", "new3"]  # every key once, every MERGE applied
    # A further MERGE still works (a duplicated key would fail it with MERGE_TARGET_ROW_MULTIPLE_MATCHES).
    assert tables.merge(upsert, sources[0]).rows_affected == 2

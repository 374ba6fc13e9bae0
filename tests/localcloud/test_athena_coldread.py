"""Cold reads of the local Athena: bodies taken from the local S3's own files, only the columns a query names.

Lake objects are listed over the S3 API and their bodies hard-linked from the
files the local S3 keeps them in (no HTTP copy); the engine decodes only the
columns a query uses (growing the set when a later query needs more); both the
lake cache and the decoded chunks have a size cap. Every answer is checked
against values computed here from the records written.
"""

from __future__ import annotations

import decimal
import os
from pathlib import Path
from typing import Any

import pytest

from localcloud.athena.lake import Lake as LakeCache
from localcloud.athena.lake import cache_limit_bytes
from localcloud.athena.queries import referenced_names
from localcloud.athena.sql import parse
from tests.localcloud.test_athena import (
    BUCKET, DB, SEQ21, Lake, change, glue_table_input, lake_with, ndjson,
)
from tests.support.aws import REGION

D = decimal.Decimal
DAY1 = [change(str(i), SEQ21, "REMOVE" if i % 3 == 0 else "INSERT", "Laptop", i, f"{i}.25") for i in range(1, 8)]
DAY2 = [change(str(i), SEQ21, "INSERT", "Phone", 2, "1.10") for i in range(10, 14)]


@pytest.fixture(scope="module")
def lake(cloud: Any) -> Lake:
    return lake_with(cloud, {
        "orders/dt=2024-05-01/part-a": ndjson(DAY1),
        "orders/dt=2024-05-02/part-b": ndjson(DAY2),
    })


def _table(lake: Lake, name: str, objects: dict[str, bytes]) -> None:
    lake.glue.create_table(DatabaseName=DB, TableInput=glue_table_input(name, f"s3://{BUCKET}/{name}/"))
    for key, body in objects.items():
        lake.s3.put_object(Bucket=BUCKET, Key=f"{name}/{key}", Body=body)


def _revenue(records: list[dict[str, Any]]) -> D:
    return sum((r["price"] * r["quantity"] for r in records if r["op"] != "REMOVE"), D(0))


def test_lake_bodies_are_hard_links_to_the_local_s3s_own_files(lake: Lake) -> None:
    from localcloud import moto_patches

    assert lake.rows("SELECT count(*) FROM order_changes")[1:] == [[str(len(DAY1) + len(DAY2))]]
    cached = {p.stat().st_ino for p in lake.cloud.athena.cache_dir.iterdir()}
    for key in ("orders/dt=2024-05-01/part-a", "orders/dt=2024-05-02/part-b"):
        etag = lake.s3.head_object(Bucket=BUCKET, Key=key)["ETag"]
        body = moto_patches.s3_body_file(BUCKET, key, etag)
        assert body is not None and os.stat(body).st_ino in cached  # the same file: linked, not copied
        assert moto_patches.s3_body_file(BUCKET, key, '"0123456789abcdef0123456789abcdef"') is None
    assert moto_patches.s3_body_file(BUCKET, "orders/no-such-key", etag) is None
    assert moto_patches.s3_body_file("no-such-bucket", "orders/dt=2024-05-01/part-a", etag) is None


def test_a_replaced_object_is_read_in_its_new_version(lake: Lake) -> None:
    first = [change("1", SEQ21, "INSERT", "Laptop", 2, "3.50")]
    second = [change("1", SEQ21, "INSERT", "Laptop", 5, "7.00"), change("2", SEQ21, "INSERT", "Phone", 1, "1.00")]
    _table(lake, "replaced", {"dt=2024-05-01/only": ndjson(first)})
    sql = "SELECT sum(price * quantity) FROM replaced"
    assert lake.rows(sql)[1:] == [[str(_revenue(first))]]
    old_files = {p: p.read_bytes() for p in lake.cloud.athena.cache_dir.iterdir()}
    lake.s3.put_object(Bucket=BUCKET, Key="replaced/dt=2024-05-01/only", Body=ndjson(second))
    assert lake.rows(sql)[1:] == [[str(_revenue(second))]]
    # The link taken for the first version still holds it: the local S3 never rewrites a body in place.
    for path, body in old_files.items():
        if path.exists():
            assert path.read_bytes() == body


def test_only_the_columns_a_query_names_are_decoded_and_more_are_added_when_asked(lake: Lake) -> None:
    records = DAY1 + DAY2
    _table(lake, "narrow", {"dt=2024-05-01/a": ndjson(DAY1), "dt=2024-05-02/b": ndjson(DAY2)})
    engine = lake.cloud.athena.engine
    identity = f"awsdatacatalog.{DB}.narrow"
    assert lake.rows("SELECT sum(price * quantity) FROM narrow WHERE op <> 'REMOVE'")[1:] == [
        [str(_revenue(records))]]
    assert engine._decoded[identity] == {"price", "quantity", "op"}
    scanned = lake.ok("SELECT count(*) FROM narrow")["Statistics"]["DataScannedInBytes"]
    assert scanned == len(ndjson(DAY1)) + len(ndjson(DAY2))  # whole JSON objects, as Athena bills them
    rows = lake.rows("SELECT orderid, product_name, quantity, price, op, dt FROM narrow ORDER BY CAST(orderid AS int)")
    assert rows[1:] == [[r["orderid"], r["product_name"], str(r["quantity"]), str(r["price"]), r["op"],
                         "2024-05-01" if r in DAY1 else "2024-05-02"] for r in records]
    assert engine._decoded[identity] == {"orderid", "product_name", "price", "quantity", "op"}
    star = lake.rows("SELECT * FROM narrow WHERE orderid = '10'")
    assert star[0][:3] == ["orderid", "product_name", "quantity"] and star[1][:3] == ["10", "Phone", "2"]
    assert engine._decoded[identity] == {c["Name"] for c in lake.glue.get_table(
        DatabaseName=DB, Name="narrow")["Table"]["StorageDescriptor"]["Columns"]}
    # The narrower query still answers from the wider snapshot.
    assert lake.rows("SELECT sum(price * quantity) FROM narrow WHERE op <> 'REMOVE'")[1:] == [
        [str(_revenue(records))]]


def test_referenced_names_are_a_superset_of_the_columns_read() -> None:
    def names(sql: str) -> frozenset[str] | None:
        return referenced_names(parse(sql).tree)

    assert {"price", "quantity", "op"} <= names("SELECT sum(price * quantity) FROM t WHERE op <> 'REMOVE'")
    assert "extra" in names("SELECT count(*) FROM t WHERE json_extract_scalar(extra, '$.a') IS NULL")
    assert "orderid" in names("SELECT a.x FROM t a JOIN u b USING (orderid)")
    assert names("SELECT * FROM t") is None
    assert names("SELECT t.* FROM t") is None
    assert names("SELECT count(*) FROM t") is not None


def test_decoded_chunks_are_capped_dropping_the_least_recently_used_table(
        lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    _table(lake, "capped_a", {"dt=2024-05-01/a": ndjson(DAY1)})
    _table(lake, "capped_b", {"dt=2024-05-02/b": ndjson(DAY2)})
    engine = lake.cloud.athena.engine
    monkeypatch.setattr(engine, "max_decoded_bytes", 1)  # keep nothing but the snapshot a query is about to read
    sql = "SELECT sum(price * quantity) FROM {} WHERE op <> 'REMOVE'"
    assert lake.rows(sql.format("capped_a"))[1:] == [[str(_revenue(DAY1))]]
    assert f"awsdatacatalog.{DB}.capped_a" in engine._snapshots
    assert lake.rows(sql.format("capped_b"))[1:] == [[str(_revenue(DAY2))]]
    assert f"awsdatacatalog.{DB}.capped_a" not in engine._snapshots
    assert f"awsdatacatalog.{DB}.capped_b" in engine._snapshots
    assert len(engine._chunks) == 1
    assert lake.rows(sql.format("capped_a"))[1:] == [[str(_revenue(DAY1))]]  # decoded again


def test_lake_cache_is_capped_keeping_what_the_query_reads(lake: Lake, tmp_path: Path) -> None:
    _table(lake, "lakecap", {"dt=2024-05-01/a": ndjson(DAY1), "dt=2024-05-02/b": ndjson(DAY2)})
    cache = LakeCache(lake.cloud.plane.client("s3", REGION), tmp_path, max_bytes=len(ndjson(DAY1)))
    first, second = sorted(cache._list(f"s3://{BUCKET}/lakecap/"), key=lambda o: o.key)
    [a] = cache.fetch([first], "json")
    assert a.read_bytes() == ndjson(DAY1)
    [b] = cache.fetch([second], "json")
    assert b.read_bytes() == ndjson(DAY2) and not a.exists()  # over the cap: the older file went
    both = cache.fetch([first, second], "json")
    assert [p.read_bytes() for p in both] == [ndjson(DAY1), ndjson(DAY2)]  # never what the query reads


def test_cache_caps_are_configured_in_megabytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCALCLOUD_ATHENA_DECODE_CACHE_MB", raising=False)
    assert cache_limit_bytes("LOCALCLOUD_ATHENA_DECODE_CACHE_MB", 2048) == 2048 * 1024 * 1024
    monkeypatch.setenv("LOCALCLOUD_ATHENA_DECODE_CACHE_MB", "1.5")
    assert cache_limit_bytes("LOCALCLOUD_ATHENA_DECODE_CACHE_MB", 2048) == int(1.5 * 1024 * 1024)
    monkeypatch.setenv("LOCALCLOUD_ATHENA_DECODE_CACHE_MB", "0")
    with pytest.raises(ValueError):
        cache_limit_bytes("LOCALCLOUD_ATHENA_DECODE_CACHE_MB", 2048)


def test_a_json_line_longer_than_duckdbs_default_object_size_is_read(lake: Lake) -> None:
    long_extra = '{"note": "' + "x" * (17 * 1024 * 1024) + '"}'
    records = [change("1", SEQ21, "INSERT", "Laptop", 3, "2.00", extra=long_extra),
               change("2", SEQ21, "INSERT", "Phone", 1, "5.00")]
    _table(lake, "longline", {"dt=2024-05-01/a": ndjson(records)})
    assert lake.rows("SELECT sum(price * quantity), max(length(extra)) FROM longline")[1:] == [
        [str(_revenue(records)), str(len(long_extra))]]


def test_a_query_reading_two_tables_keeps_both_though_they_exceed_the_cap(
        lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    _table(lake, "pinned_a", {"dt=2024-05-01/a": ndjson(DAY1)})
    _table(lake, "pinned_b", {"dt=2024-05-02/b": ndjson(DAY2)})
    engine = lake.cloud.athena.engine
    monkeypatch.setattr(engine, "max_decoded_bytes", 1)
    rows = lake.rows("SELECT (SELECT count(*) FROM pinned_a), (SELECT sum(quantity) FROM pinned_b)")
    assert rows[1:] == [[str(len(DAY1)), str(sum(r["quantity"] for r in DAY2))]]
    # The next query evicts what it does not read.
    assert lake.rows("SELECT count(*) FROM pinned_b")[1:] == [[str(len(DAY2))]]
    assert f"awsdatacatalog.{DB}.pinned_a" not in engine._snapshots


def test_a_chunk_is_read_as_arrow_by_its_first_query_and_copied_into_the_engine_by_the_next_load(
        lake: Lake) -> None:
    _table(lake, "settled", {"dt=2024-05-01/a": ndjson(DAY1), "dt=2024-05-02/b": ndjson(DAY2)})
    engine = lake.cloud.athena.engine
    sql = "SELECT sum(price * quantity) FROM settled WHERE op <> 'REMOVE'"
    before = set(engine._chunks)
    assert lake.rows(sql)[1:] == [[str(_revenue(DAY1 + DAY2))]]
    [chunk] = set(engine._chunks) - before
    assert chunk in engine._chunk_rows  # the query that decoded it read the loader's Arrow
    tables = "SELECT table_name FROM duckdb_tables() WHERE table_name = '{}'"
    assert engine.cursor().sql(tables.format(chunk)).fetchall() == []
    assert lake.rows(sql)[1:] == [[str(_revenue(DAY1 + DAY2))]]  # same answer from the copied table
    assert chunk not in engine._chunk_rows
    assert engine.cursor().sql(tables.format(chunk)).fetchall() == [(chunk,)]

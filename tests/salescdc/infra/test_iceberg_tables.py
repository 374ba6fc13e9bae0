"""`up` creates `cdc_data.orders` and its tombstones as Iceberg tables through Athena DDL; status and down see them."""

from __future__ import annotations

import pytest

from salescdc.analytics import Analytics
from salescdc.current_state import ORDERS_COLUMNS, TOMBSTONE_COLUMNS
from salescdc.infra import ResourceError, inspect, provision, teardown


def _glue_table(factory, name: str) -> dict:
    return factory.client("glue").get_table(DatabaseName="cdc_data", Name=name)["Table"]


def test_up_creates_both_iceberg_tables_under_the_lake_bucket(settings, factory, options) -> None:
    results = {r.name: r.action for r in provision(settings, factory, options=options)}
    assert results["orders"] == "created" and results["orders_tombstones"] == "created"
    bucket = factory.bucket_name()
    for name, columns in (("orders", ORDERS_COLUMNS), ("orders_tombstones", TOMBSTONE_COLUMNS)):
        table = _glue_table(factory, name)
        assert table["Parameters"]["table_type"].upper() == "ICEBERG"
        assert table["StorageDescriptor"]["Location"].rstrip("/") == f"s3://{bucket}/iceberg/{name}"
        assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == columns
    # Athena reads it: an empty table of the declared columns, no filter needed.
    result = Analytics(settings, factory).run("SELECT * FROM cdc_data.orders")
    assert list(result.frame.columns) == [n for n, _ in ORDERS_COLUMNS] and result.frame.empty
    statuses = {s.name: s for s in inspect(settings, factory, options=options)}
    assert statuses["orders"].status == "present" and statuses["orders_tombstones"].status == "present"
    again = {r.name: r.action for r in provision(settings, factory, options=options)}
    assert again["orders"] == "unchanged"


def test_status_reports_a_table_whose_columns_drifted_and_up_refuses_to_recreate_it(settings, factory, options) -> None:
    provision(settings, factory, options=options)
    Analytics(settings, factory).run("DROP TABLE cdc_data.orders_tombstones")
    bucket = factory.bucket_name()
    Analytics(settings, factory).run(
        "CREATE TABLE cdc_data.orders_tombstones (orderid string, sequence_number string) "
        f"LOCATION 's3://{bucket}/iceberg/orders_tombstones/' TBLPROPERTIES ('table_type'='ICEBERG')")
    status = {s.name: s for s in inspect(settings, factory, options=options)}["orders_tombstones"]
    assert status.status == "drifted" and "Columns" in status.detail
    with pytest.raises(ResourceError, match="cannot change in place"):
        provision(settings, factory, options=options)


def test_down_keeps_the_tables_unless_delete_data_then_drops_them_with_their_files(settings, factory, options) -> None:
    provision(settings, factory, options=options)
    analytics = Analytics(settings, factory)
    analytics.run("INSERT INTO cdc_data.orders VALUES ('o1', 'Phone', 2, DECIMAL '10.50', "
                  "TIMESTAMP '2025-01-01 00:00:00', '100000000000000000001', TIMESTAMP '2025-01-01 00:00:00')")
    s3, bucket = factory.client("s3"), factory.bucket_name()

    def files() -> list[str]:
        return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="iceberg/orders/").get("Contents", [])]

    assert any(key.endswith(".parquet") for key in files())
    kept = {r.name: r for r in teardown(settings, factory, options=options)}
    assert kept["orders"].action == "skipped" and "--delete-data" in kept["orders"].detail
    assert any(key.endswith(".parquet") for key in files())

    provision(settings, factory, options=options)
    # `up` after a plain `down` registers a fresh, empty table at the same place.
    dropped = {r.name: r for r in teardown(settings, factory, delete_data=True, options=options)}
    # dropped by Athena's DROP TABLE (data and metadata files too), not just removed with the database
    assert [(dropped[n].action, dropped[n].detail) for n in ("orders", "orders_tombstones")] == [("deleted", "")] * 2


def test_maintenance_compacts_small_files_and_expires_snapshots_past_the_retention(cloud, options) -> None:
    import time

    from salescdc.clients import ClientFactory
    from salescdc.current_state import maintain_now
    from tests.support.schedules import remove_schedules
    from salescdc.settings import Settings

    settings = Settings(endpoint_url=cloud.url, snapshot_retention_s=1)
    factory = ClientFactory(settings)
    provision(settings, factory, options=options)
    remove_schedules(cloud, factory)  # this test alone decides when maintenance runs
    analytics = Analytics(settings, factory)
    for n in range(6):  # one INSERT, one small file and one snapshot each
        analytics.run(f"INSERT INTO cdc_data.orders VALUES ('o{n}', 'Phone', {n + 1}, DECIMAL '10.50', "
                      f"TIMESTAMP '2025-01-01 00:00:00', '10000000000000000000{n}', TIMESTAMP '2025-01-01 00:00:00')")

    def count(relation: str) -> int:
        return int(analytics.run(f'SELECT count(*) AS n FROM cdc_data."{relation}"').frame["n"].iloc[0])

    before = analytics.run("SELECT * FROM cdc_data.orders ORDER BY orderid").frame
    assert count("orders$files") == 6 and count("orders$snapshots") == 6
    time.sleep(1.5)  # every snapshot is now older than the 1 s retention
    maintain_now(analytics)
    assert count("orders$files") == 1
    assert count("orders$snapshots") == 1  # OPTIMIZE's, the one VACUUM always keeps
    after = analytics.run("SELECT * FROM cdc_data.orders ORDER BY orderid").frame
    assert after.to_dict("records") == before.to_dict("records")

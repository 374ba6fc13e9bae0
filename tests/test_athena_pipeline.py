"""Athena over pipeline-written data: provision with infra, change orders, query the lake.

The whole local pipeline (DynamoDB Streams -> Pipe -> Kinesis -> Firehose with
the real transform Lambda -> S3) writes the lake; infra defines order_changes
and creates orders_current through Athena DDL. Then `orders_current`, read with
pyathena's PandasCursor, must equal a scan of the DynamoDB table.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.support.pipeline import lake_lines, provisioned
from tests.support.waiting import eventually


@pytest.fixture(scope="module")
def env(cloud: Any) -> dict[str, Any]:
    settings, factory = provisioned(cloud.url)
    return {"cloud": cloud, "settings": settings, "factory": factory}


def test_orders_current_equals_a_scan_of_dynamodb_after_mixed_changes(env: dict[str, Any]) -> None:
    import pyathena
    from pyathena.pandas.cursor import PandasCursor

    settings, factory, cloud = env["settings"], env["factory"], env["cloud"]
    table = factory.resource("dynamodb").Table(settings.table_name)
    changes = 0
    for i in range(1, 9):
        table.put_item(Item={"orderid": str(i), "product_name": "Laptop" if i % 2 else "Phone",
                             "quantity": i, "price": Decimal(f"{i * 11}.{i:02d}")})
        changes += 1
    for i in (2, 3, 5):
        table.update_item(Key={"orderid": str(i)}, UpdateExpression="SET quantity = :q, price = :p",
                          ExpressionAttributeValues={":q": 10 + i, ":p": Decimal("0.10")})
        changes += 1
    for i in (4, 7):
        table.delete_item(Key={"orderid": str(i)})
        changes += 1
    table.update_item(Key={"orderid": "3"}, UpdateExpression="SET quantity = :q",
                      ExpressionAttributeValues={":q": 99})
    changes += 1

    eventually(lambda: len({line["event_id"] for line in lake_lines(factory)}) >= changes, "a complete lake",
               timeout=120, interval=0.3, context=lambda: f"health: {cloud.health()}")

    expected = {
        item["orderid"]: (item["product_name"], int(item["quantity"]), Decimal(item["price"]))
        for item in table.scan()["Items"]
    }
    conn = pyathena.connect(
        s3_staging_dir=f"s3://{factory.bucket_name()}/athena-results/", region_name=settings.region,
        work_group=settings.athena_workgroup, schema_name=settings.glue_database, endpoint_url=cloud.url,
        aws_access_key_id="test", aws_secret_access_key="test", poll_interval=0.05,
    )
    with conn.cursor(PandasCursor) as cursor:
        df = cursor.execute("SELECT orderid, product_name, quantity, price FROM orders_current").as_pandas()
    got = {r.orderid: (r.product_name, int(r.quantity), Decimal(str(r.price))) for r in df.itertuples()}
    assert got == expected
    assert {"4", "7"}.isdisjoint(got) and got["3"][1] == 99

    with conn.cursor() as cursor:
        cursor.execute("SELECT op, count(*) FROM order_changes GROUP BY op ORDER BY op")
        assert dict(cursor.fetchall()) == {"INSERT": 8, "MODIFY": 4, "REMOVE": 2}

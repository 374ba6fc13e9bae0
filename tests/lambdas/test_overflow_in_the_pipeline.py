"""An item whose price or quantity its lake column cannot hold flows through the whole local pipeline.

The item is written straight to DynamoDB (as any writer other than the Orders page
could), goes DynamoDB Streams -> Pipe -> Kinesis -> Firehose with the real transform
Lambda -> S3, and Athena then still answers queries over the whole table: the column
is null and the raw value is in `extra`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from localcloud.testing import running_localcloud
from salescdc.analytics import Analytics
from salescdc.clients import ClientFactory
from salescdc.settings import Settings
from tests.support.pipeline import lake_lines, provisioned

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, ClientFactory, Any]]:
    with running_localcloud(tmp_path_factory.mktemp("overflow")) as cloud:
        settings, factory = provisioned(cloud.url)
        yield settings, factory, cloud


def test_a_price_and_a_quantity_beyond_their_columns_do_not_break_queries(pipeline):
    settings, factory, cloud = pipeline
    table = factory.resource("dynamodb").Table(settings.table_name)
    table.put_item(Item={"orderid": "huge", "product_name": "Yacht", "quantity": 10**20,
                         "price": Decimal("100000000.00")})
    table.put_item(Item={"orderid": "fine", "product_name": "Phone", "quantity": 2, "price": Decimal("19.99")})

    deadline = time.monotonic() + 120
    while len({line["orderid"] for line in lake_lines(factory, parse_float=Decimal)}) < 2:
        assert time.monotonic() < deadline, f"lake incomplete; health: {cloud.health()}"
        time.sleep(0.3)
    huge = next(line for line in lake_lines(factory, parse_float=Decimal) if line["orderid"] == "huge")
    assert huge["price"] is None and huge["quantity"] is None
    assert json.loads(huge["extra"], parse_float=Decimal, parse_int=Decimal) == {
        "price": Decimal("100000000"), "quantity": Decimal(10**20)}

    analytics = Analytics(settings, factory)
    rows = analytics.run(
        f"SELECT orderid, quantity, price FROM {settings.glue_table} ORDER BY orderid").frame.to_dict("records")
    assert [r["orderid"] for r in rows] == ["fine", "huge"]
    assert Decimal(str(rows[0]["price"])) == Decimal("19.99") and rows[0]["quantity"] == 2
    current = analytics.run(
        f"SELECT count(*) AS orders, sum(price * quantity) AS revenue FROM {settings.view_name}").frame
    assert int(current["orders"][0]) == 2
    assert Decimal(str(current["revenue"][0])) == Decimal("39.98")  # the null price adds nothing

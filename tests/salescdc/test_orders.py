"""OrderRepository against a real local cloud over HTTP: paging, search, validation, conditional saves."""

from __future__ import annotations

import decimal
import itertools
from decimal import Decimal

import pytest

from salescdc.clients import ClientFactory
from salescdc.errors import TerminalError
from salescdc.orders import (
    CONFLICT,
    INVALID,
    SAVED,
    Changes,
    OrderRepository,
    normalize,
    utc_timestamp,
)
from salescdc.settings import Settings
from tests.support.aws import create_orders_table

_names = itertools.count()


@pytest.fixture
def repo(cloud):
    settings = Settings(endpoint_url=cloud.url, table_name=f"orders_{next(_names)}")
    factory = ClientFactory(settings)
    create_orders_table(factory.client("dynamodb"), settings.table_name, stream=None)
    return OrderRepository(settings, factory)


def put(repo, orderid, product="Phone", quantity=2, price="19.99", **extra):
    item = {"orderid": orderid, "product_name": product, "quantity": quantity, "price": Decimal(price), **extra}
    table = repo.factory.resource("dynamodb").Table(repo.settings.table_name)
    table.put_item(Item=item)
    return repo.get(orderid)


# -- validation rules ------------------------------------------------------
@pytest.mark.parametrize(
    "row, fragment",
    [
        ({"orderid": "", "product_name": "Phone", "quantity": 1, "price": 1}, "orderid must not be empty"),
        ({"orderid": "  ", "product_name": "Phone", "quantity": 1, "price": 1}, "orderid must not be empty"),
        ({"orderid": "1", "product_name": "", "quantity": 1, "price": 1}, "product_name must not be empty"),
        ({"orderid": "1", "product_name": None, "quantity": 1, "price": 1}, "product_name must not be empty"),
        ({"orderid": "1", "product_name": "Phone", "quantity": 0, "price": 1}, "quantity must be a whole number"),
        ({"orderid": "1", "product_name": "Phone", "quantity": 2.5, "price": 1}, "quantity must be a whole number"),
        ({"orderid": "1", "product_name": "Phone", "quantity": -3, "price": 1}, "quantity must be a whole number"),
        ({"orderid": "1", "product_name": "Phone", "quantity": None, "price": 1}, "quantity must be a whole number"),
        ({"orderid": "1", "product_name": "Phone", "quantity": "x", "price": 1}, "quantity must be a whole number"),
        ({"orderid": "1", "product_name": "Phone", "quantity": 1, "price": -0.01}, "price must not be negative"),
        ({"orderid": "1", "product_name": "Phone", "quantity": 1, "price": 1.234}, "at most 2 decimals"),
        ({"orderid": "1", "product_name": "Phone", "quantity": 1, "price": float("nan")}, "price must be a number"),
        ({"orderid": "1", "product_name": "Phone", "quantity": 1, "price": "abc"}, "price must be a number"),
        # The pipeline's own limits (issue 11): a Kinesis partition key, the lake's int and decimal(10,2).
        ({"orderid": " 42", "product_name": "Phone", "quantity": 1, "price": 1}, "must not start or end with spaces"),
        ({"orderid": "x" * 257, "product_name": "Phone", "quantity": 1, "price": 1}, "at most 256 characters"),
        ({"orderid": "1", "product_name": "Phone", "quantity": 2**31, "price": 1}, "from 1 to 2,147,483,647"),
        ({"orderid": "1", "product_name": "Phone", "quantity": 1e20, "price": 1}, "from 1 to 2,147,483,647"),
        ({"orderid": "1", "product_name": "Phone", "quantity": 1, "price": "1e40"}, "at most 99,999,999.99"),
        ({"orderid": "1", "product_name": "Phone", "quantity": 1, "price": 100_000_000}, "at most 99,999,999.99"),
        ({"orderid": "1", "product_name": "Phone", "quantity": 1, "price": "-0"}, "at least 0.01"),
        ({"orderid": "1", "product_name": "Phone", "quantity": 1, "price": 0}, "at least 0.01"),
        ({"orderid": "1", "product_name": "Phone", "quantity": 1, "price": float("inf")}, "price must be a number"),
        ({"orderid": "1", "product_name": "Phone", "quantity": 1, "price": "Infinity"}, "price must be a number"),
    ],
)
def test_validation_rejects_each_bad_value(row, fragment):
    item, messages = normalize(row)
    assert any(fragment in m for m in messages), messages


def test_validation_accepts_and_normalises_editor_values():
    item, messages = normalize({"orderid": "42", "product_name": " Phone ", "quantity": 3.0, "price": 193.72})
    assert messages == []
    assert item == {"orderid": "42", "product_name": "Phone", "quantity": 3, "price": Decimal("193.72")}
    assert normalize({"orderid": "1", "product_name": "x", "quantity": "2", "price": "0.01"})[1] == []
    assert normalize({"orderid": "x" * 256, "product_name": "x", "quantity": 2**31 - 1, "price": "99999999.99"})[1] == []


# -- reading -----------------------------------------------------------------
def test_pages_cover_every_item_once(repo):
    for i in range(23):
        put(repo, str(i))
    seen, key, pages = [], None, 0
    while True:
        page = repo.page(limit=10, start_key=key)
        pages += 1
        seen += [item["orderid"] for item in page.items]
        key = page.next_key
        if key is None:
            break
    assert sorted(seen, key=int) == [str(i) for i in range(23)]
    assert pages == 3


def test_search_exact_and_prefix(repo):
    for orderid in ("10", "100", "101", "20", "2"):
        put(repo, orderid)
    assert [i["orderid"] for i in repo.page(search="10", exact=True).items] == ["10"]
    assert repo.page(search="999", exact=True).items == []
    assert sorted(i["orderid"] for i in repo.page(search="10").items) == ["10", "100", "101"]
    first = repo.page(limit=2, search="10")
    assert len(first.items) == 2 and first.next_key is not None
    rest = repo.page(limit=2, search="10", start_key=first.next_key)
    assert sorted(i["orderid"] for i in first.items + rest.items) == ["10", "100", "101"]


def test_items_keep_exact_decimals(repo):
    item = put(repo, "7", price="193.72")
    assert item["price"] == Decimal("193.72") and isinstance(item["price"], decimal.Decimal)
    assert item["quantity"] == 2 and isinstance(item["quantity"], int)


def test_missing_table_is_one_sentence(repo):
    missing = OrderRepository(repo.settings.replace(table_name="nope"), repo.factory)
    with pytest.raises(TerminalError, match="does not exist: provision the pipeline first"):
        missing.page()
    with pytest.raises(TerminalError):
        missing.save(Changes(added=[{"orderid": "1", "product_name": "x", "quantity": 1, "price": 1}]))


# -- saving ------------------------------------------------------------------
def test_edit_add_delete_are_saved_with_timestamp(repo):
    a = put(repo, "a", extra_attr="kept")
    b = put(repo, "b")
    outcomes = repo.save(
        Changes(
            edited=[(a, {**a, "quantity": 4, "price": 12.5})],
            added=[{"orderid": "c", "product_name": "Tablet", "quantity": 1, "price": 0.1}],
            deleted=[b],
        )
    )
    assert [(o.action, o.orderid, o.status) for o in outcomes] == [
        ("edit", "a", SAVED),
        ("add", "c", SAVED),
        ("delete", "b", SAVED),
    ]
    now_a = repo.get("a")
    assert now_a["quantity"] == 4 and now_a["price"] == Decimal("12.5")
    assert now_a["extra_attr"] == "kept"  # attributes the editor does not show survive
    assert now_a["updated_at"].endswith("Z") and len(now_a["updated_at"]) == len(utc_timestamp())
    assert repo.get("c")["price"] == Decimal("0.1")
    assert repo.get("b") is None


def test_edit_of_changed_item_is_a_conflict_and_not_overwritten(repo):
    loaded = put(repo, "5", quantity=2)
    # The generator writes the item behind the editor's back.
    put(repo, "5", quantity=3, updated_at="2026-01-01T00:00:00.000Z")
    [outcome] = repo.save(Changes(edited=[(loaded, {**loaded, "quantity": 9})]))
    assert outcome.status == CONFLICT
    assert outcome.current["quantity"] == 3
    assert "changed since it was loaded" in outcome.message and "x 3" in outcome.message
    assert repo.get("5")["quantity"] == 3


def test_delete_of_changed_item_is_a_conflict(repo):
    loaded = put(repo, "6", quantity=2)
    put(repo, "6", quantity=4)
    [outcome] = repo.save(Changes(deleted=[loaded]))
    assert outcome.status == CONFLICT and outcome.current["quantity"] == 4
    assert repo.get("6") is not None


def test_edit_of_item_deleted_meanwhile_is_not_recreated(repo):
    loaded = put(repo, "8")
    repo.factory.client("dynamodb").delete_item(TableName=repo.settings.table_name, Key={"orderid": {"S": "8"}})
    [outcome] = repo.save(Changes(edited=[(loaded, {**loaded, "quantity": 3})]))
    assert outcome.status == CONFLICT and outcome.current is None
    assert "deleted" in outcome.message
    assert repo.get("8") is None


def test_added_orderid_must_be_new_and_unique(repo):
    put(repo, "taken", quantity=1)
    outcomes = repo.save(
        Changes(
            added=[
                {"orderid": "taken", "product_name": "Phone", "quantity": 2, "price": 1},
                {"orderid": "n1", "product_name": "Phone", "quantity": 2, "price": 1},
                {"orderid": "n1", "product_name": "Laptop", "quantity": 2, "price": 1},
            ]
        )
    )
    assert [o.status for o in outcomes] == [CONFLICT, SAVED, INVALID]
    assert "already exists" in outcomes[0].message
    assert "more than once" in outcomes[2].message
    assert repo.get("taken")["quantity"] == 1
    assert repo.get("n1")["product_name"] == "Phone"


def test_invalid_rows_do_not_stop_valid_ones(repo):
    a = put(repo, "a")
    b = put(repo, "b")
    outcomes = repo.save(
        Changes(edited=[(a, {**a, "quantity": 0}), (b, {**b, "quantity": 7}), (a, {**a, "orderid": "z"})])
    )
    assert [o.status for o in outcomes] == [INVALID, SAVED, INVALID]
    assert "quantity" in outcomes[0].message
    assert "cannot be changed" in outcomes[2].message
    assert repo.get("a")["quantity"] == 2 and repo.get("b")["quantity"] == 7
    assert repo.get("z") is None


def test_values_the_pipeline_cannot_carry_are_refused_and_the_rest_of_the_batch_is_saved(repo):
    put(repo, " padded ", quantity=1)  # written before the rules existed: it can still be deleted
    legacy = repo.get(" padded ")
    good = {"orderid": "fine", "product_name": "Phone", "quantity": 2, "price": "99999999.99"}
    outcomes = repo.save(Changes(
        added=[
            {"orderid": "huge", "product_name": "Phone", "quantity": 1, "price": "1e40"},
            {"orderid": "x" * 300, "product_name": "Phone", "quantity": 1, "price": 1},
            {"orderid": " spaced ", "product_name": "Phone", "quantity": 1, "price": 1},
            {"orderid": "many", "product_name": "Phone", "quantity": 10**20, "price": 1},
            {"orderid": "zero", "product_name": "Phone", "quantity": 1, "price": "-0"},
            good,
        ],
        deleted=[legacy],
    ))
    assert [o.status for o in outcomes] == [INVALID] * 5 + [SAVED, SAVED]
    assert "at most 99,999,999.99" in outcomes[0].message
    assert "at most 256 characters" in outcomes[1].message
    assert "spaces" in outcomes[2].message
    assert "2,147,483,647" in outcomes[3].message
    assert "at least 0.01" in outcomes[4].message
    assert repo.get("fine")["price"] == Decimal("99999999.99")
    assert repo.get(" padded ") is None
    for orderid in ("huge", "x" * 300, " spaced ", "spaced", "many", "zero"):
        assert repo.get(orderid) is None

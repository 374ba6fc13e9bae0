"""The transform on AWS-shaped events: every op under both view types, exact numbers, bad input as data."""

from __future__ import annotations

import base64
import decimal
import json

import pytest

import transform
from salescdc import contract
from tests.lambdas.events import b64, firehose_record, item, order_image, stream_record


def run(stream_rec, arrival_ms=1718100000123) -> transform.TransformResult:
    return transform.transform(firehose_record(b64(stream_rec), arrival_ms=arrival_ms))


def line_of(result) -> dict:
    assert isinstance(result, transform.Ok), getattr(result, "reason", result)
    raw = base64.b64decode(result.data, validate=True).decode()
    assert raw == result.line and raw.endswith("\n") and raw.count("\n") == 1
    parsed = json.loads(raw, parse_float=decimal.Decimal)
    assert list(parsed) == contract.FIELD_NAMES
    return parsed


def test_field_list_is_the_contracts():
    assert list(transform.FIELD_NAMES) == contract.FIELD_NAMES


def test_insert_new_image_gives_the_exact_contract_line():
    rec = stream_record("INSERT", new=order_image(), view="NEW_IMAGE")
    result = run(rec)
    assert result.record_id == "49546986683135544286507457936321625675700192471156785154000000"
    assert result.line == (
        '{"orderid":"42","product_name":"Laptop","quantity":3,"price":193.72,'
        '"updated_at":"2024-06-11 09:59:59.500","op":"INSERT","is_deleted":false,'
        '"event_id":"c81e728d9d4c2f636f067f89cc14862c","sequence_number":"111000000000000000001",'
        '"event_time":"2024-06-11 09:59:59.250","arrival_time":"2024-06-11 10:00:00.123","extra":"{}"}\n'
    )


@pytest.mark.parametrize("view", ["NEW_IMAGE", "NEW_AND_OLD_IMAGES"])
def test_modify_uses_the_new_image(view):
    old = order_image(quantity="1", price="10.00") if view == "NEW_AND_OLD_IMAGES" else None
    rec = stream_record("MODIFY", new=order_image(quantity="5", price="20.5"), old=old, view=view)
    line = line_of(run(rec))
    assert (line["op"], line["is_deleted"], line["quantity"], line["price"]) == ("MODIFY", False, 5, decimal.Decimal("20.5"))


def test_remove_with_old_image_carries_the_old_values():
    rec = stream_record("REMOVE", old=order_image(product="Tablet", quantity="2", price="99.99"))
    line = line_of(run(rec))
    assert line["op"] == "REMOVE" and line["is_deleted"] is True
    assert (line["orderid"], line["product_name"], line["quantity"], line["price"]) == ("42", "Tablet", 2, decimal.Decimal("99.99"))
    assert line["updated_at"] == "2024-06-11 09:59:59.500"


def test_remove_under_new_image_carries_only_the_key():
    line = line_of(run(stream_record("REMOVE", view="NEW_IMAGE")))
    assert line["orderid"] == "42" and line["is_deleted"] is True
    assert [line[f] for f in ("product_name", "quantity", "price", "updated_at")] == [None] * 4
    assert line["extra"] == "{}"


def test_missing_optional_attributes_are_null_not_failures():
    line = line_of(run(stream_record("INSERT", new=item("7"), created=None), arrival_ms=None))
    assert [line[f] for f in ("product_name", "quantity", "price", "updated_at", "event_time", "arrival_time")] == [None] * 6


# Prices the lake's DECIMAL(10,2) holds exactly: written with exactly the item's digits.
PRICES = [
    "193.72", "0.1", "0.01", "0.3", "10.00", "500", "499.99", "1E+2", "-0.5", "0", "1.500",
    "99999999.99", "-99999999.99", "0E-130",
]
# Prices it cannot hold (too many digits before the point, a non-zero digit past the second decimal):
# null in the column, the raw number kept in `extra`, so no line breaks a query on the table.
PRICES_BEYOND_THE_COLUMN = [
    "100000000", "100000000.00", "99999999.999", "-100000000", "1.5E-3", "1.005",
    "12345678901234567890123456789012345678", "0.00000000000000000000000000000000000001",
    "9.9999999999999999999999999999999999999E+125", "1E-130", "123456789.123456789", "1E+40",
    "0.01000000000000000000000000000000000001",
]


@pytest.mark.parametrize("price", PRICES)
def test_price_carries_exactly_the_items_digits(price):
    result = run(stream_record("INSERT", new=order_image(price=price)))
    line = line_of(result)
    assert line["price"] == decimal.Decimal(price)
    text = result.line.split('"price":', 1)[1].split(",", 1)[0]
    assert "e" not in text.lower()  # plain notation: Athena's decimal reader takes it as written
    if price == "193.72":
        assert text == "193.72"
    assert "price" not in json.loads(line["extra"])


@pytest.mark.parametrize("price", PRICES_BEYOND_THE_COLUMN)
def test_a_price_beyond_decimal_10_2_is_null_and_kept_exactly_in_extra(price):
    result = run(stream_record("INSERT", new=order_image(price=price)))
    line = line_of(result)
    assert line["price"] is None
    assert json.loads(line["extra"], parse_float=decimal.Decimal, parse_int=decimal.Decimal)["price"] == \
        decimal.Decimal(price)
    assert (line["orderid"], line["quantity"]) == ("42", 3)  # the rest of the line is intact


@pytest.mark.parametrize("quantity", ["2147483648", "-2147483649", "100000000000000000000", "1E+20"])
def test_a_quantity_beyond_int_is_null_and_kept_exactly_in_extra(quantity):
    line = line_of(run(stream_record("INSERT", new=order_image(quantity=quantity))))
    assert line["quantity"] is None
    assert json.loads(line["extra"], parse_int=decimal.Decimal)["quantity"] == decimal.Decimal(quantity)
    assert line["price"] == decimal.Decimal("193.72")


@pytest.mark.parametrize("quantity", ["2147483647", "-2147483648", "1", "0"])
def test_a_quantity_within_int_keeps_its_column(quantity):
    line = line_of(run(stream_record("INSERT", new=order_image(quantity=quantity))))
    assert line["quantity"] == int(quantity) and "quantity" not in json.loads(line["extra"])


def test_extra_numbers_are_exact_too():
    rec = stream_record("INSERT", new=item(discount={"N": "0.1"}, big={"N": "1234567890123456789.5"}))
    extra = json.loads(line_of(run(rec))["extra"], parse_float=decimal.Decimal)
    assert extra == {"big": decimal.Decimal("1234567890123456789.5"), "discount": decimal.Decimal("0.1")}


def test_every_dynamodb_type_is_decoded_into_plain_json():
    new = item(
        s={"S": "text \"quoted\" ü"},
        n={"N": "-12.50"},
        b={"B": base64.b64encode(b"\x00\x01\xff").decode()},
        t={"BOOL": True},
        f={"BOOL": False},
        z={"NULL": True},
        ss={"SS": ["pear", "apple", "fig"]},
        ns={"NS": ["10", "2.5", "-1"]},
        bs={"BS": [base64.b64encode(b"\x02").decode(), base64.b64encode(b"\x01").decode()]},
        l={"L": [{"S": "a"}, {"N": "1"}, {"NULL": True}, {"M": {"k": {"BOOL": True}}}]},
        m={"M": {"inner": {"L": [{"SS": ["b", "a"]}]}, "num": {"N": "3"}}},
    )
    extra = json.loads(line_of(run(stream_record("INSERT", new=new)))["extra"], parse_float=decimal.Decimal)
    assert extra == {
        "s": "text \"quoted\" ü",
        "n": decimal.Decimal("-12.50"),
        "b": "AAH/",
        "t": True,
        "f": False,
        "z": None,
        "ss": ["apple", "fig", "pear"],
        "ns": [-1, decimal.Decimal("2.5"), 10],
        "bs": ["AQ==", "Ag=="],
        "l": ["a", 1, None, {"k": True}],
        "m": {"inner": [["a", "b"]], "num": 3},
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-06-11T10:00:00Z", "2024-06-11 10:00:00.000"),
        ("2024-06-11T10:00:00.123456+00:00", "2024-06-11 10:00:00.123"),
        ("2024-06-11T15:30:00.250+05:30", "2024-06-11 10:00:00.250"),
        ("2024-06-11T10:00:00.5", "2024-06-11 10:00:00.500"),  # no offset: taken as UTC
        ("2024-06-11", "2024-06-11 00:00:00.000"),
    ],
)
def test_updated_at_is_normalised_to_utc_milliseconds(raw, expected):
    line = line_of(run(stream_record("INSERT", new=order_image(updated_at=raw))))
    assert line["updated_at"] == expected
    assert "updated_at" not in json.loads(line["extra"])


@pytest.mark.parametrize("typed", [{"S": "yesterday"}, {"N": "1718100000"}, {"S": ""}])
def test_unparseable_updated_at_is_null_and_kept_in_extra(typed):
    new = order_image(updated_at=None) | {"updated_at": typed}
    line = line_of(run(stream_record("INSERT", new=new)))
    assert line["updated_at"] is None
    kept = json.loads(line["extra"], parse_float=decimal.Decimal)["updated_at"]
    assert str(kept) == next(iter(typed.values()))


@pytest.mark.parametrize(
    ("name", "typed"),
    [("quantity", {"S": "3"}), ("quantity", {"N": "2.5"}), ("quantity", {"N": "1E+12"}),
     ("price", {"S": "12.30"}), ("product_name", {"N": "5"})],
)
def test_a_column_of_the_wrong_type_is_null_and_kept_in_extra(name, typed):
    new = order_image() | {name: typed}
    line = line_of(run(stream_record("INSERT", new=new)))
    assert line[name] is None
    assert name in json.loads(line["extra"])


def test_fractional_and_integer_creation_times():
    assert line_of(run(stream_record(new=item(), created=1718099999)))["event_time"] == "2024-06-11 09:59:59.000"
    assert line_of(run(stream_record(new=item(), created=1718099999.9999)))["event_time"] == "2024-06-11 09:59:59.999"


def test_the_aws_documentation_example_is_not_an_orders_record():
    # The EventBridge guide's sample record has key Id (N), not orderid: it cannot become a contract line.
    doc = {
        "eventID": "1", "eventVersion": "1.0",
        "dynamodb": {"Keys": {"Id": {"N": "101"}}, "NewImage": {"Message": {"S": "New item!"}, "Id": {"N": "101"}},
                     "StreamViewType": "NEW_AND_OLD_IMAGES", "SequenceNumber": "111", "SizeBytes": 26},
        "awsRegion": "us-west-2", "eventName": "INSERT",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:111122223333:table/EventSourceTable", "eventSource": "aws:dynamodb",
    }
    result = run(doc)
    assert isinstance(result, transform.ProcessingFailed)
    assert "orderid" in result.reason


def _with(rec: dict, path: tuple, value) -> dict:
    rec = json.loads(json.dumps(rec))
    target = rec
    for part in path[:-1]:
        target = target[part]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return rec


GOOD = stream_record("MODIFY", new=order_image(), old=order_image(quantity="1"))

BAD_DATA = {
    "bad base64": "not base64!!",
    "truncated base64": "eyJh",
    "not UTF-8": b64(b"\xff\xfe\x00garbage"),
    "not JSON": b64("{'single': 'quotes'}"),
    "NaN is not JSON": b64('{"eventName": NaN}'),
    "JSON array": b64([GOOD]),
    "JSON string": b64("just a string"),
    "JSON number": b64("42"),
    "not a stream record": b64({"orderid": "42", "price": 1.5}),
    "no dynamodb": b64(_with(GOOD, ("dynamodb",), KeyError)),
    "other event source": b64(_with(GOOD, ("eventSource",), "aws:kinesis")),
    "no eventName": b64(_with(GOOD, ("eventName",), KeyError)),
    "unknown eventName": b64(_with(GOOD, ("eventName",), "UPSERT")),
    "no eventID": b64(_with(GOOD, ("eventID",), KeyError)),
    "no SequenceNumber": b64(_with(GOOD, ("dynamodb", "SequenceNumber"), KeyError)),
    "numeric SequenceNumber": b64(_with(GOOD, ("dynamodb", "SequenceNumber"), 111)),
    "no Keys": b64(_with(GOOD, ("dynamodb", "Keys"), KeyError)),
    "no orderid key": b64(_with(GOOD, ("dynamodb", "Keys"), {"id": {"S": "42"}})),
    "numeric orderid key": b64(_with(GOOD, ("dynamodb", "Keys"), {"orderid": {"N": "42"}})),
    "untyped value": b64(_with(GOOD, ("dynamodb", "NewImage", "price"), "193.72")),
    "two types": b64(_with(GOOD, ("dynamodb", "NewImage", "price"), {"N": "1", "S": "1"})),
    "unknown type": b64(_with(GOOD, ("dynamodb", "NewImage", "price"), {"X": "1"})),
    "bad number": b64(_with(GOOD, ("dynamodb", "NewImage", "price"), {"N": "abc"})),
    "NaN number": b64(_with(GOOD, ("dynamodb", "NewImage", "price"), {"N": "NaN"})),
    "too many digits": b64(_with(GOOD, ("dynamodb", "NewImage", "price"), {"N": "1" * 39})),
    "bad binary": b64(_with(GOOD, ("dynamodb", "NewImage", "b"), {"B": "***"})),
    "modify without NewImage": b64(_with(GOOD, ("dynamodb", "NewImage"), KeyError)),
    "creation time not a number": b64(_with(GOOD, ("dynamodb", "ApproximateCreationDateTime"), "yesterday")),
    "creation time out of range": b64(_with(GOOD, ("dynamodb", "ApproximateCreationDateTime"), 1e300)),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_records_fail_with_their_original_data_and_a_reason(case):
    data = BAD_DATA[case]
    result = transform.transform(firehose_record(data, record_id="rec-1"))
    assert isinstance(result, transform.ProcessingFailed)
    assert result.result == "ProcessingFailed" and result.record_id == "rec-1" and result.reason
    if case.endswith("base64") and case != "truncated base64":
        # Firehose never sends invalid base64; a hand-made one comes back re-encoded, losslessly.
        assert base64.b64decode(result.data).decode() == data
    else:
        assert result.data == data


def test_a_good_record_passes_the_same_checks():
    assert isinstance(transform.transform(firehose_record(b64(GOOD))), transform.Ok)


@pytest.mark.parametrize("record", [None, "text", {"recordId": "r"}, {"recordId": "r", "data": 5}])
def test_malformed_firehose_records_fail_without_raising(record):
    result = transform.transform(record)
    assert isinstance(result, transform.ProcessingFailed)
    base64.b64decode(result.data, validate=True)

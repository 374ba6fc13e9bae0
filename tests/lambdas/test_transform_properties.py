"""Property: ANY batch, garbage included, gets a response Firehose accepts."""

from __future__ import annotations

import base64
import binascii
import decimal
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import handler
from salescdc import contract
from tests.lambdas.events import b64, firehose_event, firehose_record, stream_record

names = st.text(min_size=1, max_size=8)
scalars = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=20)),
    st.builds(lambda d: {"N": str(d)}, st.decimals(allow_nan=False, allow_infinity=False, places=2,
                                                   min_value=-10**9, max_value=10**9)),
    st.builds(lambda b: {"B": base64.b64encode(b).decode()}, st.binary(max_size=10)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda s: {"SS": sorted(s)}, st.sets(st.text(max_size=5), min_size=1, max_size=4)),
    st.builds(lambda s: {"NS": [str(x) for x in s]}, st.sets(st.integers(-1000, 1000), min_size=1, max_size=4)),
)
typed = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3)),
        st.builds(lambda v: {"M": v}, st.dictionaries(names, inner, max_size=3)),
    ),
    max_leaves=8,
)
images = st.builds(lambda oid, attrs: {**attrs, "orderid": {"S": oid}}, st.text(min_size=1, max_size=6),
                   st.dictionaries(names, typed, max_size=5))

valid_records = st.builds(
    lambda op, new, old, view, seq, created: b64(stream_record(
        op, orderid=new["orderid"]["S"], new=None if op == "REMOVE" else new,
        old=old if (view == "NEW_AND_OLD_IMAGES" and op != "INSERT") else None, view=view,
        seq=str(seq), created=created)),
    st.sampled_from(["INSERT", "MODIFY", "REMOVE"]), images, images,
    st.sampled_from(["NEW_IMAGE", "NEW_AND_OLD_IMAGES"]), st.integers(1, 10**30),
    st.one_of(st.none(), st.integers(0, 4 * 10**9), st.floats(0, 4e9)),
)
garbage = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40).map(b64),
    st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
                 lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=5), c, max_size=3)),
                 max_leaves=10).map(b64),
    st.builds(lambda d: b64({"eventName": "INSERT", "eventID": "x", "dynamodb": d}),
              st.dictionaries(st.sampled_from(["Keys", "NewImage", "SequenceNumber", "ApproximateCreationDateTime"]),
                              st.one_of(st.text(max_size=4), st.integers(), images), max_size=4)),
)
batches = st.lists(
    st.tuples(st.one_of(valid_records, garbage), st.one_of(st.none(), st.integers(0, 2 * 10**12))),
    max_size=12,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches)
def test_any_batch_gets_a_valid_response(batch):
    records = [firehose_record(data, record_id=f"id-{i}", arrival_ms=ts) for i, (data, ts) in enumerate(batch)]
    response = handler.lambda_handler(firehose_event(records), None)
    out = response["records"]
    assert [r["recordId"] for r in out] == [r["recordId"] for r in records]
    for rec, r in zip(records, out):
        assert set(r) == {"recordId", "result", "data"}
        assert r["result"] in ("Ok", "ProcessingFailed")
        raw = base64.b64decode(r["data"], validate=True)
        if r["result"] == "Ok":
            text = raw.decode("utf-8")
            assert text.endswith("\n") and text.count("\n") == 1
            line = json.loads(text)
            assert list(line) == contract.FIELD_NAMES
            assert isinstance(line["orderid"], str) and line["op"] in contract.OPS
            assert isinstance(json.loads(line["extra"]), dict)
        else:
            try:
                base64.b64decode(rec["data"], validate=True)
                assert r["data"] == rec["data"]
            except (binascii.Error, ValueError):
                assert raw.decode("utf-8", "surrogatepass") == rec["data"]


dynamodb_numbers = st.decimals(allow_nan=False, allow_infinity=False).filter(
    lambda d: len(d.as_tuple().digits) <= 38 and -130 <= d.adjusted() <= 125)
# Around the edges of DECIMAL(10,2): within, just beyond, and with a third decimal.
edge_prices = st.one_of(
    st.decimals(min_value=-10**8, max_value=10**8, places=2),
    st.decimals(min_value=-10**9, max_value=10**9, places=3),
    st.sampled_from([decimal.Decimal(s) for s in ("99999999.99", "100000000", "-99999999.99", "-100000000.00",
                                                   "99999999.991", "0.001", "1E+40", "-0")]),
)


def fits_decimal_10_2(value: decimal.Decimal) -> bool:
    """Written independently of the transform: whole cents, at most ten digits of them."""
    cents = value.scaleb(2)
    return cents == cents.to_integral_value() and abs(cents) <= 9_999_999_999


def transformed_line(**image_values: str) -> dict:
    from tests.lambdas.events import order_image

    data = b64(stream_record("INSERT", new=order_image(**image_values)))
    r = handler.lambda_handler(firehose_event([firehose_record(data)]), None)["records"][0]
    assert r["result"] == "Ok"
    return json.loads(base64.b64decode(r["data"]), parse_float=decimal.Decimal, parse_int=decimal.Decimal)


@settings(max_examples=300, deadline=None)
@given(st.one_of(dynamodb_numbers, edge_prices))
def test_any_dynamodb_number_keeps_its_value_in_the_column_or_in_extra(price):
    line = transformed_line(price=str(price))
    extra = json.loads(line["extra"], parse_float=decimal.Decimal, parse_int=decimal.Decimal)
    if fits_decimal_10_2(price):
        assert line["price"] == price and "price" not in extra
    else:
        # Athena would fail the whole query on it (HIVE_BAD_DATA) or round it: null, raw value kept.
        assert line["price"] is None and extra["price"] == price


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1),
                 st.integers(min_value=-(2**31) - 2, max_value=2**31 + 1)))
def test_any_whole_quantity_keeps_its_value_in_the_column_or_in_extra(quantity):
    line = transformed_line(quantity=str(quantity))
    extra = json.loads(line["extra"], parse_int=decimal.Decimal)
    if -(2**31) <= quantity <= 2**31 - 1:
        assert line["quantity"] == quantity and "quantity" not in extra
    else:
        assert line["quantity"] is None and extra["quantity"] == quantity

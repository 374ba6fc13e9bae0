"""Properties of the order value rules (no cloud): never raise, accept exactly what the pipeline can carry."""

from __future__ import annotations

import decimal
import math
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from salescdc.order_rules import normalize

# Wide on purpose: text with spaces and huge lengths, numbers of every shape an editor or a JSON body can hold.
orderids = st.one_of(st.text(max_size=300), st.text(alphabet="ab ", min_size=250, max_size=260),
                     st.integers(), st.none())
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=-10**9, max_value=10**9, places=2),
    st.decimals(min_value=-10**9, max_value=10**9, places=3),
    st.sampled_from(["1e40", "-0", "0.00", "NaN", "Infinity", "-Infinity", "1E+2", " 7 ", "abc", "", "0.01",
                     "99999999.99", "100000000", "99999999.995", "2147483647", "2147483648", "1.5"]),
    st.booleans(),
    st.none(),
)


def exact(value) -> Decimal | None:
    """The number a cell holds, written independently of the code under test."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    try:
        number = Decimal(str(value).strip())
    except decimal.InvalidOperation:
        return None
    return number if number.is_finite() else None


def price_fits(value) -> bool:
    number = exact(value)
    if number is None:
        return False
    cents = number * 100
    # Whole cents, between one cent and the largest decimal(10,2): ten digits of cents.
    return cents == cents.to_integral_value() and 1 <= cents <= 9_999_999_999


def quantity_fits(value) -> bool:
    number = exact(value)
    return number is not None and number == number.to_integral_value() and 1 <= number <= 2**31 - 1


def orderid_fits(value) -> bool:
    text = "" if value is None else str(value)
    return 1 <= len(text) <= 256 and text == text.strip()


@settings(max_examples=400, deadline=None)
@given(orderid=orderids, quantity=numbers, price=numbers)
@example(orderid="1", quantity=1, price="1e40")
@example(orderid="1", quantity=10**20, price="-0")
@example(orderid=" 1", quantity=1, price=1)
@example(orderid="x" * 257, quantity=1, price=1)
def test_accepts_exactly_what_the_pipeline_can_carry(orderid, quantity, price):
    item, messages = normalize({"orderid": orderid, "product_name": "Phone", "quantity": quantity, "price": price})
    assert (messages == []) == (orderid_fits(orderid) and quantity_fits(quantity) and price_fits(price)), messages
    # One sentence per broken rule, each naming its field.
    assert len(messages) == (not orderid_fits(orderid)) + (not quantity_fits(quantity)) + (not price_fits(price))
    if not messages:
        assert item["price"] == exact(price) and isinstance(item["price"], Decimal)
        assert item["quantity"] == int(exact(quantity)) and isinstance(item["quantity"], int)
        assert item["orderid"] == str(orderid)
        # It fits decimal(10,2) exactly: at most ten digits once written with two decimals.
        assert len(item["price"].quantize(Decimal("0.01")).as_tuple().digits) <= 10


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2))
def test_every_price_of_the_lake_type_is_accepted_unchanged(price):
    item, messages = normalize({"orderid": "1", "product_name": "x", "quantity": 1, "price": price})
    assert messages == [] and item["price"] == price

"""Item and stream-record sizes as DynamoDB's documentation counts them, whatever moto counts.

https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
"""

from __future__ import annotations

import base64

import pytest

from localcloud.dynamodb.records import attribute_map_size, attribute_value_size, number_size


@pytest.mark.parametrize(("text", "size"), [
    ("1", 2), ("19.99", 3), ("100", 2), ("1.00", 2), ("1E2", 2), ("0", 2), ("-0.5", 2),
    ("12345", 4), ("123456", 4), ("0.000123", 3), ("9" * 38, 20),
])
def test_a_number_is_one_byte_per_two_significant_digits_plus_one(text: str, size: int) -> None:
    assert number_size(text) == size


def test_every_type_counts_as_the_documentation_says() -> None:
    assert attribute_value_size({"S": "héllo"}) == 6  # UTF-8 bytes
    assert attribute_value_size({"B": base64.b64encode(b"\x00\x01\x02").decode()}) == 3  # raw bytes
    assert attribute_value_size({"B": b"\x00\x01"}) == 2
    assert attribute_value_size({"BOOL": True}) == attribute_value_size({"NULL": True}) == 1
    assert attribute_value_size({"SS": ["a", "bc"]}) == 3
    assert attribute_value_size({"NS": ["1", "19.99"]}) == 2 + 3
    assert attribute_value_size({"L": []}) == attribute_value_size({"M": {}}) == 3
    # 3 bytes of overhead plus 1 per element, plus the elements (a Map's with their names).
    assert attribute_value_size({"L": [{"S": "ab"}, {"N": "7"}]}) == 3 + (1 + 2) + (1 + 2)
    assert attribute_value_size({"M": {"k": {"S": "v"}}}) == 3 + 1 + 1 + 1
    assert attribute_map_size({"orderid": {"S": "1"}, "price": {"N": "19.99"}}) == 7 + 1 + 5 + 3

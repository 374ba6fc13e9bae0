"""Numbers in JSON lake lines read through pyathena with their own digits, cold and warm.

Athena's JSON SerDes read a decimal column from the number token's text, so a
decimal(38,10) holding 12345678901234567890.123456789 answers exactly that, and a
bigint holds 9007199254740993 (2^53 + 1, which no double holds). Values that are
no number keep the answers they had (a quoted number is read, a boolean or an
object fails the query). Each query runs twice: cold (decoded from the lake) and
warm (from the decoded chunks, which the second run must not decode again).
"""

from __future__ import annotations

import decimal
from typing import Any

import pytest

from tests.localcloud.test_athena import BUCKET, DB, Lake, glue_table_input, lake_with_table

D = decimal.Decimal
COLUMNS = [("id", "string"), ("price", "decimal(38,10)"), ("qty", "bigint"), ("cents", "decimal(10,2)")]
LINES = (b'{"id": "a", "price": 12345678901234567890.123456789, "qty": 9007199254740993, '
         b'"cents": 1.00499999999999999999}\n'
         b'{"id": "b", "price": -0.0000000001, "qty": -9223372036854775808, "cents": 99999999.99}\n'
         b'{"id": "c", "price": "12.5", "qty": 7, "cents": 1.005}\n')
PLAIN = b'{"id": "d", "price": 193.72, "qty": 2, "cents": 0.10}\n'


@pytest.fixture(scope="module")
def lake(cloud: Any) -> Lake:
    return lake_with_table(cloud, "numbers", COLUMNS, {"dt=2024-05-01/long": LINES, "dt=2024-05-02/plain": PLAIN})


def test_decimal_38_10_and_bigint_beyond_2_to_the_53_keep_every_digit(lake: Lake) -> None:
    rows = lake.rows_cold_then_warm("SELECT id, price, qty, cents FROM numbers ORDER BY id")
    assert rows == [
        ("a", D("12345678901234567890.1234567890"), 9007199254740993, D("1.00")),
        ("b", D("-1E-10"), -9223372036854775808, D("99999999.99")),
        ("c", D("12.5000000000"), 7, D("1.01")),
        ("d", D("193.7200000000"), 2, D("0.10")),
    ]
    assert isinstance(rows[0][1], decimal.Decimal) and isinstance(rows[0][2], int)


def test_exact_digits_flow_through_arithmetic_and_the_result_text(lake: Lake) -> None:
    rows = lake.rows_cold_then_warm("SELECT sum(price), max(qty) - 9007199254740992, sum(cents) FROM numbers")
    assert rows == [(D("12345678901234568096.3434567889"), 1, D("100000002.10"))]
    # GetQueryResults gives the exact text too (what the AWS CLI and the console show).
    assert lake.rows("SELECT CAST(price AS varchar), qty FROM numbers WHERE id = 'a'")[1:] == [
        ["12345678901234567890.1234567890", "9007199254740993"]]


@pytest.mark.parametrize("bad", [b'{"price": true}', b'{"price": {"a": 1}}', b'{"price": "abc"}',
                                 b'{"price": 1e40}'])
def test_values_that_are_no_number_fail_as_before_next_to_a_long_number(lake: Lake, bad: bytes) -> None:
    name = f"bad_{abs(hash(bad))}"
    lake.glue.create_table(DatabaseName=DB, TableInput=glue_table_input(name, f"s3://{BUCKET}/{name}/",
                                                                        columns=COLUMNS))
    lake.s3.put_object(Bucket=BUCKET, Key=f"{name}/dt=2024-05-01/x", Body=LINES + bad + b"\n")
    assert lake.failure(f"SELECT price FROM {name}").startswith("HIVE_BAD_DATA: ")

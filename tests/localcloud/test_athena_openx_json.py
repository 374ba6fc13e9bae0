"""Lake lines read through pyathena as Athena's OpenX JSON SerDe reads them, cold and warm.

Sources, cited per case below:
- [trino] Trino's OpenX reader, which Athena engine v3 runs: trinodb/trino
  lib/trino-hive-formats/src/main/java/io/trino/hive/formats/line/openxjson/ (README.md,
  OpenXJsonDeserializer.java: VarcharDecoder, parseLong, BooleanDecoder; JsonWriter.java:
  canonicalizeUnquotedString, writeJsonString).
- [aws] https://docs.aws.amazon.com/athena/latest/ug/openx-json-serde.html: case.insensitive
  (default TRUE), the `Duplicate key "url"` error for keys `URL` and `Url`, and
  use.null.for.invalid.data (default FALSE: a value that does not deserialize fails the query).

Each query runs twice: cold (decoded from the lake) and warm (from the decoded chunks, which
the second run must not decode again).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.localcloud.test_athena import BUCKET, DB, Lake, glue_table_input, lake_with_table

COLUMNS = [("id", "string"), ("s", "string"), ("n", "int"), ("flag", "boolean")]
LINES = (
    # [trino] VarcharDecoder -> writeJson: numbers canonicalised as a long or BigDecimal.toString().
    b'{"id": "a", "s": 1e3, "n": 1.5, "flag": "TRUE"}\n'
    b'{"id": "b", "s": 1.50, "n": -1.5, "flag": 1}\n'
    b'{"id": "c", "s": 0.0000001, "n": 2.7, "flag": "yes"}\n'
    # [trino] objects and arrays as compact JSON (JsonWriter; "/" escaped after "<").
    b'{"id": "d", "s": {"k": [1, 2.50, "</b>"], "t": true}, "n": 1e3, "flag": false}\n'
    b'{"id": "e", "s": [1, 2.0], "n": "010", "flag": true}\n'
    # [aws] case.insensitive defaults to TRUE: "S" and "N" feed columns s and n.
    b'{"ID": "f", "S": "upper", "N": 9}\n'
    b'{"id": "g", "s": "plain", "n": 4}\n'
)


@pytest.fixture(scope="module")
def lake(cloud: Any) -> Lake:
    return lake_with_table(cloud, "openx", COLUMNS, {"dt=2024-05-01/x": LINES})


def test_numbers_objects_and_arrays_in_a_varchar_column_are_the_serdes_text(lake: Lake) -> None:
    rows = lake.rows_cold_then_warm("SELECT id, s FROM openx ORDER BY id")
    assert rows == [("a", "1E+3"), ("b", "1.50"), ("c", "1E-7"), ("d", '{"k":[1,2.50,"<\\/b>"],"t":true}'),
                    ("e", "[1,2.0]"), ("f", "upper"), ("g", "plain")]


def test_an_integer_column_truncates_toward_zero_and_reads_octal(lake: Lake) -> None:
    # [trino] parseLong: BigDecimal.setScale(0, RoundingMode.DOWN); "010" is octal.
    rows = lake.rows_cold_then_warm("SELECT id, n FROM openx ORDER BY id")
    assert rows == [("a", 1), ("b", -1), ("c", 2), ("d", 1000), ("e", 8), ("f", 9), ("g", 4)]
    assert lake.rows("SELECT sum(n) FROM openx")[1:] == [["1023"]]


def test_a_boolean_column_is_true_only_for_the_text_true(lake: Lake) -> None:
    # [trino] BooleanDecoder: Boolean.parseBoolean(value.toString()); 1 and "yes" are false.
    rows = lake.rows_cold_then_warm("SELECT id, flag FROM openx ORDER BY id")
    assert rows == [("a", True), ("b", False), ("c", False), ("d", False), ("e", True), ("f", None), ("g", None)]


def _table_with(lake: Lake, name: str, body: bytes, serde_params: dict | None = None) -> None:
    lake.glue.create_table(DatabaseName=DB, TableInput=glue_table_input(
        name, f"s3://{BUCKET}/{name}/", columns=COLUMNS, serde_params=serde_params))
    lake.s3.put_object(Bucket=BUCKET, Key=f"{name}/dt=2024-05-01/x", Body=body)


@pytest.mark.parametrize("bad", [b'{"n": true}', b'{"n": "abc"}', b'{"n": {"a": 1}}', b'{"n": 3000000000}'])
def test_a_value_the_column_cannot_hold_fails_the_query(lake: Lake, bad: bytes) -> None:
    # [aws] use.null.for.invalid.data is FALSE by default: such a value fails the query, never reads as NULL.
    name = f"bad_{abs(hash(bad))}"
    _table_with(lake, name, LINES + bad + b"\n")
    assert lake.failure(f"SELECT n FROM {name}").startswith("HIVE_BAD_DATA: ")


def test_two_keys_naming_one_column_fail_the_row_as_aws_documents(lake: Lake) -> None:
    # [aws] "HIVE_CURSOR_ERROR: Row is not a valid JSON Object - JSONException: Duplicate key "url"".
    _table_with(lake, "dupes", b'{"id": "x", "URL": 1, "S": "a", "s": "b"}\n')
    assert lake.failure("SELECT s FROM dupes") == (
        'HIVE_CURSOR_ERROR: Row is not a valid JSON Object - JSONException: Duplicate key "s"')


def test_case_sensitive_tables_and_unsupported_properties(lake: Lake) -> None:
    # [aws] with case.insensitive FALSE, keys that are not lower case feed no column (Hive's are lower case).
    _table_with(lake, "sensitive", b'{"ID": "f", "S": "upper", "s": "lower"}\n',
                serde_params={"case.insensitive": "FALSE"})
    assert lake.rows("SELECT id, s FROM sensitive")[1:] == [[None, "lower"]]
    # mapping.*, dots.in.keys and use.null.for.invalid.data change which values come back: refused, not ignored.
    for params in ({"mapping.s": "Str"}, {"dots.in.keys": "TRUE"}, {"use.null.for.invalid.data": "TRUE"}):
        name = "props_" + next(iter(params)).replace(".", "_")
        _table_with(lake, name, b'{"id": "x"}\n', serde_params=params)
        assert lake.failure(f"SELECT id FROM {name}").startswith("NOT_SUPPORTED: OpenX JSON SerDe properties ")

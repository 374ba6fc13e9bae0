"""Athena's OpenX JSON SerDe rules (localcloud/athena/openx_json.py) on real DuckDB, without a cloud.

Expected values come from Trino's OpenX reader, which Athena engine v3 runs
(trinodb/trino lib/trino-hive-formats/.../line/openxjson: README.md, OpenXJsonDeserializer.java
parseLong, JsonWriter.canonicalizeUnquotedString and writeJsonString) and from AWS's page
https://docs.aws.amazon.com/athena/latest/ug/openx-json-serde.html (case.insensitive, the
Duplicate key error, use.null.for.invalid.data defaulting to FALSE). The pyathena end is in
tests/localcloud/test_athena_openx_json.py.
"""

from __future__ import annotations

import decimal
import json
from pathlib import Path

import pytest

from localcloud.athena import openx_json
from localcloud.athena.engine import Engine
from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.lake import LakeObject, TableSource
from tests.localcloud.test_athena import DAY1, DAY2, ndjson

D = decimal.Decimal


@pytest.mark.parametrize("token, text", [
    ("1e3", "1E+3"),  # BigDecimal("1e3").toString()
    ("1.50", "1.50"),  # BigDecimal keeps the scale
    ("0.0000001", "1E-7"),
    ("-0.0", "0.0"),  # BigDecimal has no negative zero
    ("-0", "0"),  # Long.parseLong
    ("42", "42"),
    ("12345678901234567890123", "12345678901234567890123"),  # past a long: BigDecimal, scale 0
    ("1E400", "1E+400"),
])
def test_a_number_in_a_varchar_column_is_canonicalised_like_javas_bigdecimal(token: str, text: str) -> None:
    assert openx_json.varchar_text(openx_json.RawNumber(token)) == text


def test_objects_and_arrays_render_as_trinos_json_writer() -> None:
    value = json.loads('{"a": 1.50, "b": [1, 2.0, "</x\\u0001\\t"], "c": null, "d": true, "é": "ü"}',
                       parse_float=openx_json.RawNumber, parse_int=openx_json.RawNumber)
    assert openx_json.varchar_text(value) == '{"a":1.50,"b":[1,2.0,"<\\/x\\u0001\\t"],"c":null,"d":true,"é":"ü"}'


@pytest.mark.parametrize("text, value", [
    ("1.5", 1), ("2.7", 2), ("-1.5", -1), ("-2.7", -2),  # setScale(0, RoundingMode.DOWN)
    ("1e3", 1000), ("1.5E1", 15), ("0x10", 16), ("010", 8), ("08", 8),  # hex, octal, Trino's 0-8 octal test
    ("9223372036854775807", 2 ** 63 - 1), ("9.223372036854775807e18", 2 ** 63 - 1),
])
def test_parse_long_truncates_toward_zero_and_reads_hex_and_octal(text: str, value: int) -> None:
    assert openx_json.parse_long(text) == value


@pytest.mark.parametrize("text", ["abc", "true", "9223372036854775808", "1e400", "", "1.2.3", " 12"])
def test_parse_long_refuses_what_java_cannot_read(text: str) -> None:
    with pytest.raises(ValueError):
        openx_json.parse_long(text)


def _source(columns: list[tuple[str, str]], case_insensitive: bool = True) -> TableSource:
    return TableSource("awsdatacatalog", "db", "t", columns, [], "json", False, [LakeObject("b", "k", "e", 1)],
                       openx=True, case_insensitive=case_insensitive)


def _decode(engine: Engine, columns: list[tuple[str, str]], body: bytes, case_insensitive: bool = True) -> list:
    path = engine.cache_dir / "f.json"  # the loader may read only its cache directory
    path.write_bytes(body)
    table = engine._decode(_source(columns, case_insensitive), [path])
    return [tuple(row[c] for c, _ in columns) for row in table.to_pylist()]


@pytest.fixture()
def engine(tmp_path: Path):
    e = Engine(tmp_path / "cache")
    yield e
    e.close()


COLUMNS = [("s", "string"), ("i", "int"), ("b", "boolean"), ("d", "decimal(10,2)")]


def test_varchar_integer_and_boolean_values_as_the_serde_reads_them(engine: Engine) -> None:
    rows = _decode(engine, COLUMNS, b'{"s": 1e3, "i": 1.5, "b": "TRUE", "d": 1.005}\n'
                                    b'{"s": 1.50, "i": -1.5, "b": 1}\n'
                                    b'{"s": {"a": 1.50, "A": 2}, "i": "010", "b": "yes"}\n'
                                    b'{"s": [1, 2.0], "i": 2.7e0, "b": false}\n'
                                    b'{"s": "plain", "i": 7, "b": true, "d": 2}\n')
    assert rows == [("1E+3", 1, True, D("1.01")), ("1.50", -1, False, None),
                    ('{"A":2}', 8, False, None),  # case-insensitive keys merge inside a value, the last wins
                    ("[1,2.0]", 2, False, None), ("plain", 7, True, D("2.00"))]


def test_the_projects_own_lines_are_read_once(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_second_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("the project's lines took the line-by-line read")

    monkeypatch.setattr(openx_json, "read_rows", no_second_read)
    columns = [("orderid", "string"), ("product_name", "string"), ("quantity", "int"), ("price", "decimal(10,2)"),
               ("op", "string"), ("is_deleted", "boolean"), ("sequence_number", "string"), ("extra", "string")]
    rows = _decode(engine, columns, ndjson(DAY1 + DAY2).replace(b'"extra": "{}"', b'"extra": {}'))
    assert len(rows) == len(DAY1 + DAY2) and all(r[7] == "{}" for r in rows)


@pytest.mark.parametrize("line, error", [
    (b'{"i": true}', "HIVE_BAD_DATA: "), (b'{"i": "abc"}', "HIVE_BAD_DATA: "), (b'{"i": {"a": 1}}', "HIVE_BAD_DATA: "),
    (b'{"i": 3000000000}', "HIVE_BAD_DATA: "), (b'{"i": 1.5e400}', "HIVE_BAD_DATA: "),
    (b'{"s": "a", "S": "b"}', 'HIVE_CURSOR_ERROR: Row is not a valid JSON Object - JSONException: Duplicate key "s"'),
])
def test_values_the_column_cannot_hold_fail_the_query(engine: Engine, line: bytes, error: str) -> None:
    for body in (line + b"\n", b'{"s": 1.5}\n' + line + b"\n"):  # the fast scan, and the line-by-line read
        with pytest.raises(QueryFailed) as failure:
            _decode(engine, COLUMNS, body)
        assert str(failure.value).startswith(error)


def test_keys_match_columns_ignoring_case_unless_the_table_says_otherwise(engine: Engine) -> None:
    body = b'{"S": "upper", "I": 7}\n{"s": "lower", "i": 1.5}\n'
    assert _decode(engine, COLUMNS, body) == [("upper", 7, None, None), ("lower", 1, None, None)]
    assert _decode(engine, COLUMNS, body, case_insensitive=False) == [(None, None, None, None),
                                                                      ("lower", 1, None, None)]


def test_timestamps_keep_their_zone_and_short_epoch_numbers_are_seconds(engine: Engine) -> None:
    # [trino] TimestampDecoder.parseTimestamp: a zone converts to UTC; without ':' a number of 13 or
    # more characters is epoch milliseconds, fewer is seconds, with a '.' seconds.millis (truncated).
    import datetime as dt

    columns = [("t", "timestamp")]
    rows = _decode(engine, columns, b'{"t": "2024-05-01T10:00:00+05:30"}\n{"t": "2024-05-01T10:00:00.5Z"}\n'
                                    b'{"t": "2024-05-01 10:00:00.123"}\n{"t": 1714557600}\n'
                                    b'{"t": 1714557600250}\n{"t": "1714557600.2509"}\n')
    assert [r[0] for r in rows] == [dt.datetime(2024, 5, 1, 4, 30), dt.datetime(2024, 5, 1, 10, 0, 0, 500000),
                                    dt.datetime(2024, 5, 1, 10, 0, 0, 123000), dt.datetime(2024, 5, 1, 10),
                                    dt.datetime(2024, 5, 1, 10, 0, 0, 250000), dt.datetime(2024, 5, 1, 10, 0, 0, 250000)]
    with pytest.raises(QueryFailed, match="^HIVE_BAD_DATA: "):
        _decode(engine, columns, b'{"t": "2024-05-01"}\n')  # no ':': a number, and it is none


def test_nested_columns_and_a_row_with_a_duplicate_key_under_ignore_malformed(engine: Engine) -> None:
    # A flagged batch (1.5 in a varchar column) is read line by line: nested columns still come back
    # typed, and with ignore.malformed.json a row naming a column twice is a row of NULLs, as the fast
    # scan (DuckDB's ignore_errors) gives it.
    columns = [("s", "string"), ("a", "array<int>"), ("m", "struct<x:int,y:string>")]
    path = engine.cache_dir / "n.json"
    path.write_bytes(b'{"s": 1.5, "a": [1, 2], "m": {"x": 1, "y": "q"}}\n{"s": "a", "S": "b", "a": [3]}\n')
    for flagged in (True, False):
        if not flagged:
            path.write_bytes(b'{"s": "x", "a": [1, 2], "m": {"x": 1, "y": "q"}}\n{"s": "a", "S": "b", "a": [3]}\n')
        source = TableSource("awsdatacatalog", "db", "t", columns, [], "json", True, [LakeObject("b", "k", "e", 1)],
                             openx=True, case_insensitive=True)
        rows = [tuple(r[c] for c, _ in columns) for r in engine._decode(source, [path]).to_pylist()]
        assert rows == [("1.5" if flagged else "x", [1, 2], {"x": 1, "y": "q"}), (None, None, None)]

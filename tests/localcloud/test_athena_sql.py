"""Athena SQL -> DuckDB: every translation gives Athena's answer or a clear NOT_SUPPORTED, never a wrong one.

These run the real path (parse, police, translate, DuckDB in the locked
engine, Athena's rendering) for queries without tables, so they need no server.
"""

from __future__ import annotations

import datetime as dt
import decimal
import struct
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from localcloud.athena import sql as athena_sql
from localcloud.athena.engine import Engine
from localcloud.athena.errors import engine_error
from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.queries import QueryPlanner
from localcloud.athena.results import ResultSet
from localcloud.athena.types import java_double, java_float, render


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = Engine(tmp_path_factory.mktemp("athena-sql") / "cache")
    yield eng
    eng.close()


def run(engine: Engine, sql: str) -> list[list[str | None]]:
    """Rows (header first) exactly as GetQueryResults would carry them."""
    statement = athena_sql.parse(sql)
    plan = QueryPlanner(catalog=None, lake=None).plan_query(statement, "default", Engine.snapshot_name)
    relation = engine.cursor().sql(plan.duckdb_sql)
    result = ResultSet.from_duckdb(list(relation.columns), list(relation.types), relation.fetchall())
    return result.all_rows


def value(engine: Engine, expression: str) -> str | None:
    return run(engine, f"SELECT {expression}")[1][0]


def refused(engine: Engine, sql: str) -> str:
    with pytest.raises(QueryFailed) as caught:
        run(engine, sql)
    return caught.value.reason


TS = "TIMESTAMP '2024-03-05 07:08:09.123'"


@pytest.mark.parametrize("pattern, expected", [
    ("yyyy-MM-dd HH:mm:ss.SSS", "2024-03-05 07:08:09.123"),
    ("dd/MM/yy h:mm a", "05/03/24 7:08 AM"),
    ("EEE, MMM d yyyy", "Tue, Mar 5 2024"),
    ("yyyy''T''HH", "2024T07"),  # Joda's quoted literal 'T', its quotes doubled inside the SQL string
    ("MMMM", "March"),
    ("D", None),  # day-of-year with one letter: not translated, so refused
])
def test_format_datetime_joda_patterns(engine: Engine, pattern: str, expected: str | None) -> None:
    sql = f"SELECT format_datetime({TS}, '{pattern}')"
    if expected is None:
        assert refused(engine, sql).startswith("NOT_SUPPORTED: line 1:8: format_datetime")
    else:
        assert run(engine, sql)[1][0] == expected


def test_parse_datetime_joda_pattern_gives_a_utc_timestamp_with_time_zone(engine: Engine) -> None:
    assert value(engine, "parse_datetime('05/03/2024 07:08', 'dd/MM/yyyy HH:mm')") == "2024-03-05 07:08:00.000 UTC"


def test_mysql_style_date_parse_and_date_format(engine: Engine) -> None:
    assert value(engine, "date_parse('2024-03-05 07:08:09', '%Y-%m-%d %H:%i:%s')") == "2024-03-05 07:08:09.000"
    assert value(engine, f"date_format({TS}, '%Y-%m-%d %H:%i')") == "2024-03-05 07:08"


def test_printf_style_format(engine: Engine) -> None:
    assert value(engine, "format('%s has %05d items at %.2f', 'cart', 42, 3.14159)") == \
        "cart has 00042 items at 3.14"
    assert refused(engine, "SELECT format('%,d', 1000)").startswith("NOT_SUPPORTED: line 1:8: format")


def test_weighted_approx_percentile_is_refused_not_unweighted(engine: Engine) -> None:
    assert refused(engine, "SELECT approx_percentile(x, w, 0.5) FROM (VALUES (1, 1), (9, 100)) AS t(x, w)") \
        .startswith("NOT_SUPPORTED: line 1:8: approx_percentile with weights")
    assert run(engine, "SELECT approx_percentile(x, 0.5) AS p FROM (VALUES 1, 2, 3) AS t(x)")[1] == ["2"]


@pytest.mark.parametrize("zone", ["+05:30", "Asia/Kolkata", "-08:00"])
def test_at_time_zone_other_than_utc_is_refused(engine: Engine, zone: str) -> None:
    reason = refused(engine, f"SELECT {TS} AT TIME ZONE '{zone}'")
    assert reason.startswith("NOT_SUPPORTED: line 1:") and f"AT TIME ZONE '{zone}'" in reason


def test_at_time_zone_utc_keeps_the_instant(engine: Engine) -> None:
    assert value(engine, f"{TS} AT TIME ZONE 'UTC'") == "2024-03-05 07:08:09.123 UTC"


def test_integer_division_truncates_like_trino(engine: Engine) -> None:
    assert run(engine, "SELECT 5 / 2, -5 / 2, 5.0 / 2, 7 % 3")[1] == ["2", "-2", "2.5", "1"]


def test_date_plus_days_stays_a_date(engine: Engine) -> None:
    assert value(engine, "date_add('day', 1, DATE '2024-01-31')") == "2024-02-01"
    assert value(engine, "CAST(DATE '2024-03-01' - INTERVAL '1' DAY AS varchar)") == "2024-02-29"
    yesterday = (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)).isoformat()
    assert value(engine, "CAST(current_date - INTERVAL '1' DAY AS varchar)") == yesterday
    assert value(engine, "date_add('hour', 1, TIMESTAMP '2024-01-31 23:30:00')") == "2024-02-01 00:30:00.000"


@pytest.mark.parametrize("expression, expected", [
    ("CAST(193.72 AS decimal(10,2)) / 50", "3.87"),
    ("CAST(1.15 AS decimal(10,2)) / 2", "0.58"),  # half-up, where a double would give 0.57499…
    ("CAST(-1.15 AS decimal(10,2)) / 2", "-0.58"),
    ("CAST(10 AS decimal(10,2)) / 3", "3.33"),
    ("CAST(1 AS decimal(10,4)) / CAST(3 AS decimal(10,1))", "0.3333"),
    ("7 / 2", "3"),
    ("CAST(7 AS double) / 2", "3.5"),
])
def test_decimal_division_is_exact_like_trino(engine: Engine, expression: str, expected: str) -> None:
    assert value(engine, expression) == expected


def test_decimal_division_over_a_catalog_column(engine: Engine) -> None:
    rows = run(engine, "SELECT sum(p) / count(*) AS aov, floor(max(p) / 50) * 50 AS band "
                       "FROM (VALUES CAST(193.72 AS decimal(10,2)), CAST(10.01 AS decimal(10,2))) AS t(p)")
    assert rows[1] == ["101.87", "150"]


def test_unnamed_columns_are_named_like_athena(engine: Engine) -> None:
    assert run(engine, "SELECT 1, 'a' AS b, 2 + 3")[0] == ["_col0", "b", "_col2"]


def test_zero_padded_sequence_numbers_order_numerically(engine: Engine) -> None:
    rows = run(engine, "SELECT s FROM (VALUES '1000000000000000000000000000000000000002', "
                       "'100000000000000000001') AS t(s) ORDER BY lpad(s, 40, '0') DESC")
    assert rows[1] == ["1000000000000000000000000000000000000002"]


def test_json_functions_and_nested_values_render_like_athena(engine: Engine) -> None:
    assert value(engine, """json_extract_scalar('{"a": {"b": 7}}', '$.a.b')""") == "7"
    assert value(engine, "ARRAY['x', NULL]") == "[x, null]"
    assert value(engine, "MAP(ARRAY['k'], ARRAY[1])") == "{k=1}"
    assert value(engine, "CAST(ROW(1, 'a') AS ROW(x INTEGER, y VARCHAR))") == "{x=1, y=a}"


def test_unknown_function_is_not_registered(engine: Engine) -> None:
    assert refused(engine, "SELECT frobnicate(1)") == "FUNCTION_NOT_FOUND: line 1:8: Function 'frobnicate' not registered"


def test_syntax_error_points_at_the_token(engine: Engine) -> None:
    reason = refused(engine, "SELECT *\nFROM WHERE")
    assert reason.startswith("SYNTAX_ERROR: line 2:6: mismatched input 'WHERE'")


@pytest.mark.parametrize("number, text", [
    (2.5, "2.5"), (1e7, "1.0E7"), (1.5e-4, "1.5E-4"), (123.456, "123.456"), (-3.0, "-3.0"),
    (12345678.9, "1.23456789E7"), (0.1 + 0.2, "0.30000000000000004"),
    # Where one digit reads back, Java writes two when two are closer (Double.toString's javadoc,
    # JDK 19+): only subnormals. Double.MIN_VALUE is 4.9E-324, not 5.0E-324.
    (5e-324, "4.9E-324"), (1e-323, "9.9E-324"), (5e-323, "4.9E-323"), (2.5e-323, "2.5E-323"),
    (5e-310, "5.0E-310"), (1e23, "1.0E23"),
])
def test_doubles_render_like_java(number: float, text: str) -> None:
    assert java_double(number) == text


@pytest.mark.parametrize("bits, text", [
    (1, "1.4E-45"), (2, "2.8E-45"),  # Float.MIN_VALUE and twice it, as Float.toString writes them
    (0x3DCCCCCD, "0.1"), (0x7F7FFFFF, "3.4028235E38"),
])
def test_reals_render_like_java(bits: int, text: str) -> None:
    value = struct.unpack("f", struct.pack("I", bits))[0]
    assert java_float(value) == text


def test_scalar_rendering() -> None:
    assert render(True) == "true"
    assert render(decimal.Decimal("10.50")) == "10.50"
    assert render(dt.datetime(2024, 1, 2, 3, 4, 5, 6000)) == "2024-01-02 03:04:05.006"
    assert render(dt.date(2024, 1, 2)) == "2024-01-02"
    assert render(None) is None


def test_joda_translation_table() -> None:
    assert athena_sql.joda_to_strftime("yyyy-MM-dd'T'HH:mm:ss.SSS") == "%Y-%m-%dT%H:%M:%S.%g"
    with pytest.raises(ValueError):
        athena_sql.joda_to_strftime("QQQ")


def test_view_body_parsing_keeps_the_original_sql(tmp_path: Path) -> None:
    from localcloud.athena.ddl import _view_body_text

    assert _view_body_text('CREATE OR REPLACE VIEW "v" AS\nSELECT 1') == "SELECT 1"


def failed(engine: Engine, sql: str) -> str:
    """The reason a query fails with while it runs, in Athena's words (errors.engine_error)."""
    with pytest.raises(duckdb.Error) as caught:
        run(engine, sql)
    return engine_error(caught.value, sql).reason


def test_a_cast_to_a_shorter_varchar_truncates_strings_and_fails_for_other_values(engine: Engine) -> None:
    # Trino truncates a string cast to varchar(n); a number, a boolean or a date it never truncates but
    # fails ("Value %s cannot be represented as varchar(%s)", its castToVarchar operators).
    assert value(engine, "CAST('abcdef' AS varchar(3))") == "abc"
    assert value(engine, "CAST(12345 AS varchar(5))") == "12345"
    assert value(engine, "CAST(NULL AS varchar(3))") is None
    assert failed(engine, "SELECT CAST(12345 AS varchar(3))") == \
        "INVALID_CAST_ARGUMENT: Value 12345 cannot be represented as varchar(3)"
    assert failed(engine, "SELECT CAST(DECIMAL '12.50' AS varchar(4))") == \
        "INVALID_CAST_ARGUMENT: Value 12.50 cannot be represented as varchar(4)"
    assert value(engine, "try(CAST(12345 AS varchar(3)))") is None
    # A double's failure names two renderings of it: refused rather than worded differently. Its text
    # is Trino's scientific notation (2.5E0), so varchar(3) is too short for it and varchar(5) is not.
    assert failed(engine, "SELECT CAST(2.5e0 AS varchar(3))").startswith("NOT_SUPPORTED: ")
    assert value(engine, "CAST(2.5e0 AS varchar(5))") == "2.5E0"

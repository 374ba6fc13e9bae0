"""date_diff counts whole units as Trino does, checked against Joda-Time's algorithm on generated instants.

Trino's date_diff is Joda's `DateTimeField.getDifferenceAsLong(t2, t1)` in ISOChronology UTC
(DateTimeFunctions.diffTimestamp / diffDate). Below is that algorithm, ported from Joda's
PreciseDurationField (millisecond .. week: the difference in milliseconds divided by the unit,
truncated toward zero), BasicMonthOfYearDateTimeField (months, with the end-of-month rule),
BasicGJChronology.getYearDifference (years, with the Feb 29 rule) and a quarter as three months.
The engine's answers for many instant pairs, month ends and leap days over-represented, must equal it.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localcloud.athena import sql as athena_sql
from localcloud.athena.engine import Engine
from localcloud.athena.queries import QueryPlanner

DAY_MS = 86_400_000
PRECISE_MS = {"millisecond": 1, "second": 1000, "minute": 60_000, "hour": 3_600_000, "day": DAY_MS, "week": 7 * DAY_MS}
UNITS = [*PRECISE_MS, "month", "quarter", "year"]
EPOCH = dt.datetime(1970, 1, 1)


def _ms(t: dt.datetime) -> int:
    return (t - EPOCH) // dt.timedelta(milliseconds=1)


def _toward_zero(a: int, b: int) -> int:
    quotient = abs(a) // b
    return quotient if a >= 0 else -quotient


def _months(minuend: dt.datetime, subtrahend: dt.datetime) -> int:
    if minuend < subtrahend:
        return -_months(subtrahend, minuend)
    difference = (minuend.year - subtrahend.year) * 12 + minuend.month - subtrahend.month
    last = calendar.monthrange(minuend.year, minuend.month)[1]
    if minuend.day == last and subtrahend.day > minuend.day:
        subtrahend = subtrahend.replace(day=minuend.day)
    start = dict(day=1, hour=0, minute=0, second=0, microsecond=0)
    if minuend - minuend.replace(**start) < subtrahend - subtrahend.replace(**start):
        difference -= 1
    return difference


def _years(minuend: dt.datetime, subtrahend: dt.datetime) -> int:
    if minuend < subtrahend:
        return -_years(subtrahend, minuend)
    feb_29 = (31 + 28) * DAY_MS
    minuend_rem = _ms(minuend) - _ms(dt.datetime(minuend.year, 1, 1))
    subtrahend_rem = _ms(subtrahend) - _ms(dt.datetime(subtrahend.year, 1, 1))
    if subtrahend_rem >= feb_29:
        if calendar.isleap(subtrahend.year):
            if not calendar.isleap(minuend.year):
                subtrahend_rem -= DAY_MS
        elif minuend_rem >= feb_29 and calendar.isleap(minuend.year):
            minuend_rem -= DAY_MS
    difference = minuend.year - subtrahend.year
    return difference - 1 if minuend_rem < subtrahend_rem else difference


def joda_date_diff(unit: str, t1: dt.datetime, t2: dt.datetime) -> int:
    if unit in PRECISE_MS:
        return _toward_zero(_ms(t2) - _ms(t1), PRECISE_MS[unit])
    if unit == "month":
        return _months(t2, t1)
    if unit == "quarter":
        return _toward_zero(_months(t2, t1), 3)
    return _years(t2, t1)


@st.composite
def instants(draw: st.DrawFn) -> dt.datetime:
    year, month = draw(st.integers(2019, 2028)), draw(st.integers(1, 12))
    last = calendar.monthrange(year, month)[1]
    day = draw(st.one_of(st.integers(1, last), st.integers(max(1, last - 2), last)))  # month ends often
    return dt.datetime(year, month, day, draw(st.integers(0, 23)), draw(st.integers(0, 59)),
                       draw(st.integers(0, 59)), draw(st.integers(0, 999)) * 1000)


def _literal(t: dt.datetime) -> str:
    return f"TIMESTAMP '{t.strftime('%Y-%m-%d %H:%M:%S')}.{t.microsecond // 1000:03d}'"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = Engine(tmp_path_factory.mktemp("date-diff") / "cache")
    yield eng
    eng.close()


def _engine_date_diffs(engine: Engine, unit: str, pairs: list[tuple[dt.datetime, dt.datetime]]) -> list[int]:
    rows = ", ".join(f"({i}, {_literal(a)}, {_literal(b)})" for i, (a, b) in enumerate(pairs))
    statement = athena_sql.parse(f"SELECT date_diff('{unit}', a, b) FROM (VALUES {rows}) AS t(i, a, b) ORDER BY i")
    plan = QueryPlanner(catalog=None, lake=None).plan_query(statement, "default", Engine.snapshot_name)
    cursor = engine.cursor()
    try:
        return [row[0] for row in cursor.sql(plan.duckdb_sql).fetchall()]
    finally:
        cursor.close()


@settings(max_examples=12, deadline=None)
@given(pairs=st.lists(st.tuples(instants(), instants()), min_size=1, max_size=40),
       nearby=st.lists(st.integers(-3 * DAY_MS, 3 * DAY_MS), min_size=1, max_size=40))
def test_date_diff_counts_whole_units_like_joda(engine: Engine, pairs: list[tuple[dt.datetime, dt.datetime]],
                                                nearby: list[int]) -> None:
    # Far-apart pairs, and pairs a few days apart (where boundary counting and whole units differ most).
    pairs = pairs + [(a, a + dt.timedelta(milliseconds=ms)) for (a, _), ms in zip(pairs, nearby)]
    for unit in UNITS:
        assert _engine_date_diffs(engine, unit, pairs) == [joda_date_diff(unit, a, b) for a, b in pairs], unit


def test_the_joda_port_agrees_with_trinos_documented_examples() -> None:
    # The examples of https://trino.io/docs/current/functions/datetime.html#date_diff.
    assert joda_date_diff("second", dt.datetime(2020, 3, 1), dt.datetime(2020, 3, 2)) == 86400
    assert joda_date_diff("hour", dt.datetime(2020, 3, 1), dt.datetime(2020, 3, 2)) == 24
    assert joda_date_diff("day", dt.datetime(2020, 3, 1), dt.datetime(2020, 3, 2)) == 1
    noon, later = dt.datetime(2020, 6, 1, 12, 30, 45), dt.datetime(2020, 6, 2, 12, 30, 45, 123000)
    assert joda_date_diff("second", noon, later) == 86400
    assert joda_date_diff("millisecond", noon, later) == 86400123

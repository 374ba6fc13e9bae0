"""Local Athena answers like Trino or refuses: the table-driven conformance suite.

Fast lane: every case of tests/localcloud/athena/conformance_cases.py runs on
the real engine path (parse, police, translate, locked DuckDB, Athena's
rendering and ColumnInfo) without a server. Slow lane: a few cases go through
the real Athena API over HTTP (StartQueryExecution, GetQueryExecution's
AthenaError, GetQueryResults), as any client would see them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from localcloud.athena import sql as athena_sql
from localcloud.athena.engine import Engine
from localcloud.athena.errors import engine_error
from localcloud.athena.exceptions import QueryFailed
from localcloud.athena.functions import ANSWERED, trino_name
from localcloud.athena.queries import QueryPlanner
from localcloud.athena.results import ResultSet
from tests.localcloud.athena.conformance_cases import CASES, Case
from tests.support.aws import client
from tests.support.athena import run_query


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = Engine(tmp_path_factory.mktemp("athena-conformance") / "cache")
    yield eng
    eng.close()


def run_on_engine(engine: Engine, sql: str) -> tuple[str | None, str]:
    """(first value as Athena's text, its ColumnInfo type) — or QueryFailed, as the worker would raise it."""
    statement = athena_sql.parse(sql)
    plan = QueryPlanner(catalog=None, lake=None).plan_query(statement, "default", Engine.snapshot_name)
    cursor = engine.cursor()
    try:
        relation = cursor.sql(plan.duckdb_sql)
        result = ResultSet.from_duckdb(list(relation.columns), list(relation.types), relation.fetchall())
    except Exception as exc:  # noqa: BLE001 - the same translation the worker applies
        import duckdb

        if isinstance(exc, duckdb.Error):
            raise engine_error(exc, statement.text) from None
        raise
    finally:
        cursor.close()
    info = result.columns[0]
    type_name = info["Type"]
    if type_name == "decimal":
        type_name = f"decimal({info['Precision']},{info['Scale']})"
    return result.rows[0][0], type_name


def case_id(case: Case) -> str:
    return f"{case.area}:{case.sql[7:60]}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_case(engine: Engine, case: Case) -> None:
    assert case.source.startswith("https://"), "every case names the documentation it comes from"
    if case.error is not None:
        with pytest.raises(QueryFailed) as caught:
            run_on_engine(engine, case.sql)
        assert caught.value.reason.startswith(case.error), caught.value.reason
        return
    value, type_name = run_on_engine(engine, case.sql)
    assert value == case.value
    if case.type is not None:
        assert type_name == case.type


def functions_in(sql: str) -> set[str]:
    tree = sqlglot.parse_one(sql, read=athena_sql.READ_DIALECT)
    return {name for node in tree.walk() if isinstance(node, exp.Func) and (name := trino_name(node))}


def test_every_answered_function_is_verified_by_a_case() -> None:
    verified = set().union(*(functions_in(c.sql) for c in CASES if c.error is None))
    assert sorted(set(ANSWERED) - verified) == []


def conformance_counts() -> dict[str, tuple[int, int]]:
    """Per area: (cases answered with Trino's value, cases refused) — the bench prints these."""
    counts: dict[str, list[int]] = {}
    for case in CASES:
        answered, refused = counts.setdefault(case.area, [0, 0])
        counts[case.area] = [answered + (case.error is None), refused + (case.error is not None)]
    return {area: (a, r) for area, (a, r) in counts.items()}


# -- through the API --------------------------------------------------------------------
HTTP_CASES = [c for c in CASES if c.sql in {
    """SELECT json_extract_scalar('{"a": {"b": 1}}', '$.a')""",
    "SELECT CAST(2.5e0 AS integer)",
    "SELECT hour(from_iso8601_timestamp('2026-11-29T12:00:00+05:30'))",
    "SELECT from_iso8601_timestamp('2026-11-29T12:00:00+05:30')",
    "SELECT 1 / 0",
    "SELECT soundex('Robert')",
    "SELECT typeof(1.5)",
}]


@pytest.fixture(scope="module")
def athena(cloud: Any) -> Any:
    """The module's local cloud (tests/conftest.py) with a results bucket: the slow lane only."""
    client(cloud, "s3", "ap-south-1").create_bucket(
        Bucket="conformance-results", CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    return client(cloud, "athena", "ap-south-1")


def run_over_http(athena: Any, sql: str) -> dict[str, Any]:
    return run_query(athena, sql, ResultConfiguration={"OutputLocation": "s3://conformance-results/out/"})


@pytest.mark.parametrize("case", HTTP_CASES, ids=case_id)
def test_case_over_the_athena_api(athena: Any, case: Case) -> None:
    execution = run_over_http(athena, case.sql)
    status = execution["Status"]
    if case.error is not None:
        assert status["State"] == "FAILED"
        assert status["StateChangeReason"].startswith(case.error)
        assert status["AthenaError"]["ErrorCategory"] == 2
        return
    assert status["State"] == "SUCCEEDED", status
    result = athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])["ResultSet"]
    row = result["Rows"][1]["Data"][0]
    assert row.get("VarCharValue") == case.value
    if case.type is not None and not case.type.startswith("decimal"):
        assert result["ResultSetMetadata"]["ColumnInfo"][0]["Type"] == case.type


def test_http_lane_covers_answers_and_refusals() -> None:
    assert {c.error is None for c in HTTP_CASES} == {True, False} and len(HTTP_CASES) == 7


def test_sources_are_trino_or_athena_documentation() -> None:
    # Trino's documentation, AWS's, or Trino's own function signatures where the documentation is loose
    # (round of a decimal: "same as input").
    assert all(Path(c.source).name or c.source for c in CASES)
    assert {c.source.split("/")[2] for c in CASES if not c.source.startswith("https://github.com/trinodb/trino/")} \
        <= {"trino.io", "docs.aws.amazon.com"}

"""A query reads only catalog tables: files, network and engine are refused, twice over.

First over HTTP (the AST allow-list answers ACCESS_DENIED before DuckDB runs
anything), then against the engine directly (even SQL that slipped past the
allow-list cannot touch a file or a setting, because DuckDB runs with external
access off and its configuration locked).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from localcloud.athena.engine import Engine
from tests.localcloud.test_athena import DAY1, Lake, lake_with, ndjson


@pytest.fixture(scope="module")
def lake(cloud) -> Lake:  # noqa: ANN001
    return lake_with(cloud, {"orders/dt=2024-05-01/a": ndjson(DAY1)})


SECRET = "/etc/passwd"

REFUSED = [
    f"SELECT * FROM read_csv('{SECRET}')",
    f"SELECT * FROM read_csv_auto('{SECRET}')",
    f"SELECT * FROM read_text('{SECRET}')",
    f"SELECT * FROM read_blob('{SECRET}')",
    f"SELECT * FROM read_json('{SECRET}')",
    f"SELECT * FROM read_parquet('{SECRET}')",
    f"SELECT * FROM order_changes, read_text('{SECRET}')",
    f"SELECT (SELECT count(*) FROM read_text('{SECRET}')) AS n",
    "SELECT getenv('HOME')",
    "SELECT current_setting('enable_external_access')",
    f"ATTACH '{SECRET}' AS x",
    "DETACH x",
    "COPY (SELECT * FROM order_changes) TO '/tmp/stolen.csv'",
    "EXPORT DATABASE '/tmp/dump'",
    "IMPORT DATABASE '/tmp/dump'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "PRAGMA database_list",
    "CALL pragma_version()",
    "USE memory",
    "CREATE MACRO evil(x) AS x",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_engine_reaching_sql_is_refused_with_access_denied(lake: Lake, sql: str) -> None:
    execution = lake.query(sql)
    assert execution["Status"]["State"] == "FAILED", execution["Status"]
    reason = execution["Status"]["StateChangeReason"]
    assert reason.startswith("ACCESS_DENIED: "), reason
    assert "root:" not in reason


def test_duckdb_only_syntax_is_not_athena_sql(lake: Lake) -> None:
    # glob() is DuckDB's; in Athena's grammar it is not even a function call.
    assert lake.failure("SELECT * FROM glob('/etc/*')").startswith("SYNTAX_ERROR: line 1:")


def test_a_file_path_as_a_table_name_is_just_a_missing_table(lake: Lake) -> None:
    assert lake.failure(f'SELECT * FROM "{SECRET}"') == \
        f"TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.cdc_data.{SECRET}' does not exist"


def test_writes_athena_runs_only_on_transactional_tables_are_not_supported(lake: Lake) -> None:
    # UPDATE, DELETE and MERGE need Iceberg tables; CTAS, INSERT INTO and UNLOAD are tested in test_athena_writes.
    assert lake.failure("UPDATE order_changes SET op = 'x'").startswith("NOT_SUPPORTED: ")
    assert lake.failure("DELETE FROM order_changes WHERE op = 'x'").startswith("NOT_SUPPORTED: ")


def test_nothing_was_written_by_refused_statements(lake: Lake) -> None:
    lake.query("COPY (SELECT 1) TO '/tmp/athena-security-probe.csv'")
    assert not Path("/tmp/athena-security-probe.csv").exists()


# -- the engine itself, below the allow-list ----------------------------------------------------
@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = Engine(tmp_path / "cache")
    (tmp_path / "cache" / "inside.json").write_text('{"a": 1}\n')
    yield eng
    eng.close()


@pytest.mark.parametrize("sql", [
    f"SELECT * FROM read_text('{SECRET}')",
    f"SELECT * FROM read_csv('{SECRET}')",
    "COPY (SELECT 1) TO '{cache}/planted.json'",
    "SELECT * FROM read_text('{cache}/inside.json')",
    f"ATTACH '{SECRET}' AS x",
    "INSTALL httpfs",
    "LOAD httpfs",
])
def test_query_engine_cannot_touch_any_file_even_in_its_cache(engine: Engine, sql: str) -> None:
    cursor = engine.cursor()
    with pytest.raises(duckdb.Error) as caught:
        cursor.execute(sql.format(cache=engine.cache_dir.resolve().as_posix())).fetchall()
    assert isinstance(caught.value, (duckdb.PermissionException, duckdb.InvalidInputException,
                                     duckdb.CatalogException, duckdb.IOException)), caught.value
    assert not (engine.cache_dir / "planted.json").exists()


@pytest.mark.parametrize("setting", ["enable_external_access = true", "lock_configuration = false",
                                     "allowed_directories = ['/']", "TimeZone = 'Asia/Kolkata'"])
def test_query_engine_settings_are_locked(engine: Engine, setting: str) -> None:
    with pytest.raises(duckdb.InvalidInputException, match="locked"):
        engine.cursor().execute(f"SET {setting}")


def test_python_objects_are_not_reachable_by_name(engine: Engine) -> None:
    secret_frame = {"x": [1]}  # noqa: F841 - DuckDB's replacement scan would find this local by name
    with pytest.raises(duckdb.CatalogException):
        engine.cursor().execute("SELECT * FROM secret_frame").fetchall()

"""The pure halves of local Athena, tested without a cloud: errors, workgroup rules, DDL helpers, planning.

Engine errors are real DuckDB exceptions (from an in-memory DuckDB), so the
translation is checked against what the engine really raises.
"""

from __future__ import annotations

import threading

import duckdb
import pytest
import sqlglot

from localcloud.athena import sql as athena_sql
from localcloud.athena.ddl import HANDLERS, _column, _like, _view_body_text
from localcloud.athena.errors import engine_error
from localcloud.athena.exceptions import SYSTEM, USER, InvalidRequestException, QueryFailed, error_kind
from localcloud.athena.executions import QueryExecution
from localcloud.athena.queries import name_unnamed_columns
from localcloud.athena.workgroups import apply_updates, output_location, validate_configuration
from tests.support.waiting import eventually


def duck_error(sql: str) -> Exception:
    with pytest.raises(duckdb.Error) as caught:
        duckdb.connect().sql(sql).fetchall()
    return caught.value


# -- exceptions ------------------------------------------------------------------------
def test_query_failed_reason_carries_the_trino_code_and_position() -> None:
    failed = QueryFailed("TABLE_NOT_FOUND", "Table 'awsdatacatalog.db.t' does not exist", 1, 15)
    assert failed.reason == "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.db.t' does not exist"
    assert (failed.category, failed.athena_error_type) == (USER, 1110)


def test_athena_service_errors_show_no_trino_code() -> None:
    failed = QueryFailed("BYTES_SCANNED_LIMIT", "Query cancelled! Bytes scanned limit was exceeded")
    assert failed.reason == "Query cancelled! Bytes scanned limit was exceeded"
    assert error_kind("RESULT_WRITE_FAILED").category == SYSTEM
    assert error_kind("SOMETHING_UNLISTED") == error_kind("GENERIC_USER_ERROR")
    assert error_kind("SYNTAX_ERROR").error_type == 1006


# -- engine errors ---------------------------------------------------------------------
def test_missing_column_becomes_column_not_found_at_its_position() -> None:
    text = "SELECT\n  nosuch FROM t"
    failed = engine_error(duck_error("SELECT nosuch FROM (SELECT 1 AS a) t"), text)
    assert failed.reason.startswith("COLUMN_NOT_FOUND: line 2:3: Column 'nosuch' cannot be resolved")


def test_failed_cast_becomes_invalid_cast_argument() -> None:
    failed = engine_error(duck_error("SELECT CAST('x' AS INTEGER)"), "SELECT CAST('x' AS INTEGER)")
    assert failed.error_type == "INVALID_CAST_ARGUMENT"


def test_access_to_files_becomes_access_denied() -> None:
    con = duckdb.connect()
    con.execute("SET enable_external_access=false")
    with pytest.raises(duckdb.Error) as caught:
        con.sql("SELECT * FROM read_csv('/etc/hostname')").fetchall()
    assert engine_error(caught.value, "x").error_type == "ACCESS_DENIED"


# -- workgroups --------------------------------------------------------------------------
def test_update_removes_and_sets_result_configuration_members() -> None:
    config = {"ResultConfiguration": {"OutputLocation": "s3://a/", "ExpectedBucketOwner": "1"},
              "BytesScannedCutoffPerQuery": 20_000_000}
    updated = apply_updates(config, {"RemoveBytesScannedCutoffPerQuery": True,
                                     "ResultConfigurationUpdates": {"RemoveExpectedBucketOwner": True,
                                                                    "OutputLocation": "s3://b/x/"}})
    assert updated == {"ResultConfiguration": {"OutputLocation": "s3://b/x/"}}
    assert config["ResultConfiguration"]["OutputLocation"] == "s3://a/"  # the original is untouched


def test_configuration_rules() -> None:
    with pytest.raises(InvalidRequestException, match="at least 10000000"):
        validate_configuration({"BytesScannedCutoffPerQuery": 5})
    with pytest.raises(InvalidRequestException, match="Invalid OutputLocation"):
        validate_configuration({"ResultConfiguration": {"OutputLocation": "bucket/no-scheme"}})


def test_enforced_workgroup_location_wins_over_the_callers() -> None:
    enforced = {"ResultConfiguration": {"OutputLocation": "s3://wg/"}}
    assert output_location(enforced, {"OutputLocation": "s3://mine/"}) == "s3://wg/"
    loose = {**enforced, "EnforceWorkGroupConfiguration": False}
    assert output_location(loose, {"OutputLocation": "s3://mine/"}) == "s3://mine/"
    with pytest.raises(InvalidRequestException, match="No output location provided"):
        output_location({}, {})


# -- DDL helpers ---------------------------------------------------------------------------
def test_every_ddl_statement_kind_has_a_handler() -> None:
    samples = ["CREATE VIEW v AS SELECT 1", "DROP VIEW v", "DROP TABLE t",
               "SHOW DATABASES", "SHOW TABLES", "SHOW VIEWS", "DESCRIBE t", "SHOW COLUMNS IN t",
               "SHOW PARTITIONS t", "SHOW CREATE TABLE t", "MSCK REPAIR TABLE t",
               "ALTER TABLE t ADD PARTITION (dt='1')", "ALTER TABLE t DROP PARTITION (dt='1')",
               "CREATE EXTERNAL TABLE t (a int) LOCATION 's3://b/t/'"]
    for text in samples:
        assert athena_sql.parse(text).kind in HANDLERS, text


def test_show_tables_patterns_are_hive_wildcards() -> None:
    assert _like("orders_current", "orders*")
    assert _like("Order_Changes", "x|order_*")
    assert not _like("orders", "ord")
    assert _like("anything", None)


def test_column_types_are_written_compactly_as_glue_keeps_them() -> None:
    create = sqlglot.parse_one("CREATE EXTERNAL TABLE t (Price DECIMAL(10, 2) COMMENT 'p', s STRUCT<a: INT>)",
                               read="athena")
    columns = [_column(c) for c in create.this.expressions]
    assert columns == [{"Name": "price", "Type": "decimal(10,2)", "Comment": "p"},
                       {"Name": "s", "Type": "struct<a:int>"}]


def test_view_body_is_taken_as_written() -> None:
    assert _view_body_text("CREATE OR REPLACE VIEW v AS\n  SELECT 1 -- one") == "SELECT 1 -- one"


def test_unnamed_columns_are_named_by_position() -> None:
    tree = name_unnamed_columns(sqlglot.parse_one("SELECT a, 1 + 1, b AS c, count(*) FROM t", read="athena"))
    assert [p.alias_or_name for p in tree.expressions] == ["a", "_col1", "c", "_col3"]


# -- execution parameters ----------------------------------------------------------------
def test_parameters_bind_positionally_outside_literals_and_comments() -> None:
    from localcloud.athena.parameters import bind

    text = "SELECT ?, '?', \"a?\" -- ?\n, ? /* ? */"
    assert bind(text, ["1", "'x'"]) == "SELECT 1, '?', \"a?\" -- ?\n, 'x' /* ? */"
    assert bind("SELECT 'it''s ?', ?", ["2"]) == "SELECT 'it''s ?', 2"


def test_parameter_count_must_match() -> None:
    from localcloud.athena.parameters import bind

    with pytest.raises(QueryFailed, match="INVALID_PARAMETER_USAGE: Incorrect number of parameters: expected 1 "
                                          "but found 0"):
        bind("SELECT ?", None)


def test_using_values_split_on_top_level_commas() -> None:
    from localcloud.athena.parameters import split_values

    assert split_values("41, 'a,b', DATE '2024-05-01', concat('x', 'y'), 'it''s'") == \
        ["41", "'a,b'", "DATE '2024-05-01'", "concat('x', 'y')", "'it''s'"]


# -- GetQueryExecution's wait for a state change -------------------------------------------
def _execution() -> QueryExecution:
    return QueryExecution(id="q", query="SELECT 1", database="default", catalog="AwsDataCatalog", workgroup="primary",
                          output_location=None, account_id="123456789012", region="ap-south-1")


def test_a_poll_of_an_unfinished_query_answers_when_its_state_changes() -> None:
    execution = _execution()
    waiter = threading.Thread(target=execution.wait_for_change, kwargs={"timeout_s": 60.0})
    waiter.start()
    # The change must land while the poll waits (Condition keeps its waiters in `_waiters`).
    eventually(lambda: len(execution.state_changed._waiters) == 1, "the poll to wait", timeout=10.0)
    execution.set_state("RUNNING")
    waiter.join(timeout=10.0)
    assert not waiter.is_alive(), "the poll kept waiting after the query left QUEUED"


def test_a_poll_of_a_finished_query_does_not_wait() -> None:
    execution = _execution()
    execution.set_state("SUCCEEDED")
    waiter = threading.Thread(target=execution.wait_for_change, kwargs={"timeout_s": 60.0})
    waiter.start()
    waiter.join(timeout=10.0)
    assert not waiter.is_alive(), "the poll of a finished query waited"

"""Athena over HTTP in tests: start a query and wait for its final state, say that state, read its rows.

Every Athena test module sends its statements the way pyathena or the console would
(StartQueryExecution, then GetQueryExecution until the query is done); this is that loop, once.
"""

from __future__ import annotations

from typing import Any

from tests.support.waiting import eventually

FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


def wait_for_query(athena: Any, qid: str, what: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll GetQueryExecution until query `qid` is in a final state and return its QueryExecution."""
    def finished() -> dict[str, Any] | None:
        execution = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        return execution if execution["Status"]["State"] in FINAL_STATES else None

    return eventually(finished, f"{what} to finish", timeout=timeout)


def run_query(athena: Any, sql: str, timeout: float = 30.0, **request: Any) -> dict[str, Any]:
    """StartQueryExecution with `sql` and the other request fields, then wait for its final QueryExecution.

    The caller asserts the state: a FAILED query is an answer some tests expect.
    """
    qid = athena.start_query_execution(QueryString=sql, **request)["QueryExecutionId"]
    return wait_for_query(athena, qid, repr(sql), timeout)


def state(execution: dict[str, Any]) -> str:
    """The query's state, with AWS's reason when it did not succeed, so a failed assert says why."""
    status = execution["Status"]
    return status["State"] + ("" if status["State"] == "SUCCEEDED" else ": " + status.get("StateChangeReason", ""))


def result_rows(athena: Any, execution: dict[str, Any]) -> list[list[str | None]]:
    """The data rows of a finished query (GetQueryResults without the header row), as strings or None."""
    result = athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    return [[d.get("VarCharValue") for d in r["Data"]] for r in result["ResultSet"]["Rows"][1:]]


def pyathena_connection(endpoint_url: str, staging_dir: str, region: str, work_group: str, schema: str) -> Any:
    """A pyathena connection to the local cloud, polling every 50 ms (its default waits a second)."""
    import pyathena

    return pyathena.connect(s3_staging_dir=staging_dir, region_name=region, work_group=work_group,
                            schema_name=schema, endpoint_url=endpoint_url, aws_access_key_id="test",
                            aws_secret_access_key="test", poll_interval=0.05)


def rows_cold_then_warm(connection: Any, engine: Any, sql: str) -> list[tuple]:
    """The rows of `sql` through pyathena, cold then warm; both must agree, the warm run decodes nothing.

    `engine` is the local Athena's engine (cloud.athena.engine): cold drops its decoded snapshots first.
    """
    engine.drop_snapshots()
    with connection.cursor() as cursor:
        cold = cursor.execute(sql).fetchall()
        chunks = dict(engine._chunks)
        assert chunks, "the cold run decoded the table"
        warm = cursor.execute(sql).fetchall()
        assert engine._chunks == chunks, "the warm run decoded again"
    assert warm == cold
    return cold

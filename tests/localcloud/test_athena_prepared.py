"""Prepared statements over HTTP: Athena's API and PREPARE / EXECUTE … USING / DEALLOCATE PREPARE share one store.

A real local cloud with an Athena workgroup; every statement goes through
StartQueryExecution, as pyathena or the console would send it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from localcloud.testing import running_localcloud

REGION = "ap-south-1"
BUCKET = "prepared-results"
WORKGROUP = "analysts"


@pytest.fixture(scope="module")
def athena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_localcloud(tmp_path_factory.mktemp("athena-prepared")) as cloud:
        kw = {"endpoint_url": cloud.url, "region_name": REGION, "aws_access_key_id": "test",
              "aws_secret_access_key": "test"}
        boto3.client("s3", **kw).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        client = boto3.client("athena", **kw)
        client.create_work_group(Name=WORKGROUP, Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{BUCKET}/out/"}})
        yield client


def run(athena: Any, sql: str, parameters: list[str] | None = None) -> dict[str, Any]:
    kw = {"ExecutionParameters": parameters} if parameters else {}
    qid = athena.start_query_execution(QueryString=sql, WorkGroup=WORKGROUP, **kw)["QueryExecutionId"]
    for _ in range(600):
        execution = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return execution
        time.sleep(0.05)
    raise AssertionError(f"{sql!r} did not finish")


def values(athena: Any, execution: dict[str, Any]) -> list[list[str | None]]:
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    rows = athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])["ResultSet"]["Rows"][1:]
    return [[d.get("VarCharValue") for d in r["Data"]] for r in rows]


def test_prepare_execute_using_and_deallocate(athena: Any) -> None:
    prepared = run(athena, "PREPARE pick FROM SELECT ? + 1, upper(?)")
    assert prepared["Status"]["State"] == "SUCCEEDED" and prepared["StatementType"] == "UTILITY"
    assert values(athena, run(athena, "EXECUTE pick USING 41, 'a,b'")) == [["42", "A,B"]]
    # ExecutionParameters fill the placeholders when USING is absent.
    assert values(athena, run(athena, "EXECUTE pick", ["1", "'x'"])) == [["2", "X"]]
    statement = athena.get_prepared_statement(StatementName="pick", WorkGroup=WORKGROUP)["PreparedStatement"]
    assert statement["QueryStatement"] == "SELECT ? + 1, upper(?)" and statement["WorkGroupName"] == WORKGROUP
    assert run(athena, "DEALLOCATE PREPARE pick")["Status"]["State"] == "SUCCEEDED"
    gone = run(athena, "EXECUTE pick USING 1, 'a'")
    assert gone["Status"]["StateChangeReason"] == "NOT_FOUND: Prepared statement not found: pick"


def test_wrong_number_of_values_fails_as_trino_does(athena: Any) -> None:
    run(athena, "PREPARE two FROM SELECT ?, ?")
    failed = run(athena, "EXECUTE two USING 1")
    assert failed["Status"]["StateChangeReason"] == \
        "INVALID_PARAMETER_USAGE: Incorrect number of parameters: expected 2 but found 1"


def test_prepared_statement_api(athena: Any) -> None:
    athena.create_prepared_statement(StatementName="by_id", WorkGroup=WORKGROUP, QueryStatement="SELECT ? * 2",
                                     Description="doubles")
    with pytest.raises(athena.exceptions.InvalidRequestException):
        athena.create_prepared_statement(StatementName="by_id", WorkGroup=WORKGROUP, QueryStatement="SELECT 1")
    assert values(athena, run(athena, "EXECUTE by_id USING 21")) == [["42"]]
    athena.update_prepared_statement(StatementName="by_id", WorkGroup=WORKGROUP, QueryStatement="SELECT ? * 3")
    assert values(athena, run(athena, "EXECUTE by_id USING 2")) == [["6"]]
    names = [s["StatementName"] for s in athena.list_prepared_statements(WorkGroup=WORKGROUP)["PreparedStatements"]]
    assert "by_id" in names
    batch = athena.batch_get_prepared_statement(PreparedStatementNames=["by_id", "nope"], WorkGroup=WORKGROUP)
    assert [s["StatementName"] for s in batch["PreparedStatements"]] == ["by_id"]
    assert batch["UnprocessedPreparedStatementNames"][0]["StatementName"] == "nope"
    # Statements belong to their workgroup.
    with pytest.raises(athena.exceptions.ResourceNotFoundException):
        athena.get_prepared_statement(StatementName="by_id", WorkGroup="primary")
    athena.delete_prepared_statement(StatementName="by_id", WorkGroup=WORKGROUP)
    with pytest.raises(athena.exceptions.ResourceNotFoundException):
        athena.get_prepared_statement(StatementName="by_id", WorkGroup=WORKGROUP)

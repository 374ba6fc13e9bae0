"""Query limits over HTTP: a query past its time limit or memory limit fails with Athena's error.

A real local cloud started with LOCALCLOUD_ATHENA_TIME_LIMIT_S and
LOCALCLOUD_ATHENA_MEMORY_LIMIT set low; the engine stays usable afterwards.
The limits' own rules (parsing, Trino's duration wording) are checked
without a cloud.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from localcloud.athena.limits import QueryLimits
from localcloud.testing import running_localcloud

REGION = "ap-south-1"
BUCKET = "limits-results"
HEAVY = ("SELECT count(*) FROM UNNEST(sequence(1, 200000)) AS a(x) "
         "CROSS JOIN UNNEST(sequence(1, 200000)) AS b(y) WHERE a.x * b.y % 7 = 3")


@pytest.fixture(scope="module")
def athena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    patch = pytest.MonkeyPatch()
    patch.setenv("LOCALCLOUD_ATHENA_TIME_LIMIT_S", "8")
    patch.setenv("LOCALCLOUD_ATHENA_MEMORY_LIMIT", "16MB")
    try:
        with running_localcloud(tmp_path_factory.mktemp("athena-limits")) as cloud:
            kw = {"endpoint_url": cloud.url, "region_name": REGION, "aws_access_key_id": "test",
                  "aws_secret_access_key": "test"}
            boto3.client("s3", **kw).create_bucket(Bucket=BUCKET,
                                                   CreateBucketConfiguration={"LocationConstraint": REGION})
            yield boto3.client("athena", **kw)
    finally:
        patch.undo()


def run(athena: Any, sql: str) -> dict[str, Any]:
    qid = athena.start_query_execution(QueryString=sql, ResultConfiguration={
        "OutputLocation": f"s3://{BUCKET}/out/"})["QueryExecutionId"]
    for _ in range(1200):
        execution = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return execution
        time.sleep(0.05)
    raise AssertionError(f"{sql!r} did not finish")


def test_a_query_past_its_time_limit_fails_and_the_engine_is_free_again(athena: Any) -> None:
    execution = run(athena, HEAVY)
    assert execution["Status"]["State"] == "FAILED"
    assert execution["Status"]["StateChangeReason"] == \
        "EXCEEDED_TIME_LIMIT: Query exceeded the maximum execution time limit of 8.00s"
    assert execution["Status"]["AthenaError"]["ErrorType"] == 206
    assert run(athena, "SELECT 1")["Status"]["State"] == "SUCCEEDED"


def test_a_query_past_its_memory_limit_fails(athena: Any) -> None:
    execution = run(athena, "SELECT cardinality(array_agg(x)) FROM UNNEST(sequence(1, 3000000)) AS t(x)")
    assert execution["Status"]["State"] == "FAILED"
    assert execution["Status"]["StateChangeReason"] == \
        "EXCEEDED_LOCAL_MEMORY_LIMIT: Query exceeded per-node memory limit of 16MB"
    assert run(athena, "SELECT 1")["Status"]["State"] == "SUCCEEDED"


def test_limits_from_the_environment_and_their_wording() -> None:
    assert QueryLimits.from_env({}) == QueryLimits(time_limit_s=1800.0, memory_limit=None)
    limits = QueryLimits.from_env({"LOCALCLOUD_ATHENA_TIME_LIMIT_S": "90", "LOCALCLOUD_ATHENA_MEMORY_LIMIT": "2GB"})
    assert limits.time_exceeded().reason == \
        "EXCEEDED_TIME_LIMIT: Query exceeded the maximum execution time limit of 1.50m"
    assert QueryLimits().time_exceeded().reason.endswith("limit of 30.00m")
    with pytest.raises(ValueError):
        QueryLimits(memory_limit="lots")
    with pytest.raises(ValueError):
        QueryLimits(time_limit_s=0)

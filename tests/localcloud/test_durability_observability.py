"""CloudWatch metrics, CloudWatch Logs and Athena's query history survive kill -9 once acknowledged.

A real `python -m localcloud` child gets a PutLogEvents, a PutMetricData and an Athena query
that has finished; it is killed with SIGKILL right after the last acknowledgement (no clean
stop, no snapshot in between) and restarted on the same data dir: all three are there.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import LocalCloudProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalCloudProcess]:
    proc = LocalCloudProcess(tmp_path / "data")
    yield proc
    proc.ensure_stopped()


def test_log_events_metrics_and_a_finished_query_survive_kill_9(server: LocalCloudProcess) -> None:
    server.start()
    logs, cloudwatch, athena, s3 = (server.client(s) for s in ("logs", "cloudwatch", "athena", "s3"))
    logs.create_log_group(logGroupName="/durable/app")
    logs.create_log_stream(logGroupName="/durable/app", logStreamName="one")
    now_ms = int(time.time() * 1000)
    logs.put_log_events(logGroupName="/durable/app", logStreamName="one",
                        logEvents=[{"timestamp": now_ms, "message": "first"}, {"timestamp": now_ms, "message": "2nd"}])
    stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    dims = [{"Name": "Kind", "Value": "durable"}]
    cloudwatch.put_metric_data(Namespace="Test/Durable", MetricData=[
        {"MetricName": "Writes", "Value": 3.0, "Unit": "Count", "Timestamp": stamp, "Dimensions": dims}])
    s3.create_bucket(Bucket="durable-results")
    query_id = athena.start_query_execution(
        QueryString="SELECT 42 AS answer",
        ResultConfiguration={"OutputLocation": "s3://durable-results/q/"})["QueryExecutionId"]
    finished = eventually(lambda: (lambda s: s if s["State"] in ("SUCCEEDED", "FAILED") else None)(
        athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]), "the query to finish")
    assert finished["State"] == "SUCCEEDED", finished
    running_id = athena.start_query_execution(  # acknowledged; whether it finishes before the kill is chance
        QueryString="SELECT 7", ResultConfiguration={"OutputLocation": "s3://durable-results/q/"})["QueryExecutionId"]
    server.kill9()

    server.start()
    logs, cloudwatch, athena = (server.client(s) for s in ("logs", "cloudwatch", "athena"))
    events = logs.get_log_events(logGroupName="/durable/app", logStreamName="one", startFromHead=True)["events"]
    assert [e["message"] for e in events] == ["first", "2nd"]
    points = cloudwatch.get_metric_statistics(
        Namespace="Test/Durable", MetricName="Writes", Dimensions=dims, StartTime=stamp - dt.timedelta(minutes=1),
        EndTime=stamp + dt.timedelta(minutes=1), Period=60, Statistics=["Sum", "SampleCount"])["Datapoints"]
    assert [(p["Sum"], p["SampleCount"]) for p in points] == [(3.0, 1.0)]
    execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["Query"] == "SELECT 42 AS answer"
    assert execution["ResultConfiguration"]["OutputLocation"] == f"s3://durable-results/q/{query_id}.csv"
    # Its result set came back from the result file, as Athena serves it for 45 days.
    results = athena.get_query_results(QueryExecutionId=query_id)
    rows = results["ResultSet"]["Rows"]
    assert [[d.get("VarCharValue") for d in row["Data"]] for row in rows] == [["answer"], ["42"]]
    assert [(c["Name"], c["Type"]) for c in results["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]] == [
        ("answer", "integer")]
    assert query_id in athena.list_query_executions()["QueryExecutionIds"]
    other = athena.get_query_execution(QueryExecutionId=running_id)["QueryExecution"]["Status"]
    # Finished before the kill, or interrupted by it: never left QUEUED/RUNNING with nothing running it.
    assert other["State"] in ("SUCCEEDED", "FAILED"), other
    if other["State"] == "FAILED":
        assert other["AthenaError"]["ErrorCategory"] == 1 and other["AthenaError"]["ErrorType"] == 100
    # New events after the restart number on past the restored ones.
    logs.put_log_events(logGroupName="/durable/app", logStreamName="one",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "third"}])
    ids = [e["eventId"] for e in logs.filter_log_events(logGroupName="/durable/app")["events"]]
    assert len(ids) == len(set(ids)) == 3

"""Redrive end to end on a real local cloud: Kinesis -> Firehose -> a transform that fails, then is fixed -> S3.

The transform is a real function deployed to the local Lambda: it marks ProcessingFailed every
record containing $FAIL_IF, so "fixing the cause" is an UpdateFunctionConfiguration, as a user
would deploy a fix. Interruptions are injected into the redrive's own boto3 clients.
"""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections import Counter
from typing import Any

import botocore.exceptions
import pytest

from salescdc import redrive as redrive_module
from salescdc.clients import ClientFactory
from salescdc.redrive import LOCK_KEY, PENDING_PREFIX, REDRIVEN_PREFIX, RedriveLock, Redriver, main, redrive
from salescdc.settings import Settings
from tests.support.aws import REGION, client, unique_name
from tests.support.waiting import after_polls, eventually

TRANSFORM = '''
import base64, os

def handler(event, context):
    marker = os.environ.get("FAIL_IF", "").encode()
    out = []
    for record in event["records"]:
        data = base64.b64decode(record["data"])
        if marker and marker in data:
            out.append({"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]})
        else:
            out.append({"recordId": record["recordId"], "result": "Ok",
                        "data": base64.b64encode(data.upper() + b"\\n").decode()})
    return {"records": out}
'''


class Lake:
    """A stream, a bucket, the failing-on-demand transform and a delivery stream between them."""

    def __init__(self, cloud: Any):
        name = unique_name("redrive-")
        self.cloud = cloud
        self.settings = Settings(endpoint_url=cloud.url, stream_name=name, bucket_name=name, firehose_name=name)
        self.factory = ClientFactory(self.settings)
        self.kinesis, self.s3, self.lam = client(cloud, "kinesis"), client(cloud, "s3"), client(cloud, "lambda")
        self.kinesis.create_stream(StreamName=name, ShardCount=2)
        stream_arn = self.kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
        self.s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        role = client(cloud, "iam").create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as zf:
            zf.writestr("handler.py", TRANSFORM)
        self.function = name
        fn = self.lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="handler.handler",
                                      Code={"ZipFile": code.getvalue()}, Timeout=10,
                                      Environment={"Variables": {"FAIL_IF": "bad"}})
        client(cloud, "firehose").create_delivery_stream(
            DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": role},
            ExtendedS3DestinationConfiguration={
                "RoleARN": role, "BucketARN": f"arn:aws:s3:::{name}",
                "Prefix": "orders/dt=!{timestamp:yyyy-MM-dd}/",
                "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/",
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                "ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": [
                    {"ParameterName": "LambdaArn", "ParameterValue": fn["FunctionArn"]},
                    {"ParameterName": "NumberOfRetries", "ParameterValue": "0"},
                    {"ParameterName": "BufferSizeInMBs", "ParameterValue": "1"},
                    {"ParameterName": "BufferIntervalInSeconds", "ParameterValue": "0"}]}]},
            })
        cloud.firehose_runner.discover_now()

    def put(self, *datas: str, partition_key: str | None = None) -> None:
        """Records on the stream; with `partition_key`, all on one shard (so they fail in one error object)."""
        self.kinesis.put_records(StreamName=self.settings.stream_name,
                                 Records=[{"Data": d.encode(), "PartitionKey": partition_key or d} for d in datas])

    def fix_the_transform(self) -> None:
        self.lam.update_function_configuration(FunctionName=self.function, Environment={"Variables": {}})

    def keys(self, prefix: str) -> list[str]:
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=self.settings.stream_name, Prefix=prefix)
                .get("Contents", [])]

    def lines(self, prefix: str) -> list[bytes]:
        return [line for key in self.keys(prefix)
                for line in self.s3.get_object(Bucket=self.settings.stream_name, Key=key)["Body"].read().splitlines()]

    def wait_lake(self, expected: Counter) -> None:
        eventually(lambda: Counter(self.lines("orders/")) == expected, f"the lake to hold exactly {dict(expected)}",
                   context=lambda: f"lake: {Counter(self.lines('orders/'))}")

    def wait_failed(self, count: int) -> None:
        eventually(lambda: len(self.lines(PENDING_PREFIX)) == count, f"{count} processing-failed lines")


@pytest.fixture
def lake(cloud) -> Lake:
    return Lake(cloud)


def test_redrive_sends_each_failed_record_once_counts_repeat_failures_and_then_has_nothing_to_send(lake) -> None:
    lake.put("ok-1", "bad-1", "ok-2", "bad-2")
    lake.wait_lake(Counter([b"OK-1", b"OK-2"]))
    lake.wait_failed(2)

    # Redriven before the cause is fixed: both go, both fail again, as new processing-failed objects.
    first = redrive(lake.settings, lake.factory)
    assert (first.sent, first.failed_again, first.objects_redriven, first.errors) == (2, 0, len(lake.keys(REDRIVEN_PREFIX)), [])
    lake.wait_failed(2)
    second = redrive(lake.settings, lake.factory)
    assert (second.sent, second.failed_again) == (2, 2)

    lake.wait_failed(2)
    lake.fix_the_transform()
    third = redrive(lake.settings, lake.factory)
    assert (third.sent, third.failed_again, third.not_sent) == (2, 2, 0)
    lake.wait_lake(Counter([b"OK-1", b"OK-2", b"BAD-1", b"BAD-2"]))  # each record exactly once
    assert lake.keys(PENDING_PREFIX) == []

    fourth = redrive(lake.settings, lake.factory)
    assert (fourth.sent, fourth.objects_redriven, fourth.failed_again) == (0, 0, 0)
    assert fourth.summary().startswith("Sent 0 records")


def test_a_run_interrupted_after_sending_is_completed_without_sending_twice(lake) -> None:
    lake.put("bad-a", "bad-b", "bad-c")
    lake.wait_failed(3)
    lake.fix_the_transform()
    interrupted = Redriver(lake.settings, lake.factory)
    real_copy = interrupted.s3.copy_object

    def dies_before_moving(**kwargs: Any) -> Any:
        raise botocore.exceptions.EndpointConnectionError(endpoint_url=lake.cloud.url)

    interrupted.s3.copy_object = dies_before_moving
    try:
        report = interrupted.run()
    finally:
        interrupted.s3.copy_object = real_copy
    assert report.sent == 3 and report.objects_redriven == 0 and report.errors
    lake.wait_lake(Counter([b"BAD-A", b"BAD-B", b"BAD-C"]))
    assert lake.keys(PENDING_PREFIX)  # still there, claimed

    again = redrive(lake.settings, lake.factory)
    assert (again.sent, again.already_on_stream, again.errors) == (0, 3, [])
    assert lake.keys(PENDING_PREFIX) == [] and lake.keys(REDRIVEN_PREFIX)
    lake.wait_lake(Counter([b"BAD-A", b"BAD-B", b"BAD-C"]))


def test_a_run_interrupted_part_way_through_an_object_sends_only_the_rest_next_time(lake, monkeypatch) -> None:
    # One shard, so the three fail together; on two shards a loaded machine could deliver them in two
    # batches, two error objects, and the interruption below would fall between objects, not inside one.
    lake.put("bad-x", "bad-y", "bad-z", partition_key="one-shard")
    lake.wait_failed(3)
    assert len(lake.keys(PENDING_PREFIX)) == 1, "the scenario needs the three failures in one error object"
    lake.fix_the_transform()
    monkeypatch.setattr(redrive_module, "PUT_RECORDS_MAX", 1)  # one record per call, so it can stop between them
    interrupted = Redriver(lake.settings, lake.factory)
    real_put = interrupted.kinesis.put_records
    calls = []

    def dies_on_the_second_call(**kwargs: Any) -> Any:
        calls.append(kwargs)
        if len(calls) == 2:
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=lake.cloud.url)
        return real_put(**kwargs)

    interrupted.kinesis.put_records = dies_on_the_second_call
    try:
        report = interrupted.run()
    finally:
        interrupted.kinesis.put_records = real_put
    assert report.errors and lake.keys(PENDING_PREFIX)
    again = redrive(lake.settings, lake.factory)
    # The object it stopped in: what went before the interruption is found on the stream, not sent again.
    assert again.already_on_stream >= 1 and again.errors == [] and lake.keys(PENDING_PREFIX) == []
    lake.wait_lake(Counter([b"BAD-X", b"BAD-Y", b"BAD-Z"]))


def test_the_command_prints_one_sentence(lake) -> None:
    lake.put("bad-cli")
    lake.wait_failed(1)
    out = io.StringIO()
    env = {"AWS_ENDPOINT_URL": lake.cloud.url, "SALESCDC_STREAM": lake.settings.stream_name,
           "SALESCDC_BUCKET": lake.settings.bucket_name, "SALESCDC_FIREHOSE": lake.settings.firehose_name}
    assert main([], env, out) == 0
    assert out.getvalue() == "Sent 1 record back through the pipeline from 1 error object.\n"


def _env(lake: Lake) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": lake.cloud.url, "SALESCDC_STREAM": lake.settings.stream_name,
            "SALESCDC_BUCKET": lake.settings.bucket_name, "SALESCDC_FIREHOSE": lake.settings.firehose_name}


def _exactly_once(lake: Lake, expected: Counter) -> None:
    """The lake holds `expected`, and still does after Firehose has had the chance to deliver a duplicate."""
    lake.wait_lake(expected)
    after_polls(lake.cloud.firehose_runner)
    assert Counter(lake.lines("orders/")) == expected


def test_a_second_run_refuses_with_one_sentence_while_one_runs(lake) -> None:
    lake.put("bad-p", "bad-q")
    lake.wait_failed(2)
    lake.fix_the_transform()
    first = Redriver(lake.settings, ClientFactory(lake.settings))  # its own clients, as another process has
    real_put = first.kinesis.put_records
    inside, go_on = threading.Event(), threading.Event()

    def held_while_sending(**kwargs: Any) -> Any:
        inside.set()
        assert go_on.wait(60)
        return real_put(**kwargs)

    first.kinesis.put_records = held_while_sending
    reports: dict[str, Any] = {}
    running = threading.Thread(target=lambda: reports.update(first=first.run()))
    running.start()
    try:
        assert inside.wait(60), "the first run never started sending"
        second = Redriver(lake.settings, ClientFactory(lake.settings)).run()
        out = io.StringIO()
        exit_code = main([], _env(lake), out)
    finally:
        go_on.set()
        running.join(timeout=60)
    assert second.refused and (second.sent, second.objects_redriven) == (0, 0)
    assert second.summary() == second.refused
    assert second.refused.startswith("Another redrive started at ") and second.refused.endswith(
        "is still running, so this one sent nothing; try again when it has finished.")
    assert exit_code == 1 and out.getvalue().count("\n") == 1 and out.getvalue().startswith("Another redrive")
    assert (reports["first"].sent, reports["first"].errors) == (2, [])
    _exactly_once(lake, Counter([b"BAD-P", b"BAD-Q"]))
    after = redrive(lake.settings, lake.factory)  # the lock went with the run that held it
    assert after.refused is None and after.sent == 0


def test_concurrent_runs_send_each_record_exactly_once(lake) -> None:
    records = [f"bad-c{i}" for i in range(6)]
    for record in records:  # one error object each, so a run has several objects to go through
        lake.put(record)
        lake.wait_failed(records.index(record) + 1)
    lake.fix_the_transform()
    runners = [Redriver(lake.settings, ClientFactory(lake.settings)) for _ in range(4)]
    barrier = threading.Barrier(len(runners))
    reports: list[Any] = [None] * len(runners)

    def run(i: int) -> None:
        barrier.wait()
        reports[i] = runners[i].run()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(runners))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(r is not None and not r.errors for r in reports), [r and r.errors for r in reports]
    assert sum(r.sent for r in reports) == len(records)
    assert all(r.refused or r.sent in (0, len(records)) for r in reports)  # one run did it all, or none
    _exactly_once(lake, Counter(r.upper().encode() for r in records))
    assert lake.keys(PENDING_PREFIX) == []


def test_a_lock_left_by_a_crashed_run_holds_until_it_expires_then_is_taken_over(lake) -> None:
    lake.put("bad-crash")
    lake.wait_failed(1)
    lake.fix_the_transform()
    now_ms = int(time.time() * 1000)
    lock = {"token": "crashed-run", "started_ms": now_ms - 60_000, "expires_ms": now_ms + 60_000}
    lake.s3.put_object(Bucket=lake.settings.bucket_name, Key=LOCK_KEY, Body=json.dumps(lock).encode())
    refused = redrive(lake.settings, lake.factory)
    assert refused.refused and refused.sent == 0 and lake.keys(PENDING_PREFIX)

    lock["expires_ms"] = now_ms - 1  # the crashed run never extended it: past its time
    lake.s3.put_object(Bucket=lake.settings.bucket_name, Key=LOCK_KEY, Body=json.dumps(lock).encode())
    taken_over = redrive(lake.settings, lake.factory)
    assert taken_over.refused is None and (taken_over.sent, taken_over.errors) == (1, [])
    assert lake.keys(LOCK_KEY) == []  # released at the end
    _exactly_once(lake, Counter([b"BAD-CRASH"]))


def test_releasing_a_lock_another_run_took_over_leaves_the_other_runs_lock(lake) -> None:
    bucket = lake.settings.bucket_name
    stalled = RedriveLock(lake.s3, bucket)
    stalled.acquire()
    # The stalled run's lock expired and another run took it over (a new body, a new ETag).
    taker = {"token": "the-other-run", "started_ms": 0, "expires_ms": int(time.time() * 1000) + 60_000}
    lake.s3.put_object(Bucket=bucket, Key=LOCK_KEY, Body=json.dumps(taker).encode())
    stalled.release()
    assert json.loads(lake.s3.get_object(Bucket=bucket, Key=LOCK_KEY)["Body"].read())["token"] == "the-other-run"

    mine = RedriveLock(lake.s3, bucket)
    lake.s3.delete_object(Bucket=bucket, Key=LOCK_KEY)
    mine.acquire()
    mine.release()
    assert lake.keys(LOCK_KEY) == []

"""The Firehose runner over HTTP against a real local cloud, with a processor Lambda that fails on demand."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from localcloud.firehose.delivery import DeliveryStreamWorker
from localcloud.server import LocalCloud
from tests.support.aws import REGION, client, unique_name
from tests.support.waiting import after_polls, eventually

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "lambdas" / "firehose_on_demand" / "handler.py"
PREFIX = "orders/dt=!{timestamp:yyyy-MM-dd}/"
ERROR_PREFIX = "errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"


@pytest.fixture(scope="module")
def role_arn(cloud: LocalCloud) -> str:
    return client(cloud, "iam").create_role(RoleName="firehose-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]


@pytest.fixture(scope="module")
def lambda_arn(cloud: LocalCloud, role_arn: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.write(FIXTURE, "handler.py")
    event_log = tmp_path_factory.mktemp("events") / "events.jsonl"
    fn = client(cloud, "lambda").create_function(
        FunctionName="firehose-on-demand", Runtime="python3.11", Role=role_arn, Handler="handler.handler",
        Code={"ZipFile": buf.getvalue()}, Timeout=10, Environment={"Variables": {"EVENT_LOG": str(event_log)}},
    )
    return fn["FunctionArn"]


class Pipeline:
    """A Kinesis stream -> Firehose (with the on-demand Lambda) -> S3 bucket, unique per test."""

    def __init__(self, cloud: LocalCloud, role_arn: str, lambda_arn: str, retries: int = 1,
                 before_create: Callable[[Pipeline], None] | None = None):
        self.cloud = cloud
        self.name = unique_name("fh-")
        self.bucket = f"lake-{self.name}"
        self.kinesis = client(cloud, "kinesis")
        self.s3 = client(cloud, "s3")
        self.kinesis.create_stream(StreamName=self.name, ShardCount=2)
        self.stream_arn = self.kinesis.describe_stream_summary(StreamName=self.name)[
            "StreamDescriptionSummary"]["StreamARN"]
        self.s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        # Firehose logs into a group and stream the user created; it never creates them.
        logs = client(cloud, "logs")
        logs.create_log_group(logGroupName=f"/aws/kinesisfirehose/{self.name}")
        logs.create_log_stream(logGroupName=f"/aws/kinesisfirehose/{self.name}", logStreamName="DestinationDelivery")
        if before_create:
            before_create(self)
        self.lambda_arn = lambda_arn
        self.arn = client(cloud, "firehose").create_delivery_stream(
            DeliveryStreamName=self.name,
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": self.stream_arn, "RoleARN": role_arn},
            ExtendedS3DestinationConfiguration={
                "RoleARN": role_arn,
                "BucketARN": f"arn:aws:s3:::{self.bucket}",
                "Prefix": PREFIX,
                "ErrorOutputPrefix": ERROR_PREFIX,
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                "CloudWatchLoggingOptions": {"Enabled": True, "LogGroupName": f"/aws/kinesisfirehose/{self.name}",
                                             "LogStreamName": "DestinationDelivery"},
                "ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": [
                    {"ParameterName": "LambdaArn", "ParameterValue": lambda_arn},
                    {"ParameterName": "NumberOfRetries", "ParameterValue": str(retries)},
                    {"ParameterName": "BufferSizeInMBs", "ParameterValue": "1"},
                    {"ParameterName": "BufferIntervalInSeconds", "ParameterValue": "0"},
                ]}]},
            },
        )["DeliveryStreamARN"]
        cloud.firehose_runner.discover_now()  # skip the 1 s discovery wait

    def put(self, *datas: str, key: str | None = None) -> None:
        self.kinesis.put_records(StreamName=self.name, Records=[
            {"Data": d.encode(), "PartitionKey": key or d} for d in datas])

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        listing = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])
        return {o["Key"]: self.s3.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read() for o in listing}

    def lines(self, prefix: str) -> list[bytes]:
        return [line for body in self.objects(prefix).values() for line in body.splitlines()]

    def health(self) -> dict[str, Any]:
        return self.cloud.firehose_runner.health()["delivery_streams"][self.name]

    def wait_for(self, predicate: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        return eventually(predicate, what, timeout=timeout, interval=0.1, context=lambda: f"health: {self.health()}")

    def worker(self) -> DeliveryStreamWorker:
        """The runner's worker delivering this stream."""
        workers = self.cloud.firehose_runner.workers
        return eventually(lambda: next((w for w in list(workers.values()) if w.config.name == self.name), None),
                          f"a worker for {self.name}")


def today() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")


def test_records_land_in_s3_under_the_evaluated_prefix_with_aws_object_names(cloud, role_arn, lambda_arn) -> None:
    # Written before the delivery stream exists: AWS starts at LATEST, so this is never delivered.
    pipe = Pipeline(cloud, role_arn, lambda_arn, before_create=lambda p: p.put("before-creation"))
    pipe.put("alpha", "beta", "gamma", "drop-me", "delta")
    pipe.wait_for(lambda: (ls := pipe.lines("orders/")) and len(ls) >= 4 and ls, "4 delivered lines")
    after_polls(pipe.worker())  # anything extra (the pre-creation record, the dropped one) would have landed by now
    assert sorted(pipe.lines("orders/")) == [b"ALPHA", b"BETA", b"DELTA", b"GAMMA"]
    assert pipe.objects("errors/") == {}
    name_re = re.compile(
        rf"^orders/dt={today()}/{pipe.name}-1-\d{{4}}-\d{{2}}-\d{{2}}-\d{{2}}-\d{{2}}-\d{{2}}-"
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    for key, body in pipe.objects("orders/").items():
        assert name_re.match(key), key
        assert body.endswith(b"\n")
    health = pipe.health()
    assert health["counters"]["delivered_records"] == 4
    assert health["counters"]["dropped_records"] == 1
    assert health["lag_records"] == 0
    assert health["last_error"] is None


def test_the_lambda_receives_firehoses_kinesis_event_shape(cloud, role_arn, lambda_arn) -> None:
    pipe = Pipeline(cloud, role_arn, lambda_arn)
    pipe.put("shape-check", key="pk-1")
    pipe.wait_for(lambda: pipe.lines("orders/"), "delivery")
    env = client(cloud, "lambda").get_function_configuration(FunctionName=lambda_arn)["Environment"]["Variables"]
    events = [json.loads(line) for line in Path(env["EVENT_LOG"]).read_text().splitlines()]
    event = next(e for e in events if e["deliveryStreamArn"] == pipe.arn)
    assert set(event) == {"invocationId", "deliveryStreamArn", "sourceKinesisStreamArn", "region", "records"}
    assert event["sourceKinesisStreamArn"] == pipe.stream_arn
    assert event["region"] == REGION
    (record,) = event["records"]
    assert set(record) == {"recordId", "approximateArrivalTimestamp", "data", "kinesisRecordMetadata"}
    assert base64.b64decode(record["data"]) == b"shape-check"
    meta = record["kinesisRecordMetadata"]
    assert set(meta) == {"shardId", "partitionKey", "approximateArrivalTimestamp", "sequenceNumber",
                         "subsequenceNumber"}
    assert meta["partitionKey"] == "pk-1"
    assert meta["shardId"].startswith("shardId-")
    assert isinstance(record["approximateArrivalTimestamp"], int)
    assert abs(record["approximateArrivalTimestamp"] - time.time() * 1000) < 10 * 60 * 1000


def test_processing_failed_records_land_under_errors_in_awss_shape(cloud, role_arn, lambda_arn) -> None:
    pipe = Pipeline(cloud, role_arn, lambda_arn)
    pipe.put("fail-this-one", "fine", key="same-shard")
    pipe.wait_for(lambda: pipe.lines("errors/"), "the error object")
    pipe.wait_for(lambda: pipe.lines("orders/"), "the good record")
    assert pipe.lines("orders/") == [b"FINE"]
    (key,) = pipe.objects("errors/")
    assert key.startswith(f"errors/processing-failed/dt={today()}/{pipe.name}-1-")
    (line,) = pipe.lines("errors/")
    doc = json.loads(line)
    assert set(doc) == {"attemptsMade", "arrivalTimestamp", "errorCode", "errorMessage", "attemptEndingTimestamp",
                        "rawData", "lambdaArn"}
    assert (doc["errorCode"], doc["errorMessage"]) == ("Lambda.ProcessingFailedStatus",
                                                      "ProcessingFailed status set for record")
    assert doc["attemptsMade"] == 1
    assert doc["lambdaArn"] == lambda_arn
    assert base64.b64decode(doc["rawData"]) == b"fail-this-one"
    assert doc["arrivalTimestamp"] <= doc["attemptEndingTimestamp"]


def test_a_raising_lambda_sends_the_batch_to_errors_after_the_retries(cloud, role_arn, lambda_arn) -> None:
    pipe = Pipeline(cloud, role_arn, lambda_arn, retries=2)
    pipe.put("please-raise", "innocent-bystander", key="one-shard")  # one PutRecords, one shard: one batch
    lines = pipe.wait_for(lambda: (ls := pipe.lines("errors/")) and len(ls) >= 2 and ls, "2 error lines")
    docs = sorted((json.loads(line) for line in lines), key=lambda d: d["rawData"])
    assert [base64.b64decode(d["rawData"]) for d in docs] == [b"innocent-bystander", b"please-raise"]
    for doc in docs:
        assert doc["errorCode"] == "Lambda.FunctionError"
        assert doc["attemptsMade"] == 3  # the first call and NumberOfRetries=2 retries
    assert pipe.objects("orders/") == {}
    assert pipe.health()["counters"]["failed_invocations"] == 3
    # CloudWatchLoggingOptions: each failed attempt is logged, as Firehose does
    events = client(cloud, "logs").get_log_events(logGroupName=f"/aws/kinesisfirehose/{pipe.name}",
                                                  logStreamName="DestinationDelivery")["events"]
    logged = [json.loads(e["message"]) for e in events]
    assert len(logged) == 3
    assert {d["errorCode"] for d in logged} == {"Lambda.FunctionError"}
    assert all(d["deliveryStreamARN"] == pipe.arn and d["processor"] == lambda_arn for d in logged)


def test_a_response_breaking_the_status_model_fails_the_invocation(cloud, role_arn, lambda_arn) -> None:
    pipe = Pipeline(cloud, role_arn, lambda_arn, retries=0)
    pipe.put("badid-record")
    (line,) = pipe.wait_for(lambda: pipe.lines("errors/"), "the error line")
    assert json.loads(line)["errorCode"] == "Lambda.MissingRecordId"


def test_nothing_is_acknowledged_before_s3_has_it(cloud, role_arn, lambda_arn) -> None:
    pipe = Pipeline(cloud, role_arn, lambda_arn)
    pipe.s3.delete_bucket(Bucket=pipe.bucket)  # S3 now refuses every write
    pipe.put("kept-1", "kept-2", key="k")
    pipe.wait_for(lambda: (h := pipe.health())["last_error"] and "NoSuchBucket" in h["last_error"], "S3 failure")
    assert pipe.health()["position"] == {}  # nothing acknowledged
    pipe.s3.create_bucket(Bucket=pipe.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    lines = pipe.wait_for(lambda: (ls := pipe.lines("orders/")) and len(ls) >= 2 and ls, "delivery after recovery")
    assert sorted(lines) == [b"KEPT-1", b"KEPT-2"]
    pipe.wait_for(lambda: pipe.health()["position"], "acknowledged position")


def test_restarting_the_runner_mid_stream_loses_nothing(cloud, role_arn, lambda_arn) -> None:
    pipe = Pipeline(cloud, role_arn, lambda_arn)
    runner = cloud.firehose_runner
    expected = set()
    for i in range(30):
        pipe.put(f"r{i:03d}")
        expected.add(f"R{i:03d}".encode())
        if i == 10:
            runner.stop()  # mid-stream: some records read, some in flight, the rest not yet read
        if i == 20:
            runner.start()
            runner.discover_now()
    lines = pipe.wait_for(lambda: (ls := pipe.lines("orders/")) and set(ls) >= expected and ls, "all 30 records")
    assert set(lines) == expected
    # duplicates may only come from a batch in flight at the stop, never more than that
    assert len(lines) - len(expected) <= 11
    checkpoint = json.loads((cloud.data_dir / "checkpoints" / "firehose.json").read_text())
    (state,) = [v for k, v in checkpoint.items() if k.startswith(pipe.arn)]
    assert state["shards"] == pipe.health()["position"]


def test_positions_survive_a_new_runner_on_the_same_data_dir(cloud, role_arn, lambda_arn) -> None:
    from localcloud.firehose import FirehoseRunner

    pipe = Pipeline(cloud, role_arn, lambda_arn)
    pipe.put("first")
    pipe.wait_for(lambda: pipe.lines("orders/"), "first delivery")
    pipe.wait_for(lambda: pipe.health()["position"], "acknowledged position")
    cloud.firehose_runner.stop()
    pipe.put("second")
    # a new process would build exactly this from the data dir
    fresh = FirehoseRunner(cloud.plane, cloud.data_dir, cloud.lambda_executor)
    cloud.runners[cloud.runners.index(cloud.firehose_runner)] = fresh
    cloud.firehose_runner = fresh
    fresh.start()
    fresh.discover_now()
    lines = pipe.wait_for(lambda: (ls := pipe.lines("orders/")) and len(ls) >= 2 and ls, "second delivery")
    assert sorted(lines) == [b"FIRST", b"SECOND"]  # resumed after "first": not re-delivered, nothing lost


def test_health_is_served_by_the_cloud(cloud, role_arn, lambda_arn) -> None:
    import urllib.request

    pipe = Pipeline(cloud, role_arn, lambda_arn)
    with urllib.request.urlopen(cloud.url + "/_localcloud/health") as resp:
        health = json.loads(resp.read())
    entry = health["runners"]["firehose"]["delivery_streams"][pipe.name]
    assert set(entry) >= {"state", "position", "lag_records", "lag_ms", "last_error", "counters"}


def test_firehose_and_kinesis_metrics_reach_cloudwatch(cloud, role_arn, lambda_arn) -> None:
    pipe = Pipeline(cloud, role_arn, lambda_arn)
    pipe.put("metric-me")
    pipe.wait_for(lambda: pipe.lines("orders/"), "delivery")
    cw = client(cloud, "cloudwatch")
    # With a Kinesis source AWS publishes DataReadFromKinesisStream.*; IncomingRecords is Direct PUT's.
    wanted = {"DataReadFromKinesisStream.Records", "DataReadFromKinesisStream.Bytes", "DeliveryToS3.Records", "DeliveryToS3.DataFreshness", "ExecuteProcessing.Success",
              "ExecuteProcessing.Duration"}
    dims = [{"Name": "DeliveryStreamName", "Value": pipe.name}]

    def published() -> bool:
        names = {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/Firehose", Dimensions=dims)["Metrics"]}
        if not wanted <= names:
            pipe.put("metric-again")  # metrics are best effort: a flush lost under load is re-sent by new data
            time.sleep(0.5)
        return wanted <= names

    pipe.wait_for(published, "Firehose metrics")
    names = {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/Firehose", Dimensions=dims)["Metrics"]}
    assert "IncomingRecords" not in names
    kinesis_dims = [{"Name": "StreamName", "Value": pipe.name}]
    assert {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/Kinesis", Dimensions=kinesis_dims)["Metrics"]} \
        >= {"GetRecords.IteratorAgeMilliseconds"}


def test_update_destination_takes_effect_with_the_new_version_in_object_names(cloud, role_arn, lambda_arn) -> None:
    pipe = Pipeline(cloud, role_arn, lambda_arn)
    firehose = client(cloud, "firehose")
    desc = firehose.describe_delivery_stream(DeliveryStreamName=pipe.name)["DeliveryStreamDescription"]
    firehose.update_destination(
        DeliveryStreamName=pipe.name, CurrentDeliveryStreamVersionId=desc["VersionId"],
        DestinationId=desc["Destinations"][0]["DestinationId"],
        ExtendedS3DestinationUpdate={"Prefix": "v2/!{timestamp:yyyy}/", "ErrorOutputPrefix": ERROR_PREFIX})
    cloud.firehose_runner.discover_now()
    pipe.put("after-update")
    (key,) = pipe.wait_for(lambda: list(pipe.objects("v2/")), "an object under the new prefix")
    year = dt.datetime.now(dt.timezone.utc).year
    assert key.startswith(f"v2/{year}/{pipe.name}-2-")
    assert pipe.lines("v2/") == [b"AFTER-UPDATE"]

"""EventBridge Pipes over HTTP against a real local cloud: DynamoDB stream -> pipe -> Kinesis.

Every test writes through boto3 to the running server and reads what landed
on the Kinesis stream, so it checks what a user would see on AWS.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.pipes import PipesRunner
from localcloud.pipes.runner import PipeWorker
from tests.support.aws import REGION, client, create_orders_table
from tests.support.waiting import after_polls, eventually

ROLE = "arn:aws:iam::123456789012:role/pipe-role"
_ids = itertools.count()


@pytest.fixture(scope="module", autouse=True)
def quick_retries(cloud) -> None:
    _runner(cloud).max_backoff_s = 0.2  # retry quickly: tests wait for recovery


def _runner(cloud) -> PipesRunner:
    return next(r for r in cloud.runners if r.name == "pipes")


class Rig:
    """One table + one Kinesis stream + (optionally) one pipe between them, with unique names."""

    def __init__(self, cloud: Any):
        n = next(_ids)
        self.cloud = cloud
        self.ddb = client(cloud, "dynamodb")
        self.kinesis = client(cloud, "kinesis")
        self.pipes = client(cloud, "pipes")
        self.table = f"orders{n}"
        self.stream = f"sales{n}"
        self.pipe = f"pipe{n}"
        self.stream_arn = create_orders_table(self.ddb, self.table)["LatestStreamArn"]
        self.create_stream()

    def create_stream(self) -> None:
        self.kinesis.create_stream(StreamName=self.stream, ShardCount=2)
        self.kinesis_arn = self.kinesis.describe_stream_summary(StreamName=self.stream)[
            "StreamDescriptionSummary"]["StreamARN"]

    def create_pipe(self, starting_position: str = "TRIM_HORIZON", partition_key: str = "$.dynamodb.Keys.orderid.S",
                    wait: bool = True, **source: Any) -> dict[str, Any]:
        params = {"StartingPosition": starting_position, **source}
        out = self.pipes.create_pipe(
            Name=self.pipe, RoleArn=ROLE, Source=self.stream_arn, Target=self.kinesis_arn,
            SourceParameters={"DynamoDBStreamParameters": params},
            TargetParameters={"KinesisStreamParameters": {"PartitionKey": partition_key}},
        )
        if wait:
            self.wait_state("RUNNING")
        return out

    def describe(self) -> dict[str, Any]:
        return self.pipes.describe_pipe(Name=self.pipe)

    def worker(self) -> PipeWorker:
        """The runner's worker moving this pipe (a pipe has one while it runs)."""
        runner = _runner(self.cloud)
        return eventually(lambda: next((w for w in list(runner.workers.values()) if w.snapshot.name == self.pipe),
                                       None), f"a worker for {self.pipe}")

    def wait_state(self, state: str) -> dict[str, Any]:
        return eventually(lambda: (d := self.describe())["CurrentState"] == state and d, f"pipe {state}")

    def put(self, orderid: str, **attrs: Any) -> None:
        item = {"orderid": {"S": orderid}}
        for k, v in attrs.items():
            item[k] = {"N": str(v)} if isinstance(v, int | float) else {"S": str(v)}
        self.ddb.put_item(TableName=self.table, Item=item)

    def delete(self, orderid: str) -> None:
        self.ddb.delete_item(TableName=self.table, Key={"orderid": {"S": orderid}})

    def landed(self) -> list[tuple[str, dict[str, Any]]]:
        """Every (partition key, event) on the Kinesis stream, in order within each shard."""
        out = []
        for shard in self.kinesis.describe_stream(StreamName=self.stream)["StreamDescription"]["Shards"]:
            it = self.kinesis.get_shard_iterator(StreamName=self.stream, ShardId=shard["ShardId"],
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while it:
                resp = self.kinesis.get_records(ShardIterator=it, Limit=10000)
                out.extend((r["PartitionKey"], json.loads(r["Data"])) for r in resp["Records"])
                if not resp["Records"]:
                    break
                it = resp.get("NextShardIterator")
        return out

    def wait_landed(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        return eventually(lambda: (got := self.landed()) and len(got) >= count and got, f"{count} records on Kinesis")

    def by_key(self) -> dict[str, list[dict[str, Any]]]:
        keys: dict[str, list[dict[str, Any]]] = {}
        for pk, event in self.landed():
            keys.setdefault(pk, []).append(event)
        return keys

    def close(self) -> None:
        try:
            self.pipes.delete_pipe(Name=self.pipe)
        except self.pipes.exceptions.NotFoundException:
            pass


@pytest.fixture
def rig(cloud):
    r = Rig(cloud)
    yield r
    r.close()


@pytest.fixture
def put_records_sizes(cloud, rig) -> Iterator[list[int]]:
    """How many records each PutRecords call of the rig's pipe carried (a seam on the runner while the test runs)."""
    sizes: list[int] = []

    def seam(target) -> None:
        if target.pipe_name != rig.pipe:
            return
        real = target.put_records

        def counting(**kwargs):
            sizes.append(len(kwargs["Records"]))
            return real(**kwargs)

        target.put_records = counting

    runner = _runner(cloud)
    runner.on_target_created = seam
    yield sizes
    runner.on_target_created = None


def _image_values(events: list[dict[str, Any]], field: str = "qty") -> list[Any]:
    return [e["dynamodb"].get("NewImage", {}).get(field, {}).get("N") for e in events]


# -- the API -------------------------------------------------------------


def test_update_pipe_changes_parameters_keeps_starting_position_and_goes_through_updating(rig) -> None:
    rig.create_pipe(BatchSize=10)
    out = rig.pipes.update_pipe(
        Name=rig.pipe, RoleArn=ROLE, Description="orders to Kinesis",
        SourceParameters={"DynamoDBStreamParameters": {"BatchSize": 5, "MaximumBatchingWindowInSeconds": 0}},
    )
    assert out["CurrentState"] == "UPDATING"
    assert out["DesiredState"] == "RUNNING"
    described = rig.wait_state("RUNNING")
    assert described["Description"] == "orders to Kinesis"
    assert described["SourceParameters"]["DynamoDBStreamParameters"] == {
        "BatchSize": 5, "MaximumBatchingWindowInSeconds": 0, "StartingPosition": "TRIM_HORIZON"}
    assert described["LastModifiedTime"] >= described["CreationTime"]
    assert described["TargetParameters"] == {"KinesisStreamParameters": {"PartitionKey": "$.dynamodb.Keys.orderid.S"}}


def test_pipe_api_errors(rig) -> None:
    with pytest.raises(rig.pipes.exceptions.NotFoundException):
        rig.pipes.update_pipe(Name="no-such-pipe", RoleArn=ROLE)
    with pytest.raises(rig.pipes.exceptions.NotFoundException):
        rig.pipes.describe_pipe(Name="no-such-pipe")
    rig.create_pipe()
    with pytest.raises(rig.pipes.exceptions.ConflictException):
        rig.create_pipe(wait=False)


def test_states_follow_the_runner_stop_then_start_loses_and_duplicates_nothing(rig) -> None:
    created = rig.create_pipe(wait=False)
    assert created["CurrentState"] == "CREATING"
    rig.wait_state("RUNNING")
    rig.put("1", qty=1)
    rig.wait_landed(1)

    stopped = rig.pipes.stop_pipe(Name=rig.pipe)
    assert stopped["DesiredState"] == "STOPPED"
    assert stopped["CurrentState"] == "STOPPING"
    rig.wait_state("STOPPED")
    paused = _runner(rig.cloud).health()["pipes"][rig.pipe]
    assert paused["state"] == "STOPPED"
    assert [s["position"] for s in paused["shards"].values()] == [rig.landed()[0][1]["dynamodb"]["SequenceNumber"]]
    rig.put("1", qty=2)
    rig.put("2", qty=1)
    after_polls(_runner(rig.cloud))  # the runner looked again and started nothing: a stopped pipe must not deliver
    assert len(rig.landed()) == 1

    started = rig.pipes.start_pipe(Name=rig.pipe)
    assert started["CurrentState"] == "STARTING"
    rig.wait_state("RUNNING")
    rig.wait_landed(3)
    after_polls(rig.worker())
    keys = rig.by_key()
    assert _image_values(keys["1"]) == ["1", "2"]
    assert _image_values(keys["2"]) == ["1"]


def test_a_latest_pipe_stopped_before_its_first_record_still_gets_what_was_written_while_stopped(rig) -> None:
    rig.create_pipe(starting_position="LATEST")
    rig.pipes.stop_pipe(Name=rig.pipe)
    rig.wait_state("STOPPED")
    rig.put("while-stopped", qty=1)
    rig.pipes.start_pipe(Name=rig.pipe)
    rig.wait_state("RUNNING")
    assert [pk for pk, _ in rig.wait_landed(1)] == ["while-stopped"]


# -- the data ------------------------------------------------------------


def test_changes_arrive_in_order_with_partition_keys_in_the_pipes_event_shape(rig) -> None:
    rig.create_pipe()
    for qty in (1, 2, 3):
        rig.put("A", qty=qty, price="19.99")
    rig.put("B", qty=5)
    rig.delete("A")
    landed = rig.wait_landed(5)
    assert {pk for pk, _ in landed} == {"A", "B"}
    keys = rig.by_key()
    assert [e["eventName"] for e in keys["A"]] == ["INSERT", "MODIFY", "MODIFY", "REMOVE"]
    assert _image_values(keys["A"][:3]) == ["1", "2", "3"]
    remove = keys["A"][3]
    assert remove["dynamodb"]["OldImage"]["qty"] == {"N": "3"}
    assert "NewImage" not in remove["dynamodb"]

    event = keys["B"][0]
    assert set(event) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
                          "eventSourceARN"}
    assert event["eventSource"] == "aws:dynamodb"
    assert event["awsRegion"] == REGION
    assert event["eventSourceARN"] == rig.stream_arn
    body = event["dynamodb"]
    assert set(body) == {"ApproximateCreationDateTime", "Keys", "NewImage", "SequenceNumber", "SizeBytes",
                         "StreamViewType"}
    assert isinstance(body["ApproximateCreationDateTime"], int)
    assert abs(body["ApproximateCreationDateTime"] - time.time()) < 3600
    assert body["Keys"] == {"orderid": {"S": "B"}}
    assert body["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    seqs = [int(e["dynamodb"]["SequenceNumber"]) for e in keys["A"]]
    assert seqs == sorted(seqs)


def test_latest_starts_after_existing_records_trim_horizon_reads_them(cloud) -> None:
    latest, horizon = Rig(cloud), Rig(cloud)
    try:
        for r in (latest, horizon):
            r.put("old-1", qty=1)
            r.put("old-2", qty=1)
        latest.create_pipe(starting_position="LATEST")
        horizon.create_pipe(starting_position="TRIM_HORIZON")
        for r in (latest, horizon):
            r.put("new", qty=1)
        horizon.wait_landed(3)
        latest.wait_landed(1)
        after_polls(latest.worker(), horizon.worker())
        assert sorted(pk for pk, _ in latest.landed()) == ["new"]
        assert sorted(pk for pk, _ in horizon.landed()) == ["new", "old-1", "old-2"]
    finally:
        latest.close()
        horizon.close()


def test_latest_is_where_the_stream_was_at_creation_even_when_the_worker_starts_late(rig) -> None:
    """A worker that starts after records came in (a loaded machine, a restart after kill -9 before
    the pipe's first delivery) reads them: LATEST is fixed when the pipe is created. Before, the late
    worker asked for LATEST itself and the kill -9 test saw the first round's changes missing."""
    pipes = rig.cloud.runner("pipes")
    rig.put("before-creation", qty=1)
    pipes.stop()
    try:
        rig.create_pipe(starting_position="LATEST", wait=False)
        rig.put("after-creation-1", qty=1)
        rig.put("after-creation-2", qty=1)
    finally:
        pipes.start()
    rig.wait_state("RUNNING")
    landed = rig.wait_landed(2)
    after_polls(rig.worker())
    assert sorted(pk for pk, _ in rig.landed()) == ["after-creation-1", "after-creation-2"], landed


def test_batch_size_bounds_every_put_records_call(rig, put_records_sizes) -> None:
    calls = put_records_sizes
    for i in range(7):
        rig.put(f"k{i}", qty=i)
    rig.create_pipe(BatchSize=3)
    rig.wait_landed(7)
    assert sum(calls) == 7
    assert max(calls) <= 3
    assert len(calls) >= 3


def test_batching_window_gathers_records_into_one_call(rig, put_records_sizes) -> None:
    calls = put_records_sizes
    rig.create_pipe(starting_position="LATEST", BatchSize=100, MaximumBatchingWindowInSeconds=3)
    for i in range(5):
        rig.put(f"k{i}", qty=i)
    rig.wait_landed(5)
    assert calls == [5]  # without the window, a poll that saw the first write would have sent it alone


def test_a_pipe_the_local_cloud_cannot_run_says_so(rig) -> None:
    rig.pipes.create_pipe(Name=rig.pipe, RoleArn=ROLE, Source="arn:aws:sqs:ap-south-1:123456789012:queue",
                          Target=rig.kinesis_arn,
                          TargetParameters={"KinesisStreamParameters": {"PartitionKey": "x"}})
    described = rig.wait_state("RUNNING")
    assert "DynamoDB stream" in described["StateReason"]
    rig.pipes.delete_pipe(Name=rig.pipe)
    rig.pipes.create_pipe(Name=rig.pipe, RoleArn=ROLE, Source=rig.stream_arn, Target=rig.kinesis_arn,
                          SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON"}},
                          TargetParameters={"InputTemplate": '{"id": <$.eventID>}',
                                            "KinesisStreamParameters": {"PartitionKey": "x"}})
    described = rig.wait_state("RUNNING")
    assert "InputTemplate" in described["StateReason"]
    rig.put("1", qty=1)
    after_polls(_runner(rig.cloud))  # the runner looked again: it must not deliver untransformed events
    assert rig.landed() == []


def test_binary_attributes_reach_kinesis_base64_encoded_and_the_pipe_moves_on(rig) -> None:
    rig.create_pipe()
    rig.ddb.put_item(TableName=rig.table, Item={"orderid": {"S": "bin"}, "blob": {"B": b"\x00\xff"},
                                                "blobs": {"BS": [b"\x01", b"\x02"]}})
    rig.put("after", qty=1)  # a record behind the binary one: it lands only if the pipe did not stall
    landed = rig.wait_landed(2)
    assert {pk for pk, _ in landed} == {"bin", "after"}
    (event,) = rig.by_key()["bin"]
    image = event["dynamodb"]["NewImage"]
    assert image["blob"] == {"B": "AP8="}  # base64 of 00 ff, as Pipes puts a Binary in the event
    assert sorted(image["blobs"]["BS"]) == ["AQ==", "Ag=="]
    assert rig.describe().get("StateReason") is None


def test_filter_criteria_pass_only_matching_records_and_still_advance(rig) -> None:
    rig.pipes.create_pipe(  # FilterCriteria sits beside DynamoDBStreamParameters, not inside it
        Name=rig.pipe, RoleArn=ROLE, Source=rig.stream_arn, Target=rig.kinesis_arn,
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON"},
                          "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"eventName": ["MODIFY"]})}]}},
        TargetParameters={"KinesisStreamParameters": {"PartitionKey": "$.dynamodb.Keys.orderid.S"}},
    )
    rig.wait_state("RUNNING")
    rig.put("1", qty=1)
    rig.put("1", qty=2)
    rig.delete("1")
    rig.put("2", qty=1)
    rig.put("2", qty=5)
    landed = rig.wait_landed(2)
    health = eventually(lambda: (h := _runner(rig.cloud).health()["pipes"][rig.pipe])["records_filtered_out"] == 3
                        and h, "the three other records to be filtered out")
    assert [e["eventName"] for _, e in landed] == ["MODIFY", "MODIFY"]
    assert sorted(_image_values([e for _, e in landed])) == ["2", "5"]
    (shard,) = health["shards"].values()
    assert shard["pending_records"] == 0  # the filtered records' positions were acknowledged too


def test_invalid_filter_pattern_is_a_validation_error(rig) -> None:
    with pytest.raises(rig.pipes.exceptions.ValidationException, match="FilterCriteria"):
        rig.pipes.create_pipe(
            Name=rig.pipe, RoleArn=ROLE, Source=rig.stream_arn, Target=rig.kinesis_arn,
            SourceParameters={"FilterCriteria": {"Filters": [{"Pattern": "{not json"}]}},
        )


def test_stream_parameters_outside_their_range_are_refused_in_aws_words(rig) -> None:
    """AWS refuses MaximumRecordAgeInSeconds over 604800 and the like (PipeSourceDynamoDBStreamParameters'
    valid ranges); boto3 checks only minimums itself, so a raw client sends the rest."""
    import botocore.config

    raw = client(rig.cloud, "pipes", config=botocore.config.Config(parameter_validation=False))
    with pytest.raises(rig.pipes.exceptions.ValidationException) as refused:
        raw.create_pipe(Name=rig.pipe, RoleArn=ROLE, Source=rig.stream_arn, Target=rig.kinesis_arn,
                        SourceParameters={"DynamoDBStreamParameters": {
                            "StartingPosition": "LATEST", "MaximumRecordAgeInSeconds": 604801,
                            "MaximumRetryAttempts": -2, "BatchSize": 10000}})
    assert refused.value.response["Error"]["Message"] == (
        "2 validation errors detected: Value '604801' at 'sourceParameters.dynamoDBStreamParameters."
        "maximumRecordAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to "
        "604800; Value '-2' at 'sourceParameters.dynamoDBStreamParameters.maximumRetryAttempts' failed to "
        "satisfy constraint: Member must have value greater than or equal to -1")
    with pytest.raises(rig.pipes.exceptions.NotFoundException):
        rig.pipes.describe_pipe(Name=rig.pipe)  # nothing was made
    rig.pipes.create_pipe(Name=rig.pipe, RoleArn=ROLE, Source=rig.stream_arn, Target=rig.kinesis_arn,
                          SourceParameters={"DynamoDBStreamParameters": {
                              "StartingPosition": "LATEST", "MaximumRecordAgeInSeconds": 604800,
                              "MaximumRetryAttempts": 10000}})  # the bounds themselves are valid
    with pytest.raises(rig.pipes.exceptions.ValidationException, match="less than or equal to 10$"):
        raw.update_pipe(Name=rig.pipe, RoleArn=ROLE, SourceParameters={
            "DynamoDBStreamParameters": {"ParallelizationFactor": 11}})


def test_maximum_retry_attempts_gives_up_on_a_bad_record_and_moves_on(rig) -> None:
    rig.create_pipe(partition_key="$.dynamodb.NewImage.orderid.S", BatchSize=1, MaximumRetryAttempts=1)
    rig.put("1", qty=1)
    rig.delete("1")  # a REMOVE has no NewImage: its partition key matches nothing
    rig.put("2", qty=1)
    landed = rig.wait_landed(2)
    assert [pk for pk, _ in landed if pk == "1"] == ["1"] and {pk for pk, _ in landed} == {"1", "2"}
    assert all(e["eventName"] == "INSERT" for _, e in landed)
    assert _runner(rig.cloud).health()["pipes"][rig.pipe]["records_dropped"] == 1


def _dead_letter_queue(rig) -> tuple[str, str]:
    """A fresh SQS queue for the rig's pipe: (url, arn)."""
    sqs = client(rig.cloud, "sqs")
    url = sqs.create_queue(QueueName=f"{rig.pipe}-dlq")["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _dead_letters(rig, url: str, count: int) -> list[dict[str, Any]]:
    sqs = client(rig.cloud, "sqs")
    got: list[dict[str, Any]] = []

    def receive() -> bool:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(got) >= count

    eventually(receive, f"{count} dead letters")
    return got


def _stream_records(rig) -> list[dict[str, Any]]:
    """Every record of the rig's DynamoDB stream, as GetRecords returns it."""
    streams = client(rig.cloud, "dynamodbstreams")
    out = []
    for shard in streams.describe_stream(StreamArn=rig.stream_arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=rig.stream_arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            resp = streams.get_records(ShardIterator=it)
            out.extend(dict(r, shardId=shard["ShardId"]) for r in resp["Records"])
            if not resp["Records"]:
                break
            it = resp.get("NextShardIterator")
    return out


def test_a_record_kinesis_refuses_is_bisected_out_to_the_dead_letter_queue_and_the_rest_flows_in_order(rig) -> None:
    url, arn = _dead_letter_queue(rig)
    too_long = "x" * 300  # a valid DynamoDB key, but Kinesis takes partition keys of at most 256 characters
    for orderid, qty in (("a", 1), ("b", 1), (too_long, 1), ("a", 2), ("b", 2), ("c", 1)):
        rig.put(orderid, qty=qty)  # boto3 straight to DynamoDB: no validation of the app in the way
    rig.create_pipe(BatchSize=10, MaximumRetryAttempts=2, OnPartialBatchItemFailure="AUTOMATIC_BISECT",
                    DeadLetterConfig={"Arn": arn})
    (letter,) = _dead_letters(rig, url, 1)
    rig.wait_landed(5)
    after_polls(rig.worker())
    keys = rig.by_key()
    assert too_long not in keys
    assert {k: _image_values(v) for k, v in keys.items()} == {"a": ["1", "2"], "b": ["1", "2"], "c": ["1"]}
    bad = next(r for r in _stream_records(rig) if r["dynamodb"]["Keys"]["orderid"]["S"] == too_long)
    # Only where the record is, as AWS sends it for a stream source: never the record itself.
    assert set(letter) == {"context", "version", "timestamp", "DDBStreamBatchInfo"}
    assert letter["context"] == {"partnerResourceArn": rig.describe()["Arn"], "condition": "RetryAttemptsExhausted"}
    assert letter["version"] == "1.0"
    arrived = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(bad["dynamodb"]["ApproximateCreationDateTime"].timestamp()))
    assert letter["DDBStreamBatchInfo"] == {
        "shardId": bad["shardId"], "startSequenceNumber": bad["dynamodb"]["SequenceNumber"],
        "endSequenceNumber": bad["dynamodb"]["SequenceNumber"], "approximateArrivalOfFirstRecord": arrived,
        "approximateArrivalOfLastRecord": arrived, "batchSize": 1, "streamArn": rig.stream_arn}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", letter["timestamp"])
    health = _runner(rig.cloud).health()["pipes"][rig.pipe]
    assert (health["records_dead_lettered"], health["records_dropped"], health["dead_letter_queue"]) == (1, 0, arn)
    assert rig.describe()["CurrentState"] == "RUNNING"
    rig.put("d", qty=1)  # and the shard keeps moving
    assert "d" in {pk for pk, _ in rig.wait_landed(6)}


def test_without_a_dead_letter_queue_a_refused_record_is_dropped_after_the_retries(rig) -> None:
    rig.create_pipe(BatchSize=1, MaximumRetryAttempts=1)
    rig.put("1", qty=1)
    rig.put("y" * 257, qty=1)
    rig.put("2", qty=1)
    assert {pk for pk, _ in rig.wait_landed(2)} == {"1", "2"}
    health = eventually(lambda: (h := _runner(rig.cloud).health()["pipes"][rig.pipe])["records_dropped"] and h,
                        "the refused record dropped")
    assert (health["records_dropped"], health["records_dead_lettered"]) == (1, 0)
    assert rig.describe()["CurrentState"] == "RUNNING"


def test_a_dead_letter_queue_that_is_gone_keeps_the_records_until_it_is_back(rig) -> None:
    url, arn = _dead_letter_queue(rig)
    sqs = client(rig.cloud, "sqs")
    sqs.delete_queue(QueueUrl=url)
    rig.create_pipe(BatchSize=1, MaximumRetryAttempts=0, DeadLetterConfig={"Arn": arn})
    rig.put("z" * 300, qty=1)
    rig.put("1", qty=1)
    eventually(lambda: "did not take the message" in (rig.describe().get("StateReason") or ""),
               "StateReason about the dead-letter queue")
    assert rig.landed() == []  # the shard waits: the record after it is not let past
    url = sqs.create_queue(QueueName=f"{rig.pipe}-dlq")["QueueUrl"]
    (letter,) = _dead_letters(rig, url, 1)
    assert letter["DDBStreamBatchInfo"]["batchSize"] == 1
    assert [pk for pk, _ in rig.wait_landed(1)] == ["1"]


def test_constant_partition_key(rig) -> None:
    rig.create_pipe(partition_key="all-orders")
    rig.put("1", qty=1)
    rig.put("2", qty=1)
    assert {pk for pk, _ in rig.wait_landed(2)} == {"all-orders"}


def test_partition_key_path_that_matches_nothing_blocks_with_a_reason_until_fixed(rig) -> None:
    rig.create_pipe(partition_key="$.dynamodb.Keys.customer.S")
    rig.put("1", qty=1)
    reason = eventually(lambda: (rig.describe().get("StateReason") or "").find("matched nothing") >= 0
                        and rig.describe()["StateReason"], "StateReason about the partition key")
    assert "$.dynamodb.Keys.customer.S" in reason
    assert rig.landed() == []
    rig.pipes.update_pipe(Name=rig.pipe, RoleArn=ROLE,
                          TargetParameters={"KinesisStreamParameters": {"PartitionKey": "$.dynamodb.Keys.orderid.S"}})
    assert [pk for pk, _ in rig.wait_landed(1)] == ["1"]
    assert rig.wait_state("RUNNING").get("StateReason") is None


def test_missing_target_stream_shows_in_state_reason_and_resumes_without_loss(rig) -> None:
    rig.create_pipe()
    rig.put("1", qty=1)
    rig.wait_landed(1)
    rig.kinesis.delete_stream(StreamName=rig.stream)
    rig.put("1", qty=2)
    rig.put("2", qty=1)
    described = eventually(lambda: "Target stream not found" in (rig.describe().get("StateReason") or "")
                           and rig.describe(), "StateReason 'Target stream not found'")
    assert described["CurrentState"] == "RUNNING"  # AWS keeps the pipe running and retrying
    health = _runner(rig.cloud).health()["pipes"][rig.pipe]
    assert "Target stream not found" in health["last_error"]
    rig.create_stream()
    landed = rig.wait_landed(2)
    after_polls(rig.worker())
    keys = rig.by_key()
    assert _image_values(keys["1"]) == ["2"]  # the record from before the deletion went with the old stream
    assert _image_values(keys["2"]) == ["1"]
    assert len(landed) == 2
    eventually(lambda: rig.describe().get("StateReason") is None, "StateReason cleared after recovery")


def test_partial_put_records_failure_retries_only_the_rejected_records_in_key_order(cloud, rig) -> None:
    calls: list[list[str]] = []

    def seam(target) -> None:
        if target.pipe_name != rig.pipe:
            return
        real = target.put_records

        def flaky(**kwargs):
            keys = [r["PartitionKey"] for r in kwargs["Records"]]
            calls.append(keys)
            if len(calls) == 1:
                # Reject the first record of key "A" (and "C"); Kinesis takes the rest of the call.
                reject = {i for i, k in enumerate(keys) if k in ("A", "C")}
                accepted = [r for i, r in enumerate(kwargs["Records"]) if i not in reject]
                real_out = real(StreamARN=kwargs["StreamARN"], Records=accepted) if accepted else {"Records": []}
                it = iter(real_out["Records"])
                results = [
                    {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"}
                    if i in reject else next(it)
                    for i in range(len(keys))
                ]
                return {"FailedRecordCount": len(reject), "Records": results}
            return real(**kwargs)

        target.put_records = flaky

    runner = _runner(cloud)
    runner.on_target_created = seam
    try:
        for key in ("A", "B", "C"):
            for qty in (1, 2, 3):
                rig.put(key, qty=qty)
        rig.create_pipe(BatchSize=100)
        rig.wait_landed(9)
    finally:
        runner.on_target_created = None
    after_polls(rig.worker())
    keys = rig.by_key()
    for key in ("A", "B", "C"):
        assert _image_values(keys[key]) == ["1", "2", "3"], key  # all there, once, in order
    # No call ever carried two records of one key, so a rejected record never let a later one pass it.
    assert all(len(c) == len(set(c)) for c in calls)


def test_deleting_a_pipe_stops_it_and_forgets_its_position(cloud, rig) -> None:
    runner = _runner(cloud)
    rig.create_pipe()
    rig.put("1", qty=1)
    rig.wait_landed(1)
    key = next(k for k, w in runner.workers.items() if w.snapshot.name == rig.pipe)
    assert runner.checkpoints.get(key) is not None
    deleted = rig.pipes.delete_pipe(Name=rig.pipe)
    assert deleted["CurrentState"] == "DELETING"
    eventually(lambda: rig.pipe not in runner.health()["pipes"], "worker stopped")
    assert runner.checkpoints.get(key) is None
    rig.put("2", qty=1)
    after_polls(runner)  # the runner looked again and started no worker
    assert len(rig.landed()) == 1
    with pytest.raises(rig.pipes.exceptions.NotFoundException):
        rig.describe()


def test_a_new_runner_resumes_from_the_persisted_position_without_loss(cloud, rig) -> None:
    """Two batches acknowledged, the third half-written when the runner dies: a new runner re-sends the third only."""
    from botocore.exceptions import ClientError

    old = _runner(cloud)
    calls = 0
    half_written: list[str] = []

    def seam(target) -> None:
        real = target.put_records

        def dying(**kwargs):
            nonlocal calls
            calls += 1
            if calls <= 2:
                return real(**kwargs)
            if calls == 3:  # Kinesis takes the first two records of the call, rejects the rest
                taken = kwargs["Records"][:2]
                half_written.extend(json.loads(r["Data"])["eventID"] for r in taken)
                results = real(StreamARN=kwargs["StreamARN"], Records=taken)["Records"]
                results += [{"ErrorCode": "InternalFailure", "ErrorMessage": "boom"}] * (len(kwargs["Records"]) - 2)
                return {"FailedRecordCount": len(kwargs["Records"]) - 2, "Records": results}
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "PutRecords")

        target.put_records = dying

    for i in range(40):
        rig.put(f"k{i % 5}", qty=i)  # five keys: one PutRecords call per batch
    old.on_target_created = seam
    try:
        rig.create_pipe(BatchSize=5)
        eventually(lambda: calls >= 4, "the third batch to be half written and the target down")
        old.stop()  # dies mid-batch: only the first two batches were acknowledged
    finally:
        old.on_target_created = None
    assert len(rig.landed()) == 12
    fresh = PipesRunner(cloud.plane, cloud.data_dir, store=old.store, max_backoff_s=0.2)  # reads positions from disk
    cloud.runners[cloud.runners.index(old)] = fresh
    fresh.start()
    try:
        for i in range(40, 50):
            rig.put(f"k{i % 5}", qty=i)  # five keys: one PutRecords call per batch
        eventually(lambda: len({e["eventID"] for _, e in rig.landed()}) >= 50, "all 50 records")
        after_polls(rig.worker())
        landed = rig.landed()
        ids = [e["eventID"] for _, e in landed]
        assert len(set(ids)) == 50  # nothing lost
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        assert duplicated == sorted(half_written)  # only the unacknowledged batch's records came twice
        for key, events in rig.by_key().items():
            values = [int(v) for v in _image_values(events)]
            deduped = [v for i, v in enumerate(values) if v not in values[:i]]
            assert deduped == sorted(deduped), key
    finally:
        rig.close()
        fresh.stop()
        cloud.runners[cloud.runners.index(fresh)] = old
        old.start()


def test_health_reports_state_position_lag_and_metrics_are_published(cloud, rig) -> None:
    rig.create_pipe()
    rig.put("1", qty=1)
    rig.wait_landed(1)
    health = eventually(lambda: (h := _runner(cloud).health()["pipes"].get(rig.pipe)) and h["records_delivered"]
                        and h, "health to show the delivery")
    assert health["state"] == "RUNNING"
    assert health["lag_ms"] >= 0
    (shard,) = health["shards"].values()
    assert shard["position"] == rig.landed()[0][1]["dynamodb"]["SequenceNumber"]
    cw = client(cloud, "cloudwatch")

    def metric_names(namespace: str, dims: list[dict[str, str]]) -> set[str]:
        return {m["MetricName"] for m in cw.list_metrics(Namespace=namespace, Dimensions=dims)["Metrics"]}

    # Metrics are flushed in batches: wait for the ones this test is about, not just any.
    kinesis = eventually(lambda: (names := metric_names("AWS/Kinesis", [{"Name": "StreamName", "Value": rig.stream}]))
                         and "IncomingRecords" in names and names, "Kinesis IncomingRecords")
    assert "IncomingRecords" in kinesis
    wanted = {"Invocations", "EventCount", "Duration"}
    pipes = eventually(lambda: (names := metric_names("AWS/EventBridge/Pipes", [{"Name": "PipeName", "Value": rig.pipe}]))
                       and wanted <= names and names, "Pipes metrics")
    assert wanted <= pipes


def test_maximum_record_age_sends_older_records_to_the_dead_letter_queue_and_minus_1_keeps_them_all(cloud, rig) -> None:
    """MaximumRecordAgeInSeconds: "Discard records older than the specified age. The default value is -1,
    which sets the maximum age to infinite" (Pipes API reference, PipeSourceDynamoDBStreamParameters).
    Discarded records of a stream source go to the DeadLetterConfig queue as batch info (condition
    MaximumRecordAgeExceeded), or are dropped without one; younger records flow on."""
    max_age = 8  # long enough that a record written after the pipe started is delivered younger than it
    unlimited, no_queue = Rig(cloud), Rig(cloud)
    try:
        for r in (rig, unlimited, no_queue):
            r.put("old-1", qty=1)
            r.put("old-2", qty=1)
        written = [rec["dynamodb"]["ApproximateCreationDateTime"].timestamp() for rec in _stream_records(rig)]
        eventually(lambda: time.time() - max(written) > max_age + 1, f"the records to be older than {max_age} s",
                   timeout=max_age + 60, interval=0.2)
        url, arn = _dead_letter_queue(rig)
        rig.create_pipe(BatchSize=10, MaximumRecordAgeInSeconds=max_age, DeadLetterConfig={"Arn": arn})
        unlimited.create_pipe(BatchSize=10, MaximumRecordAgeInSeconds=-1)
        no_queue.create_pipe(BatchSize=10, MaximumRecordAgeInSeconds=max_age)
        for r in (rig, unlimited, no_queue):
            r.put("new", qty=1)

        (letter,) = _dead_letters(rig, url, 1)
        assert letter["context"]["condition"] == "MaximumRecordAgeExceeded"
        old = [r for r in _stream_records(rig) if r["dynamodb"]["Keys"]["orderid"]["S"].startswith("old-")]
        batch = letter["DDBStreamBatchInfo"]
        assert (batch["startSequenceNumber"], batch["endSequenceNumber"], batch["batchSize"]) == (
            old[0]["dynamodb"]["SequenceNumber"], old[-1]["dynamodb"]["SequenceNumber"], 2)
        assert [pk for pk, _ in rig.wait_landed(1)] == ["new"]
        assert sorted(pk for pk, _ in unlimited.wait_landed(3)) == ["new", "old-1", "old-2"]  # -1: never too old
        assert [pk for pk, _ in no_queue.wait_landed(1)] == ["new"]
        after_polls(rig.worker(), no_queue.worker())
        assert [pk for pk, _ in rig.landed()] == ["new"] and [pk for pk, _ in no_queue.landed()] == ["new"]
        health = _runner(cloud).health()["pipes"]
        assert (health[rig.pipe]["records_dead_lettered"], health[rig.pipe]["records_dropped"]) == (2, 0)
        assert (health[no_queue.pipe]["records_dead_lettered"], health[no_queue.pipe]["records_dropped"]) == (0, 2)
        assert health[unlimited.pipe]["records_dropped"] == health[unlimited.pipe]["records_dead_lettered"] == 0
    finally:
        unlimited.close()
        no_queue.close()

"""The Kinesis side of a pipe: the stream's own metrics and atomic writes (localcloud.kinesis), and the
ordering rule of the pipe's PutRecords calls (localcloud.pipes.kinesis_target), over HTTP where it matters."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from localcloud.pipes.exceptions import RecordTransformError
from localcloud.pipes.kinesis_target import MAX_RECORDS_PER_CALL, OutgoingRecord, PartitionKey, _next_call
from tests.support.aws import client as _client
from tests.support.waiting import eventually


def test_concurrent_writers_never_overwrite_each_other(cloud) -> None:
    kinesis = _client(cloud, "kinesis")
    kinesis.create_stream(StreamName="busy", ShardCount=1)

    def writer(n: int) -> None:
        client = _client(cloud, "kinesis")
        for i in range(25):
            client.put_record(StreamName="busy", PartitionKey=f"w{n}", Data=f"{n}-{i}".encode())

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shard = kinesis.describe_stream(StreamName="busy")["StreamDescription"]["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName="busy", ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = kinesis.get_records(ShardIterator=it["ShardIterator"], Limit=10000)["Records"]
    assert sorted(r["Data"].decode() for r in records) == sorted(f"{n}-{i}" for n in range(6) for i in range(25))
    assert len({r["SequenceNumber"] for r in records}) == 150


def test_the_stream_publishes_incoming_and_get_records_metrics_for_any_client(cloud) -> None:
    kinesis = _client(cloud, "kinesis")
    kinesis.create_stream(StreamName="metered", ShardCount=1)
    kinesis.put_records(StreamName="metered", Records=[{"Data": b"abc", "PartitionKey": "k"}] * 3)
    kinesis.put_record(StreamName="metered", Data=b"de", PartitionKey="k")
    shard = kinesis.describe_stream(StreamName="metered")["StreamDescription"]["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName="metered", ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert len(kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"]) == 4
    cw = _client(cloud, "cloudwatch")
    now = dt.datetime.now(dt.timezone.utc)

    def total(metric: str) -> float:
        points = cw.get_metric_statistics(
            Namespace="AWS/Kinesis", MetricName=metric, Dimensions=[{"Name": "StreamName", "Value": "metered"}],
            StartTime=now - dt.timedelta(minutes=5), EndTime=now + dt.timedelta(minutes=5), Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        return sum(p["Sum"] for p in points)

    eventually(lambda: total("OutgoingRecords") >= 4, "OutgoingRecords", timeout=30, interval=0.2)  # flushed ~1/s
    assert total("IncomingRecords") == 4  # once: by moto where it publishes it, else by us
    # AWS documents "bytes successfully put" without saying whether partition keys count; ours counts
    # the data (3*3 + 2 = 11), moto 5.2.5+ adds the keys (+4 = 15). Either way it is counted once.
    assert total("IncomingBytes") in (11, 15)
    assert total("PutRecords.SuccessfulRecords") == 3
    assert total("OutgoingRecords") == 4


def _rec(key: str, n: int, size: int = 10) -> OutgoingRecord:
    return OutgoingRecord(b"x" * size, key, str(n))


def test_a_put_records_call_carries_one_record_per_key_in_order_within_limits() -> None:
    pending = [_rec("A", 1), _rec("B", 2), _rec("A", 3), _rec("C", 4), _rec("B", 5)]
    assert [r.source_seq for r in _next_call(pending)] == ["1", "2", "4"]
    many = [_rec(f"k{i}", i) for i in range(MAX_RECORDS_PER_CALL + 20)]
    assert len(_next_call(many)) == MAX_RECORDS_PER_CALL
    # A record that does not fit blocks the later records of its own key, not of others.
    big = [_rec("A", 1, 3 * 1024 * 1024), _rec("B", 2, 3 * 1024 * 1024), _rec("B", 3), _rec("C", 4)]
    assert [r.source_seq for r in _next_call(big)] == ["1", "4"]


def test_partition_key_paths_constants_and_failures() -> None:
    event = {"eventID": "e1", "dynamodb": {"Keys": {"orderid": {"S": "42"}, "n": {"N": "7"}}}}
    assert PartitionKey("$.dynamodb.Keys.orderid.S").evaluate(event) == "42"
    assert PartitionKey("orders").evaluate(event) == "orders"
    assert PartitionKey("$.dynamodb.Keys.n").evaluate(event) == '{"N":"7"}'
    with pytest.raises(RecordTransformError, match="matched nothing"):
        PartitionKey("$.dynamodb.Keys.customer.S").evaluate(event)
    with pytest.raises(RecordTransformError, match="not a valid JSONPath"):
        PartitionKey("$.[[")

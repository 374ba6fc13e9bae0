"""Records expire like AWS's; iterators and numbering stay right after a trim; S3 bodies live on disk.

Trims run at a chosen "now" (RetentionTask.trim_once(now=...)) instead of waiting 24 hours; one test
lets the background task trim with a retention of a fraction of a second.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud import moto_patches
from localcloud.retention import RetentionTask
from localcloud.server import LocalCloud
from localcloud.testing import running_localcloud

REGION = "us-east-1"
DAY = 24 * 3600


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with running_localcloud(tmp_path_factory.mktemp("retention")) as c:
        yield c


def _client(cloud: LocalCloud, service: str):  # noqa: ANN202
    return boto3.client(service, endpoint_url=cloud.url, region_name=REGION)


def _table_with_stream(cloud: LocalCloud, name: str) -> str:
    ddb = _client(cloud, "dynamodb")
    desc = ddb.create_table(
        TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    return desc["LatestStreamArn"]


def _put(cloud: LocalCloud, table: str, key: str) -> None:
    _client(cloud, "dynamodb").put_item(TableName=table, Item={"id": {"S": key}})


def _read_all(streams, arn: str, iterator: str) -> tuple[list[dict], str | None]:  # noqa: ANN001
    records, nxt = [], iterator
    while nxt:
        resp = streams.get_records(ShardIterator=nxt)
        if not resp["Records"]:
            return records, resp.get("NextShardIterator")
        records += resp["Records"]
        nxt = resp.get("NextShardIterator")
    return records, nxt


def _horizon(streams, arn: str) -> str:  # noqa: ANN001
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    return streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]


def test_dynamodb_stream_records_expire_after_24_hours_and_iterators_say_so(cloud: LocalCloud) -> None:
    arn = _table_with_stream(cloud, "ret-ddb")
    streams = _client(cloud, "dynamodbstreams")
    _put(cloud, "ret-ddb", "a")
    between = time.time()
    _put(cloud, "ret-ddb", "b")
    old_iterator = _horizon(streams, arn)
    before, _ = _read_all(streams, arn, _horizon(streams, arn))
    seq_a, seq_b = (int(r["dynamodb"]["SequenceNumber"]) for r in before)

    cloud.retention.trim_once(now=between + DAY - 1)  # nothing is a day old yet
    assert len(_read_all(streams, arn, _horizon(streams, arn))[0]) == 2
    cloud.retention.trim_once(now=between + DAY)  # "a" is; "b" is not

    after, _ = _read_all(streams, arn, _horizon(streams, arn))
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in after] == ["b"]  # TRIM_HORIZON = oldest kept
    assert int(after[0]["dynamodb"]["SequenceNumber"]) == seq_b  # numbers do not move
    with pytest.raises(ClientError) as exc:
        streams.get_records(ShardIterator=old_iterator)  # it points at "a", which is gone
    assert exc.value.response["Error"]["Code"] == "TrimmedDataAccessException"
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    with pytest.raises(ClientError) as exc:
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
                                   SequenceNumber=str(seq_a))
    assert exc.value.response["Error"]["Code"] == "TrimmedDataAccessException"
    after_b = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                         SequenceNumber=str(seq_b))["ShardIterator"]

    cloud.retention.trim_once(now=time.time() + 2 * DAY)  # everything goes
    _put(cloud, "ret-ddb", "c")
    newest, _ = _read_all(streams, arn, _horizon(streams, arn))
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in newest] == ["c"]
    assert int(newest[0]["dynamodb"]["SequenceNumber"]) == seq_b + 1  # numbering goes on
    # An iterator issued before a trim that did not reach its position still reads on.
    resp = streams.get_records(ShardIterator=after_b)
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in resp["Records"]] == ["c"]


def _stream(cloud: LocalCloud, name: str) -> tuple[str, str]:
    kinesis = _client(cloud, "kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    return name, shard


def _kinesis_read(kinesis, name: str, shard: str, kind: str = "TRIM_HORIZON", **kw) -> list[dict]:  # noqa: ANN001
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType=kind, **kw)["ShardIterator"]
    return kinesis.get_records(ShardIterator=it)["Records"]


def test_kinesis_records_expire_after_the_streams_retention_period(cloud: LocalCloud) -> None:
    kinesis = _client(cloud, "kinesis")
    name, shard = _stream(cloud, "ret-kin")
    first = kinesis.put_record(StreamName=name, Data=b"a", PartitionKey="p")["SequenceNumber"]
    between = time.time()
    second = kinesis.put_record(StreamName=name, Data=b"b", PartitionKey="p")["SequenceNumber"]
    old_iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

    cloud.retention.trim_once(now=between + DAY)
    assert [r["Data"] for r in _kinesis_read(kinesis, name, shard)] == [b"b"]
    # An iterator behind the trim horizon reads on from the oldest record kept.
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=old_iterator)["Records"]] == [b"b"]
    assert [r["Data"] for r in _kinesis_read(kinesis, name, shard, "AT_SEQUENCE_NUMBER",
                                             StartingSequenceNumber=first)] == [b"b"]

    cloud.retention.trim_once(now=time.time() + 2 * DAY)  # the shard is empty now
    assert _kinesis_read(kinesis, name, shard) == []
    third = kinesis.put_record(StreamName=name, Data=b"c", PartitionKey="p")["SequenceNumber"]
    assert int(third) > int(second)  # numbering never restarts
    latest = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    assert kinesis.get_records(ShardIterator=latest)["Records"] == []
    fourth = kinesis.put_records(StreamName=name, Records=[{"Data": b"d", "PartitionKey": "p"}])
    assert int(fourth["Records"][0]["SequenceNumber"]) > int(third)
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=latest)["Records"]] == [b"d"]


def test_kinesis_honours_increase_stream_retention_period(cloud: LocalCloud) -> None:
    kinesis = _client(cloud, "kinesis")
    name, shard = _stream(cloud, "ret-kin-48")
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    kinesis.put_record(StreamName=name, Data=b"kept", PartitionKey="p")
    after = time.time()
    cloud.retention.trim_once(now=after + DAY + 60)
    assert [r["Data"] for r in _kinesis_read(kinesis, name, shard)] == [b"kept"]
    cloud.retention.trim_once(now=after + 2 * DAY + 60)
    assert _kinesis_read(kinesis, name, shard) == []


def test_the_background_task_trims_with_a_configured_retention(tmp_path: Path) -> None:
    from localcloud.testing import reset_moto

    reset_moto()
    cloud = LocalCloud(port=0, data_dir=tmp_path, start_runners=False, retention_seconds=0.5).start()
    try:
        assert cloud.retention.retention_seconds == 0.5
        kinesis = _client(cloud, "kinesis")
        name, shard = _stream(cloud, "ret-bg")
        kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="p")
        arn = _table_with_stream(cloud, "ret-bg")
        _put(cloud, "ret-bg", "x")
        streams = _client(cloud, "dynamodbstreams")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not _kinesis_read(kinesis, name, shard) and not _read_all(streams, arn, _horizon(streams, arn))[0]:
                break
            time.sleep(0.2)
        assert _kinesis_read(kinesis, name, shard) == []
        assert _read_all(streams, arn, _horizon(streams, arn))[0] == []
        assert cloud.retention.trimmed["kinesis"] >= 1 and cloud.retention.trimmed["dynamodb"] >= 1
    finally:
        cloud.stop()
        reset_moto()


def test_retention_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RetentionTask(retention_seconds=0)


def test_s3_object_bodies_live_in_files_under_the_data_dir(tmp_path: Path) -> None:
    from localcloud.testing import reset_moto

    reset_moto()  # its own cloud: the body directory is per process, set by the cloud started last
    cloud = LocalCloud(port=0, data_dir=tmp_path, start_runners=False).start()
    bodies = tmp_path / "tmp" / "s3-bodies"
    try:
        s3 = _client(cloud, "s3")
        s3.create_bucket(Bucket="ret-bodies")
        body = os.urandom(1024 * 1024)
        s3.put_object(Bucket="ret-bodies", Key="big", Body=body)
        s3.put_object(Bucket="ret-bodies", Key="small", Body=b"tiny")
        sizes = [f.stat().st_size for f in bodies.glob("body-*")]
        assert len(body) in sizes and 4 in sizes
        assert moto_patches.s3_body_in_memory_bytes() == 0
        assert s3.get_object(Bucket="ret-bodies", Key="big")["Body"].read() == body
        assert s3.get_object(Bucket="ret-bodies", Key="big", Range="bytes=10-19")["Body"].read() == body[10:20]
        s3.put_object(Bucket="ret-bodies", Key="big", Body=b"replaced")  # overwriting drops the old file
        s3.delete_object(Bucket="ret-bodies", Key="small")
        gc.collect()
        sizes = [f.stat().st_size for f in bodies.glob("body-*")]
        assert len(body) not in sizes and 4 not in sizes
        assert s3.get_object(Bucket="ret-bodies", Key="big")["Body"].read() == b"replaced"
        s3.copy_object(Bucket="ret-bodies", Key="copy", CopySource={"Bucket": "ret-bodies", "Key": "big"})
        assert s3.get_object(Bucket="ret-bodies", Key="copy")["Body"].read() == b"replaced"
    finally:
        cloud.stop()
        reset_moto()
    gc.collect()
    assert list(bodies.glob("body-*")) == []  # a reset cloud leaves no bodies behind


def test_cloudwatch_points_older_than_3_hours_roll_up_into_minutes_with_the_same_statistics(
        cloud: LocalCloud) -> None:
    import datetime as dt

    cloudwatch = _client(cloud, "cloudwatch")
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    old_minute = (now - dt.timedelta(hours=4)).replace(second=0)
    dims = [{"Name": "StreamName", "Value": "ret-cw"}]
    points = [(old_minute + dt.timedelta(seconds=s), v) for s, v in ((1, 4.0), (20, 1.0), (59, 10.0))]
    points += [(old_minute + dt.timedelta(minutes=1, seconds=5), 7.0)]  # the next minute
    recent = now - dt.timedelta(minutes=5)
    cloudwatch.put_metric_data(Namespace="Test/Retention", MetricData=[
        {"MetricName": "Records", "Value": v, "Unit": "Count", "Timestamp": t, "Dimensions": dims}
        for t, v in points] + [
        {"MetricName": "Records", "Value": 2.0, "Unit": "Count", "Timestamp": recent, "Dimensions": dims}])

    def stats(start: dt.datetime, end: dt.datetime) -> list[dict]:
        resp = cloudwatch.get_metric_statistics(
            Namespace="Test/Retention", MetricName="Records", Dimensions=dims, StartTime=start, EndTime=end,
            Period=60, Statistics=["Sum", "SampleCount", "Minimum", "Maximum", "Average"])
        return sorted(({k: v for k, v in p.items() if k != "Unit"} for p in resp["Datapoints"]),
                      key=lambda p: p["Timestamp"])

    old_window = (old_minute, old_minute + dt.timedelta(minutes=2))
    before = stats(*old_window)
    count_before = moto_patches.cloudwatch_point_count()
    rolled = cloud.retention.trim_once(now=now.timestamp())["cloudwatch"]
    assert rolled >= 4
    assert moto_patches.cloudwatch_point_count() <= count_before - 2  # 4 points became 2 minutes
    after = stats(*old_window)
    values = lambda points: [{k: v for k, v in p.items() if k != "Timestamp"} for p in points]  # noqa: E731
    assert values(after) == values(before)
    # moto starts its periods at the first point (11:06:01); the minutes start on the minute, as on AWS.
    assert [p["Timestamp"].second for p in after] == [0, 0]
    assert [(p["Sum"], p["SampleCount"], p["Minimum"], p["Maximum"]) for p in stats(*old_window)] == [
        (15.0, 3.0, 1.0, 10.0), (7.0, 1.0, 7.0, 7.0)]
    recent_stats = stats(recent - dt.timedelta(minutes=1), recent + dt.timedelta(minutes=1))
    assert [p["Sum"] for p in recent_stats] == [2.0]  # younger than 3 hours: untouched
    assert cloud.retention.trim_once(now=now.timestamp())["cloudwatch"] == 0  # rolled once, not again

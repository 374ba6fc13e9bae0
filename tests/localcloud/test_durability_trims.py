"""A retention trim is a logged change: after kill -9 the trimmed records stay gone.

A real `python -m localcloud` child runs with a short `--retention-seconds`, so its own
background task trims the first records; more are written, the server is killed with
SIGKILL, and restarted with AWS's default 24-hour retention (which would keep every record
a replay brought back). The streams must then hold exactly what they held before the kill,
and iterators behave as AWS's do after a trim.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.support.processes import LocalCloudProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
RETENTION_S = 8  # long enough that the second batch is not trimmed before the kill, even on a busy box


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalCloudProcess]:
    proc = LocalCloudProcess(tmp_path / "data", REGION)
    yield proc
    proc.ensure_stopped()


def _stream_keys(server: LocalCloudProcess, arn: str) -> list[tuple[str, int]]:
    """(key, sequence number) of every record a TRIM_HORIZON reader gets from the table's stream."""
    streams = server.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    found = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator)
        if not page["Records"]:
            break
        found += [(r["dynamodb"]["Keys"]["id"]["S"], int(r["dynamodb"]["SequenceNumber"])) for r in page["Records"]]
        iterator = page.get("NextShardIterator")
    return found


def _kinesis_data(server: LocalCloudProcess, name: str) -> list[tuple[bytes, int]]:
    kinesis = server.client("kinesis")
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return [(r["Data"], int(r["SequenceNumber"])) for r in kinesis.get_records(ShardIterator=iterator)["Records"]]


def test_trimmed_records_stay_gone_after_kill_9_and_the_rest_is_there(server: LocalCloudProcess) -> None:
    server.start("--retention-seconds", str(RETENTION_S))
    ddb, kinesis = server.client("dynamodb"), server.client("kinesis")
    arn = ddb.create_table(
        TableName="trims", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    kinesis.create_stream(StreamName="trims", ShardCount=1)
    eventually(lambda: kinesis.describe_stream_summary(StreamName="trims")["StreamDescriptionSummary"][
        "StreamStatus"] == "ACTIVE", "the stream to be active")
    for key in ("old-1", "old-2"):
        ddb.put_item(TableName="trims", Item={"id": {"S": key}})
        kinesis.put_record(StreamName="trims", Data=key.encode(), PartitionKey="p")
    trimmed_ddb = _stream_keys(server, arn)
    trimmed_kinesis = _kinesis_data(server, "trims")
    eventually(lambda: not _stream_keys(server, arn) and not _kinesis_data(server, "trims"),
               "the background task to trim the first records", timeout=120, interval=0.5)
    for key in ("new-1", "new-2"):
        ddb.put_item(TableName="trims", Item={"id": {"S": key}})
        kinesis.put_record(StreamName="trims", Data=key.encode(), PartitionKey="p")
    kept_ddb, kept_kinesis = _stream_keys(server, arn), _kinesis_data(server, "trims")
    assert [k for k, _ in kept_ddb] == ["new-1", "new-2"]
    server.kill9()

    server.start()  # AWS's 24-hour retention: anything a replay brought back would stay
    assert _stream_keys(server, arn) == kept_ddb  # TRIM_HORIZON starts at the oldest record kept
    assert _kinesis_data(server, "trims") == kept_kinesis
    streams = server.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    with pytest.raises(ClientError) as exc:  # a trimmed number stays trimmed, as AWS answers it
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
                                   SequenceNumber=str(trimmed_ddb[0][1]))
    assert exc.value.response["Error"]["Code"] == "TrimmedDataAccessException"
    # Numbering goes on after the kept records, never reusing a trimmed number.
    ddb.put_item(TableName="trims", Item={"id": {"S": "after"}})
    assert _stream_keys(server, arn)[-1] == ("after", kept_ddb[-1][1] + 1)
    kinesis = server.client("kinesis")
    after = int(kinesis.put_record(StreamName="trims", Data=b"after", PartitionKey="p")["SequenceNumber"])
    assert after > kept_kinesis[-1][1] > trimmed_kinesis[-1][1]


def test_a_kinesis_shard_emptied_by_a_trim_numbers_on_after_kill_9(server: LocalCloudProcess) -> None:
    server.start("--retention-seconds", str(RETENTION_S))
    kinesis = server.client("kinesis")
    kinesis.create_stream(StreamName="emptied", ShardCount=1)
    eventually(lambda: kinesis.describe_stream_summary(StreamName="emptied")["StreamDescriptionSummary"][
        "StreamStatus"] == "ACTIVE", "the stream to be active")
    last = int(kinesis.put_record(StreamName="emptied", Data=b"x", PartitionKey="p")["SequenceNumber"])
    eventually(lambda: not _kinesis_data(server, "emptied"), "the trim", timeout=120, interval=0.5)
    server.kill9()

    server.start()
    assert _kinesis_data(server, "emptied") == []
    kinesis = server.client("kinesis")
    assert int(kinesis.put_record(StreamName="emptied", Data=b"y", PartitionKey="p")["SequenceNumber"]) > last

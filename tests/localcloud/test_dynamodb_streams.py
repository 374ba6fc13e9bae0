"""DynamoDB Streams over HTTP against a real local cloud: records as AWS writes and serves them.

Each case below is a place where moto alone differs from AWS (no-op writes,
region, timestamp precision, sizes, iterator errors).
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from botocore.exceptions import ClientError

from tests.support.aws import REGION, create_orders_table
from tests.support.aws import client as _client

_names = itertools.count()


@pytest.fixture
def table(cloud):
    """A fresh table with a NEW_AND_OLD_IMAGES stream; yields (dynamodb client, streams client, stream ARN)."""
    ddb, streams = _client(cloud, "dynamodb"), _client(cloud, "dynamodbstreams")
    name = f"orders{next(_names)}"
    desc = create_orders_table(ddb, name)
    yield name, ddb, streams, desc["LatestStreamArn"]
    ddb.delete_table(TableName=name)


def _all_records(streams, arn: str) -> list[dict]:
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return streams.get_records(ShardIterator=it)["Records"]


def test_records_carry_the_tables_region_whole_second_times_and_growing_long_sequence_numbers(table) -> None:
    name, ddb, streams, arn = table
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    ddb.put_item(TableName=name, Item={"orderid": {"S": "1"}, "price": {"N": "19.99"}})
    ddb.update_item(TableName=name, Key={"orderid": {"S": "1"}}, UpdateExpression="SET price = :p",
                    ExpressionAttributeValues={":p": {"N": "20.5"}})
    ddb.delete_item(TableName=name, Key={"orderid": {"S": "1"}})
    records = _all_records(streams, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    for r in records:
        assert r["awsRegion"] == REGION
        assert r["eventSource"] == "aws:dynamodb"
        assert r["eventVersion"] == "1.1"
        created = r["dynamodb"]["ApproximateCreationDateTime"]
        assert created.microsecond == 0  # AWS rounds down to the second
        assert before <= created <= dt.datetime.now(dt.timezone.utc)
        seq = r["dynamodb"]["SequenceNumber"]
        assert seq.isdigit() and 21 <= len(seq) <= 40
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert records[1]["dynamodb"]["OldImage"]["price"] == {"N": "19.99"}
    assert records[1]["dynamodb"]["NewImage"]["price"] == {"N": "20.5"}
    assert "NewImage" not in records[2]["dynamodb"]
    # SizeBytes is the keys plus images measured like DynamoDB items: names plus values, a number
    # 1 byte per two significant digits plus 1 (19.99: 3 bytes).
    insert = records[0]["dynamodb"]
    keys = len("orderid") + len("1")
    image = keys + len("price") + 3
    assert insert["SizeBytes"] == keys + image


def test_writes_that_change_nothing_write_no_record(table) -> None:
    name, ddb, streams, arn = table
    ddb.put_item(TableName=name, Item={"orderid": {"S": "7"}, "qty": {"N": "2"}, "tags": {"SS": ["a", "b"]}})
    # Same data again: equal numbers in another spelling, a set in another order.
    ddb.put_item(TableName=name, Item={"orderid": {"S": "7"}, "qty": {"N": "2.0"}, "tags": {"SS": ["b", "a"]}})
    ddb.update_item(TableName=name, Key={"orderid": {"S": "7"}}, UpdateExpression="SET qty = :q",
                    ExpressionAttributeValues={":q": {"N": "2"}})
    ddb.delete_item(TableName=name, Key={"orderid": {"S": "no-such-order"}})
    ddb.update_item(TableName=name, Key={"orderid": {"S": "7"}}, UpdateExpression="SET qty = :q",
                    ExpressionAttributeValues={":q": {"N": "3"}})
    assert [r["eventName"] for r in _all_records(streams, arn)] == ["INSERT", "MODIFY"]


def test_latest_and_after_sequence_number_iterators(table) -> None:
    name, ddb, streams, arn = table
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    ddb.put_item(TableName=name, Item={"orderid": {"S": "a"}})
    latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    assert streams.get_records(ShardIterator=latest)["Records"] == []
    ddb.put_item(TableName=name, Item={"orderid": {"S": "b"}})
    ddb.put_item(TableName=name, Item={"orderid": {"S": "c"}})
    got = streams.get_records(ShardIterator=latest, Limit=1)
    assert [r["dynamodb"]["Keys"]["orderid"]["S"] for r in got["Records"]] == ["b"]
    rest = streams.get_records(ShardIterator=got["NextShardIterator"])
    assert [r["dynamodb"]["Keys"]["orderid"]["S"] for r in rest["Records"]] == ["c"]
    after = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                       SequenceNumber=got["Records"][0]["dynamodb"]["SequenceNumber"])
    again = streams.get_records(ShardIterator=after["ShardIterator"])["Records"]
    assert [r["dynamodb"]["Keys"]["orderid"]["S"] for r in again] == ["c"]


def test_errors_are_awss_not_500s(table) -> None:
    name, ddb, streams, arn = table
    with pytest.raises(ClientError) as exc:
        streams.get_shard_iterator(StreamArn=arn, ShardId="shardId-00000000000000000000-00000000", ShardIteratorType="LATEST")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        streams.get_records(ShardIterator=arn + "|1|not-an-iterator")
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    missing = arn.replace(f"table/{name}/", "table/nosuchtable/")
    with pytest.raises(ClientError) as exc:
        streams.describe_stream(StreamArn=missing)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_deleted_tables_shard_closes_after_its_last_record(cloud) -> None:
    ddb, streams = _client(cloud, "dynamodb"), _client(cloud, "dynamodbstreams")
    arn = create_orders_table(ddb, "short_lived", stream="NEW_IMAGE")["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    ddb.put_item(TableName="short_lived", Item={"orderid": {"S": "x"}})
    open_read = streams.get_records(ShardIterator=it)
    assert len(open_read["Records"]) == 1 and "NextShardIterator" in open_read
    ddb.delete_table(TableName="short_lived")
    closed_read = streams.get_records(ShardIterator=open_read["NextShardIterator"])
    assert closed_read["Records"] == []
    assert "NextShardIterator" not in closed_read


def test_binary_values_travel_base64_encoded_as_on_aws(table) -> None:
    name, ddb, streams, arn = table
    item = {"orderid": {"S": "b1"}, "blob": {"B": b"\x00\xff"}, "blobs": {"BS": [b"\x01", b"\x02"]},
            "nested": {"M": {"inner": {"B": b"\x03"}}}, "listed": {"L": [{"B": b"\x04"}]}}
    ddb.put_item(TableName=name, Item=item)
    raw: list[bytes] = []
    streams.meta.events.register("before-parse.dynamodbstreams.GetRecords",
                                 lambda response_dict, **_: raw.append(response_dict["body"]))
    (record,) = _all_records(streams, arn)
    # boto3 decodes base64 back to the very bytes written; anything else (e.g. "b'\\x00\\xff'") fails to parse.
    image = record["dynamodb"]["NewImage"]
    assert image["blob"] == {"B": b"\x00\xff"}
    assert sorted(image["blobs"]["BS"]) == [b"\x01", b"\x02"]
    assert image["nested"] == {"M": {"inner": {"B": b"\x03"}}}
    assert image["listed"] == {"L": [{"B": b"\x04"}]}
    assert b'"blob": {"B": "AP8="}' in raw[0]

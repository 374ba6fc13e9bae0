"""End to end over HTTP: provision with infra, change orders in DynamoDB, read the exact lines in S3.

DynamoDB -> Streams -> Pipe -> Kinesis -> Firehose (+ the real transform Lambda) -> S3, all on a
real local cloud. Expected lines are built from the values written here plus the facts each stage
recorded on its own API (the DynamoDB stream's eventID/SequenceNumber/creation time, Kinesis's
arrival time), so a wrong mapping anywhere fails the test.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from localcloud.server import LocalCloud
from salescdc.clients import ClientFactory
from salescdc.contract import FIELD_NAMES, format_timestamp
from salescdc.settings import Settings
from tests.support.waiting import eventually


class Env:
    def __init__(self, cloud: LocalCloud):
        from salescdc.infra import ApplyOptions, provision

        self.cloud = cloud
        self.settings = Settings(endpoint_url=cloud.url, buffer_interval_s=0, buffer_size_mb=1)
        self.factory = ClientFactory(self.settings)
        provision(self.settings, self.factory,
                  options=ApplyOptions(poll_interval_s=0.1, timeout_s=120, role_propagation_s=5))
        self.table = self.factory.resource("dynamodb").Table(self.settings.table_name)
        self.s3 = self.factory.client("s3")
        self.kinesis = self.factory.client("kinesis")
        self.bucket = self.factory.bucket_name()

    def objects(self, prefix: str) -> dict[str, bytes]:
        listing = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])
        return {o["Key"]: self.s3.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read() for o in listing}

    def lines(self, prefix: str) -> list[bytes]:
        out = []
        for _, body in sorted(self.objects(prefix).items()):
            assert body.endswith(b"\n"), "every line is newline-terminated"
            out.extend(body.splitlines())
        return out

    def wait_for(self, predicate: Callable[[], Any], what: str, timeout: float = 90) -> Any:
        return eventually(predicate, what, timeout=timeout, interval=0.2,
                          context=lambda: f"health: {json.dumps(self.cloud.health(), default=str)}")

    def stream_facts(self) -> dict[str, dict[str, Any]]:
        """eventID -> what DynamoDB Streams and Kinesis recorded about that change."""
        ddb = self.factory.client("dynamodb")
        streams = self.factory.client("dynamodbstreams")
        stream_arn = ddb.describe_table(TableName=self.settings.table_name)["Table"]["LatestStreamArn"]
        facts: dict[str, dict[str, Any]] = {}
        for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
            it = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while it:
                resp = streams.get_records(ShardIterator=it)
                for rec in resp["Records"]:
                    facts[rec["eventID"]] = {"stream": rec}
                if not resp["Records"]:
                    break
                it = resp.get("NextShardIterator")
        for shard in self.kinesis.list_shards(StreamName=self.settings.stream_name)["Shards"]:
            it = self.kinesis.get_shard_iterator(StreamName=self.settings.stream_name, ShardId=shard["ShardId"],
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            for rec in self.kinesis.get_records(ShardIterator=it, Limit=10000)["Records"]:
                try:
                    event_id = json.loads(rec["Data"])["eventID"]
                except (ValueError, KeyError):
                    continue  # the poisoned record
                facts.setdefault(event_id, {})["kinesis"] = rec
        return facts

    def runner(self, name: str) -> Any:
        return next(r for r in self.cloud.runners if r.name == name)


@pytest.fixture(scope="module")
def env(cloud: LocalCloud) -> Env:
    return Env(cloud)


def expected_line(facts: dict[str, Any], op: str, image: dict[str, Any]) -> dict[str, Any]:
    stream, kinesis = facts["stream"], facts["kinesis"]
    created = stream["dynamodb"]["ApproximateCreationDateTime"].astimezone(dt.timezone.utc)
    arrived = kinesis["ApproximateArrivalTimestamp"].astimezone(dt.timezone.utc)
    return {
        "orderid": image["orderid"],
        "product_name": image["product_name"],
        "quantity": image["quantity"],
        "price": image["price"],
        "updated_at": None,
        "op": op,
        "is_deleted": op == "REMOVE",
        "event_id": stream["eventID"],
        "sequence_number": stream["dynamodb"]["SequenceNumber"],
        "event_time": format_timestamp(created),
        "arrival_time": format_timestamp(arrived),
        "extra": "{}",
    }


def today() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")


def test_inserts_updates_and_deletes_land_in_s3_as_exact_contract_lines(env: Env) -> None:
    laptop = {"orderid": "e2e-1", "product_name": "Laptop", "quantity": 2, "price": Decimal("193.72")}
    phone = {"orderid": "e2e-2", "product_name": "Phone", "quantity": 1, "price": Decimal("499.99")}
    env.table.put_item(Item=laptop)
    env.table.put_item(Item=phone)
    env.table.update_item(Key={"orderid": "e2e-1"}, UpdateExpression="SET quantity = :q",
                          ExpressionAttributeValues={":q": 3})
    env.table.delete_item(Key={"orderid": "e2e-2"})

    prefix = f"orders/dt={today()}/"
    raw = env.wait_for(lambda: (ls := [x for x in env.lines(prefix) if b'"e2e-' in x]) and len(ls) >= 4 and ls,
                       "4 lines in the lake")
    lines = [json.loads(x, parse_float=Decimal) for x in raw]
    assert [list(line) for line in lines] == [FIELD_NAMES] * 4, "fields in contract order"
    # decimals carry exactly the item's digits, never binary-float noise
    assert sum(b'"price":193.72,' in x or b'"price": 193.72,' in x for x in raw) == 2
    assert sum(b'"price":499.99,' in x or b'"price": 499.99,' in x for x in raw) == 2

    facts = env.stream_facts()
    by_key = {k: sorted((x for x in lines if x["orderid"] == k), key=lambda x: x["sequence_number"].zfill(40))
              for k in ("e2e-1", "e2e-2")}
    laptop_events = [facts[x["event_id"]] for x in by_key["e2e-1"]]
    phone_events = [facts[x["event_id"]] for x in by_key["e2e-2"]]
    assert by_key["e2e-1"] == [
        expected_line(laptop_events[0], "INSERT", laptop),
        expected_line(laptop_events[1], "MODIFY", dict(laptop, quantity=3)),
    ]
    # the delete carries the old image's values
    assert by_key["e2e-2"] == [
        expected_line(phone_events[0], "INSERT", phone),
        expected_line(phone_events[1], "REMOVE", phone),
    ]
    for line in lines:
        assert facts[line["event_id"]]["stream"]["eventName"] == line["op"]


def test_a_poisoned_kinesis_record_lands_under_processing_failed(env: Env) -> None:
    garbage = b"\x00\xffthis is not a stream record{"
    env.kinesis.put_record(StreamName=env.settings.stream_name, Data=garbage, PartitionKey="poison")
    prefix = f"errors/processing-failed/dt={today()}/"
    lines = env.wait_for(lambda: env.lines(prefix), "the error object")
    docs = [json.loads(x) for x in lines]
    poisoned = [d for d in docs if base64.b64decode(d["rawData"]) == garbage]
    assert len(poisoned) == 1
    doc = poisoned[0]
    assert set(doc) == {"attemptsMade", "arrivalTimestamp", "errorCode", "errorMessage", "attemptEndingTimestamp",
                        "rawData", "lambdaArn"}
    assert doc["errorCode"] == "Lambda.ProcessingFailedStatus"
    assert doc["lambdaArn"].endswith(f":function:{env.settings.lambda_name}")
    assert not any(b"this is not a stream record" in x for x in env.lines("orders/"))


def test_runners_restarted_mid_stream_lose_nothing(env: Env) -> None:
    pipes, firehose = env.runner("pipes"), env.runner("firehose")
    written = []
    for i in range(24):
        orderid = f"restart-{i:02d}"
        env.table.put_item(Item={"orderid": orderid, "product_name": "Tablet", "quantity": 1 + i % 5,
                                 "price": Decimal(f"{10 + i}.{i:02d}")})
        written.append(orderid)
        if i == 7:
            firehose.stop()  # mid-stream: the pipe keeps filling Kinesis
        if i == 13:
            pipes.stop()  # now DynamoDB Streams keeps the changes
        if i == 19:
            pipes.start()
            firehose.start()
    env.table.update_item(Key={"orderid": "restart-00"}, UpdateExpression="SET quantity = :q",
                          ExpressionAttributeValues={":q": 5})

    def delivered() -> list[dict[str, Any]]:
        return [json.loads(x, parse_float=Decimal) for x in env.lines("orders/") if b'"restart-' in x]

    env.wait_for(lambda: {x["orderid"] for x in delivered()} >= set(written)
                 and any(x["op"] == "MODIFY" for x in delivered()), "every change after the restart")
    lines = delivered()
    event_ids = {x["event_id"] for x in lines}
    facts = env.stream_facts()
    expected_ids = {eid for eid, f in facts.items()
                    if "stream" in f and f["stream"]["dynamodb"]["Keys"]["orderid"]["S"].startswith("restart-")}
    assert event_ids == expected_ids  # nothing lost, nothing invented
    assert len(expected_ids) == 25
    # redelivery is allowed only for what was in flight at a stop, never a wholesale replay
    assert len(lines) - len(event_ids) <= 12
    for line in lines:
        i = int(line["orderid"].split("-")[1])
        assert line["price"] == Decimal(f"{10 + i}.{i:02d}")

"""Pipeline health against a real local cloud: missing stages, CloudWatch metrics, the lake, failed records."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from salescdc.clients import ClientFactory
from salescdc.health import MISSING, OK, WARNING, fetch_metrics, pipeline_health
from salescdc.lake import decode_raw_data, lake_freshness, newest_objects, processing_failed_records
from salescdc.settings import Settings
from tests.support.aws import create_orders_table


@pytest.fixture
def env(cloud, request):
    # A bucket of its own per test, so tests never see each other's objects.
    settings = Settings(endpoint_url=cloud.url, bucket_name=f"lake-{request.node.name.replace('_', '-')[:40]}")
    factory = ClientFactory(settings)
    return settings, factory


def make_bucket(factory):
    factory.client("s3").create_bucket(
        Bucket=factory.bucket_name(), CreateBucketConfiguration={"LocationConstraint": factory.settings.region}
    )


def test_nothing_provisioned_reports_every_stage_missing(env):
    settings, factory = env
    stages = pipeline_health(settings, factory)
    assert [s.stage for s in stages] == [
        "DynamoDB stream", "Pipe", "Kinesis", "Lambda", "Firehose", "S3", "Glue", "Athena",
    ]
    for stage in stages:
        assert stage.status == MISSING, (stage.stage, stage.detail)
        assert "provision" in stage.detail.lower()


def test_table_with_stream_and_bucket_are_reported_with_state(env):
    settings, factory = env
    create_orders_table(factory.client("dynamodb"), settings.table_name)
    make_bucket(factory)
    try:
        by_stage = {s.stage: s for s in pipeline_health(settings, factory)}
        assert by_stage["DynamoDB stream"].state == "ENABLED" and by_stage["DynamoDB stream"].status == OK
        assert "NEW_AND_OLD_IMAGES" in by_stage["DynamoDB stream"].detail
        assert by_stage["S3"].status == WARNING and "no order objects yet" in by_stage["S3"].detail
    finally:
        factory.client("dynamodb").delete_table(TableName=settings.table_name)


def test_metrics_are_read_with_aws_names_and_statistics(env):
    settings, factory = env
    cloudwatch = factory.client("cloudwatch")
    now = dt.datetime.now(dt.timezone.utc)
    dims = [{"Name": "DeliveryStreamName", "Value": settings.firehose_name}]
    cloudwatch.put_metric_data(
        Namespace="AWS/Firehose",
        MetricData=[
            {"MetricName": "DeliveryToS3.Records", "Value": 5, "Unit": "Count", "Timestamp": now, "Dimensions": dims},
            {"MetricName": "DeliveryToS3.Records", "Value": 7, "Unit": "Count", "Timestamp": now, "Dimensions": dims},
            {"MetricName": "DeliveryToS3.DataFreshness", "Value": 3, "Unit": "Seconds", "Timestamp": now,
             "Dimensions": dims},
            {"MetricName": "DeliveryToS3.DataFreshness", "Value": 9, "Unit": "Seconds", "Timestamp": now,
             "Dimensions": dims},
        ],
    )
    # With a Kinesis source AWS publishes DataReadFromKinesisStream.Records; IncomingRecords is Direct PUT's
    # and must not be what "records in" shows.
    cloudwatch.put_metric_data(
        Namespace="AWS/Firehose",
        MetricData=[
            {"MetricName": "DataReadFromKinesisStream.Records", "Value": 6, "Unit": "Count", "Timestamp": now,
             "Dimensions": dims},
            {"MetricName": "IncomingRecords", "Value": 1000, "Unit": "Count", "Timestamp": now, "Dimensions": dims},
        ],
    )
    # Another stream's metrics must not leak into ours.
    cloudwatch.put_metric_data(
        Namespace="AWS/Firehose",
        MetricData=[{"MetricName": "DeliveryToS3.Records", "Value": 100, "Timestamp": now,
                     "Dimensions": [{"Name": "DeliveryStreamName", "Value": "other"}]}],
    )
    cloudwatch.put_metric_data(
        Namespace="AWS/Kinesis",
        MetricData=[{"MetricName": "IncomingRecords", "Value": 4, "Timestamp": now,
                     "Dimensions": [{"Name": "StreamName", "Value": settings.stream_name}]}],
    )
    metrics = fetch_metrics(settings, factory, window_s=300)
    assert metrics["Firehose"]["delivered"] == 12
    assert metrics["Firehose"]["freshness_s"] == 9
    assert metrics["Firehose"]["incoming"] == 6
    assert metrics["Kinesis"]["incoming"] == 4
    assert metrics["Lambda"]["invocations"] is None  # no data is not zero


def test_the_pipe_stage_shows_how_many_messages_wait_in_its_dead_letter_queue(env):
    settings, factory = env
    ddb, kinesis, sqs, pipes = (factory.client(n) for n in ("dynamodb", "kinesis", "sqs", "pipes"))
    stream_arn = create_orders_table(ddb, settings.table_name)["LatestStreamArn"]
    kinesis.create_stream(StreamName=settings.stream_name, ShardCount=1)
    target = kinesis.describe_stream_summary(StreamName=settings.stream_name)["StreamDescriptionSummary"]["StreamARN"]
    url = sqs.create_queue(QueueName="health-dlq")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pipes.create_pipe(Name=settings.pipe_name, RoleArn="arn:aws:iam::123456789012:role/pipe", Source=stream_arn,
                      Target=target, TargetParameters={"KinesisStreamParameters": {"PartitionKey": "$.eventID"}},
                      SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "LATEST",
                                                                     "DeadLetterConfig": {"Arn": queue_arn}}})
    try:
        pipe = next(s for s in pipeline_health(settings, factory) if s.stage == "Pipe")
        assert (pipe.dead_letter_queue, pipe.dead_letter_depth) == (queue_arn, 0)
        for n in range(2):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
        pipe = next(s for s in pipeline_health(settings, factory) if s.stage == "Pipe")
        assert pipe.dead_letter_depth == 2
        assert pipe.status == WARNING
        assert "2 failed batches in the dead-letter queue" in pipe.detail
        sqs.delete_queue(QueueUrl=url)
        pipe = next(s for s in pipeline_health(settings, factory) if s.stage == "Pipe")
        assert pipe.dead_letter_depth is None and "does not exist" in pipe.detail
    finally:
        pipes.delete_pipe(Name=settings.pipe_name)
        kinesis.delete_stream(StreamName=settings.stream_name)
        ddb.delete_table(TableName=settings.table_name)


def test_newest_objects_and_freshness_follow_the_newest_partition(env):
    settings, factory = env
    make_bucket(factory)
    s3, bucket = factory.client("s3"), factory.bucket_name()
    assert lake_freshness(settings, factory).newest_key is None
    s3.put_object(Bucket=bucket, Key="orders/dt=2020-01-01/old-1", Body=b'{"orderid":"1"}\n')
    s3.put_object(Bucket=bucket, Key="orders/dt=2020-01-02/new-1", Body=b'{"orderid":"2"}\n')
    s3.put_object(Bucket=bucket, Key="orders/dt=2020-01-02/new-2", Body=b'{"orderid":"3"}\n{"orderid":"4"}\n')
    s3.put_object(Bucket=bucket, Key="errors/processing-failed/dt=2020-01-02/e", Body=b"x")
    newest = newest_objects(settings, factory, limit=2)
    assert {o.key for o in newest} == {"orders/dt=2020-01-02/new-1", "orders/dt=2020-01-02/new-2"}
    assert all(o.size > 0 for o in newest)
    everything = newest_objects(settings, factory, limit=10)
    assert len(everything) == 3
    fresh = lake_freshness(settings, factory)
    assert fresh.newest_key.startswith("orders/dt=2020-01-02/") and fresh.age_s >= 0


def test_processing_failed_records_are_decoded(env):
    settings, factory = env
    make_bucket(factory)
    poisoned = b'{"not": "a stream record"}'
    lines = [
        {
            "attemptsMade": 1,
            "arrivalTimestamp": 1767225600000,
            "errorCode": "Lambda.ProcessingFailedStatus",
            "errorMessage": "not a DynamoDB stream record",
            "attemptEndingTimestamp": 1767225601000,
            "rawData": base64.b64encode(poisoned).decode(),
            "lambdaArn": "arn:aws:lambda:ap-south-1:123456789012:function:process-kinesis-firehose:$LATEST",
        },
        {"errorCode": "Lambda.ProcessingFailedStatus", "errorMessage": "bad", "rawData": base64.b64encode(b"\xff\xfe").decode()},
    ]
    factory.client("s3").put_object(
        Bucket=factory.bucket_name(),
        Key="errors/processing-failed/dt=2026-01-01/kinesis-to-s3-nrt-batch-1-2026-01-01-00-00-00-x",
        Body="".join(json.dumps(line) + "\n" for line in lines).encode(),
    )
    records = processing_failed_records(settings, factory)
    assert len(records) == 2
    first = next(r for r in records if r.attempts == 1)
    assert first.error_code == "Lambda.ProcessingFailedStatus"
    assert first.error_message == "not a DynamoDB stream record"
    assert json.loads(first.payload) == {"not": "a stream record"}
    assert first.arrival == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def test_decode_raw_data_handles_bad_base64():
    assert "not valid base64" in decode_raw_data("%%%")
    assert decode_raw_data(base64.b64encode(b"plain text").decode()) == "plain text"

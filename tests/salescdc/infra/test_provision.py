"""`up` against a real local cloud: exact configuration, idempotence, drift, teardown."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from salescdc.contract import COLUMNS
from salescdc.infra import ApplyOptions, ProgressEvent, ResourceError, inspect, provision, start_crawler, teardown
from salescdc.infra.model import DEFAULT_LAMBDA_SOURCE
from salescdc.infra.package import build_zip, code_sha256

ACCOUNT = "123456789012"
TAG = {"project": "sales-cdc"}


def _events() -> tuple[list[ProgressEvent], callable]:
    seen: list[ProgressEvent] = []
    return seen, seen.append


def test_up_creates_every_resource_with_the_declared_configuration(settings, factory, options) -> None:
    events, sink = _events()
    results = provision(settings, factory, sink, options=options)
    assert {r.action for r in results} == {"created"}
    assert len(results) == 28
    # every resource got checking -> creating -> ready, in that order
    for r in results:
        phases = [e.phase for e in events if (e.kind, e.name) == (r.kind, r.name)]
        assert phases == ["checking", "creating", "ready"], r

    c = factory.client
    bucket = f"sales-cdc-lake-{ACCOUNT}-ap-south-1"

    table = c("dynamodb").describe_table(TableName="OrdersRawTable")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "orderid", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "orderid", "AttributeType": "S"}]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert c("dynamodb").list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"] == [
        {"Key": "project", "Value": "sales-cdc"}]

    stream = c("kinesis").describe_stream_summary(StreamName="kinesisfor-sales-data")["StreamDescriptionSummary"]
    assert stream["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert c("kinesis").list_tags_for_stream(StreamName="kinesisfor-sales-data")["Tags"] == [
        {"Key": "project", "Value": "sales-cdc"}]
    stream_arn = stream["StreamARN"]

    s3 = c("s3")
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy["Statement"][0]["Effect"] == "Deny"
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (life,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert life["Filter"] == {"Prefix": "athena-results/"} and life["Expiration"] == {"Days": 7}
    assert life["Status"] == "Enabled"
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "project", "Value": "sales-cdc"}]
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "ap-south-1"

    iam = c("iam")
    for role, principal in [("process-kinesis-firehose-role", "lambda.amazonaws.com"),
                            ("kinesis-to-s3-nrt-batch-role", "firehose.amazonaws.com"),
                            ("sales-ingestion-dynamodb-to-kinesis-role", "pipes.amazonaws.com"),
                            ("Kinesis-s3-data-crawler-role", "glue.amazonaws.com")]:
        got = iam.get_role(RoleName=role)["Role"]
        assert got["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": principal}
        assert iam.list_role_tags(RoleName=role)["Tags"] == [{"Key": "project", "Value": "sales-cdc"}]
        (pname,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
        doc = iam.get_role_policy(RoleName=role, PolicyName=pname)["PolicyDocument"]
        assert all("*" not in a for s in doc["Statement"] for a in s["Action"])
    pipe_doc = iam.get_role_policy(RoleName="sales-ingestion-dynamodb-to-kinesis-role",
                                   PolicyName="sales-ingestion-dynamodb-to-kinesis-role-policy")["PolicyDocument"]
    assert {"Sid": "WriteTargetStream", "Effect": "Allow", "Action": ["kinesis:PutRecord", "kinesis:PutRecords"],
            "Resource": [stream_arn]} in pipe_doc["Statement"]

    fn = c("lambda").get_function(FunctionName="process-kinesis-firehose")
    cfg = fn["Configuration"]
    assert (cfg["Runtime"], cfg["Handler"], cfg["Timeout"], cfg["MemorySize"]) == (
        "python3.12", "handler.lambda_handler", 60, 256)
    assert cfg["Role"] == f"arn:aws:iam::{ACCOUNT}:role/process-kinesis-firehose-role"
    assert cfg["CodeSha256"] == code_sha256(build_zip(DEFAULT_LAMBDA_SOURCE))
    assert fn["Tags"] == TAG

    fh = c("firehose").describe_delivery_stream(DeliveryStreamName="kinesis-to-s3-nrt-batch")[
        "DeliveryStreamDescription"]
    assert fh["DeliveryStreamType"] == "KinesisStreamAsSource"
    assert fh["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"] == stream_arn
    ext = fh["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert ext["BucketARN"] == f"arn:aws:s3:::{bucket}"
    assert ext["Prefix"] == "orders/dt=!{timestamp:yyyy-MM-dd}/"
    assert ext["ErrorOutputPrefix"] == "errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"
    assert ext["BufferingHints"] == {"SizeInMBs": 1, "IntervalInSeconds": 0}  # local defaults
    (processor,) = ext["ProcessingConfiguration"]["Processors"]
    params = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    assert processor["Type"] == "Lambda"
    assert params == {"LambdaArn": cfg["FunctionArn"], "BufferSizeInMBs": "1", "BufferIntervalInSeconds": "0",
                      "NumberOfRetries": "3"}
    assert ext["CloudWatchLoggingOptions"] == {"Enabled": True,
                                               "LogGroupName": "/aws/kinesisfirehose/kinesis-to-s3-nrt-batch",
                                               "LogStreamName": "DestinationDelivery"}
    streams = c("logs").describe_log_streams(logGroupName="/aws/kinesisfirehose/kinesis-to-s3-nrt-batch")
    assert [s["logStreamName"] for s in streams["logStreams"]] == ["DestinationDelivery"]
    assert c("firehose").list_tags_for_delivery_stream(DeliveryStreamName="kinesis-to-s3-nrt-batch")["Tags"] == [
        {"Key": "project", "Value": "sales-cdc"}]

    pipe = c("pipes").describe_pipe(Name="sales-ingestion-dynamodb-to-kinesis")
    assert pipe["Source"] == table["LatestStreamArn"]
    assert pipe["SourceParameters"]["DynamoDBStreamParameters"]["StartingPosition"] == "LATEST"
    assert pipe["SourceParameters"]["DynamoDBStreamParameters"]["BatchSize"] == 100
    sqs = c("sqs")
    dlq_url = sqs.get_queue_url(QueueName="sales-ingestion-dynamodb-to-kinesis-dlq")["QueueUrl"]
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    assert (dlq["MessageRetentionPeriod"], dlq["SqsManagedSseEnabled"]) == ("1209600", "true")
    assert sqs.list_queue_tags(QueueUrl=dlq_url)["Tags"] == TAG
    source = pipe["SourceParameters"]["DynamoDBStreamParameters"]
    assert source["DeadLetterConfig"] == {"Arn": dlq["QueueArn"]}
    assert (source["MaximumRetryAttempts"], source["MaximumRecordAgeInSeconds"],
            source["OnPartialBatchItemFailure"]) == (3, 3600, "AUTOMATIC_BISECT")
    assert {"Sid": "SendToDeadLetterQueue", "Effect": "Allow", "Action": ["sqs:SendMessage"],
            "Resource": [dlq["QueueArn"]]} in pipe_doc["Statement"]
    assert pipe["Target"] == stream_arn
    assert pipe["TargetParameters"] == {"KinesisStreamParameters": {"PartitionKey": "$.dynamodb.Keys.orderid.S"}}
    assert pipe["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/sales-ingestion-dynamodb-to-kinesis-role"
    assert pipe["CurrentState"] == "RUNNING"
    assert pipe["Tags"] == TAG

    glue = c("glue")
    assert glue.get_tags(ResourceArn=f"arn:aws:glue:ap-south-1:{ACCOUNT}:database/cdc_data")["Tags"] == TAG
    gt = glue.get_table(DatabaseName="cdc_data", Name="order_changes")["Table"]
    sd = gt["StorageDescriptor"]
    assert [(col["Name"], col["Type"]) for col in sd["Columns"]] == [(n, t) for n, t, _ in COLUMNS]
    assert sd["Location"] == f"s3://{bucket}/orders/"
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert [(k["Name"], k["Type"]) for k in gt["PartitionKeys"]] == [("dt", "string")]
    assert {k: v for k, v in gt["Parameters"].items() if k.startswith(("projection", "storage"))} == {
        "projection.enabled": "true", "projection.dt.type": "date", "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": "2024-01-01,NOW", "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS", "storage.location.template": f"s3://{bucket}/orders/dt=${{dt}}"}
    assert glue.get_classifier(Name="read_json")["Classifier"]["JsonClassifier"]["JsonPath"] == "$"
    crawler = glue.get_crawler(Name="Kinesis-s3-data-crawler")["Crawler"]
    assert crawler["Targets"]["CatalogTargets"] == [{"DatabaseName": "cdc_data", "Tables": ["order_changes"]}]
    assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"}
    assert crawler["Classifiers"] == ["read_json"]
    assert json.loads(crawler["Configuration"])["CrawlerOutput"]["Tables"] == {"AddOrUpdateBehavior": "MergeNewColumns"}
    assert glue.get_tags(ResourceArn=f"arn:aws:glue:ap-south-1:{ACCOUNT}:crawler/Kinesis-s3-data-crawler")[
        "Tags"] == TAG

    wg = c("athena").get_work_group(WorkGroup="sales-cdc")["WorkGroup"]["Configuration"]
    assert wg["ResultConfiguration"]["OutputLocation"] == f"s3://{bucket}/athena-results/"
    assert wg["EnforceWorkGroupConfiguration"] is True
    assert wg["BytesScannedCutoffPerQuery"] == settings.athena_bytes_cutoff
    view = glue.get_table(DatabaseName="cdc_data", Name="orders_current")["Table"]
    assert view["TableType"] == "VIRTUAL_VIEW"

    assert start_crawler(settings, factory) in ("RUNNING", "READY", "STOPPING")


def test_second_up_changes_nothing_and_status_is_all_present(settings, factory, options) -> None:
    provision(settings, factory, options=options)
    events, sink = _events()
    again = provision(settings, factory, sink, options=options)
    assert {r.action for r in again} == {"unchanged"}
    assert {e.phase for e in events} == {"checking", "ready"}
    statuses = inspect(settings, factory, options=options)
    assert [(s.status, s.detail) for s in statuses if s.status != "present"] == []
    assert len(statuses) == 28


def test_drift_is_reported_then_converged(settings, factory, options, tmp_path: Path) -> None:
    provision(settings, factory, options=options)
    c = factory.client
    # 1. someone changes Firehose buffering in the console
    fh = c("firehose").describe_delivery_stream(DeliveryStreamName="kinesis-to-s3-nrt-batch")[
        "DeliveryStreamDescription"]
    c("firehose").update_destination(
        DeliveryStreamName="kinesis-to-s3-nrt-batch", CurrentDeliveryStreamVersionId=fh["VersionId"],
        DestinationId=fh["Destinations"][0]["DestinationId"],
        ExtendedS3DestinationUpdate={"BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 300}})
    # 2. a resource is deleted
    c("glue").delete_classifier(Name="read_json")
    # 3. someone shortens the dead-letter queue's retention
    dlq_url = c("sqs").get_queue_url(QueueName="sales-ingestion-dynamodb-to-kinesis-dlq")["QueueUrl"]
    c("sqs").set_queue_attributes(QueueUrl=dlq_url, Attributes={"MessageRetentionPeriod": "60"})
    # 4. the Lambda source changes
    source = tmp_path / "fn"
    shutil.copytree(DEFAULT_LAMBDA_SOURCE, source, ignore=shutil.ignore_patterns("__pycache__"))
    (source / "handler.py").write_text((source / "handler.py").read_text() + "\n# changed\n")
    changed = ApplyOptions(poll_interval_s=options.poll_interval_s, timeout_s=options.timeout_s,
                           role_propagation_s=options.role_propagation_s, lambda_source=source)

    status = {s.name: s for s in inspect(settings, factory, options=changed)}
    assert status["kinesis-to-s3-nrt-batch"].status == "drifted"
    assert "BufferingHints" in status["kinesis-to-s3-nrt-batch"].detail
    assert status["read_json"].status == "missing"
    assert status["process-kinesis-firehose"].status == "drifted"
    assert "CodeSha256" in status["process-kinesis-firehose"].detail
    assert status["sales-ingestion-dynamodb-to-kinesis-dlq"].status == "drifted"
    assert "Attributes.MessageRetentionPeriod" in status["sales-ingestion-dynamodb-to-kinesis-dlq"].detail

    results = {r.name: r.action for r in provision(settings, factory, options=changed)}
    assert results["kinesis-to-s3-nrt-batch"] == "updated"
    assert results["read_json"] == "created"
    assert results["process-kinesis-firehose"] == "updated"
    assert results["sales-ingestion-dynamodb-to-kinesis-dlq"] == "updated"
    assert sum(a == "unchanged" for a in results.values()) == 24
    assert c("sqs").get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["MessageRetentionPeriod"])[
        "Attributes"]["MessageRetentionPeriod"] == "1209600"

    ext = c("firehose").describe_delivery_stream(DeliveryStreamName="kinesis-to-s3-nrt-batch")[
        "DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert ext["BufferingHints"] == {"SizeInMBs": 1, "IntervalInSeconds": 0}
    cfg = c("lambda").get_function_configuration(FunctionName="process-kinesis-firehose")
    assert cfg["CodeSha256"] == code_sha256(build_zip(source))
    assert all(s.status == "present" for s in inspect(settings, factory, options=changed))


def test_recreated_table_gets_a_new_pipe_on_its_new_stream(settings, factory, options) -> None:
    provision(settings, factory, options=options)
    ddb = factory.client("dynamodb")
    ddb.delete_table(TableName="OrdersRawTable")
    ddb.get_waiter("table_not_exists").wait(TableName="OrdersRawTable", WaiterConfig={"Delay": 0.1})
    results = {r.name: r.action for r in provision(settings, factory, options=options)}
    assert results["OrdersRawTable"] == "created"
    assert results["sales-ingestion-dynamodb-to-kinesis"] == "replaced"
    stream = ddb.describe_table(TableName="OrdersRawTable")["Table"]["LatestStreamArn"]
    assert factory.client("pipes").describe_pipe(Name="sales-ingestion-dynamodb-to-kinesis")["Source"] == stream


def test_up_refuses_an_untagged_lookalike(settings, factory, options) -> None:
    ddb = factory.client("dynamodb")
    ddb.create_table(TableName="OrdersRawTable", BillingMode="PROVISIONED",
                     ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
                     KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}])
    events, sink = _events()
    with pytest.raises(ResourceError, match="not tagged project=sales-cdc") as info:
        provision(settings, factory, sink, options=options)
    assert info.value.results[-1].action == "failed"
    assert events[-1].phase == "failed"
    # left exactly as it was
    assert ddb.describe_table(TableName="OrdersRawTable")["Table"]["BillingModeSummary"]["BillingMode"] == "PROVISIONED"


def test_down_removes_what_it_made_and_leaves_an_untagged_lookalike(settings, factory, options) -> None:
    provision(settings, factory, options=options)
    kin = factory.client("kinesis")
    kin.remove_tags_from_stream(StreamName="kinesisfor-sales-data", TagKeys=["project"])
    events, sink = _events()
    results = {r.name: r for r in teardown(settings, factory, delete_data=True, progress=sink, options=options)}
    assert results["kinesisfor-sales-data"].action == "skipped"
    assert "not tagged" in results["kinesisfor-sales-data"].detail
    assert sum(r.action == "deleted" for r in results.values()) == 27
    # deletion runs in reverse dependency order
    deleting = [e.name for e in events if e.phase == "deleting"]
    order = ["maintain-4-vacuum-orders", "merge-1-tombstones", "sales-cdc-current-state",
             "sales-cdc-current-state-role", "orders", "orders_tombstones", "orders_current"]
    assert [deleting.index(name) for name in order] == sorted(deleting.index(name) for name in order)
    assert deleting[0] == "maintain-4-vacuum-orders" and deleting[-1] == "OrdersRawTable"
    assert kin.describe_stream_summary(StreamName="kinesisfor-sales-data")["StreamDescriptionSummary"]
    statuses = {s.name: s.status for s in inspect(settings, factory, options=options)}
    assert statuses.pop("kinesisfor-sales-data") == "drifted"
    assert set(statuses.values()) == {"missing"}


def test_down_keeps_a_bucket_with_data_unless_asked(settings, factory, options) -> None:
    provision(settings, factory, options=options)
    bucket = factory.bucket_name()
    s3 = factory.client("s3")
    s3.put_object(Bucket=bucket, Key="orders/dt=2025-01-01/x.json", Body=b'{"orderid":"1"}\n')
    results = {r.name: r for r in teardown(settings, factory, options=options)}
    assert results[bucket].action == "skipped"
    assert "--delete-data" in results[bucket].detail
    assert s3.get_object(Bucket=bucket, Key="orders/dt=2025-01-01/x.json")["Body"].read() == b'{"orderid":"1"}\n'
    assert results["OrdersRawTable"].action == "deleted"

    again = {r.name: r for r in teardown(settings, factory, delete_data=True, options=options)}
    assert again[bucket].action == "deleted"
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]

"""The pipeline's resources, declared as data in dependency order.

Nothing here talks to AWS and nothing depends on the target: local cloud and
AWS differ only by the endpoint the clients use (and by Settings' buffering
defaults, already resolved there).
"""

from __future__ import annotations

import json
from pathlib import Path

from salescdc.contract import COLUMNS, ATHENA_RESULTS_PREFIX, ERROR_PREFIX, LAKE_PREFIX, PARTITION_COLUMNS
from salescdc.infra import policies
from salescdc.infra.model import Ref, Resource
from salescdc.infra.package import build_zip, code_sha256
from salescdc import current_state
from salescdc.infra.views import orders_current_select_sql, orders_current_sql
from salescdc.settings import Settings

LAMBDA_RUNTIME = "python3.12"
LAMBDA_HANDLER = "handler.lambda_handler"
LAMBDA_TIMEOUT_S = 60  # Firehose waits up to 5 minutes; a batch of ≤6 MB is seconds of work
LAMBDA_MEMORY_MB = 256
FIREHOSE_LOG_STREAM = "DestinationDelivery"  # the stream name the Firehose console creates
PIPE_BATCH_SIZE = 100
PARTITION_KEY_PATH = "$.dynamodb.Keys.orderid.S"
LOG_RETENTION_DAYS = 14
ATHENA_RESULTS_EXPIRY_DAYS = 7
PROCESSOR_RETRIES = 3
# The pipe's failure handling: a batch Kinesis refuses is halved until the bad record is alone, that
# record is tried MaximumRetryAttempts more times (or until it is older than the maximum age), then
# its position goes to the dead-letter queue and the shard moves on.
PIPE_MAX_RETRY_ATTEMPTS = 3
PIPE_MAX_RECORD_AGE_S = 3600  # well inside the stream's 24 h retention, so a dead letter can be read back
DLQ_RETENTION_S = 14 * 24 * 3600  # SQS's maximum: time to notice, fix and redrive

# kind names, one per driver
TABLE = "dynamodb.table"
STREAM = "kinesis.stream"
BUCKET = "s3.bucket"
LOG_GROUP = "logs.group"
ROLE = "iam.role"
FUNCTION = "lambda.function"
FIREHOSE = "firehose.stream"
PIPE = "pipes.pipe"
QUEUE = "sqs.queue"
DATABASE = "glue.database"
GLUE_TABLE = "glue.table"
CLASSIFIER = "glue.classifier"
CRAWLER = "glue.crawler"
WORKGROUP = "athena.workgroup"
VIEW = "athena.view"
ICEBERG_TABLE = "athena.iceberg_table"
SCHEDULE_GROUP = "scheduler.group"
SCHEDULE = "scheduler.schedule"


def partition_for(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def role_names(s: Settings) -> dict[str, str]:
    """One role per service, named after the resource that assumes it (IAM names ≤ 64 chars)."""
    return {
        "lambda": f"{s.lambda_name}-role"[:64],
        "firehose": f"{s.firehose_name}-role"[:64],
        "pipe": f"{s.pipe_name}-role"[:64],
        "crawler": f"{s.crawler_name}-role"[:64],
        "scheduler": f"{current_state.SCHEDULE_GROUP}-role"[:64],
    }


def dead_letter_queue_name(s: Settings) -> str:
    """The pipe's dead-letter queue, named after the pipe (SQS names are at most 80 characters)."""
    return f"{s.pipe_name}-dlq"[:80]


def firehose_log_group(s: Settings) -> str:
    return f"/aws/kinesisfirehose/{s.firehose_name}"


def arns_for(s: Settings, account_id: str, bucket: str) -> policies.Arns:
    return policies.Arns(
        partition=partition_for(s.region),
        region=s.region,
        account_id=account_id,
        table_name=s.table_name,
        stream_name=s.stream_name,
        bucket=bucket,
        lambda_name=s.lambda_name,
        firehose_name=s.firehose_name,
        firehose_log_group=firehose_log_group(s),
        glue_database=s.glue_database,
        glue_table=s.glue_table,
        dead_letter_queue_name=dead_letter_queue_name(s),
        athena_workgroup=s.athena_workgroup,
        iceberg_tables=(current_state.TOMBSTONES_TABLE, current_state.ORDERS_TABLE),
        schedule_group=current_state.SCHEDULE_GROUP,
    )


def crawler_configuration() -> str:
    """Crawler output settings (a JSON string, as the API takes it).

    MergeNewColumns: the crawler may add a column it discovers (a new contract
    field) but never rewrites the declared types — left to itself it would turn
    `price decimal(10,2)` into double and the timestamps into strings.
    InheritFromTable: partitions take the table's SerDe and columns.
    """
    return json.dumps(
        {
            "Version": 1.0,
            "CrawlerOutput": {
                "Partitions": {"AddOrUpdateBehavior": "InheritFromTable"},
                "Tables": {"AddOrUpdateBehavior": "MergeNewColumns"},
            },
        },
        sort_keys=True,
    )


def schedules(s: Settings) -> list[tuple[str, str, str, str]]:
    """(name, description, expression, statement) of every schedule: the CDC MERGE, then maintenance."""
    merges = zip(
        current_state.SCHEDULE_NAMES,
        ("Sales CDC: record new deletes in orders_tombstones", "Sales CDC: apply new changes to orders"),
        current_state.scheduled_merge_statements(s),
    )
    out = [(name, description, current_state.SCHEDULE_EXPRESSION, sql) for name, description, sql in merges]
    out += [(name, f"Sales CDC: {sql.split(' ', 1)[0].lower()} {sql.split()[1]}", current_state.MAINTENANCE_EXPRESSION,
             sql) for name, sql in current_state.maintenance_statements(s)]
    return out


def declare(s: Settings, account_id: str, lambda_source: Path) -> list[Resource]:
    """Every resource `up` manages, in the order they must be created."""
    bucket = s.bucket_for(account_id)
    a = arns_for(s, account_id, bucket)
    tags = {s.tag_key: s.tag_value}
    roles = role_names(s)
    db_key = f"{DATABASE}:{s.glue_database}"
    zip_bytes = build_zip(lambda_source)
    lake = f"s3://{bucket}/{LAKE_PREFIX}"

    def role(kind: str, principal: str, trust: dict, policy: dict) -> Resource:
        return Resource(
            ROLE,
            roles[kind],
            {
                "RoleName": roles[kind],
                "Description": f"Sales CDC pipeline: {kind} ({principal})",
                "AssumeRolePolicyDocument": trust,
                "Policies": {f"{roles[kind]}-policy"[:128]: policy},
            },
            tags,
        )

    return [
        Resource(
            TABLE,
            s.table_name,
            {
                "TableName": s.table_name,
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "orderid", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "orderid", "AttributeType": "S"}],
                # Old images are what make deletes analysable (the tutorial used NEW_IMAGE).
                "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            },
            tags,
        ),
        Resource(
            STREAM,
            s.stream_name,
            {"StreamName": s.stream_name, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}},
            tags,
        ),
        Resource(
            BUCKET,
            bucket,
            {
                "Bucket": bucket,
                "Region": s.region,
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
                "ServerSideEncryptionConfiguration": {
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
                "Policy": policies.bucket_policy(a),
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "ID": "expire-athena-results",
                            "Filter": {"Prefix": ATHENA_RESULTS_PREFIX},
                            "Status": "Enabled",
                            "Expiration": {"Days": ATHENA_RESULTS_EXPIRY_DAYS},
                        }
                    ]
                },
            },
            tags,
        ),
        Resource(
            LOG_GROUP,
            firehose_log_group(s),
            {
                "logGroupName": firehose_log_group(s),
                "logStreamName": FIREHOSE_LOG_STREAM,
                "retentionInDays": LOG_RETENTION_DAYS,
            },
            tags,
        ),
        role("lambda", "lambda.amazonaws.com", policies.lambda_trust(a), policies.lambda_policy(a)),
        Resource(
            FUNCTION,
            s.lambda_name,
            {
                "FunctionName": s.lambda_name,
                "Runtime": LAMBDA_RUNTIME,
                "Handler": LAMBDA_HANDLER,
                "Role": Ref(ROLE, roles["lambda"], "Arn"),
                "Timeout": LAMBDA_TIMEOUT_S,
                "MemorySize": LAMBDA_MEMORY_MB,
                "Description": "Sales CDC: DynamoDB stream records -> lake contract lines",
                "CodeSha256": code_sha256(zip_bytes),
                "ZipFile": zip_bytes,
            },
            tags,
        ),
        role(
            "firehose",
            "firehose.amazonaws.com",
            policies.trust_policy("firehose.amazonaws.com", account_id, a.firehose),
            policies.firehose_policy(a),
        ),
        Resource(
            FIREHOSE,
            s.firehose_name,
            {
                "DeliveryStreamName": s.firehose_name,
                "DeliveryStreamType": "KinesisStreamAsSource",
                "KinesisStreamSourceConfiguration": {
                    "KinesisStreamARN": a.kinesis_stream,
                    "RoleARN": Ref(ROLE, roles["firehose"], "Arn"),
                },
                "ExtendedS3DestinationConfiguration": {
                    "RoleARN": Ref(ROLE, roles["firehose"], "Arn"),
                    "BucketARN": a.bucket_arn,
                    "Prefix": f"{LAKE_PREFIX}dt=!{{timestamp:yyyy-MM-dd}}/",
                    "ErrorOutputPrefix": f"{ERROR_PREFIX}!{{firehose:error-output-type}}/dt=!{{timestamp:yyyy-MM-dd}}/",
                    "BufferingHints": {
                        "SizeInMBs": s.effective_buffer_size_mb,
                        "IntervalInSeconds": s.effective_buffer_interval_s,
                    },
                    # NDJSON as the record contract says; the lake is small and Athena reads it as-is.
                    "CompressionFormat": "UNCOMPRESSED",
                    "ProcessingConfiguration": {
                        "Enabled": True,
                        "Processors": [
                            {
                                "Type": "Lambda",
                                "Parameters": [
                                    {"ParameterName": "LambdaArn", "ParameterValue": a.lambda_function},
                                    {
                                        "ParameterName": "BufferSizeInMBs",
                                        "ParameterValue": str(s.effective_buffer_size_mb),
                                    },
                                    {
                                        "ParameterName": "BufferIntervalInSeconds",
                                        "ParameterValue": str(s.effective_buffer_interval_s),
                                    },
                                    {"ParameterName": "NumberOfRetries", "ParameterValue": str(PROCESSOR_RETRIES)},
                                ],
                            }
                        ],
                    },
                    "CloudWatchLoggingOptions": {
                        "Enabled": True,
                        "LogGroupName": firehose_log_group(s),
                        "LogStreamName": FIREHOSE_LOG_STREAM,
                    },
                    "S3BackupMode": "Disabled",
                },
            },
            tags,
        ),
        Resource(
            QUEUE,
            dead_letter_queue_name(s),
            {
                "QueueName": dead_letter_queue_name(s),
                # SQS answers attributes as strings; declared the same way so drift compares like with like.
                "Attributes": {"MessageRetentionPeriod": str(DLQ_RETENTION_S), "SqsManagedSseEnabled": "true"},
            },
            tags,
        ),
        role(
            "pipe",
            "pipes.amazonaws.com",
            policies.trust_policy("pipes.amazonaws.com", account_id, f"arn:{a.partition}:pipes:{s.region}:{account_id}:pipe/{s.pipe_name}"),
            policies.pipe_policy(a),
        ),
        # After Firehose: the pipe starts at LATEST, and so does Firehose on its stream;
        # creating the reader first means no change falls between them.
        Resource(
            PIPE,
            s.pipe_name,
            {
                "Name": s.pipe_name,
                "Description": "Sales CDC: DynamoDB stream -> Kinesis",
                "DesiredState": "RUNNING",
                "RoleArn": Ref(ROLE, roles["pipe"], "Arn"),
                "Source": Ref(TABLE, s.table_name, "LatestStreamArn"),
                "SourceParameters": {
                    "DynamoDBStreamParameters": {
                        "StartingPosition": s.pipe_starting_position,
                        "BatchSize": PIPE_BATCH_SIZE,
                        "DeadLetterConfig": {"Arn": Ref(QUEUE, dead_letter_queue_name(s), "Arn")},
                        "MaximumRetryAttempts": PIPE_MAX_RETRY_ATTEMPTS,
                        "MaximumRecordAgeInSeconds": PIPE_MAX_RECORD_AGE_S,
                        "OnPartialBatchItemFailure": "AUTOMATIC_BISECT",
                    }
                },
                "Target": a.kinesis_stream,
                "TargetParameters": {"KinesisStreamParameters": {"PartitionKey": PARTITION_KEY_PATH}},
            },
            tags,
        ),
        Resource(
            DATABASE,
            s.glue_database,
            {"Name": s.glue_database, "Description": "Sales CDC lake"},
            tags,
        ),
        Resource(
            GLUE_TABLE,
            s.glue_table,
            {
                "DatabaseName": s.glue_database,
                "TableInput": {
                    "Name": s.glue_table,
                    "Description": "Every order change, one JSON line each (the lake record contract)",
                    "TableType": "EXTERNAL_TABLE",
                    "Parameters": {
                        "EXTERNAL": "TRUE",
                        "classification": "json",
                        # Partition projection: Athena computes dt partitions itself, so new
                        # days are queryable without a crawler run or MSCK REPAIR.
                        "projection.enabled": "true",
                        "projection.dt.type": "date",
                        "projection.dt.format": "yyyy-MM-dd",
                        "projection.dt.range": "2024-01-01,NOW",
                        "projection.dt.interval": "1",
                        "projection.dt.interval.unit": "DAYS",
                        "storage.location.template": f"{lake}dt=${{dt}}",
                    },
                    "PartitionKeys": [{"Name": n, "Type": t, "Comment": c} for n, t, c in PARTITION_COLUMNS],
                    "StorageDescriptor": {
                        "Columns": [{"Name": n, "Type": t, "Comment": c} for n, t, c in COLUMNS],
                        "Location": lake,
                        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                        "SerdeInfo": {
                            "SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                            "Parameters": {"serialization.format": "1"},
                        },
                    },
                },
            },
            tags,
            owner=db_key,
        ),
        # "$" : each line of the lake is one top-level JSON object (not an array to unwrap).
        Resource(CLASSIFIER, s.classifier_name, {"Name": s.classifier_name, "JsonPath": "$"}, tags, owner=db_key),
        role(
            "crawler",
            "glue.amazonaws.com",
            policies.trust_policy("glue.amazonaws.com", account_id),
            policies.crawler_policy(a),
        ),
        Resource(
            CRAWLER,
            s.crawler_name,
            {
                "Name": s.crawler_name,
                "Role": Ref(ROLE, roles["crawler"], "Arn"),
                "DatabaseName": s.glue_database,
                "Description": "Updates order_changes (new columns, partitions) from the lake",
                # A catalog target crawls the table's own location (s3://<bucket>/orders/)
                # and updates that table; an S3 target would name a table after the
                # folder and could create a second one beside order_changes.
                "Targets": {"CatalogTargets": [{"DatabaseName": s.glue_database, "Tables": [s.glue_table]}]},
                "Classifiers": [s.classifier_name],
                # Catalog targets require DeleteBehavior LOG: a crawl never drops the table.
                "SchemaChangePolicy": {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"},
                "Configuration": crawler_configuration(),
            },
            tags,
        ),
        Resource(
            WORKGROUP,
            s.athena_workgroup,
            {
                "Name": s.athena_workgroup,
                "Description": "Sales CDC queries; results expire after 7 days",
                "Configuration": {
                    "ResultConfiguration": {
                        "OutputLocation": f"s3://{bucket}/{ATHENA_RESULTS_PREFIX}",
                        "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
                    },
                    "EnforceWorkGroupConfiguration": True,
                    "PublishCloudWatchMetricsEnabled": True,
                    # Cost guard: a query scanning more than this is cancelled by Athena.
                    "BytesScannedCutoffPerQuery": s.athena_bytes_cutoff,
                },
            },
            tags,
        ),
        Resource(
            VIEW,
            s.view_name,
            {
                "Database": s.glue_database,
                "Name": s.view_name,
                "WorkGroup": s.athena_workgroup,
                "Select": orders_current_select_sql(s),
                "Statement": orders_current_sql(s),
            },
            tags,
            owner=db_key,
        ),
        *[
            Resource(
                ICEBERG_TABLE,
                table,
                {
                    "Database": s.glue_database,
                    "Name": table,
                    "WorkGroup": s.athena_workgroup,
                    "Columns": columns,
                    "Location": current_state.table_location(bucket, table),
                    "Statement": current_state.create_table_sql(
                        s, table, columns, current_state.table_location(bucket, table)
                    ),
                    "DropStatement": current_state.drop_table_sql(s, table),
                },
                tags,
                owner=db_key,
            )
            # Tombstones first: the orders MERGE joins them.
            for table, columns in (
                (current_state.TOMBSTONES_TABLE, current_state.TOMBSTONE_COLUMNS),
                (current_state.ORDERS_TABLE, current_state.ORDERS_COLUMNS),
            )
        ],
        role(
            "scheduler",
            "scheduler.amazonaws.com",
            # aws:SourceArn is the schedule GROUP's ARN, never a schedule's, plus aws:SourceAccount:
            # https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html
            policies.trust_policy("scheduler.amazonaws.com", account_id, a.schedule_group_arn),
            policies.scheduler_policy(a),
        ),
        Resource(SCHEDULE_GROUP, current_state.SCHEDULE_GROUP, {"Name": current_state.SCHEDULE_GROUP}, tags),
        # The CDC MERGE on a schedule, no Lambda: Scheduler's universal target starts each statement
        # in Athena. Tombstones first (name order is the local runner's firing order too).
        *[
            Resource(
                SCHEDULE,
                name,
                {
                    "Name": name,
                    "GroupName": current_state.SCHEDULE_GROUP,
                    "Description": description,
                    "ScheduleExpression": expression,
                    "FlexibleTimeWindow": {"Mode": "OFF"},
                    "State": "ENABLED",
                    "Target": {
                        "Arn": f"arn:{a.partition}:scheduler:::aws-sdk:athena:startQueryExecution",
                        "RoleArn": Ref(ROLE, roles["scheduler"], "Arn"),
                        "Input": json.dumps(
                            {
                                "QueryString": sql,
                                "QueryExecutionContext": {"Database": s.glue_database, "Catalog": "AwsDataCatalog"},
                                "WorkGroup": s.athena_workgroup,
                            },
                            sort_keys=True,
                        ),
                    },
                },
                tags,
                owner=f"{SCHEDULE_GROUP}:{current_state.SCHEDULE_GROUP}",
            )
            for name, description, expression, sql in schedules(s)
        ],
    ]

"""IAM documents for the pipeline's four roles, each scoped to the exact ARNs it touches.

Pure functions of an `Arns` value, so tests can lint every document
(parliament) without touching AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VERSION = "2012-10-17"


@dataclass(frozen=True)
class Arns:
    """Every ARN the policies name, derived from settings + account id + region."""

    partition: str
    region: str
    account_id: str
    table_name: str
    stream_name: str
    bucket: str
    lambda_name: str
    firehose_name: str
    firehose_log_group: str
    glue_database: str
    glue_table: str
    dead_letter_queue_name: str = ""
    athena_workgroup: str = ""
    iceberg_tables: tuple[str, ...] = ()
    schedule_group: str = ""

    def _arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account_id if account else ''}:{resource}"
        )

    @property
    def table(self) -> str:
        return self._arn("dynamodb", f"table/{self.table_name}")

    @property
    def table_streams(self) -> str:
        # The stream label is a timestamp chosen by DynamoDB when the stream is
        # (re)enabled, so the label is the one part we cannot name in advance.
        return self._arn("dynamodb", f"table/{self.table_name}/stream/*")

    @property
    def kinesis_stream(self) -> str:
        return self._arn("kinesis", f"stream/{self.stream_name}")

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.bucket}"

    @property
    def lambda_function(self) -> str:
        return self._arn("lambda", f"function:{self.lambda_name}")

    @property
    def firehose(self) -> str:
        return self._arn("firehose", f"deliverystream/{self.firehose_name}")

    @property
    def dead_letter_queue(self) -> str:
        return self._arn("sqs", self.dead_letter_queue_name)

    def log_group(self, name: str) -> str:
        return self._arn("logs", f"log-group:{name}")

    @property
    def glue_catalog(self) -> str:
        return self._arn("glue", "catalog")

    @property
    def glue_database_arn(self) -> str:
        return self._arn("glue", f"database/{self.glue_database}")

    @property
    def glue_table_arn(self) -> str:
        return self._arn("glue", f"table/{self.glue_database}/{self.glue_table}")

    def glue_table_named(self, name: str) -> str:
        return self._arn("glue", f"table/{self.glue_database}/{name}")

    @property
    def workgroup(self) -> str:
        return self._arn("athena", f"workgroup/{self.athena_workgroup}")

    @property
    def schedule_group_arn(self) -> str:
        return self._arn("scheduler", f"schedule-group/{self.schedule_group}")

    def role(self, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{name}"


def trust_policy(service_principal: str, account_id: str, source_arn: str | None = None) -> dict[str, Any]:
    """Only `service_principal` may assume the role, and only on behalf of this account.

    aws:SourceAccount (and aws:SourceArn where the service sends it) guards
    against the confused-deputy problem.
    """
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arn:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service_principal},
                "Action": "sts:AssumeRole",
                "Condition": condition,
            }
        ],
    }


def lambda_trust(a: Arns) -> dict[str, Any]:
    # Lambda does not send aws:SourceArn/SourceAccount when assuming an execution role.
    return {
        "Version": VERSION,
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }


def lambda_policy(a: Arns) -> dict[str, Any]:
    """The transform only writes its own logs; Firehose hands it the data."""
    group = a.log_group(f"/aws/lambda/{a.lambda_name}")
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": "OwnLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogGroup"], "Resource": [group]},
            {
                "Sid": "OwnLogStreams",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"{group}:log-stream:*"],
            },
        ],
    }


def firehose_policy(a: Arns) -> dict[str, Any]:
    """Read the Kinesis stream, call the transform, write the lake, log delivery errors."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ReadSourceStream",
                "Effect": "Allow",
                "Action": [
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:GetShardIterator",
                    "kinesis:GetRecords",
                    "kinesis:ListShards",
                ],
                "Resource": [a.kinesis_stream],
            },
            {
                "Sid": "InvokeTransform",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                "Resource": [a.lambda_function, f"{a.lambda_function}:*"],
            },
            {
                "Sid": "LakeBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                "Resource": [a.bucket_arn],
            },
            {
                "Sid": "LakeObjects",
                "Effect": "Allow",
                "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                "Resource": [f"{a.bucket_arn}/orders/*", f"{a.bucket_arn}/errors/*"],
            },
            {
                "Sid": "DeliveryErrorLogs",
                "Effect": "Allow",
                "Action": ["logs:PutLogEvents"],
                "Resource": [f"{a.log_group(a.firehose_log_group)}:log-stream:*"],
            },
        ],
    }


def pipe_policy(a: Arns) -> dict[str, Any]:
    """Read the table's stream, put records on the Kinesis stream, hand what it cannot deliver to its DLQ."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ReadTableStream",
                "Effect": "Allow",
                "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                "Resource": [a.table_streams],
            },
            {
                "Sid": "FindTableStream",
                "Effect": "Allow",
                # ListStreams supports no resource-level permissions: "*" is the only valid Resource.
                "Action": ["dynamodb:ListStreams"],
                "Resource": ["*"],
            },
            {
                "Sid": "WriteTargetStream",
                "Effect": "Allow",
                "Action": ["kinesis:PutRecord", "kinesis:PutRecords"],
                "Resource": [a.kinesis_stream],
            },
            {
                # What AWS's Pipes (like Lambda's event source mappings) needs for an SQS
                # dead-letter queue: SendMessage on that queue, nothing more.
                "Sid": "SendToDeadLetterQueue",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": [a.dead_letter_queue],
            },
        ],
    }


def crawler_policy(a: Arns) -> dict[str, Any]:
    """Read the lake's orders/ prefix and update one Glue table and its partitions."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ListLakeOrders",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [a.bucket_arn],
                "Condition": {"StringLike": {"s3:prefix": ["orders/*", "orders/"]}},
            },
            {
                "Sid": "ReadLakeOrders",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"{a.bucket_arn}/orders/*"],
            },
            {
                "Sid": "UpdateOrderChangesTable",
                "Effect": "Allow",
                "Action": [
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:UpdateTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                    "glue:CreatePartition",
                    "glue:BatchCreatePartition",
                    "glue:UpdatePartition",
                    "glue:BatchUpdatePartition",
                ],
                "Resource": [a.glue_catalog, a.glue_database_arn, a.glue_table_arn],
            },
            {
                "Sid": "CrawlerLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [
                    a.log_group("/aws-glue/crawlers"),
                    f"{a.log_group('/aws-glue/crawlers')}:log-stream:*",
                ],
            },
        ],
    }


def scheduler_policy(a: Arns) -> dict[str, Any]:
    """Start the CDC MERGE in the project's workgroup, with what Athena then needs as the caller.

    Athena runs a query with its caller's permissions: read the lake's change
    records, read and commit the Iceberg tables (Glue UpdateTable, data and
    metadata files under iceberg/), and write the results under athena-results/.
    """
    iceberg = [f"{a.bucket_arn}/iceberg/{table}/*" for table in a.iceberg_tables]
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "StartMergeQuery",
                "Effect": "Allow",
                "Action": ["athena:StartQueryExecution"],
                "Resource": [a.workgroup],
            },
            {
                "Sid": "CatalogOfTheMerge",
                "Effect": "Allow",
                "Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions", "glue:UpdateTable"],
                "Resource": [a.glue_catalog, a.glue_database_arn, a.glue_table_arn,
                             *[a.glue_table_named(t) for t in a.iceberg_tables]],
            },
            {
                "Sid": "ListLakeTablesAndResults",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [a.bucket_arn],
            },
            {
                "Sid": "ReadLakeOrders",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"{a.bucket_arn}/orders/*"],
            },
            {
                "Sid": "ReadWriteIcebergTables",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": iceberg,
            },
            {
                "Sid": "WriteQueryResults",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [f"{a.bucket_arn}/athena-results/*"],
            },
        ],
    }


def bucket_policy(a: Arns) -> dict[str, Any]:
    """Refuse any request to the lake that does not use TLS."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                # A Deny of every S3 action is the documented pattern for enforcing TLS.
                "Action": "s3:*",
                "Resource": [a.bucket_arn, f"{a.bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }

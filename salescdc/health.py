"""Pipeline health, stage by stage, read the same way on AWS and on the local cloud.

Each stage's state comes from its own describe call; throughput and lag come
from the CloudWatch metrics the services publish (AWS/Kinesis, AWS/Firehose,
AWS/Lambda, AWS/EventBridge/Pipes), fetched in one GetMetricData request; the
S3 stage's freshness comes from the lake reader (`salescdc.lake`). Nothing here
raises for a broken stage: the stage reports the problem as a readable sentence
instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import botocore.exceptions

from salescdc.clients import ClientFactory
from salescdc.errors import SalesCdcError, explain
from salescdc.lake import lake_freshness
from salescdc.settings import Settings



class StageStatus(StrEnum):
    """How a stage is doing, as a person reads it at a glance."""

    OK = "ok"
    WARNING = "warning"  # busy (creating, updating) or metrics show trouble
    ERROR = "error"
    MISSING = "missing"  # not provisioned


OK = StageStatus.OK
WARNING = StageStatus.WARNING
ERROR = StageStatus.ERROR
MISSING = StageStatus.MISSING

_NOT_PROVISIONED = "Not provisioned: use Provision on the Pipeline page."

# AWS error codes that mean "this resource does not exist".
_NOT_FOUND = frozenset(
    {
        "ResourceNotFoundException",
        "NotFoundException",
        "EntityNotFoundException",
        "NoSuchBucket",
        "404",
        "InvalidRequestException",
    }
)


@dataclass(frozen=True)
class MetricSpec:
    """One CloudWatch metric a stage shows, with the statistic that makes sense for it."""

    key: str
    label: str
    namespace: str
    name: str
    dimension: str
    stat: str  # Sum for counts, Maximum for ages/lag, Average for durations and ratios


@dataclass
class StageHealth:
    """One pipeline stage as a person reads it."""

    stage: str
    resource: str
    state: str
    status: StageStatus
    detail: str = ""
    metrics: dict[str, float | None] = field(default_factory=dict)
    # The pipe's dead-letter queue (its ARN) and how many messages wait in it; None when unknown.
    dead_letter_queue: str = ""
    dead_letter_depth: int | None = None


def stage_metrics(settings: Settings) -> dict[str, list[MetricSpec]]:
    """The metrics each stage shows, with AWS's namespaces, names and dimensions."""
    return {
        "Pipe": [
            MetricSpec("events", "events", "AWS/EventBridge/Pipes", "EventCount", "PipeName", "Sum"),
            MetricSpec("failed", "failed executions", "AWS/EventBridge/Pipes", "ExecutionFailed", "PipeName", "Sum"),
            MetricSpec(
                "target_failed", "target failures", "AWS/EventBridge/Pipes", "TargetStageFailed", "PipeName", "Sum"
            ),
        ],
        "Kinesis": [
            MetricSpec("incoming", "records in", "AWS/Kinesis", "IncomingRecords", "StreamName", "Sum"),
            MetricSpec(
                "iterator_age_ms",
                "iterator age (ms)",
                "AWS/Kinesis",
                "GetRecords.IteratorAgeMilliseconds",
                "StreamName",
                "Maximum",
            ),
        ],
        "Lambda": [
            MetricSpec("invocations", "invocations", "AWS/Lambda", "Invocations", "FunctionName", "Sum"),
            MetricSpec("errors", "errors", "AWS/Lambda", "Errors", "FunctionName", "Sum"),
            MetricSpec("duration_ms", "avg duration (ms)", "AWS/Lambda", "Duration", "FunctionName", "Average"),
        ],
        "Firehose": [
            # With a Kinesis stream as source Firehose publishes DataReadFromKinesisStream.*, never
            # IncomingRecords (that is Direct PUT's): docs.aws.amazon.com/firehose/latest/dev/monitoring-with-cloudwatch-metrics.html
            MetricSpec(
                "incoming", "records in", "AWS/Firehose", "DataReadFromKinesisStream.Records", "DeliveryStreamName", "Sum"
            ),
            MetricSpec(
                "delivered", "records to S3", "AWS/Firehose", "DeliveryToS3.Records", "DeliveryStreamName", "Sum"
            ),
            MetricSpec(
                "freshness_s",
                "data freshness (s)",
                "AWS/Firehose",
                "DeliveryToS3.DataFreshness",
                "DeliveryStreamName",
                "Maximum",
            ),
            MetricSpec(
                "processing_success",
                "transform success",
                "AWS/Firehose",
                "ExecuteProcessing.Success",
                "DeliveryStreamName",
                "Average",
            ),
        ],
    }


def _dimension_value(settings: Settings, stage: str) -> str:
    return {
        "Pipe": settings.pipe_name,
        "Kinesis": settings.stream_name,
        "Lambda": settings.lambda_name,
        "Firehose": settings.firehose_name,
    }[stage]


def fetch_metrics(
    settings: Settings, factory: ClientFactory, window_s: int = 300, now: dt.datetime | None = None
) -> dict[str, dict[str, float | None]]:
    """Per stage, each metric over the last `window_s` seconds (None when no data point exists).

    One GetMetricData call covers every stage; counts are summed over the window,
    ages take the maximum, durations and ratios the average of the per-minute values.
    """
    specs = stage_metrics(settings)
    queries: list[dict[str, Any]] = []
    index: dict[str, tuple[str, MetricSpec]] = {}
    for stage, metrics in specs.items():
        for spec in metrics:
            query_id = f"m{len(queries)}"
            index[query_id] = (stage, spec)
            queries.append(
                {
                    "Id": query_id,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": spec.namespace,
                            "MetricName": spec.name,
                            "Dimensions": [{"Name": spec.dimension, "Value": _dimension_value(settings, stage)}],
                        },
                        "Period": 60,
                        "Stat": spec.stat,
                    },
                    "ReturnData": True,
                }
            )
    end = now or dt.datetime.now(dt.timezone.utc)
    start = end - dt.timedelta(seconds=window_s)
    results: dict[str, dict[str, float | None]] = {stage: {s.key: None for s in m} for stage, m in specs.items()}
    cloudwatch = factory.client("cloudwatch")
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": start,
            "EndTime": end + dt.timedelta(seconds=60),
            "ScanBy": "TimestampDescending",
        }
        if token:
            kwargs["NextToken"] = token
        response = cloudwatch.get_metric_data(**kwargs)
        for result in response.get("MetricDataResults", []):
            stage, spec = index[result["Id"]]
            values = [float(v) for v in result.get("Values", [])]
            if not values:
                continue
            if spec.stat == "Sum":
                value = sum(values)
            elif spec.stat == "Maximum":
                value = max(values)
            else:
                value = sum(values) / len(values)
            previous = results[stage][spec.key]
            results[stage][spec.key] = value if previous is None else _combine(spec.stat, previous, value)
        token = response.get("NextToken")
        if not token:
            return results


def _combine(stat: str, a: float, b: float) -> float:
    if stat == "Sum":
        return a + b
    if stat == "Maximum":
        return max(a, b)
    return (a + b) / 2


def _code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _probe(stage: str, resource: str, describe: Callable[[], tuple[str, StageStatus, str]]) -> StageHealth:
    """Run one stage's describe call; a missing resource or an error becomes the stage's state."""
    try:
        state, status, detail = describe()
    except botocore.exceptions.ClientError as exc:
        if _code(exc) in _NOT_FOUND:
            return StageHealth(stage, resource, "missing", MISSING, _NOT_PROVISIONED)
        return StageHealth(stage, resource, "unknown", ERROR, explain(exc))
    except (botocore.exceptions.BotoCoreError, SalesCdcError) as exc:
        return StageHealth(stage, resource, "unknown", ERROR, explain(exc))
    return StageHealth(stage, resource, state, status, detail)


def _status_for(state: str, good: tuple[str, ...], busy: tuple[str, ...] = ()) -> StageStatus:
    if state in good:
        return OK
    if state in busy:
        return WARNING
    return ERROR


def pipeline_health(
    settings: Settings, factory: ClientFactory, window_s: int = 300, now: dt.datetime | None = None
) -> list[StageHealth]:
    """Every stage in pipeline order: DynamoDB stream, Pipe, Kinesis, Lambda, Firehose, S3, Glue, Athena."""
    s = settings

    def dynamodb() -> tuple[str, StageStatus, str]:
        table = factory.client("dynamodb").describe_table(TableName=s.table_name)["Table"]
        spec = table.get("StreamSpecification") or {}
        if not spec.get("StreamEnabled"):
            return "stream off", ERROR, f"Table {table['TableStatus']}, but its stream is off: nothing is captured."
        arn = table.get("LatestStreamArn", "")
        stream = factory.client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]
        state = stream.get("StreamStatus", "UNKNOWN")
        detail = f"Table {table['TableStatus']}, view type {spec.get('StreamViewType')}, ~{table.get('ItemCount', 0)} items."
        return state, _status_for(state, ("ENABLED",), ("ENABLING",)), detail

    dead_letters: dict[str, Any] = {}

    def pipe() -> tuple[str, StageStatus, str]:
        described = factory.client("pipes").describe_pipe(Name=s.pipe_name)
        state = described.get("CurrentState", "UNKNOWN")
        desired = described.get("DesiredState", "")
        reason = described.get("StateReason") or ""
        detail = f"Desired {desired}." + (f" {reason}" if reason else "")
        status = _status_for(state, ("RUNNING",), ("CREATING", "STARTING", "UPDATING", "STOPPING"))
        source = (described.get("SourceParameters") or {}).get("DynamoDBStreamParameters") or {}
        queue_arn = (source.get("DeadLetterConfig") or {}).get("Arn") or ""
        if queue_arn:
            dead_letters["arn"] = queue_arn
            depth, problem = dead_letter_depth(factory, queue_arn)
            dead_letters["depth"] = depth
            if problem:
                detail += f" {problem}"
                status = status if status != OK else WARNING
            elif depth:
                detail += (f" {depth} failed batch{'es' if depth != 1 else ''} in the dead-letter queue: "
                           "records Kinesis refused after the retries; fix the cause, then read them back "
                           "from the stream within 24 h.")
                status = status if status != OK else WARNING
        return state, status, detail

    def kinesis() -> tuple[str, StageStatus, str]:
        summary = factory.client("kinesis").describe_stream_summary(StreamName=s.stream_name)[
            "StreamDescriptionSummary"
        ]
        state = summary.get("StreamStatus", "UNKNOWN")
        mode = (summary.get("StreamModeDetails") or {}).get("StreamMode", "")
        detail = f"{mode} mode, {summary.get('OpenShardCount', '?')} open shards.".strip()
        return state, _status_for(state, ("ACTIVE",), ("CREATING", "UPDATING")), detail

    def lambda_() -> tuple[str, StageStatus, str]:
        config = factory.client("lambda").get_function(FunctionName=s.lambda_name)["Configuration"]
        state = config.get("State", "Active")
        detail = f"{config.get('Runtime', '')}, {config.get('MemorySize', '?')} MB, timeout {config.get('Timeout', '?')} s."
        if config.get("StateReason"):
            detail += f" {config['StateReason']}"
        return state, _status_for(state, ("Active",), ("Pending",)), detail

    def firehose() -> tuple[str, StageStatus, str]:
        described = factory.client("firehose").describe_delivery_stream(DeliveryStreamName=s.firehose_name)[
            "DeliveryStreamDescription"
        ]
        state = described.get("DeliveryStreamStatus", "UNKNOWN")
        detail = ""
        failure = described.get("FailureDescription")
        if failure:
            detail = f"{failure.get('Type', '')}: {failure.get('Details', '')}"
        return state, _status_for(state, ("ACTIVE",), ("CREATING",)), detail

    def s3() -> tuple[str, StageStatus, str]:
        bucket = factory.bucket_name()
        factory.client("s3").head_bucket(Bucket=bucket)
        fresh = lake_freshness(settings, factory, now=now)
        if fresh.newest_time is None:
            return "no data yet", WARNING, f"Bucket {bucket} exists; no order objects yet."
        return "receiving", OK, f"Newest object {fresh.newest_key.rsplit('/', 2)[-2]}/… is {_age(fresh.age_s)} old."

    def glue() -> tuple[str, StageStatus, str]:
        glue_client = factory.client("glue")
        crawler = glue_client.get_crawler(Name=s.crawler_name)["Crawler"]
        state = crawler.get("State", "UNKNOWN")
        last = crawler.get("LastCrawl") or {}
        detail = f"Last crawl {last.get('Status', 'never run')}."
        if last.get("ErrorMessage"):
            detail += f" {last['ErrorMessage']}"
        try:
            glue_client.get_table(DatabaseName=s.glue_database, Name=s.glue_table)
            detail += f" Table {s.glue_table} exists."
            status = OK if last.get("Status", "SUCCEEDED") != "FAILED" else ERROR
        except botocore.exceptions.ClientError as exc:
            if _code(exc) not in _NOT_FOUND:
                raise
            detail += f" Table {s.glue_table} does not exist yet: use Run crawler."
            status = WARNING
        return state, status if state != "RUNNING" else WARNING, detail

    def athena() -> tuple[str, StageStatus, str]:
        group = factory.client("athena").get_work_group(WorkGroup=s.athena_workgroup).get("WorkGroup")
        if not group:  # some emulators answer an unknown workgroup with an empty body
            return "missing", MISSING, _NOT_PROVISIONED
        state = group.get("State", "UNKNOWN")
        config = group.get("Configuration") or {}
        cutoff = config.get("BytesScannedCutoffPerQuery")
        output = (config.get("ResultConfiguration") or {}).get("OutputLocation", "")
        detail = f"Results to {output}." + (f" Cutoff {cutoff:,} bytes per query." if cutoff else "")
        return state, _status_for(state, ("ENABLED",)), detail

    stages = [
        _probe("DynamoDB stream", s.table_name, dynamodb),
        _with_dead_letters(_probe("Pipe", s.pipe_name, pipe), dead_letters),
        _probe("Kinesis", s.stream_name, kinesis),
        _probe("Lambda", s.lambda_name, lambda_),
        _probe("Firehose", s.firehose_name, firehose),
        _probe("S3", _bucket_or_unknown(factory), s3),
        _probe("Glue", s.crawler_name, glue),
        _probe("Athena", s.athena_workgroup, athena),
    ]
    try:
        metrics = fetch_metrics(settings, factory, window_s=window_s, now=now)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        for stage in stages:
            if stage.stage in ("Pipe", "Kinesis", "Lambda", "Firehose"):
                stage.detail = (stage.detail + f" Metrics unavailable: {explain(exc)}").strip()
        return stages
    for stage in stages:
        stage.metrics = metrics.get(stage.stage, {})
        _judge_metrics(stage)
    return stages


def dead_letter_depth(factory: ClientFactory, queue_arn: str) -> tuple[int | None, str]:
    """(ApproximateNumberOfMessages, "") of an SQS queue by ARN, or (None, why it could not be read)."""
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        return None, f"The dead-letter queue {queue_arn} is not an SQS queue ARN."
    sqs = factory.client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    except botocore.exceptions.ClientError as exc:
        if _code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            return None, f"Its dead-letter queue {parts[5]} does not exist: records it gives up on cannot be kept."
        return None, f"Its dead-letter queue could not be read: {explain(exc)}"
    except botocore.exceptions.BotoCoreError as exc:
        return None, f"Its dead-letter queue could not be read: {explain(exc)}"
    return int(attributes.get("Attributes", {}).get("ApproximateNumberOfMessages", 0)), ""


def _with_dead_letters(stage: StageHealth, dead_letters: dict[str, Any]) -> StageHealth:
    stage.dead_letter_queue = dead_letters.get("arn", "")
    stage.dead_letter_depth = dead_letters.get("depth")
    return stage


def _judge_metrics(stage: StageHealth) -> None:
    """Downgrade an otherwise healthy stage whose metrics show failures or growing lag."""
    if stage.status != OK:
        return
    m = stage.metrics
    problems = []
    if (m.get("failed") or 0) > 0 or (m.get("target_failed") or 0) > 0:
        problems.append("the pipe reported failed executions")
    if (m.get("errors") or 0) > 0:
        problems.append("the function reported errors")
    if m.get("processing_success") is not None and m["processing_success"] < 1:
        problems.append("some records failed the transform (see processing-failed records)")
    if (m.get("incoming") or 0) > 0 and "delivered" in m and not m.get("delivered"):
        problems.append("records came in but none reached S3 (check the delivery role and bucket policy)")
    if (m.get("iterator_age_ms") or 0) > 60_000:
        problems.append("readers are more than a minute behind")
    if problems:
        stage.status = WARNING
        stage.detail = (stage.detail + " In the last minutes " + "; ".join(problems) + ".").strip()


def _bucket_or_unknown(factory: ClientFactory) -> str:
    try:
        return factory.bucket_name()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, SalesCdcError):
        return "(unknown bucket)"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"

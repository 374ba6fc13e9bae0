"""One Kinesis-sourced delivery stream: read every shard, buffer, transform, write to S3, acknowledge.

Order of work in each poll (about 4 a second):
  1. read new records from each shard (GetRecords over HTTP to the local cloud, like a consumer);
  2. when the processor's buffer is due, invoke the Lambda (retrying NumberOfRetries times);
  3. when the destination's buffer is due, write the Ok records as one object under the evaluated
     Prefix and the failed ones as AWS error lines under ErrorOutputPrefix;
  4. only then advance the persisted per-shard positions.
A crash between 1 and 4 re-reads the unacknowledged records after restart: redelivery, never loss.
Positions start where the source stream was when the delivery stream was created (AT_TIMESTAMP
of its creation time), as AWS starts a Kinesis-sourced delivery stream at LATEST.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localcloud import moto_patches
from localcloud.checkpoints import CheckpointStore
from localcloud.firehose.exceptions import DeliveryFailed, FirehoseRunnerError, InvocationFailed
from localcloud.firehose.prefixes import evaluate_prefix, object_name
from localcloud.firehose.processing import (
    FUNCTION_ERROR,
    NOT_FOUND,
    Outcome,
    SourceRecord,
    build_event,
    error_line,
    parse_response,
    record_id,
)
from localcloud.routing import AwsServiceError

if TYPE_CHECKING:
    from localcloud.lambda_exec.models import LambdaExecutor
    from localcloud.plane import ServicePlane

log = logging.getLogger("localcloud.firehose")

MB = 1024 * 1024
# AWS defaults when a hint is absent.
DEFAULT_DEST_SIZE_MB, DEFAULT_DEST_INTERVAL_S = 5, 300
DEFAULT_PROC_SIZE_MB, DEFAULT_PROC_INTERVAL_S = 1, 60
DEFAULT_RETRIES = 3
# Firehose never sends the Lambda more than 3 MB (Lambda's 6 MB limit after base64).
MAX_PROC_BATCH_BYTES = 3 * MB
GET_RECORDS_LIMIT = 10000
SHARD_LIST_INTERVAL_S = 1.0


@dataclass
class StreamConfig:
    """The part of a delivery stream's description the runner acts on (re-read every poll)."""

    name: str
    arn: str
    version: str
    region: str
    account_id: str
    source_arn: str
    bucket: str
    prefix: str
    error_prefix: str
    compression: str
    dest_size_bytes: int
    dest_interval_s: float
    lambda_arn: str | None
    proc_size_bytes: int
    proc_interval_s: float
    retries: int
    created_at: float  # epoch seconds
    log_group: str | None = None  # CloudWatchLoggingOptions, when enabled
    log_stream: str | None = None


def read_config(ds: Any, account_id: str, region: str) -> StreamConfig | None:
    """Our view of a moto DeliveryStream; None when it is not Kinesis-sourced with an S3 destination."""
    if ds.delivery_stream_type != "KinesisStreamAsSource" or not ds.source:
        return None
    dest_entry = ds.destinations[0] if ds.destinations else {}
    dest = dest_entry.get("ExtendedS3") or dest_entry.get("S3")
    if not dest:
        return None
    hints = dest.get("BufferingHints") or {}
    lambda_arn = None
    proc_params: dict[str, str] = {}
    processing = dest.get("ProcessingConfiguration") or {}
    if processing.get("Enabled", False) in (True, "true", "True"):
        for processor in processing.get("Processors") or []:
            if processor.get("Type") == "Lambda":
                proc_params = {p["ParameterName"]: str(p["ParameterValue"]) for p in processor.get("Parameters", [])}
                lambda_arn = proc_params.get("LambdaArn")
                break
    logging_opts = dest.get("CloudWatchLoggingOptions") or {}
    logging_enabled = logging_opts.get("Enabled", False) in (True, "true", "True")
    created = ds.create_timestamp
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.timezone.utc)
    source_arn = ds.source.get("KinesisStreamARN") or ds.source.get("KinesisStreamSourceDescription", {}).get(
        "KinesisStreamARN")
    return StreamConfig(
        name=ds.delivery_stream_name,
        arn=ds.delivery_stream_arn,
        version=str(ds.version_id),
        region=region,
        account_id=account_id,
        source_arn=source_arn,
        bucket=dest["BucketARN"].split(":::")[-1],
        prefix=dest.get("Prefix") or "",
        error_prefix=dest.get("ErrorOutputPrefix") or "",
        compression=dest.get("CompressionFormat") or "UNCOMPRESSED",
        dest_size_bytes=int(float(hints.get("SizeInMBs", DEFAULT_DEST_SIZE_MB)) * MB),
        dest_interval_s=float(hints.get("IntervalInSeconds", DEFAULT_DEST_INTERVAL_S)),
        lambda_arn=lambda_arn,
        proc_size_bytes=min(int(float(proc_params.get("BufferSizeInMBs", DEFAULT_PROC_SIZE_MB)) * MB),
                            MAX_PROC_BATCH_BYTES),
        proc_interval_s=float(proc_params.get("BufferIntervalInSeconds", DEFAULT_PROC_INTERVAL_S)),
        retries=int(proc_params.get("NumberOfRetries", DEFAULT_RETRIES)),
        created_at=created.timestamp(),
        log_group=logging_opts.get("LogGroupName") if logging_enabled else None,
        log_stream=(logging_opts.get("LogStreamName") or "DestinationDelivery") if logging_enabled else None,
    )


@dataclass
class Counters:
    incoming_records: int = 0
    delivered_records: int = 0
    dropped_records: int = 0
    processing_failed_records: int = 0
    invocations: int = 0
    failed_invocations: int = 0
    objects_written: int = 0


@dataclass
class _Stage:
    """A FIFO buffer with the time its oldest entry arrived."""

    items: list[Any] = field(default_factory=list)
    bytes: int = 0
    since: float | None = None  # monotonic time of the first item

    def add(self, item: Any, size: int) -> None:
        if not self.items:
            self.since = time.monotonic()
        self.items.append(item)
        self.bytes += size

    def due(self, size_limit: int, interval_s: float) -> bool:
        if not self.items:
            return False
        return self.bytes >= size_limit or time.monotonic() - (self.since or 0) >= interval_s

    def take(self) -> list[Any]:
        items, self.items, self.bytes, self.since = self.items, [], 0, None
        return items


class DeliveryStreamWorker:
    """Runs one delivery stream on its own thread until stopped or the stream is deleted."""

    def __init__(self, key: str, config: StreamConfig, plane: ServicePlane, executor: LambdaExecutor,
                 checkpoints: CheckpointStore, poll_interval_s: float, retry_backoff_s: float):
        self.key = key
        self.config = config
        self._plane = plane
        self._executor = executor
        self.checkpoints = checkpoints
        self.poll_interval_s = poll_interval_s
        self.retry_backoff_s = retry_backoff_s
        self.counters = Counters()
        self.state = "starting"
        self.last_error: str | None = None
        self.last_delivery_at: str | None = None
        self.millis_behind: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._polls = 0
        saved = checkpoints.get(key) or {}
        # Acknowledged positions (persisted) and read positions (in memory, ahead of them).
        self.acked: dict[str, str] = dict(saved.get("shards", {}))
        self.read: dict[str, str] = dict(self.acked)
        if not saved:
            checkpoints.put(key, {"stream": config.arn, "start_at": config.created_at, "shards": {}})
        self.start_at = float(saved.get("start_at", config.created_at))
        self._iterators: dict[str, str | None] = {}
        self._highest_seen: dict[str, int] = {}
        self._shards: list[dict[str, Any]] = []
        self._shards_listed_at = float("-inf")
        self._stage1 = _Stage()  # raw records waiting for the processor
        self._stage2 = _Stage()  # processed outcomes waiting for S3
        self._stage2_positions: dict[str, str] = {}
        # Records and objects of other services over HTTP, as a consumer and a writer would.
        self._kinesis = plane.client("kinesis", config.region)
        self._s3 = plane.client("s3", config.region)

    # -- lifecycle -------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"firehose-{self.config.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        self.state = "stopped"

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def polls(self) -> int:
        """Rounds of the loop completed: a test waits for more of them to show nothing more was delivered."""
        return self._polls

    def update_config(self, config: StreamConfig) -> None:
        self.config = config  # read by the loop at its next poll

    # -- the loop --------------------------------------------------------
    def _loop(self) -> None:
        self.state = "running"
        failures = 0
        while not self._stop.is_set():
            try:
                self.poll_once()
                failures = 0
                self.state = "running"
            except Exception as exc:  # keep the stream alive; report, rewind and retry
                failures += 1
                self.state = "error"
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("delivery stream %s: %s", self.config.name, self.last_error,
                            exc_info=not isinstance(exc, FirehoseRunnerError))
                self._rewind()
                backoff = 30.0 if not getattr(exc, "transient", True) else min(5.0, 0.25 * 2 ** failures)
                self._stop.wait(backoff)
            self._stop.wait(self.poll_interval_s)
            self._polls += 1

    def _rewind(self) -> None:
        """Forget everything unacknowledged; the next poll re-reads it from the persisted positions."""
        self._stage1.take()
        self._stage2.take()
        self._stage2_positions = {}
        self.read = dict(self.acked)
        self._iterators = {}

    def poll_once(self) -> None:
        cfg = self.config
        self._read_shards(cfg)
        # An UpdateDestination may land while we read: process and deliver with the configuration
        # in force now, so a record put after the update never goes out under the old one.
        cfg = self.config
        proc_size, proc_interval = (cfg.proc_size_bytes, cfg.proc_interval_s) if cfg.lambda_arn else (0, 0.0)
        if self._stage1.due(proc_size, proc_interval) and not self._stop.is_set():
            self._process(cfg)
        if self._stage2_positions and (
            self._stage2.due(cfg.dest_size_bytes, cfg.dest_interval_s) or not self._stage2.items
        ):
            self._deliver(cfg)

    # -- 1. read -----------------------------------------------------------
    def _read_shards(self, cfg: StreamConfig) -> None:
        # Shards change rarely (resharding); list them about once a second, not at every poll.
        if time.monotonic() - self._shards_listed_at > SHARD_LIST_INTERVAL_S:
            self._shards = self._kinesis.list_shards(StreamARN=cfg.source_arn)["Shards"]
            self._shards_listed_at = time.monotonic()
        for shard in self._shards:
            shard_id = shard["ShardId"]
            iterator = self._iterators.get(shard_id)
            if iterator is None:
                iterator = self._new_iterator(cfg, shard_id)
            try:
                resp = self._kinesis.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT,
                                                 StreamARN=cfg.source_arn)
            except self._kinesis.exceptions.ExpiredIteratorException:
                self._iterators[shard_id] = None
                continue
            self._iterators[shard_id] = resp.get("NextShardIterator")
            self.millis_behind[shard_id] = int(resp.get("MillisBehindLatest", 0))
            # AWS/Kinesis GetRecords.* metrics come from the stream itself (localcloud.kinesis), as on AWS.
            records = resp.get("Records", [])
            new = new_bytes = 0
            for rec in records:
                arrival = rec["ApproximateArrivalTimestamp"]
                src = SourceRecord(
                    record_id=record_id(shard_id, rec["SequenceNumber"]),
                    shard_id=shard_id,
                    sequence_number=rec["SequenceNumber"],
                    partition_key=rec["PartitionKey"],
                    data=rec["Data"],
                    arrival_ms=int(arrival.timestamp() * 1000),
                )
                self._stage1.add(src, src.size)
                self.read[shard_id] = rec["SequenceNumber"]
                # Re-reads after a rewind are not new incoming data.
                if int(rec["SequenceNumber"]) > self._highest_seen.get(shard_id, -1):
                    self._highest_seen[shard_id] = int(rec["SequenceNumber"])
                    new += 1
                    new_bytes += len(rec["Data"])
            if new:
                self.counters.incoming_records += new
                dims = {"DeliveryStreamName": cfg.name}
                # With a Kinesis stream as source AWS publishes these, not IncomingRecords/Bytes (Direct PUT only):
                # https://docs.aws.amazon.com/firehose/latest/dev/monitoring-with-cloudwatch-metrics.html
                self._metric("AWS/Firehose", "DataReadFromKinesisStream.Records", new, "Count", dims)
                self._metric("AWS/Firehose", "DataReadFromKinesisStream.Bytes", new_bytes, "Bytes", dims)

    def _new_iterator(self, cfg: StreamConfig, shard_id: str) -> str:
        position = self.read.get(shard_id) or self._position_at_creation(cfg, shard_id)
        if position is not None:
            resp = self._kinesis.get_shard_iterator(StreamARN=cfg.source_arn, ShardId=shard_id,
                                                    ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                                    StartingSequenceNumber=position)
        else:  # every record of the shard arrived after the delivery stream was created
            resp = self._kinesis.get_shard_iterator(StreamARN=cfg.source_arn, ShardId=shard_id,
                                                    ShardIteratorType="TRIM_HORIZON")
        return resp["ShardIterator"]

    def _position_at_creation(self, cfg: StreamConfig, shard_id: str) -> str | None:
        """The last record that arrived before the delivery stream was created (None: there is none).

        AT_TIMESTAMP over the API would do, but botocore sends whole seconds; the local stream's
        state is in this process, so we read the exact position from it.
        """
        last = moto_patches.kinesis_last_sequence_before(cfg.account_id, cfg.region, cfg.source_arn, shard_id,
                                                         self.start_at)
        if last is not None:
            # Persist it so a restart before the first delivery starts from the same place.
            self.read[shard_id] = self.acked[shard_id] = last
            self.checkpoints.put(self.key, {"stream": cfg.arn, "start_at": self.start_at, "shards": dict(self.acked)})
        return last

    # -- 2. transform ------------------------------------------------------
    def _process(self, cfg: StreamConfig) -> None:
        pending = self._stage1.take()
        # Invoke in batches no larger than the processor's buffer size.
        batch: list[SourceRecord] = []
        size = 0
        batches: list[list[SourceRecord]] = []
        for rec in pending:
            if batch and size + rec.size > max(cfg.proc_size_bytes, 1):
                batches.append(batch)
                batch, size = [], 0
            batch.append(rec)
            size += rec.size
        if batch:
            batches.append(batch)
        for records in batches:
            outcomes = self._transform(cfg, records) if cfg.lambda_arn else [Outcome(r, "Ok", r.data) for r in
                                                                             records]
            for outcome in outcomes:
                self._stage2.add(outcome, len(outcome.data) if outcome.result == "Ok" else outcome.record.size)
            for rec in records:
                self._stage2_positions[rec.shard_id] = rec.sequence_number

    def _transform(self, cfg: StreamConfig, records: list[SourceRecord]) -> list[Outcome]:
        assert cfg.lambda_arn is not None
        attempts = 0
        failure: InvocationFailed | None = None
        dims = {"DeliveryStreamName": cfg.name}
        while attempts <= cfg.retries and not self._stop.is_set():
            attempts += 1
            event = build_event(records, cfg.arn, cfg.source_arn, cfg.region)
            started = time.monotonic()
            try:
                outcomes = parse_response(self._invoke(cfg, event), records, attempts)
                ok = True
            except InvocationFailed as exc:
                failure, ok = exc, False
            self.counters.invocations += 1
            self._metric("AWS/Firehose", "ExecuteProcessing.Duration", (time.monotonic() - started) * 1000,
                         "Milliseconds", dims)
            self._metric("AWS/Firehose", "ExecuteProcessing.Success", 1 if ok else 0, "Count", dims)
            if ok:
                succeeded = sum(1 for o in outcomes if o.result != "ProcessingFailed")
                self._metric("AWS/Firehose", "SucceedProcessing.Records", succeeded, "Count", dims)
                return outcomes
            self.counters.failed_invocations += 1
            self._log_error(cfg, failure.error_code, failure.message)
            self.last_error = f"processor {cfg.lambda_arn} attempt {attempts}: {failure}"
            log.warning("delivery stream %s: %s", cfg.name, self.last_error)
            if attempts <= cfg.retries:
                self._stop.wait(self.retry_backoff_s * attempts)
        if self._stop.is_set() and failure is None:
            raise FirehoseRunnerError("stopped during processing")
        if self._stop.is_set():
            # Stopping mid-retry: do not turn the batch into errors; it will be re-read.
            raise FirehoseRunnerError("stopped during processing retries")
        assert failure is not None
        return [Outcome(r, "ProcessingFailed", error_code=failure.error_code, error_message=failure.message,
                        attempts=attempts) for r in records]

    def _invoke(self, cfg: StreamConfig, event: dict[str, Any]) -> bytes:
        try:
            result = self._executor.invoke(cfg.lambda_arn, json.dumps(event).encode("utf-8"), region=cfg.region,
                                           account_id=cfg.account_id)
        except AwsServiceError as exc:
            code = NOT_FOUND if exc.code == "ResourceNotFoundException" else (f"Lambda.{exc.code}", exc.message)
            raise InvocationFailed(code[0], code[1] if code is not NOT_FOUND else f"{NOT_FOUND[1]} {exc.message}")
        if result.function_error:
            raise InvocationFailed(*FUNCTION_ERROR)
        return result.payload

    # -- 3 + 4. deliver, then acknowledge -------------------------------------
    def _deliver(self, cfg: StreamConfig) -> None:
        outcomes: list[Outcome] = list(self._stage2.items)
        ok = [o for o in outcomes if o.result == "Ok"]
        failed = [o for o in outcomes if o.result == "ProcessingFailed"]
        dropped = len(outcomes) - len(ok) - len(failed)
        now_ms = int(time.time() * 1000)
        if ok:
            oldest = min(o.record.arrival_ms for o in ok)
            self._put(cfg, evaluate_prefix(cfg.prefix, _utc(oldest)), _utc(oldest), b"".join(o.data for o in ok))
        if failed:
            oldest = min(o.record.arrival_ms for o in failed)
            body = b"".join(error_line(o, cfg.lambda_arn or "", now_ms) for o in failed)
            self._put(cfg, evaluate_prefix(cfg.error_prefix, _utc(oldest), "processing-failed"), _utc(oldest), body)
        # Every object of this batch is in S3: now, and only now, acknowledge.
        self.acked.update(self._stage2_positions)
        self.checkpoints.put(self.key, {"stream": cfg.arn, "start_at": self.start_at, "shards": dict(self.acked)})
        self._stage2.take()
        self._stage2_positions = {}
        self.counters.delivered_records += len(ok)
        self.counters.processing_failed_records += len(failed)
        self.counters.dropped_records += dropped
        dims = {"DeliveryStreamName": cfg.name}
        if ok:
            freshness_s = max(0.0, (now_ms - min(o.record.arrival_ms for o in ok)) / 1000)
            self._metric("AWS/Firehose", "DeliveryToS3.Records", len(ok), "Count", dims)
            self._metric("AWS/Firehose", "DeliveryToS3.Bytes", sum(len(o.data) for o in ok), "Bytes", dims)
            self._metric("AWS/Firehose", "DeliveryToS3.DataFreshness", freshness_s, "Seconds", dims)
            self._metric("AWS/Firehose", "DeliveryToS3.Success", 1, "Count", dims)
        self.last_delivery_at = dt.datetime.now(dt.timezone.utc).isoformat()

    def _put(self, cfg: StreamConfig, prefix: str, when: dt.datetime, body: bytes) -> None:
        key = prefix + object_name(cfg.name, cfg.version, when)
        if cfg.compression == "GZIP":
            body, key = gzip.compress(body), key + ".gz"
        try:
            self._s3.put_object(Bucket=cfg.bucket, Key=key, Body=body)
        except Exception as exc:
            self._metric("AWS/Firehose", "DeliveryToS3.Success", 0, "Count", {"DeliveryStreamName": cfg.name})
            self._log_error(cfg, "S3.PutObjectFailed", f"Failed to write to s3://{cfg.bucket}: {exc}")
            raise DeliveryFailed(f"could not write s3://{cfg.bucket}/{key}: {exc}") from exc
        self.counters.objects_written += 1

    # -- health, logs & metrics ------------------------------------------------
    def _log_error(self, cfg: StreamConfig, error_code: str, message: str) -> None:
        """Firehose's error logging (CloudWatchLoggingOptions) to the configured group/stream; best effort."""
        if not cfg.log_group or not cfg.log_stream:
            return
        doc = {
            "deliveryStreamARN": cfg.arn,
            "destination": f"arn:aws:s3:::{cfg.bucket}",
            "deliveryStreamVersionId": int(cfg.version) if cfg.version.isdigit() else cfg.version,
            "message": message,
            "errorCode": error_code,
        }
        if cfg.lambda_arn and error_code.startswith("Lambda."):
            doc["processor"] = cfg.lambda_arn
        # Firehose writes into the group and stream its options name and never creates them.
        self._plane.logs.write(cfg.account_id, cfg.region, cfg.log_group, cfg.log_stream, [json.dumps(doc)],
                               create=False)

    def _metric(self, namespace: str, name: str, value: float, unit: str, dims: dict[str, str]) -> None:
        self._plane.metrics.add(namespace, name, value, unit, dims, region=self.config.region)

    def health(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "state": self.state,
            "source": cfg.source_arn,
            "destination": f"s3://{cfg.bucket}/{cfg.prefix}",
            "processor": cfg.lambda_arn,
            "position": dict(self.acked),
            "read_position": dict(self.read),
            "lag_records": self._lag_records(),
            "lag_ms": max(self.millis_behind.values(), default=0),
            "buffered_records": len(self._stage1.items) + len(self._stage2.items),
            "last_error": self.last_error,
            "last_delivery_at": self.last_delivery_at,
            "counters": dict(self.counters.__dict__),
        }

    def _lag_records(self) -> int | None:
        """Records in the source stream not yet acknowledged (read from moto's in-process state)."""
        try:
            return moto_patches.kinesis_records_after(self.config.account_id, self.config.region,
                                                      self.config.source_arn, dict(self.acked), self.start_at)
        except Exception:  # health must answer even when the source is gone
            return None


def _utc(epoch_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, dt.timezone.utc)

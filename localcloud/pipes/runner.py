"""The pipes runner: moves data for every RUNNING pipe from a DynamoDB stream to a Kinesis stream.

`PipesRunner` (the object on `cloud.runners`) looks at moto's pipes about once
a second and keeps one `PipeWorker` thread per pipe whose DesiredState is
RUNNING; it stops a worker when the pipe is stopped (position kept), updated
(restarted with the new configuration, position kept) or deleted (position
forgotten). A worker polls each shard about four times a second like AWS,
batches by BatchSize/MaximumBatchingWindowInSeconds, and acknowledges a
shard position (a checkpoint in the data dir) only after Kinesis accepted
the whole batch, so a restart re-sends at most the last unacknowledged batch.

A batch Kinesis refuses is retried per MaximumRetryAttempts, halved per
OnPartialBatchItemFailure=AUTOMATIC_BISECT until the bad record is alone, and
a record still failing (or older than MaximumRecordAgeInSeconds) goes to the
DeadLetterConfig's SQS queue (`dead_letters.py`) so the shard moves on;
without a queue it is dropped and logged. Throttling and unavailability are
retried indefinitely and never count as attempts, as on AWS.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from localcloud import moto_patches
from localcloud.checkpoints import CheckpointStore
from localcloud.loops import LoopThread
from localcloud.pipes.events import epoch_seconds, to_pipe_event
from localcloud.pipes.dead_letters import RECORD_TOO_OLD, RETRIES_EXHAUSTED, DeadLetterQueue, dead_letter_message
from localcloud.pipes.exceptions import (DeadLetterUnavailable, PipeRunError, RecordTransformError, SourceUnavailable,
                                         aws_error)
from localcloud.pipes.filters import RecordFilter
from localcloud.pipes.kinesis_target import KinesisTarget, PartitionKey
from localcloud.pipes.models import PipeSnapshot, PipeStore

if TYPE_CHECKING:
    from localcloud.plane import ServicePlane

log = logging.getLogger("localcloud.pipes")

DEFAULT_BATCH_SIZE = 100  # Pipes' default for DynamoDB stream sources
GET_RECORDS_MAX = 1000  # DynamoDB Streams GetRecords limit


def supported(snapshot: PipeSnapshot) -> str | None:
    """None if the runner can move this pipe's data, else why not (shown as StateReason)."""
    if ":dynamodb:" not in snapshot.source or "/stream/" not in snapshot.source:
        return "The local cloud runs pipes whose source is a DynamoDB stream; this source is not moved."
    if ":kinesis:" not in snapshot.target or ":stream/" not in snapshot.target:
        return "The local cloud runs pipes whose target is a Kinesis stream; this target is not written."
    if snapshot.enrichment:
        return "The local cloud does not run pipe enrichments; this pipe moves no data here."
    if "InputTemplate" in snapshot.target_parameters:
        return "The local cloud does not apply a target InputTemplate; this pipe moves no data here."
    return None


def _config_signature(snapshot: PipeSnapshot) -> tuple[Any, ...]:
    return (snapshot.source, repr(sorted(snapshot.source_parameters.items())), snapshot.target,
            repr(sorted(snapshot.target_parameters.items())), snapshot.enrichment)


class PipesRunner:
    """Keeps one worker per RUNNING pipe; `health()` reports each pipe's state, positions, lag, last error."""

    name = "pipes"

    def __init__(
        self,
        plane: ServicePlane,
        data_dir: str | Path,
        store: PipeStore,
        discover_interval_s: float = 1.0,
        poll_interval_s: float = 0.25,
        max_backoff_s: float = 2.0,
    ):
        self._plane = plane
        self.store = store
        self.publish = plane.metrics.add
        self.discover_interval_s = discover_interval_s
        self.poll_interval_s = poll_interval_s
        self.max_backoff_s = max_backoff_s
        self.checkpoints = CheckpointStore(data_dir, "pipes")
        self.workers: dict[str, PipeWorker] = {}
        self._thread = LoopThread("pipes-runner", self._loop)
        self._stop = self._thread.stopping
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self.last_error: str | None = None
        # Test seam: called with each new KinesisTarget (e.g. to wrap its put_records).
        self.on_target_created: Callable[[KinesisTarget], None] | None = None
        self._polls = 0

    @property
    def polls(self) -> int:
        """Reconcile rounds completed: a test waits for more of them to show a pipe was NOT started."""
        return self._polls

    # -- Runner protocol -----------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.stop()
        with self._lock:
            workers, self.workers = list(self.workers.values()), {}
        for worker in workers:
            worker.stop()

    def health(self) -> dict[str, Any]:
        """{"state", "last_error", "pipes": {name: {...}}}; see PipeWorker.health for a pipe's keys.

        Pipes without a worker (stopped, or not runnable here) are listed too, with the
        positions they will resume from.
        """
        with self._lock:
            workers = dict(self.workers)
        running = self._thread.alive
        pipes = {w.snapshot.name: w.health() for w in workers.values()}
        try:
            snapshots = list(self.store.snapshots())
        except Exception:  # health must answer even if moto's state is being reset
            snapshots = []
        for snap in snapshots:
            if snap.key in workers:
                continue
            saved = self.checkpoints.get(snap.key) or {}
            pipes[snap.name] = {
                "state": snap.current_state,
                "state_reason": None,
                "last_error": None,
                "source": snap.source,
                "target": snap.target,
                "records_delivered": 0,
                "records_filtered_out": 0,
                "records_dropped": 0,
                "records_dead_lettered": 0,
                "dead_letter_queue": (snap.source_parameters.get("DynamoDBStreamParameters", {})
                                      .get("DeadLetterConfig") or {}).get("Arn"),
                "lag_ms": None,
                "shards": {sid: {"position": pos.get("after"), "pending_records": 0, "closed": False,
                                 "done": bool(pos.get("done"))}
                           for sid, pos in saved.get("shards", {}).items()},
            }
        return {"state": "running" if running else "stopped", "last_error": self.last_error, "pipes": pipes}

    def wake(self) -> None:
        """Reconcile now instead of at the next tick (after an API call changed a pipe)."""
        self._wake.set()

    # -- reconciliation ------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.reconcile()
                self.last_error = None
            except Exception as exc:  # the loop must survive anything one pipe does
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("pipes runner reconcile failed")
            self._wake.wait(self.discover_interval_s)
            self._wake.clear()
            self._polls += 1

    def reconcile(self) -> None:
        snapshots = {s.key: s for s in self.store.snapshots()}
        with self._lock:
            current = dict(self.workers)
        for key, worker in current.items():
            snap = snapshots.get(key)
            if snap is None:
                # Deleted (or moto reset): stop and forget where it was.
                worker.stop()
                self.checkpoints.delete(key)
                with self._lock:
                    self.workers.pop(key, None)
                log.info("pipe %s deleted: worker stopped, position forgotten", worker.snapshot.name)
            elif snap.desired_state != "RUNNING" or _config_signature(snap) != worker.signature:
                worker.stop()
                with self._lock:
                    self.workers.pop(key, None)
        for key, snap in snapshots.items():
            reason = supported(snap)
            if reason is not None:
                # Nothing runs it, and we say so rather than pretend.
                state = "RUNNING" if snap.desired_state == "RUNNING" else "STOPPED"
                if snap.current_state != state:
                    self.store.report(snap, state, reason)
                continue
            if snap.desired_state != "RUNNING":
                if snap.current_state != "STOPPED":
                    self.store.report(snap, "STOPPED", None)
                continue
            with self._lock:
                worker = self.workers.get(key)
            if worker is None:
                worker = PipeWorker(snap, self)
                with self._lock:
                    self.workers[key] = worker
                worker.start()
            else:
                worker.snapshot = snap  # newer version (e.g. Start after Stop): report against it
                worker.republish_state()

    def client(self, service: str, region: str) -> Any:
        """The source stream and the target stream are read and written over HTTP, as AWS's Pipes does."""
        return self._plane.client(service, region)


@dataclass
class ShardState:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    acked_seq: str | None = None  # last sequence number Kinesis accepted (the checkpoint)
    fetched_seq: str | None = None  # last sequence number read from the stream
    buffer: list[dict[str, Any]] = field(default_factory=list)
    buffer_since: float | None = None
    closed: bool = False  # the stream says no more records will come (no NextShardIterator)
    done: bool = False  # closed and every record delivered
    newest_record_time: float | None = None  # approx. creation time of the newest record read
    acked_record_time: float | None = None  # approx. creation time of the last acknowledged record


@dataclass
class _Item:
    """One stream record on its way: its sequence number, the Pipes event, the record as read."""

    seq: str
    event: dict[str, Any]
    record: dict[str, Any]


@dataclass
class _Tally:
    """What one batch's delivery achieved, for the metrics published once per batch."""

    delivered: int = 0
    size: int = 0


class PipeWorker:
    """Moves one pipe's records; one thread, shards processed parent before child."""

    def __init__(self, snapshot: PipeSnapshot, runner: PipesRunner):
        self.snapshot = snapshot
        self.runner = runner
        self.signature = _config_signature(snapshot)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = "STARTING"
        self.state_reason: str | None = None
        self.last_error: str | None = None
        self.shards: dict[str, ShardState] = {}
        self._shards_checked = 0.0  # monotonic time the shard list was last read
        self.records_delivered = 0
        params = snapshot.source_parameters.get("DynamoDBStreamParameters", {})
        self.starting_position = params.get("StartingPosition", "LATEST")
        self.batch_size = int(params.get("BatchSize") or DEFAULT_BATCH_SIZE)
        self.batching_window_s = float(params.get("MaximumBatchingWindowInSeconds") or 0)
        self.max_retry_attempts = int(params.get("MaximumRetryAttempts", -1))
        self.max_record_age_s = int(params.get("MaximumRecordAgeInSeconds", -1))
        self.bisect = params.get("OnPartialBatchItemFailure") == "AUTOMATIC_BISECT"
        self.dead_letter_arn = (params.get("DeadLetterConfig") or {}).get("Arn")
        self.dead_letters: DeadLetterQueue | None = None
        self.records_dead_lettered = 0
        self.filter = RecordFilter(snapshot.source_parameters.get("FilterCriteria"))
        self.records_filtered_out = 0
        self.records_dropped = 0  # given up after MaximumRetryAttempts
        self.stream_arn = snapshot.source
        self.region = self.stream_arn.split(":")[3]
        self._polls = 0

    @property
    def polls(self) -> int:
        """Rounds of the worker's loop completed: a test waits for more of them to show nothing more came."""
        return self._polls

    # -- lifecycle -----------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"pipe-{self.snapshot.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout=15)

    def _sleep(self, seconds: float) -> bool:
        return self._stop.wait(seconds)

    def _set_state(self, state: str, reason: str | None) -> None:
        self.state, self.state_reason = state, reason
        self.runner.store.report(self.snapshot, state, reason)

    def republish_state(self) -> None:
        if self.snapshot.current_state != self.state or self.state_reason is not None:
            self.runner.store.report(self.snapshot, self.state, self.state_reason)

    def _error(self, reason: str | None) -> None:
        """Show (or clear) a failure as StateReason while the pipe keeps trying."""
        if reason is not None:
            self.last_error = reason
        if reason != self.state_reason:
            self._set_state(self.state, reason)

    # -- checkpoints ---------------------------------------------------
    def _load_positions(self) -> dict[str, Any]:
        saved = self.runner.checkpoints.get(self.snapshot.key) or {}
        if saved.get("stream") != self.stream_arn:
            return {}
        return saved.get("shards", {})

    def _save_positions(self) -> None:
        shards = {}
        for s in self.shards.values():
            entry: dict[str, Any] = {}
            if s.acked_seq is not None:
                entry["after"] = s.acked_seq
            if s.done:
                entry["done"] = True
            shards[s.shard_id] = entry
        self.runner.checkpoints.put(self.snapshot.key, {"stream": self.stream_arn, "shards": shards})

    # -- main loop -----------------------------------------------------
    def _run(self) -> None:
        self.streams = self.runner.client("dynamodbstreams", self.region)
        target_arn = self.snapshot.target
        kinesis = self.runner.client("kinesis", target_arn.split(":")[3])
        key_expr = self.snapshot.target_parameters.get("KinesisStreamParameters", {}).get("PartitionKey", "")
        try:
            partition_key = PartitionKey(key_expr)
        except RecordTransformError as exc:
            self._set_state("RUNNING", str(exc))
            partition_key = None
        if self.dead_letter_arn:
            try:
                self.dead_letters = DeadLetterQueue(self.runner.client("sqs", self.dead_letter_arn.split(":")[3]),
                                                    self.dead_letter_arn)
            except DeadLetterUnavailable as exc:
                self._set_state("RUNNING", str(exc))
                partition_key = None  # move nothing rather than drop what should be dead-lettered
        self.target = None
        if partition_key is not None:
            self.target = KinesisTarget(kinesis, target_arn, partition_key, self.snapshot.name,
                                        self.runner.max_backoff_s)
            if self.runner.on_target_created:
                self.runner.on_target_created(self.target)
        saved = self._load_positions()
        backoff = 0.25
        while not self._stop.is_set():
            try:
                if self.target is None:
                    self._sleep(1.0)
                    continue
                self._discover_shards(saved)
                if self.state != "RUNNING":
                    self._set_state("RUNNING", None)
                busy = self._poll_once()
                backoff = 0.25
                if not busy:
                    self._sleep(self.runner.poll_interval_s)
            except SourceUnavailable as exc:
                self._error(str(exc))
                log.warning("pipe %s: %s", self.snapshot.name, exc)
                self._sleep(backoff)
                backoff = min(backoff * 2, self.runner.max_backoff_s)
            except Exception as exc:  # keep the worker alive; say what happened
                self._error(f"{type(exc).__name__}: {exc}")
                log.exception("pipe %s failed", self.snapshot.name)
                self._sleep(backoff)
                backoff = min(backoff * 2, self.runner.max_backoff_s)
            finally:
                self._polls += 1
        if self.shards:
            self._save_positions()

    def _discover_shards(self, saved: dict[str, Any]) -> None:
        """Learn shards (new ones appear when DynamoDB splits/rolls them) and get an iterator for each."""
        if self.shards and all(s.iterator or s.done or s.closed for s in self.shards.values()) \
                and self._shards_checked > time.monotonic() - 10:
            return
        try:
            shards: list[dict[str, Any]] = []
            kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
            while True:
                desc = self.streams.describe_stream(**kwargs)["StreamDescription"]
                shards.extend(desc.get("Shards", []))
                last = desc.get("LastEvaluatedShardId")
                if not last:
                    break
                kwargs["ExclusiveStartShardId"] = last
        except (ClientError, BotoCoreError) as exc:
            raise SourceUnavailable(_source_error(exc, self.stream_arn)) from exc
        self._shards_checked = time.monotonic()
        for shard in shards:
            sid = shard["ShardId"]
            if sid in self.shards:
                continue
            state = ShardState(sid, shard.get("ParentShardId"))
            pos = saved.get(sid, {})
            state.acked_seq = pos.get("after")
            state.done = bool(pos.get("done"))
            self.shards[sid] = state
        for state in self.shards.values():
            if state.iterator is None and not state.done:
                state.iterator = self._iterator_for(state)

    def _iterator_for(self, state: ShardState) -> str:
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": state.shard_id}
        resume_at = state.fetched_seq if state.buffer else state.acked_seq
        if resume_at is not None:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=resume_at)
        elif state.parent_id and state.parent_id in self.shards:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"  # a child of a shard we read: start at its beginning
        elif self.starting_position == "LATEST":
            # LATEST is where the stream was when the pipe was created, not wherever it is when this
            # worker starts: a worker started late (a loaded machine, a STOPPED pipe started, a
            # restart after kill -9 before the first delivery) must not skip what came in meanwhile.
            created_after = moto_patches.dynamodb_stream_last_sequence_before(
                self.stream_arn.split(":")[4], self.region, self.stream_arn, state.shard_id, self.snapshot.created_at)
            if created_after is None:
                kwargs["ShardIteratorType"] = "TRIM_HORIZON"  # every retained record came after the pipe
            else:
                kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=created_after)
        else:
            kwargs["ShardIteratorType"] = self.starting_position
        try:
            iterator = self.streams.get_shard_iterator(**kwargs)["ShardIterator"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TrimmedDataAccessException":
                log.warning("pipe %s: position %s on %s was trimmed; resuming at TRIM_HORIZON",
                            self.snapshot.name, resume_at, state.shard_id)
                kwargs = {"StreamArn": self.stream_arn, "ShardId": state.shard_id,
                          "ShardIteratorType": "TRIM_HORIZON"}
                iterator = self.streams.get_shard_iterator(**kwargs)["ShardIterator"]
            else:
                raise SourceUnavailable(_source_error(exc, self.stream_arn)) from exc
        except BotoCoreError as exc:
            raise SourceUnavailable(_source_error(exc, self.stream_arn)) from exc
        state.iterator = iterator
        return iterator

    def _ready(self, state: ShardState) -> bool:
        if state.done:
            return False
        parent = self.shards.get(state.parent_id) if state.parent_id else None
        return parent is None or parent.done

    def _poll_once(self) -> bool:
        """One round over the shards; True if there is more to read right away."""
        busy = False
        for state in list(self.shards.values()):
            if self._stop.is_set():
                return False
            if not self._ready(state):
                continue
            more = self._read(state)
            if self._batch_due(state):
                if not self._deliver(state):
                    return False
            if state.closed and not state.buffer and not state.done:
                state.done = True
                self._save_positions()
                busy = True  # its children may start now
            busy = busy or more
        return busy

    def _read(self, state: ShardState) -> bool:
        if state.closed or state.iterator is None:
            return False
        room = self.batch_size - len(state.buffer)
        if room <= 0:
            return False
        try:
            resp = self.streams.get_records(ShardIterator=state.iterator, Limit=min(room, GET_RECORDS_MAX))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            # ValidationException: an iterator the stream no longer knows (e.g. kept across a server restart).
            if code in ("ExpiredIteratorException", "TrimmedDataAccessException", "ValidationException"):
                state.iterator = None
                state.iterator = self._iterator_for(state)
                return True
            raise SourceUnavailable(_source_error(exc, self.stream_arn)) from exc
        except BotoCoreError as exc:
            raise SourceUnavailable(_source_error(exc, self.stream_arn)) from exc
        records = resp.get("Records", [])
        next_iterator = resp.get("NextShardIterator")
        if records:
            if not state.buffer:
                state.buffer_since = time.monotonic()
            state.buffer.extend(records)
            state.fetched_seq = records[-1]["dynamodb"]["SequenceNumber"]
            state.newest_record_time = _record_time(records[-1])
        if next_iterator is None:
            state.closed = True
            state.iterator = None
        else:
            state.iterator = next_iterator
        return len(records) >= min(room, GET_RECORDS_MAX) and len(state.buffer) < self.batch_size

    def _batch_due(self, state: ShardState) -> bool:
        if not state.buffer:
            return False
        if len(state.buffer) >= self.batch_size or state.closed:
            return True
        return time.monotonic() - (state.buffer_since or 0) >= self.batching_window_s

    def _deliver(self, state: ShardState) -> bool:
        """Send the shard's buffered batch; acknowledge it once every record was delivered or given up on.

        Given up means: handed to the dead-letter queue (or, without one, dropped and logged) after
        MaximumRetryAttempts failed attempts, or because it is older than MaximumRecordAgeInSeconds.
        """
        batch = state.buffer[: self.batch_size]
        items = [_Item(r["dynamodb"]["SequenceNumber"], to_pipe_event(r, self.stream_arn), r) for r in batch]
        passing = [item for item in items if self.filter.passes(item.event)]
        self.records_filtered_out += len(items) - len(passing)
        tally = _Tally()
        started = time.monotonic()
        if passing and not self._send(state, passing, tally):
            return False
        if tally.delivered:
            name = {"PipeName": self.snapshot.name}
            elapsed_ms = (time.monotonic() - started) * 1000
            self._publish("AWS/EventBridge/Pipes", "EventCount", tally.delivered, "None", name)
            self._publish("AWS/EventBridge/Pipes", "EventSize", tally.size, "Bytes", name)
            self._publish("AWS/EventBridge/Pipes", "Duration", elapsed_ms, "Milliseconds", name)
            self._publish("AWS/EventBridge/Pipes", "TargetStageDuration", elapsed_ms, "Milliseconds", name)
        state.acked_seq = batch[-1]["dynamodb"]["SequenceNumber"]
        state.acked_record_time = _record_time(batch[-1])
        del state.buffer[: len(batch)]
        state.buffer_since = time.monotonic() if state.buffer else None
        self.records_delivered += tally.delivered
        self._save_positions()
        return True

    def _send(self, state: ShardState, chunk: list[_Item], tally: _Tally) -> bool:
        """Deliver `chunk` in order, bisecting and retrying as configured; False if asked to stop first.

        AUTOMATIC_BISECT: a failed chunk of more than one record is halved and each half sent on
        its own, left before right (so per-key order holds), with a fresh retry count — splitting
        does not use up MaximumRetryAttempts, as for Lambda's BisectBatchOnFunctionError.
        """
        name = {"PipeName": self.snapshot.name}
        attempts = 0
        while chunk:
            expired = [item for item in chunk if self._too_old(item)]
            if expired:
                if not self._give_up(state, expired, RECORD_TOO_OLD,
                                     f"older than MaximumRecordAgeInSeconds={self.max_record_age_s}"):
                    return False
                gone = {id(item) for item in expired}
                chunk = [item for item in chunk if id(item) not in gone]
                continue
            try:
                assert self.target is not None
                outgoing = self.target.prepare([(item.seq, item.event) for item in chunk])
                self._publish("AWS/EventBridge/Pipes", "Invocations", 1, "None", name)
                if not self.target.deliver(outgoing, self._stop.is_set, self._error, self._sleep):
                    return False
                tally.delivered += len(chunk)
                tally.size += sum(len(o.data) for o in outgoing)
                return True
            except PipeRunError as exc:
                accepted = getattr(exc, "accepted", frozenset())
                if accepted:  # written by earlier calls of this attempt: never send them twice
                    tally.delivered += sum(1 for item in chunk if item.seq in accepted)
                    chunk = [item for item in chunk if item.seq not in accepted]
                    if not chunk:
                        return True
                attempts += 1
                self._error(str(exc))
                self._publish("AWS/EventBridge/Pipes", "ExecutionFailed", 1, "None", name)
                self._publish("AWS/EventBridge/Pipes", "TargetStageFailed", 1, "None", name)
                log.warning("pipe %s: %d records failed (attempt %d): %s", self.snapshot.name, len(chunk),
                            attempts, exc)
                if self.bisect and len(chunk) > 1:
                    middle = len(chunk) // 2
                    return self._send(state, chunk[:middle], tally) and self._send(state, chunk[middle:], tally)
                if 0 <= self.max_retry_attempts < attempts:
                    return self._give_up(state, chunk, RETRIES_EXHAUSTED,
                                         f"{attempts} attempts (MaximumRetryAttempts={self.max_retry_attempts}): {exc}")
                if self._sleep(min(0.25 * 2 ** attempts, self.runner.max_backoff_s)):
                    return False
        return True

    def _too_old(self, item: _Item) -> bool:
        if self.max_record_age_s < 0:
            return False
        created = _record_time(item.record)
        return created is not None and time.time() - created > self.max_record_age_s

    def _give_up(self, state: ShardState, chunk: list[_Item], condition: str, why: str) -> bool:
        """Hand `chunk` to the dead-letter queue (or drop it, without one); False if stopped first."""
        if self.dead_letters is None:
            log.error("pipe %s: dropping %d records (no DeadLetterConfig) after %s", self.snapshot.name,
                      len(chunk), why)
            self.records_dropped += len(chunk)
            return True
        message = dead_letter_message(self.snapshot.arn, self.stream_arn, state.shard_id,
                                      [item.record for item in chunk], condition, time.time())
        backoff = 0.25
        while True:
            try:
                self.dead_letters.send(message)
                break
            except DeadLetterUnavailable as exc:
                # Keep the records (and the shard) until the queue takes them: nothing is lost unseen.
                self._error(str(exc))
                log.warning("pipe %s: %s", self.snapshot.name, exc)
                if self._sleep(backoff):
                    return False
                backoff = min(backoff * 2, self.runner.max_backoff_s)
        log.warning("pipe %s: sent %d records (%s..%s) to the dead-letter queue after %s", self.snapshot.name,
                    len(chunk), chunk[0].seq, chunk[-1].seq, why)
        self.records_dead_lettered += len(chunk)
        return True

    def _publish(self, namespace: str, metric: str, value: float, unit: str, dims: dict[str, str]) -> None:
        self.runner.publish(namespace, metric, value, unit, dims, self.region)

    # -- health --------------------------------------------------------
    def health(self) -> dict[str, Any]:
        now = time.time()
        lag = 0.0
        shards = list(self.shards.values())
        for s in shards:
            if s.buffer:
                lag = max(lag, (now - (_record_time(s.buffer[0]) or now)) * 1000)
        return {
            "state": self.state,
            "state_reason": self.state_reason,
            "last_error": self.last_error,
            "source": self.stream_arn,
            "target": self.snapshot.target,
            "records_delivered": self.records_delivered,
            "records_filtered_out": self.records_filtered_out,
            "records_dropped": self.records_dropped,
            "records_dead_lettered": self.records_dead_lettered,
            "dead_letter_queue": self.dead_letter_arn,
            "lag_ms": round(lag),
            "shards": {
                s.shard_id: {
                    "position": s.acked_seq,
                    "pending_records": len(s.buffer),
                    "closed": s.closed,
                    "done": s.done,
                }
                for s in shards
            },
        }


def _record_time(record: dict[str, Any]) -> float | None:
    value = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if value is None:
        return None
    return float(epoch_seconds(value))


def _source_error(exc: Exception, stream_arn: str) -> str:
    if (error := aws_error(exc)) is not None:
        code, message = error
        if code == "ResourceNotFoundException":
            return f"Source stream not found: {stream_arn} ({message})"
        return f"Source stream {stream_arn} failed: {code}: {message}"
    return f"Source stream {stream_arn} is unreachable: {exc}"

"""Redrive: send the records the transform could not process back through the pipeline, each exactly once.

Firehose writes a record its processor marked ProcessingFailed (or could not invoke for) under
`errors/processing-failed/`, one JSON line each with the record's original bytes in `rawData`
(https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html). Once
the cause is fixed, `redrive()` puts each line's `rawData` back on the Kinesis stream, so Firehose
reads it again and re-runs the transform, and then moves the error object to `errors/redriven/`.

Exactly once, across repeated and interrupted runs, per error object:

1. Claim: before sending anything, tag the object `redrive-claim=<token>:<epoch ms>` (kept if
   an earlier run already claimed it). The claim is what a later run recovers from.
2. Send: line i goes to Kinesis with partition key `redrive-<token>-<i>` (the transform reads only
   the data, so the key is free to carry this). Records Kinesis does not take are retried a few
   times, then left for the next run.
3. Move: only when every line of the object is on the stream, copy it to `errors/redriven/...`
   and delete the original.

A run that finds an object already claimed (an earlier run stopped between 1 and 3) reads the
stream from the claim time and sends only the lines whose `redrive-<token>-<i>` key is not there,
so nothing goes twice and nothing is skipped. That needs the claim to be younger than the stream's
retention (24 h by default); an older claim cannot be checked and the object is left alone and
reported.

Runs never overlap, across processes (the CLI, the Health page's button, two browser tabs): a run
first creates the lock object `errors/redrive.lock` with a conditional put (`If-None-Match: *`,
which S3 lets exactly one of several concurrent writers win, the others getting 412
PreconditionFailed). A run that cannot create it refuses with one sentence and sends nothing. The
lock says until when it holds; the run extends it (`If-Match` its own ETag) before each object and
deletes it at the end. A lock past its time is left by a run that crashed: the next run takes it
over with `If-Match` on the stale lock's ETag (so of two runs finding it, one wins), and the claims
above make that run send only what the crashed one had not.

A record that fails again lands under processing-failed again, as a new object; the next run
counts it as "failed again" (its rawData is one already redriven) and sends it once more.

    python -m salescdc.redrive [--json]
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import gzip
import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

import botocore.exceptions

from salescdc.clients import ClientFactory
from salescdc.contract import ERROR_PREFIX
from salescdc.errors import explain
from salescdc.settings import Settings

PENDING_PREFIX = f"{ERROR_PREFIX}processing-failed/"
REDRIVEN_PREFIX = f"{ERROR_PREFIX}redriven/"
CLAIM_TAG = "redrive-claim"
PUT_RECORDS_MAX = 500  # Kinesis PutRecords: at most 500 records ...
PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024  # ... and 5 MiB per call
SEND_ATTEMPTS = 4
SCAN_SLACK_MS = 60_000  # read the stream from a minute before the claim: clocks of two machines differ
LOCK_KEY = f"{ERROR_PREFIX}redrive.lock"
LOCK_TTL_MS = 10 * 60_000  # a lock not extended for this long was left by a crashed run
_CONFLICTS = ("PreconditionFailed", "ConditionalRequestConflict")  # 412, and 409 on a concurrent write


class RedriveBusy(Exception):
    """Another redrive holds the lock; the message is the one sentence to show."""


class RedriveLock:
    """The lock object that keeps redrive runs apart (see the module docstring)."""

    def __init__(self, s3: Any, bucket: str, clock: Callable[[], float] = time.time):
        self.s3 = s3
        self.bucket = bucket
        self.clock = clock
        self.token = uuid.uuid4().hex
        self.etag: str | None = None
        self.started_ms = int(clock() * 1000)

    def _body(self) -> bytes:
        now_ms = int(self.clock() * 1000)
        return json.dumps({"token": self.token, "started_ms": self.started_ms,
                           "expires_ms": now_ms + LOCK_TTL_MS}).encode()

    def acquire(self) -> None:
        """Take the lock, or raise RedriveBusy."""
        for _ in range(3):  # a lock deleted between our attempts: try again
            try:
                self.etag = self.s3.put_object(Bucket=self.bucket, Key=LOCK_KEY, Body=self._body(),
                                               IfNoneMatch="*")["ETag"]
                return
            except botocore.exceptions.ClientError as exc:
                if _code(exc) not in _CONFLICTS:
                    raise
            try:
                found = self.s3.get_object(Bucket=self.bucket, Key=LOCK_KEY)
            except botocore.exceptions.ClientError as exc:
                if _code(exc) in ("NoSuchKey", "404"):
                    continue
                raise
            holder = _lock_fields(found["Body"].read())
            if holder.get("expires_ms", 0) > int(self.clock() * 1000):
                raise RedriveBusy(_busy_sentence(holder))
            try:  # left by a run that crashed: take it over, unless another run just did
                self.etag = self.s3.put_object(Bucket=self.bucket, Key=LOCK_KEY, Body=self._body(),
                                               IfMatch=found["ETag"])["ETag"]
                return
            except botocore.exceptions.ClientError as exc:
                if _code(exc) not in (*_CONFLICTS, "NoSuchKey"):
                    raise
                raise RedriveBusy("Another redrive took over an abandoned redrive lock just now, so this one "
                                  "sent nothing; try again when it has finished.") from None
        raise RedriveBusy("Other redrives keep starting and stopping, so this one sent nothing; try again.")

    def extend(self) -> None:
        """Push the lock's expiry on; RedriveBusy if it is no longer ours (we stalled past its time)."""
        try:
            self.etag = self.s3.put_object(Bucket=self.bucket, Key=LOCK_KEY, Body=self._body(),
                                           IfMatch=self.etag)["ETag"]
        except botocore.exceptions.ClientError as exc:
            if _code(exc) not in (*_CONFLICTS, "NoSuchKey"):
                raise
            raise RedriveBusy("This redrive stalled past its lock's time and another one took over; it stopped "
                              "here, and the claims make the other one send what this one had not.") from None

    def release(self) -> None:
        """Delete the lock if it is still ours.

        The delete is conditional on the ETag of our last write (S3 conditional deletes): if
        another run took the lock over since, S3 answers 412 and the other run's lock stays.
        """
        if self.etag is None:
            return
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=LOCK_KEY, IfMatch=self.etag)
        except botocore.exceptions.ClientError as exc:
            if _code(exc) not in (*_CONFLICTS, "NoSuchKey", "404"):
                raise


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _lock_fields(body: bytes) -> dict[str, Any]:
    try:
        fields = json.loads(body)
    except ValueError:
        return {}
    return fields if isinstance(fields, dict) else {}


def _busy_sentence(holder: dict[str, Any]) -> str:
    started = holder.get("started_ms")
    when = (f" at {dt.datetime.fromtimestamp(started / 1000, dt.timezone.utc):%H:%M:%S} UTC"
            if isinstance(started, int) else "")
    return f"Another redrive started{when} is still running, so this one sent nothing; try again when it has finished."


@dataclass
class RedriveReport:
    """What one run did; `sent` and `failed_again` are what a person asks for."""

    objects_redriven: int = 0  # error objects completely back on the stream and moved to errors/redriven/
    sent: int = 0  # records this run put on the stream
    already_on_stream: int = 0  # records an interrupted earlier run had sent (found on the stream, not resent)
    failed_again: int = 0  # pending records that had been redriven before and failed the transform again
    not_sent: int = 0  # records Kinesis did not take; the next run sends them
    unreadable: int = 0  # error lines without a decodable rawData (kept in errors/redriven/ with the rest)
    left_alone: list[str] = field(default_factory=list)  # objects not handled, with the reason
    errors: list[str] = field(default_factory=list)
    refused: str | None = None  # another run held the lock: nothing was done, and this says why

    def summary(self) -> str:
        if self.refused:
            return self.refused
        parts = [f"Sent {self.sent} record{'s' if self.sent != 1 else ''} back through the pipeline "
                 f"from {self.objects_redriven} error object{'s' if self.objects_redriven != 1 else ''}"]
        if self.failed_again:
            parts.append(f"{self.failed_again} of them had failed again after an earlier redrive")
        if self.already_on_stream:
            parts.append(f"{self.already_on_stream} were already on the stream from an interrupted run and "
                         "were not sent twice")
        if self.not_sent:
            parts.append(f"{self.not_sent} were not taken by Kinesis and will go with the next run")
        if self.unreadable:
            parts.append(f"{self.unreadable} error lines had no readable rawData")
        text = "; ".join(parts) + "."
        for note in self.left_alone + self.errors:
            text += f" {note}"
        return text


@dataclass(frozen=True)
class _Line:
    index: int
    data: bytes


def _read_body(s3: Any, bucket: str, key: str) -> bytes:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return gzip.decompress(body) if key.endswith(".gz") else body


def _raw_lines(body: bytes) -> Iterator[tuple[int, bytes | None]]:
    """(line number, original record bytes or None if unreadable) for each error line."""
    for index, line in enumerate(l for l in body.splitlines() if l.strip()):
        try:
            yield index, base64.b64decode(json.loads(line)["rawData"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error):
            yield index, None


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return sorted(keys)


def _fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Redriver:
    """One run over every pending error object; see the module docstring for the protocol."""

    def __init__(self, settings: Settings, factory: ClientFactory, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.s3 = factory.client("s3")
        self.kinesis = factory.client("kinesis")
        self.bucket = factory.bucket_name()
        self.stream = settings.stream_name
        self.sleep = sleep
        self.report = RedriveReport()

    def run(self) -> RedriveReport:
        lock = RedriveLock(self.s3, self.bucket)
        try:
            lock.acquire()
        except RedriveBusy as busy:
            self.report.refused = str(busy)
            return self.report
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            self.report.errors.append(f"Nothing was sent: {explain(exc)}")
            return self.report
        try:
            return self._run_locked(lock)
        finally:
            try:
                lock.release()
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                pass  # it expires on its own: the next run after LOCK_TTL_MS takes it over

    def _run_locked(self, lock: RedriveLock) -> RedriveReport:
        try:
            pending = _keys(self.s3, self.bucket, PENDING_PREFIX)
            redriven_before = self._redriven_fingerprints() if pending else set()
            retention_ms = self._retention_ms() if pending else 0
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            self.report.errors.append(f"Nothing was sent: {explain(exc)}")
            return self.report
        for key in pending:
            try:
                lock.extend()
            except RedriveBusy as lost:
                self.report.errors.append(str(lost))
                break
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                self.report.errors.append(f"Stopped before {key}: {explain(exc)}; the next run sends the rest.")
                break
            try:
                self._redrive_object(key, redriven_before, retention_ms)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                # The claim stays: the next run finds what this one sent and sends only the rest.
                self.report.errors.append(f"{key} stopped part-way ({explain(exc)}); the next run completes it.")
        return self.report

    # -- one object ------------------------------------------------------------------------------
    def _redrive_object(self, key: str, redriven_before: set[str], retention_ms: int) -> None:
        lines: list[_Line] = []
        for index, data in _raw_lines(_read_body(self.s3, self.bucket, key)):
            if data is None:
                self.report.unreadable += 1
            else:
                lines.append(_Line(index, data))
        token, claimed_ms, earlier = self._claim(key)
        already: set[int] = set()
        if earlier:
            if int(time.time() * 1000) - claimed_ms > retention_ms:
                self.report.left_alone.append(
                    f"{key} was claimed by a redrive that stopped more than the stream's retention ago, so what it "
                    "sent can no longer be checked; it was left where it is (remove its redrive-claim tag to send "
                    "it again).")
                return
            already = self._sent_earlier(token, claimed_ms)
        todo = [line for line in lines if line.index not in already]
        self.report.already_on_stream += len(lines) - len(todo)
        self.report.failed_again += sum(1 for line in todo if _fingerprint(line.data) in redriven_before)
        unsent = self._send(token, todo)
        self.report.sent += len(todo) - unsent
        if unsent:
            self.report.not_sent += unsent
            return
        target = REDRIVEN_PREFIX + key[len(PENDING_PREFIX):]
        self.s3.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": key})
        self.s3.delete_object(Bucket=self.bucket, Key=key)
        self.report.objects_redriven += 1

    def _claim(self, key: str) -> tuple[str, int, bool]:
        """(token, claim time in epoch ms, whether an earlier run had claimed it)."""
        tags = {t["Key"]: t["Value"] for t in self.s3.get_object_tagging(Bucket=self.bucket, Key=key)["TagSet"]}
        if CLAIM_TAG in tags:
            token, _, millis = tags[CLAIM_TAG].partition(":")
            return token, int(millis or 0), True
        token, millis = uuid.uuid4().hex, int(time.time() * 1000)
        tags[CLAIM_TAG] = f"{token}:{millis}"
        self.s3.put_object_tagging(Bucket=self.bucket, Key=key,
                                   Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})
        return token, millis, False

    def _send(self, token: str, lines: list[_Line]) -> int:
        """Put every line on the stream; returns how many Kinesis still had not taken after the retries."""
        pending = [{"Data": line.data, "PartitionKey": f"redrive-{token}-{line.index}"} for line in lines]
        for attempt in range(SEND_ATTEMPTS):
            if not pending:
                return 0
            failed: list[dict[str, Any]] = []
            for call in _calls(pending):
                try:
                    results = self.kinesis.put_records(StreamName=self.stream, Records=call)["Records"]
                except botocore.exceptions.ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") not in (
                            "ProvisionedThroughputExceededException", "LimitExceededException", "ThrottlingException"):
                        raise
                    failed.extend(call)
                    continue
                failed.extend(record for record, result in zip(call, results) if result.get("ErrorCode"))
            pending = failed
            if pending and attempt + 1 < SEND_ATTEMPTS:
                self.sleep(0.2 * 2 ** attempt)
        return len(pending)

    # -- what earlier runs left ------------------------------------------------------------------
    def _sent_earlier(self, token: str, since_ms: int) -> set[int]:
        """Line numbers of this claim already on the stream: read every shard from the claim time."""
        prefix = f"redrive-{token}-"
        found: set[int] = set()
        start = dt.datetime.fromtimestamp((since_ms - SCAN_SLACK_MS) / 1000, dt.timezone.utc)
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamName": self.stream}
        while True:
            page = self.kinesis.list_shards(**kwargs)
            shards.extend(page.get("Shards", []))
            if not page.get("NextToken"):
                break
            kwargs = {"NextToken": page["NextToken"]}
        for shard in shards:
            iterator = self.kinesis.get_shard_iterator(StreamName=self.stream, ShardId=shard["ShardId"],
                                                       ShardIteratorType="AT_TIMESTAMP",
                                                       Timestamp=start)["ShardIterator"]
            while iterator:
                page = self.kinesis.get_records(ShardIterator=iterator, Limit=10_000)
                for record in page.get("Records", []):
                    if record["PartitionKey"].startswith(prefix):
                        found.add(int(record["PartitionKey"][len(prefix):]))
                if not page.get("Records") and not page.get("MillisBehindLatest"):
                    break  # caught up with the shard's end
                iterator = page.get("NextShardIterator")
        return found

    def _redriven_fingerprints(self) -> set[str]:
        prints: set[str] = set()
        for key in _keys(self.s3, self.bucket, REDRIVEN_PREFIX):
            for _, data in _raw_lines(_read_body(self.s3, self.bucket, key)):
                if data is not None:
                    prints.add(_fingerprint(data))
        return prints

    def _retention_ms(self) -> int:
        summary = self.kinesis.describe_stream_summary(StreamName=self.stream)["StreamDescriptionSummary"]
        return int(summary.get("RetentionPeriodHours", 24)) * 3600 * 1000


def _calls(records: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    call: list[dict[str, Any]] = []
    size = 0
    for record in records:
        weight = len(record["Data"]) + len(record["PartitionKey"].encode())
        if call and (len(call) >= PUT_RECORDS_MAX or size + weight > PUT_RECORDS_MAX_BYTES):
            yield call
            call, size = [], 0
        call.append(record)
        size += weight
    if call:
        yield call


def redrive(settings: Settings, factory: ClientFactory) -> RedriveReport:
    """Send every pending processing-failed record back through the pipeline once; see the module docstring."""
    return Redriver(settings, factory).run()


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None,
         out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m salescdc.redrive",
                                     description="Send the records under errors/processing-failed/ back through "
                                                 "the pipeline, each once.")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(dict(os.environ) if environ is None else environ)
        report = redrive(settings, ClientFactory(settings))
    except Exception as exc:  # noqa: BLE001 - one sentence, never a traceback
        out.write(f"Error: {explain(exc)}\n")
        return 1
    out.write((json.dumps(asdict(report), indent=2) if args.json else report.summary()) + "\n")
    return 1 if report.errors or report.refused else 0


if __name__ == "__main__":
    sys.exit(main())

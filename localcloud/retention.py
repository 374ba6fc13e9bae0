"""Stream records expire as on AWS, so the local cloud's memory does not grow with every change.

- DynamoDB Streams keep a record for 24 hours ("Stream records whose age exceeds this limit are
  subject to removal (trimming) from the stream", DynamoDB Streams API reference,
  GetShardIterator); a GetRecords on an iterator that points at trimmed records then answers
  TrimmedDataAccessException, and TRIM_HORIZON starts at the oldest record kept.
- Kinesis Data Streams keep a record for the stream's retention period: 24 hours unless
  IncreaseStreamRetentionPeriod / DecreaseStreamRetentionPeriod changed it (Kinesis developer guide,
  "Changing the data retention period"); TRIM_HORIZON is "the last untrimmed record in the shard",
  and an iterator behind it reads on from the oldest record kept.

- CloudWatch keeps data points with a period under a minute for 3 hours, then only aggregates
  (CloudWatch User Guide, "Metrics retention"): points older than 3 hours are rolled up into one
  statistic set per metric and minute, so Sum/SampleCount/Minimum/Maximum/Average over whole
  minutes answer as before while the runners' per-call points stop piling up.

`RetentionTask` trims all three every few seconds in a daemon thread, through the functions in
`localcloud/moto_patches.py` (which keep the shards' sequence numbering going). `retention_seconds`
(LocalCloud(retention_seconds=...), `--retention-seconds`) replaces both periods, for tests and
soaks that want records to expire in seconds.

With durable state (localcloud/durability) a DynamoDB or Kinesis trim is a record in the
write-ahead log (per shard: where the trim ended), made under the log's lock like any write, so a
restart after kill -9 replays it and the trimmed records do not come back. CloudWatch roll-ups are
not logged: a replay that brings raw points back only holds the same statistics until the next pass.
"""

from __future__ import annotations

import logging
import threading
import time

from localcloud import moto_patches

log = logging.getLogger("localcloud.retention")

DYNAMODB_STREAMS_RETENTION_S = 24 * 3600


class RetentionTask:
    """Trims expired DynamoDB stream records and Kinesis records in the background."""

    name = "retention"

    def __init__(self, retention_seconds: float | None = None, interval_seconds: float | None = None):
        if retention_seconds is not None and retention_seconds <= 0:
            raise ValueError(f"retention_seconds must be positive, not {retention_seconds}")
        self.retention_seconds = retention_seconds
        # Trim often enough that nothing lives much past its retention, rarely enough to cost nothing.
        default_interval = 30.0 if retention_seconds is None else max(0.2, min(30.0, retention_seconds / 4))
        self.interval_seconds = interval_seconds or default_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.trimmed = {"dynamodb": 0, "kinesis": 0, "cloudwatch": 0}

    def start(self) -> RetentionTask:
        moto_patches.install_retention_hooks()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="localcloud-retention", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def trim_once(self, now: float | None = None) -> dict[str, int]:
        """Trim everything older than its retention at `now` (epoch seconds); returns how many went
        (for CloudWatch: how many points were rolled up into minutes)."""
        now = time.time() if now is None else now
        ddb_retention = self.retention_seconds or DYNAMODB_STREAMS_RETENTION_S
        trimmed = {
            "dynamodb": moto_patches.trim_dynamodb_streams(ddb_retention, now),
            "kinesis": moto_patches.trim_kinesis_streams(now, self.retention_seconds),
            "cloudwatch": moto_patches.roll_up_cloudwatch_metrics(now),
        }
        for service, count in trimmed.items():
            self.trimmed[service] += count
        return trimmed

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                self.trim_once()
            except Exception:  # a failed pass must not end trimming for good; the next one retries
                log.exception("trimming expired stream records failed")

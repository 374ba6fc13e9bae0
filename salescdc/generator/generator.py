"""The order generator's loop: paced batches of planned operations, written with backoff.

`OrderGenerator.run` paces operations at `rate_per_s` (the tutorial's one order
every 3 s by default), gathering whatever is due into one BatchWriteItem of up to
25 operations, so hundreds per second cost a few requests per second. After an
outage it does not burst to catch up: the schedule restarts from the moment the
writes flow again. It stops at the count or duration bound, or when `stop_event`
is set, and raises TerminalError (TableMissingError for a missing table) for what
retrying cannot fix.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from salescdc.clients import ClientFactory
from salescdc.errors import TerminalError
from salescdc.generator.options import GeneratorOptions
from salescdc.generator.orders import Operation, OrderPlanner
from salescdc.generator.stats import GeneratorStats
from salescdc.generator.writer import MAX_BATCH, BatchWriter, StopRequested, dynamodb_client
from salescdc.settings import Settings

# Give up after this many batches in a row failed with errors retrying cannot fix.
MAX_FAILED_BATCHES = 10
# A schedule more than this far behind restarts instead of bursting.
MAX_LAG_S = 1.0


class OrderGenerator:
    """Writes orders to the settings' table as the options say."""

    def __init__(
        self,
        settings: Settings,
        factory: ClientFactory,
        options: GeneratorOptions,
        *,
        on_written: Callable[[list[Operation]], None] | None = None,
        on_started: Callable[[], None] | None = None,
    ):
        self.settings = settings
        self.options = options
        self.on_written = on_written  # called with each batch of acknowledged operations
        self.on_started = on_started  # called once the table is known to exist, before the first write
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._stats = GeneratorStats()
        self._started: float | None = None
        self._running = False
        self.writer = BatchWriter(
            dynamodb_client(factory), settings.table_name, settings.region,
            stop_event=self._stop, on_retry=self._count_retry,
        )
        self.planner: OrderPlanner | None = None

    @property
    def stats(self) -> GeneratorStats:
        """A consistent snapshot, safe to read from another thread."""
        with self._lock:
            snapshot = self._stats.copy()
            if self._running and self._started is not None:
                snapshot.elapsed_s = time.monotonic() - self._started
        return snapshot

    def stop(self) -> None:
        """Ask a running `run` to finish (from any thread)."""
        self._stop.set()

    def run(self, stop_event: threading.Event | None = None) -> GeneratorStats:
        """Generate until the bound is reached or `stop_event` is set; returns the final stats."""
        if stop_event is not None:
            self._stop = self.writer.stop_event = stop_event
        opts = self.options
        if opts.duration_s is not None:
            self.writer.deadline = time.monotonic() + opts.duration_s
        try:
            self.writer.check_table()
            self.planner = OrderPlanner(opts.seed, opts.update_share, opts.delete_share,
                                        taken=self.writer.existing_keys())
            # The clock starts once the table is known: rate and duration measure generating only.
            with self._lock:
                self._started = time.monotonic()
                self._stats.started_at = time.time()
                self._running = True
            if self.on_started is not None:
                self.on_started()
            self._loop()
        except StopRequested:
            pass
        except TerminalError as exc:
            with self._lock:
                self._stats.last_error = str(exc)
            raise
        finally:
            with self._lock:
                if self._running:
                    self._stats.elapsed_s = time.monotonic() - self._started
                self._running = False
        return self.stats

    def _loop(self) -> None:
        opts, planner = self.options, self.planner
        assert planner is not None
        t0, planned = time.monotonic(), 0  # schedule: operation k is due at t0 + k / rate
        end = self._started + opts.duration_s if opts.duration_s is not None else None
        self.writer.deadline = end  # the duration bound also ends a wait for the endpoint to come back
        failed_batches = 0
        while not self._stop.is_set():
            now = time.monotonic()
            written = self._stats.written
            if (opts.count is not None and written >= opts.count) or (end is not None and now >= end):
                return
            due = int((now - t0) * opts.rate_per_s) + 1 - planned
            if due <= 0:
                wake = t0 + planned / opts.rate_per_s
                self._stop.wait(max(0.0, min(wake, end if end is not None else wake) - now))
                continue
            n = min(due, MAX_BATCH)
            if opts.count is not None:
                n = min(n, opts.count - written)
            ops = planner.plan(n)
            if not ops:
                raise TerminalError("Every order id from 1 to 10000 is in use: nothing left to insert or update.")
            outcome = self.writer.write(ops)
            planner.settle(ops, outcome.acknowledged)
            with self._lock:
                for op in outcome.acknowledged:
                    self._stats.count(op.kind)
                if outcome.acknowledged:
                    self._stats.last_write_at = time.time()
                for code, lost in outcome.failed.items():
                    self._stats.errors[code] = self._stats.errors.get(code, 0) + len(lost)
                if outcome.error:
                    self._stats.last_error = outcome.error
            if outcome.acknowledged and self.on_written is not None:
                self.on_written(outcome.acknowledged)
            if outcome.stopped:
                return
            failed_batches = failed_batches + 1 if outcome.failed and not outcome.acknowledged else 0
            if failed_batches >= MAX_FAILED_BATCHES:
                raise TerminalError(f"Stopped after {failed_batches} failed batches in a row: {outcome.error}")
            planned += len(ops)
            if time.monotonic() - (t0 + planned / opts.rate_per_s) > MAX_LAG_S:
                t0, planned = time.monotonic(), 0

    def _count_retry(self, sentence: str) -> None:
        with self._lock:
            self._stats.transient_retries += 1
            self._stats.last_error = sentence


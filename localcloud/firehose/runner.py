"""The Firehose runner: finds every Kinesis-sourced delivery stream with an S3 destination and runs it.

Discovery re-reads moto's firehose backends about once a second: a new delivery stream gets a
`DeliveryStreamWorker` (its own thread), a deleted one is stopped and its positions dropped, an
updated one (UpdateDestination) gets its new configuration at its next poll.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localcloud import moto_patches
from localcloud.checkpoints import CheckpointStore
from localcloud.loops import LoopThread
from localcloud.firehose.delivery import DeliveryStreamWorker, read_config

if TYPE_CHECKING:
    from localcloud.lambda_exec.models import LambdaExecutor
    from localcloud.plane import ServicePlane

log = logging.getLogger("localcloud.firehose")


class FirehoseRunner:
    """Runner protocol: name / start / stop / health."""

    name = "firehose"

    def __init__(self, plane: ServicePlane, data_dir: str | Path, executor: LambdaExecutor,
                 poll_interval_s: float = 0.25, discover_interval_s: float = 1.0, retry_backoff_s: float = 0.2):
        """`executor` runs the processor Lambdas (in-process: Firehose invokes them as the service would)."""
        self._plane = plane
        self._data_dir = Path(data_dir)
        self._executor = executor
        self.poll_interval_s = poll_interval_s
        self.discover_interval_s = discover_interval_s
        self.retry_backoff_s = retry_backoff_s
        self.workers: dict[str, DeliveryStreamWorker] = {}
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._thread = LoopThread("firehose-discovery", self._discover_loop)
        self._stop = self._thread.stopping
        self._checkpoints: CheckpointStore | None = None
        self._polls = 0

    @property
    def polls(self) -> int:
        """Discovery rounds completed: a test waits for more of them to show a stream was NOT picked up."""
        return self._polls

    def start(self) -> None:
        self._checkpoints = CheckpointStore(self._data_dir, "firehose")
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop()
        with self._lock:
            workers, self.workers = list(self.workers.values()), {}
        for worker in workers:
            worker.stop()

    def health(self) -> dict[str, Any]:
        with self._lock:
            workers = dict(self.workers)
        running = self._thread.alive
        return {
            "state": "running" if running else "stopped",
            "last_error": self.last_error,
            "delivery_streams": {w.config.name: w.health() for w in workers.values()},
        }

    def discover_now(self) -> None:
        """One discovery pass (the loop calls it every second; tests may call it to skip the wait)."""
        assert self._checkpoints is not None
        seen: set[str] = set()
        # In-process: which delivery streams exist and how they are configured is what the runner
        # implements, like the Firehose service itself reading its own configuration store.
        for account_id, region, backend in moto_patches.all_backends("firehose"):
            for ds in list(backend.delivery_streams.values()):
                config = read_config(ds, account_id, region)
                if config is None:
                    continue
                # The creation time is in the key: a re-created stream of the same name starts afresh.
                key = f"{config.arn}@{config.created_at:.6f}"
                seen.add(key)
                with self._lock:
                    worker = self.workers.get(key)
                    if worker is None:
                        worker = DeliveryStreamWorker(key, config, self._plane, self._executor,
                                                      self._checkpoints, self.poll_interval_s,
                                                      self.retry_backoff_s)
                        self.workers[key] = worker
                        worker.start()
                        log.info("firehose: delivering %s from %s", config.name, config.source_arn)
                    else:
                        worker.update_config(config)
        with self._lock:
            gone = [key for key in self.workers if key not in seen]
            removed = [self.workers.pop(key) for key in gone]
        for worker in removed:
            worker.stop()
            self._checkpoints.delete(worker.key)
            log.info("firehose: delivery stream %s deleted; stopped", worker.config.name)

    def _discover_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.discover_now()
                self.last_error = None
            except Exception as exc:  # discovery must keep running
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("firehose discovery failed")
            self._stop.wait(self.discover_interval_s)
            self._polls += 1

"""Publish CloudWatch metrics the way AWS services do, so health reads one way on both targets.

Runners call `MetricsPublisher.add(...)`; a background flush sends them with
PutMetricData to the local cloud itself (AWS namespaces and names, e.g.
AWS/Firehose DeliveryToS3.Records), through the service plane's cached clients.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.plane import ServicePlane

log = logging.getLogger("localcloud.metrics")


class MetricsPublisher:
    """Buffers metric data points and flushes them every `interval_s` seconds."""

    def __init__(self, plane: ServicePlane, region: str = "ap-south-1", interval_s: float = 1.0):
        self._plane = plane
        self.region = region
        self.interval_s = interval_s
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(
        self,
        namespace: str,
        name: str,
        value: float,
        unit: str = "Count",
        dimensions: dict[str, str] | None = None,
        region: str | None = None,
    ) -> None:
        datum = {
            "MetricName": name,
            "Value": float(value),
            "Unit": unit,
            "Timestamp": dt.datetime.now(dt.timezone.utc),
            "Dimensions": [{"Name": k, "Value": v} for k, v in (dimensions or {}).items()],
        }
        with self._lock:
            self._pending.setdefault(f"{region or self.region}|{namespace}", []).append(datum)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for key, data in pending.items():
            region, namespace = key.split("|", 1)
            client = self._plane.client("cloudwatch", region)
            for start in range(0, len(data), 500):
                try:
                    client.put_metric_data(Namespace=namespace, MetricData=data[start : start + 500])
                except Exception as exc:  # metrics are best effort; never stop a runner for them
                    log.warning("could not publish %d metrics to %s: %s", len(data), namespace, exc)

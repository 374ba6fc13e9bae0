"""Publish CloudWatch metrics the way AWS services do, so health reads one way on both targets.

Runners call `MetricsPublisher.add(...)`; a background flush sends them with
PutMetricData to the local cloud itself (AWS namespaces and names, e.g.
AWS/Firehose DeliveryToS3.Records).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

import boto3

log = logging.getLogger("localcloud.metrics")


class MetricsPublisher:
    """Buffers metric data points and flushes them every `interval_s` seconds."""

    def __init__(self, endpoint_url: str, region: str = "ap-south-1", interval_s: float = 1.0):
        self.endpoint_url = endpoint_url
        self.region = region
        self.interval_s = interval_s
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Any = None

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
            client = boto3.client(
                "cloudwatch",
                endpoint_url=self.endpoint_url,
                region_name=region,
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )
            for start in range(0, len(data), 500):
                try:
                    client.put_metric_data(Namespace=namespace, MetricData=data[start : start + 500])
                except Exception as exc:  # metrics are best effort; never stop a runner for them
                    log.warning("could not publish %d metrics to %s: %s", len(data), namespace, exc)

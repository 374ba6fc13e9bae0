"""The service plane: the only ways one emulated service reaches another.

Every package in `localcloud/` gets the same few ways in, from the one
`ServicePlane` the `LocalCloud` owns and hands to each package's `install()`:

- `plane.client(service, region)`: a cached boto3 client for the local cloud
  itself, one botocore config for all (no SDK retries: each caller owns its
  retry policy, as runners do; short connect timeout, since it is loopback).
- `plane.logs.write(...)`: one CloudWatch Logs writer (create group, create
  stream, put events), best effort, never failing its caller.
- `plane.metrics`: the one CloudWatch metrics publisher.
- `plane.writes`: the generations of Glue and of S3 key prefixes (`localcloud/generations.py`),
  so a package may keep what it read over HTTP until the service it read is written.
- `parse_s3_url()`: the one `s3://bucket/key` parser.

The rule for HTTP versus in-process:
- A package reads or writes another service's *data or resources* over HTTP,
  through `plane.client`, exactly as a user's SDK would. That way it sees what
  users see (bucket policies, Glue tables a crawler wrote, validation), and a
  bug in one package cannot reach into another's state.
- It goes in-process only for what no AWS API exposes (a stream's creation
  position, a function's code to execute) or for a side channel that must
  never fail or slow its caller (logs, metrics). Those touches of moto's
  internals live in `localcloud/moto_patches.py`.
- One exception for bulk data: Athena *lists* lake objects over HTTP (so a
  user's view of the bucket holds) and then reads the body of each listed
  object from the file the local S3 keeps it in, when that key still has the
  ETag just listed (`moto_patches.s3_body_file`); any other body goes through
  GetObject. Listing decides what is read; the in-process read only saves
  copying the bytes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

import boto3
import botocore.config

from localcloud.metrics import MetricsPublisher
from localcloud.generations import WriteClock

log = logging.getLogger("localcloud.plane")

# One config for every loopback client. No SDK retries: runners retry with their own
# backoff and report errors in health; a request to ourselves either answers or is broken.
CLIENT_CONFIG = botocore.config.Config(
    retries={"max_attempts": 1, "mode": "standard"},
    connect_timeout=5,
    read_timeout=60,
    max_pool_connections=16,
)
# The local cloud checks no signature; any credentials do, but botocore wants some.
DUMMY_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/key` -> ("bucket", "some/key"); the key may be empty (a bucket or prefix root)."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an S3 URL: {url!r} (expected s3://bucket/key)")
    bucket, _, key = url[len("s3://"):].partition("/")
    if not bucket:
        raise ValueError(f"S3 URL without a bucket: {url!r}")
    return bucket, key


class LogWriter:
    """Writes CloudWatch Logs events the way AWS services do, in-process and best effort.

    In-process because a log line must never delay or fail what it describes (an
    invocation, a crawl, a delivery), and HTTP to ourselves could do both.
    """

    def write(self, account_id: str, region: str, group: str, stream: str,
              messages: Iterable[str], timestamp_ms: int | None = None, *, create: bool = True) -> None:
        """Append `messages`; `create=False` writes only into a group and stream that exist.

        Lambda and Glue create their log groups and streams themselves; Firehose writes only
        to the group and stream its CloudWatchLoggingOptions name (the user creates them), so
        a line logged after a teardown deleted the group must not bring the group back.
        """
        events_at = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        events = [{"timestamp": events_at, "message": m} for m in messages if m]
        if not events:
            return
        try:
            from localcloud import moto_patches

            moto_patches.put_log_events(account_id, region, group, stream, events, create=create)
        except Exception as exc:  # best effort: never fail the caller for a log line
            log.warning("could not write %d log events to %s/%s: %s", len(events), group, stream, exc)


class ServicePlane:
    """What every service package may use to reach the rest of the local cloud."""

    def __init__(self, endpoint_url: str, region: str = "ap-south-1"):
        self._endpoint_url = endpoint_url
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._session = boto3.session.Session(**DUMMY_CREDENTIALS)
        self.logs = LogWriter()
        self.metrics = MetricsPublisher(self, region=region)
        self.writes = WriteClock()  # moved on by the server after each Glue or S3 write (localcloud/generations.py)

    @property
    def endpoint_url(self) -> str:
        return self._endpoint_url

    def set_endpoint(self, endpoint_url: str) -> None:
        """Called once the server knows its real port (port 0 binds any free one)."""
        with self._lock:
            if endpoint_url != self._endpoint_url:
                self._endpoint_url = endpoint_url
                self._clients.clear()

    def client(self, service: str, region: str) -> Any:
        """A cached boto3 client for `service` in `region`, pointed at this local cloud.

        boto3 clients are thread-safe once built; building one is the slow part
        (about 30 ms), so each (service, region) is built once.
        """
        key = (service, region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._session.client(service, region_name=region, endpoint_url=self._endpoint_url,
                                              config=CLIENT_CONFIG)
                self._clients[key] = client
            return client

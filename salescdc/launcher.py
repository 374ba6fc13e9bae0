"""Make sure the local cloud answers: use the one that is running, or start one in the background.

The dashboard calls `ensure_local_cloud` once at start-up. When nothing answers at
the local endpoint it starts `python -m localcloud` as a detached process bound
to 127.0.0.1 (so it outlives a Streamlit rerun and keeps its data), waits for
its health endpoint, and says what it did in one sentence. A file lock keeps two
browser sessions from starting two servers on the same port.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from salescdc.settings import Settings

HEALTH_PATH = "/_localcloud/health"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")



class LaunchStatus(StrEnum):
    """What `ensure_local_cloud` found or did."""

    USING = "using"  # one was already answering
    STARTED = "started"
    NOT_LOCAL = "not-local"  # the target is AWS or a remote endpoint: nothing to start
    FAILED = "failed"


USING = LaunchStatus.USING
STARTED = LaunchStatus.STARTED
NOT_LOCAL = LaunchStatus.NOT_LOCAL
FAILED = LaunchStatus.FAILED


@dataclass(frozen=True)
class LaunchResult:
    """What `ensure_local_cloud` found or did."""

    status: LaunchStatus
    message: str
    url: str | None = None
    pid: int | None = None
    log_path: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status in (USING, STARTED, NOT_LOCAL)


def health(endpoint_url: str, timeout_s: float = 1.0) -> dict[str, Any] | None:
    """The local cloud's health JSON, or None when nothing (or something else) answers."""
    url = endpoint_url.rstrip("/") + HEALTH_PATH
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - our own loopback URL
            body = json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def is_answering(settings: Settings, timeout_s: float = 1.0) -> bool:
    """True when the local target's endpoint answers its health check (always True for AWS)."""
    if not settings.is_local or not settings.endpoint_url:
        return True
    return health(settings.endpoint_url, timeout_s) is not None


def _loopback_port(endpoint_url: str) -> tuple[str, int] | None:
    parsed = urllib.parse.urlparse(endpoint_url)
    if parsed.scheme != "http" or parsed.hostname not in LOOPBACK_HOSTS:
        return None
    return parsed.hostname, parsed.port or 80


@contextlib.contextmanager
def _start_lock(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "launcher.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_local_cloud(
    settings: Settings,
    data_dir: str | Path = ".localcloud",
    wait_s: float = 60.0,
    python: str = sys.executable,
) -> LaunchResult:
    """Use the local cloud at settings.endpoint_url, starting it in the background if nothing answers."""
    if not settings.is_local or not settings.endpoint_url:
        return LaunchResult(NOT_LOCAL, f"Targeting AWS in {settings.region}.")
    url = settings.endpoint_url
    if health(url) is not None:
        return LaunchResult(USING, f"Using the local cloud at {url}.", url=url)
    where = _loopback_port(url)
    if where is None:
        return LaunchResult(
            FAILED,
            f"Nothing answers at {url}, and it is not a 127.0.0.1 address this app could start a "
            "local cloud on: start it there yourself (`python -m localcloud`).",
            url=url,
        )
    data_dir = Path(data_dir).resolve()
    with _start_lock(data_dir):
        # Another session may have started it while we waited for the lock.
        if health(url) is not None:
            return LaunchResult(USING, f"Using the local cloud at {url}.", url=url)
        _, port = where
        log_path = data_dir / "launcher.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [python, "-m", "localcloud", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: a Streamlit restart or Ctrl-C in the terminal does not kill it.
                start_new_session=True,
                cwd=os.getcwd(),
            )
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if health(url, timeout_s=0.5) is not None:
                return LaunchResult(
                    STARTED,
                    f"Started the local cloud at {url} (pid {process.pid}, data in {data_dir}).",
                    url=url,
                    pid=process.pid,
                    log_path=log_path,
                )
            code = process.poll()
            if code is not None:
                return LaunchResult(
                    FAILED,
                    f"The local cloud did not start (exit code {code}): {_last_line(log_path)}",
                    url=url,
                    log_path=log_path,
                )
            time.sleep(0.2)
        return LaunchResult(
            FAILED,
            f"The local cloud (pid {process.pid}) did not answer at {url} within {wait_s:.0f} s; see {log_path}.",
            url=url,
            pid=process.pid,
            log_path=log_path,
        )


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log was written."
    return lines[-1] if lines else "no log was written."

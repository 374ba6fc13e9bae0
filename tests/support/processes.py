"""Child processes in tests: a free loopback port to start them on, running one in the background
until its health URL answers, stopping them for sure, and a `python -m localcloud` child that a
test can kill -9 and restart on the same data dir."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.waiting import eventually


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(pid: int, grace_s: float = 20.0) -> None:
    """SIGTERM `pid`, wait for it (reaping it if it is our child), SIGKILL it after `grace_s`."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:  # not our child: it is gone once signal 0 fails
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def background(argv: list[str], env: dict[str, str], log: Path, cwd: Path) -> Iterator[subprocess.Popen]:
    """Run `argv` in its own session with output to `log`; on leaving, SIGTERM its group, SIGKILL after 20 s."""
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_http(url: str, what: str, timeout: float = 60, process: subprocess.Popen | None = None,
              log: Path | None = None) -> None:
    """Wait until `url` answers 200. With `process`, fail at once (showing `log`) if it exits first."""
    def answers() -> bool:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
                return response.status == 200
        if process is not None:
            assert process.poll() is None, log.read_text() if log is not None else f"{what} exited"
        return False

    eventually(answers, f"{what} to answer at {url}", timeout=timeout, interval=0.3,
               context=(lambda: log.read_text()) if log is not None else None)


class LocalCloudProcess:
    """`python -m localcloud` on one port and data dir, across kill -9s and restarts."""

    def __init__(self, data_dir: Path, region: str = "us-east-1"):
        self.data_dir = data_dir
        self.region = region
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[str] | None = None

    def start(self, *flags: str) -> None:
        from localcloud.testing import start_localcloud_process

        self.process, url = start_localcloud_process(self.data_dir, *flags, port=self.port,
                                                     stderr_log=self.data_dir.parent / "server-stderr.txt")
        assert url == self.url

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """A clean stop (SIGTERM), as Ctrl-C or a service manager does.

        Up to 120 s: a clean stop snapshots everything, and on a loaded 2-core box it once took
        over 60 s; a stop that hangs shows the end of the server's log.
        """
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            tail = "\n".join(self.log().splitlines()[-20:])
            raise AssertionError(f"the server did not stop within 120 s of SIGTERM; its log ends:\n{tail}\n"
                                 f"and its threads are at:\n{self.stacks()}") from None
        assert code == 0

    def log(self) -> str:
        return (self.data_dir / "localcloud.log").read_text()

    def stacks(self) -> str:
        """Every thread's stack in the running server: SIGUSR1 makes it print them to its stderr."""
        assert self.process is not None
        self.process.send_signal(signal.SIGUSR1)
        time.sleep(2)
        stderr = self.data_dir.parent / "server-stderr.txt"
        return "\n".join(stderr.read_text(errors="replace").splitlines()[-300:])

    def ensure_stopped(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name=self.region)

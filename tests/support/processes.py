"""Child processes in tests: a free loopback port to start them on, and stopping them for sure."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time


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

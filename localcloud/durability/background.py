"""Work done in a forked child while the server goes on answering: how snapshots stay off the write path.

As Redis's BGSAVE does: the caller forks while it holds the durability lock, so the
child's memory is a copy-on-write image of the state at one LSN; the child pickles and
writes, reports a JSON result through a pipe and leaves with `os._exit`; the parent
releases the lock at once and collects the result later (`Child.wait`).

A fork copies only the forking thread. Whatever lock another thread held at that moment
stays held in the child for ever, so the child's work must take none of them: it does not
log (`logging` handler locks), does not touch the write-ahead log, does not read an S3
key through moto (FakeKey.value takes the key's lock; snapshots read bodies without it,
see `moto_patches.snapshot_reduction`), and collects no garbage (a finalizer there could
remove a file the parent still uses). The child dies with the server (PR_SET_PDEATHSIG on
Linux), so a kill -9 leaves no orphan writing into the data dir; its temp files are
removed by the next recovery.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import signal
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1
try:  # loaded in the parent: the child should not load libraries
    _prctl: Any = ctypes.CDLL(None, use_errno=True).prctl  # the process's own symbols include libc's
except (OSError, AttributeError):  # not Linux: the child may outlive a killed server
    _prctl = None


class ChildFailed(Exception):
    """The child did not finish its work; the message says why."""


def available() -> bool:
    return hasattr(os, "fork")


class Child:
    """A forked child doing one piece of work; `wait()` returns what the work returned."""

    def __init__(self, pid: int, result_fd: int):
        self.pid = pid
        self._fd = result_fd

    def wait(self) -> Any:
        chunks = []
        try:
            while True:
                chunk = os.read(self._fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(self._fd)
        _, status = os.waitpid(self.pid, 0)
        if os.WIFSIGNALED(status):
            raise ChildFailed(f"the snapshot process {self.pid} was killed by signal {os.WTERMSIG(status)}")
        try:
            report = json.loads(b"".join(chunks))
        except ValueError:
            raise ChildFailed(f"the snapshot process {self.pid} exited with status "
                              f"{os.waitstatus_to_exitcode(status)} and no result") from None
        if "error" in report:
            raise ChildFailed(report["error"])
        return report["result"]


def start(work: Callable[[], Any]) -> Child:
    """Fork; the child runs `work()` and sends its JSON-able result back. Raises OSError if fork fails."""
    parent = os.getpid()
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid:
        os.close(write_fd)
        return Child(pid, read_fd)
    code = 1
    try:  # the child: whatever happens, it leaves through os._exit (no atexit, no buffered output)
        os.close(read_fd)
        gc.disable()
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the server died before the line above
            os._exit(1)
        try:
            report = {"result": work()}
            code = 0
        except BaseException as exc:
            report = {"error": f"{type(exc).__name__}: {exc}"}
        data = memoryview(json.dumps(report).encode())
        while data:
            data = data[os.write(write_fd, data):]
    finally:
        os._exit(code)

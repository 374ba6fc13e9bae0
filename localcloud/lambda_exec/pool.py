"""Warm worker processes (Lambda execution environments), started, reused and killed here.

One `WorkerProcess` runs `worker.py` for one (function, code, configuration). A worker serves
one invocation at a time, like an AWS execution environment; concurrent invocations get more
workers. A timeout kills the worker's whole process group (the function may have spawned
children) and the next invocation starts a fresh one, as AWS resets the sandbox.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.lambda_exec.exceptions import WorkerCrashed, WorkerTimedOut

log = logging.getLogger("localcloud.lambda_exec")

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
_HEADER = struct.Struct(">I")
# Idle environments kept per function beyond the one serving sequential calls.
MAX_IDLE_WORKERS = 4
INIT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class WorkerSpec:
    """Everything that, when changed, requires a fresh execution environment."""

    function_name: str
    function_version: str
    handler: str
    code_dir: Path
    env: tuple[tuple[str, str], ...]
    memory_mb: int
    timeout_s: float
    log_group_name: str
    stderr_path: Path


class WorkerProcess:
    """One `python -I worker.py` child speaking length-prefixed JSON."""

    def __init__(self, spec: WorkerSpec, log_stream_name: str):
        self.spec = spec
        self.log_stream_name = log_stream_name
        self.cold = True
        spec.stderr_path.parent.mkdir(parents=True, exist_ok=True)
        # What the function printed so far, readable even after a timeout kill.
        self.spool_path = spec.stderr_path.parent / f"spool-{uuid.uuid4().hex}.log"
        self._stderr = open(spec.stderr_path, "ab")  # noqa: SIM115 - lives as long as the worker
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(WORKER_SCRIPT)],
            cwd=spec.code_dir,
            env=dict(spec.env, AWS_LAMBDA_LOG_STREAM_NAME=log_stream_name),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            bufsize=0,
            start_new_session=True,  # own process group: a timeout kills the function's children too
        )
        self._send(
            {
                "type": "init",
                "handler": spec.handler,
                "function_name": spec.function_name,
                "function_version": spec.function_version,
                "memory_limit_in_mb": spec.memory_mb,
                "log_group_name": spec.log_group_name,
                "log_stream_name": log_stream_name,
                "log_spool": str(self.spool_path),
            }
        )
        # The worker imports the handler, then says "ready"; AWS gives that init phase 10 s of
        # its own, so the function's Timeout measures the handler alone.
        try:
            ready = self._read_frame(time.monotonic() + INIT_TIMEOUT_S)
        except WorkerTimedOut:
            self.spool_path.unlink(missing_ok=True)
            raise WorkerTimedOut(INIT_TIMEOUT_S) from None
        except WorkerCrashed:
            self.spool_path.unlink(missing_ok=True)
            raise
        self.init_logs = ready.get("logs", "")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def invoke(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one invocation; raise WorkerTimedOut (worker killed) or WorkerCrashed."""
        try:
            self._send(dict(request, type="invoke"))
        except OSError as exc:
            self.kill()
            raise WorkerCrashed(f"the execution environment exited before the invocation: {exc}") from exc
        reply = self._read_frame(time.monotonic() + timeout_s)
        self.cold = False
        return reply

    def _read_frame(self, deadline: float) -> dict[str, Any]:
        (length,) = _HEADER.unpack(self._read_exactly(_HEADER.size, deadline))
        return json.loads(self._read_exactly(length, deadline).decode("utf-8"))

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(_HEADER.pack(len(body)) + body)
        self.proc.stdin.flush()

    def _read_exactly(self, n: int, deadline: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        chunks: list[bytes] = []
        remaining = n
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while remaining:
                wait = deadline - time.monotonic()
                if wait <= 0 or not sel.select(wait):
                    self.kill()
                    raise WorkerTimedOut(None)
                chunk = os.read(fd, remaining)
                if not chunk:
                    code = self.proc.wait()
                    self.kill()
                    raise WorkerCrashed(f"the execution environment exited with code {code}", code)
                chunks.append(chunk)
                remaining -= len(chunk)
        return b"".join(chunks)

    def spooled_logs(self) -> str:
        """The current invocation's output so far (used when the worker had to be killed)."""
        try:
            return self.spool_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def discard(self) -> None:
        """Kill the worker and remove its files."""
        self.kill()
        self.spool_path.unlink(missing_ok=True)

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("worker %s did not exit after SIGKILL", self.proc.pid)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self._stderr.close()


class FunctionPool:
    """The execution environments of one function; all share one `WorkerSpec`."""

    def __init__(self, spec: WorkerSpec):
        self.spec = spec
        self._idle: list[WorkerProcess] = []
        self._busy: set[WorkerProcess] = set()
        self._lock = threading.Lock()
        self.retired = False

    def acquire(self, new_log_stream: Any) -> WorkerProcess:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    self._busy.add(worker)
                    return worker
                worker.discard()
        worker = WorkerProcess(self.spec, new_log_stream())
        with self._lock:
            self._busy.add(worker)
        return worker

    def release(self, worker: WorkerProcess, reusable: bool) -> None:
        with self._lock:
            self._busy.discard(worker)
            keep = reusable and not self.retired and worker.alive() and len(self._idle) < MAX_IDLE_WORKERS
            if keep:
                self._idle.append(worker)
        if not keep:
            worker.discard()

    def retire(self) -> None:
        """Kill idle workers now; busy ones are killed when they finish their invocation."""
        with self._lock:
            self.retired = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.discard()

    def kill_all(self) -> None:
        with self._lock:
            self.retired = True
            workers = self._idle + list(self._busy)
            self._idle, self._busy = [], set()
        for worker in workers:
            worker.discard()

    def pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._idle + list(self._busy)]

"""The generator as a managed background process that any process can start, query and stop.

The Streamlit server starts it; another page render, another browser session or
another process reads its status or stops it. Everything goes through files in
`state_dir`:

- generator.pid          the child's pid, written by the starter
- generator.status.json  written atomically by the child every ~0.5 s: state,
                         options, stats, last error sentence
- generator.settings.json  the Settings the child runs with (no credentials in it)
- generator.log          the child's stdout and stderr

A pid file whose process is gone (or is some other program now) reads as not
running. `stop` sends SIGTERM (the child finishes its batch and writes its final
status) and waits; past the timeout it kills.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from salescdc.errors import SalesCdcError
from salescdc.generator.options import GeneratorOptions
from salescdc.generator.stats import GeneratorStats
from salescdc.settings import Settings

PID_FILE = "generator.pid"
STATUS_FILE = "generator.status.json"
SETTINGS_FILE = "generator.settings.json"
LOG_FILE = "generator.log"
LOCK_FILE = "generator.lock"



class GeneratorState(StrEnum):
    """The background generator's state as the status file and the dashboard name it."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPED = "stopped"
    FAILED = "failed"
    NOT_STARTED = "not started"


STARTING = GeneratorState.STARTING
RUNNING = GeneratorState.RUNNING
STOPPED = GeneratorState.STOPPED
FAILED = GeneratorState.FAILED
NOT_STARTED = GeneratorState.NOT_STARTED
STARTING_GRACE_S = 30.0

_PROJECT_ROOT = Path(__file__).resolve().parents[2]


class GeneratorAlreadyRunning(SalesCdcError):
    """start() while a generator is already running for this state dir."""


@dataclass(frozen=True)
class GeneratorStatus:
    """What the dashboard shows about the background generator."""

    running: bool
    pid: int | None
    state: GeneratorState
    options: GeneratorOptions | None
    stats: GeneratorStats | None
    last_error: str | None
    updated_at: float | None  # epoch seconds of the last status write


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Readers see the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, sort_keys=True))
    os.replace(tmp, path)


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    """Settings as JSON-ready values (paths as text)."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(settings).items()}


def settings_from_dict(data: dict[str, Any]) -> Settings:
    names = {f.name for f in dataclasses.fields(Settings)}
    # A field whose default is a Path is a path: JSON gave it back as text.
    return Settings(**{k: Path(v) if isinstance(getattr(Settings, k, None), Path) else v
                       for k, v in data.items() if k in names})


class GeneratorProcess:
    """Start, query and stop the generator subprocess that belongs to `state_dir`."""

    def __init__(self, state_dir: Path, settings: Settings, *, status_interval_s: float = 0.5):
        self.state_dir = Path(state_dir)
        self.settings = settings
        self.status_interval_s = status_interval_s

    @property
    def pid_file(self) -> Path:
        return self.state_dir / PID_FILE

    @property
    def status_file(self) -> Path:
        return self.state_dir / STATUS_FILE

    @property
    def log_file(self) -> Path:
        return self.state_dir / LOG_FILE

    def start(self, options: GeneratorOptions) -> GeneratorStatus:
        """Start a generator with `options`; GeneratorAlreadyRunning if one runs."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self._locked():
            current = self.status()
            if current.running:
                raise GeneratorAlreadyRunning(
                    f"The generator is already running (pid {current.pid}): stop it before starting another."
                )
            settings_file = self.state_dir / SETTINGS_FILE
            write_json_atomically(settings_file, settings_to_dict(self.settings))
            write_json_atomically(self.status_file, {
                "state": STARTING, "options": options.to_dict(), "stats": None,
                "last_error": None, "updated_at": time.time(),
            })
            command = [
                sys.executable, "-m", "salescdc.generator",
                "--settings-file", str(settings_file),
                "--status-file", str(self.status_file),
                "--status-interval", str(self.status_interval_s),
                "--rate", repr(options.rate_per_s),
                "--update-share", repr(options.update_share),
                "--delete-share", repr(options.delete_share),
            ]
            if options.count is not None:
                command += ["--count", str(options.count)]
            if options.duration_s is not None:
                command += ["--duration", repr(options.duration_s)]
            if options.seed is not None:
                command += ["--seed", str(options.seed)]
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT_ROOT), env.get("PYTHONPATH")]))
            env["PYTHONUNBUFFERED"] = "1"
            with open(self.log_file, "ab") as log:
                child = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    env=env, cwd=str(_PROJECT_ROOT),
                    start_new_session=True,  # survives a Ctrl-C aimed at the dashboard's terminal
                )
            # Reap it when it exits, so a finished child is not a zombie that looks alive.
            threading.Thread(target=child.wait, name=f"generator-reaper-{child.pid}", daemon=True).start()
            self.pid_file.write_text(str(child.pid))
        return self.status()

    def stop(self, timeout: float = 10.0) -> GeneratorStatus:
        """SIGTERM the generator and wait up to `timeout` s for its clean exit; kill it past that."""
        pid = self._read_pid()
        if pid is not None and _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                self._record_kill(timeout)
                while _alive(pid) and time.monotonic() < deadline + 5:
                    time.sleep(0.05)
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        return self.status()

    def status(self) -> GeneratorStatus:
        pid = self._read_pid()
        running = pid is not None and _alive(pid)
        data = self._read_status()
        if data is None:
            state = RUNNING if running else NOT_STARTED
            last_error = None if running or pid is None else self._exit_sentence()
            return GeneratorStatus(running, pid if running else None, state, None, None, last_error, None)
        try:
            state = GeneratorState(data.get("state") or NOT_STARTED)
        except ValueError:  # a status file from another version: say so rather than guess
            state = FAILED
        last_error = data.get("last_error")
        if state in (STOPPED, FAILED):
            running = False  # finished generating; the process may take a moment longer to exit
        elif pid is None and state == STARTING and time.time() - (data.get("updated_at") or 0) < STARTING_GRACE_S:
            pass  # start() is between writing the status and writing the pid file
        elif not running and state in (STARTING, RUNNING):
            state = FAILED
            last_error = last_error or self._exit_sentence()
        options = data.get("options")
        stats = data.get("stats")
        return GeneratorStatus(
            running=running,
            pid=pid if running else None,
            state=state,
            options=GeneratorOptions.from_dict(options) if options else None,
            stats=GeneratorStats.from_dict(stats) if stats else None,
            last_error=last_error,
            updated_at=data.get("updated_at"),
        )

    # -- files ---------------------------------------------------------------

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _read_status(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.status_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _exit_sentence(self) -> str:
        tail = ""
        with contextlib.suppress(OSError):
            lines = [line.strip() for line in self.log_file.read_text(errors="replace").splitlines() if line.strip()]
            tail = lines[-1] if lines else ""
        return f"The generator process ended unexpectedly ({tail or 'no output'}); its log is {self.log_file}."

    def _record_kill(self, timeout: float) -> None:
        data = self._read_status() or {}
        data.update(state=STOPPED, last_error=f"The generator did not stop within {timeout:g} s and was killed.",
                    updated_at=time.time())
        write_json_atomically(self.status_file, data)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.state_dir / LOCK_FILE, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    """True if `pid` is a live (not zombie) generator process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else: the /proc check below decides
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return True  # no /proc (macOS): trust the signal check
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes()
    except (OSError, IndexError):
        return False
    # A zombie has exited; a different command line means the pid was reused.
    return state not in ("Z", "X") and b"salescdc.generator" in cmdline

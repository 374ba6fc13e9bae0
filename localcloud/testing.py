"""Start a real local cloud for a test or a benchmark and leave nothing behind.

In this process (`running_localcloud`): moto keeps its state in module-level
backends, so after stopping the server we reset them: the next test starts from
an empty cloud. As a child process (`start_localcloud_process`): for what must
measure or kill the server itself (soak test, benchmarks).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from localcloud.moto_patches import reset_moto
from localcloud.server import LocalCloud

__all__ = ["reset_moto", "running_localcloud", "start_localcloud_process", "stop_localcloud_process"]

ROOT = Path(__file__).resolve().parents[1]
# What `python -m localcloud` prints on stdout once it serves (localcloud/__main__.py).
READY = re.compile(r"Local cloud ready at (http://127\.0\.0\.1:\d+)")


@contextlib.contextmanager
def running_localcloud(data_dir: str | Path) -> Iterator[LocalCloud]:
    """A LocalCloud on a free 127.0.0.1 port, with its own data dir; reset afterwards."""
    reset_moto()
    cloud = LocalCloud(host="127.0.0.1", port=0, data_dir=data_dir)
    cloud.start()
    try:
        yield cloud
    finally:
        cloud.stop()
        reset_moto()


def start_localcloud_process(data_dir: str | Path, *flags: str, port: int = 0, stderr_log: Path,
                             cwd: str | Path = ROOT, root: Path = ROOT) -> tuple[subprocess.Popen[str], str]:
    """`python -m localcloud` as a child on 127.0.0.1:`port` (0: a free one), once it says it is ready.

    Returns the process and its URL. `root` is the checkout whose `localcloud` runs (a benchmark's
    baseline may be another one). `flags` are further command-line flags; stderr goes to the
    file `stderr_log` (a file, not a pipe nobody reads while the server runs). If the server exits
    or prints anything else first, it is killed and RuntimeError carries what it said.
    """
    with open(stderr_log, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "localcloud", "--port", str(port), "--data-dir", str(data_dir), *flags],
            stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=str(cwd),
            env={**os.environ, "PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    line = process.stdout.readline()
    match = READY.search(line)
    if not match:
        process.kill()
        process.wait()
        raise RuntimeError(f"the local cloud did not start: {line!r} {Path(stderr_log).read_text()!r}")
    return process, match.group(1)


def stop_localcloud_process(process: subprocess.Popen[str], grace_s: float = 20.0) -> None:
    """SIGTERM a `start_localcloud_process` server and reap it; SIGKILL it if it has not stopped after `grace_s`."""
    process.terminate()
    try:
        process.communicate(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()

"""Start a real local cloud for a test and leave nothing behind.

moto keeps its state in module-level backends, so after stopping the server
we reset them: the next test starts from an empty cloud.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from localcloud.moto_patches import reset_moto
from localcloud.server import LocalCloud

__all__ = ["reset_moto", "running_localcloud"]


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

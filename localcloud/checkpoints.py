"""Durable runner positions in the data dir: a crash re-reads, it never skips.

When the data dir's state is durable (`python -m localcloud`, see
localcloud/durability), a position is a record in the same write-ahead log as
the data it points into, appended after the records it covers: a crash can
lose a position (the runner re-reads, and the pipeline's at-least-once
delivery allows the duplicate) but never keep one past data it lost.

Otherwise (an in-process cloud without persistence) one JSON file per runner;
writes go to a temp file then `os.replace`, so a crash mid-write leaves the
previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


class CheckpointStore:
    """Key -> JSON value: in the data dir's write-ahead log, or in `<data_dir>/checkpoints/<name>.json`."""

    def __init__(self, data_dir: str | Path, name: str):
        self.data_dir = Path(data_dir)
        self.name = name
        self.path = self.data_dir / "checkpoints" / f"{name}.json"
        self._lock = threading.Lock()
        self._state: dict[str, Any] | None = None  # the file's content, read on first use

    def _durable(self) -> Any:
        from localcloud.durability import active_for

        return active_for(self.data_dir)

    def _file_state(self) -> dict[str, Any]:
        if self._state is None:
            try:
                self._state = json.loads(self.path.read_text())
            except FileNotFoundError:
                self._state = {}
        return self._state

    def get(self, key: str, default: Any = None) -> Any:
        durable = self._durable()
        if durable is not None:
            return durable.checkpoint_get(self.name, key, default)
        with self._lock:
            return self._file_state().get(key, default)

    def put(self, key: str, value: Any) -> None:
        durable = self._durable()
        if durable is not None:
            durable.checkpoint_put(self.name, key, value)
            return
        with self._lock:
            self._file_state()[key] = value
            self._flush()

    def delete(self, key: str) -> None:
        durable = self._durable()
        if durable is not None:
            durable.checkpoint_delete(self.name, key)
            return
        with self._lock:
            if self._file_state().pop(key, None) is not None:
                self._flush()

    def _flush(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._state, indent=1, sort_keys=True))
        os.replace(tmp, self.path)

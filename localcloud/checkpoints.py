"""Durable runner positions in the data dir: a crash re-reads, it never skips.

One JSON file per runner; writes go to a temp file then `os.replace`, so a
crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


class CheckpointStore:
    """Key -> JSON value, persisted atomically to `<data_dir>/checkpoints/<name>.json`."""

    def __init__(self, data_dir: str | Path, name: str):
        self.path = Path(data_dir) / "checkpoints" / f"{name}.json"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._state: dict[str, Any] = self._load()

    def _load(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            return self._state.get(key, default)

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._state[key] = value
            self._flush()

    def delete(self, key: str) -> None:
        with self._lock:
            if self._state.pop(key, None) is not None:
                self._flush()

    def _flush(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._state, indent=1, sort_keys=True))
        os.replace(tmp, self.path)

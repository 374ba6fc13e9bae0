"""The one background thread a runner keeps: started once, stopped with a bounded join.

Runners (pipes, firehose, scheduler) each poll on a daemon thread; this is its
start/stop, with the `stopping` event the loop waits on, once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class LoopThread:
    """A daemon thread running `target`; `target` returns once `stopping` is set."""

    def __init__(self, name: str, target: Callable[[], None], join_timeout_s: float = 10.0):
        self.name = name
        self._target = target
        self._join_timeout_s = join_timeout_s
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.alive:
            return
        self.stopping.clear()
        self._thread = threading.Thread(target=self._target, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to end and wait for it (at most the join timeout: a stuck call must not hang a stop)."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self._join_timeout_s)
            self._thread = None

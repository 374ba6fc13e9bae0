"""The one bounded map the local cloud keeps things in between requests.

Each user keys it by everything its value depends on, so a hit is what computing it again
would give: Athena's parse trees, translations and kept partitions (athena/sql.PARSED,
athena/queries.TRANSLATED, POLICED, KEPT_PARTITIONS) and what is kept of other services'
answers (generations.KeptReads). Least recently used entries go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class BoundedCache:
    """A thread-safe least-recently-used map of at most `keep` entries."""

    def __init__(self, keep: int = 256):
        self.keep = keep
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.keep:
                self._entries.popitem(last=False)

"""How long and how much memory an Athena query may use, and Athena's errors when it uses more.

Athena cancels a DML query after its timeout (30 minutes by default; the
quota is adjustable) and fails a query that exhausts its memory. Here:

- `time_limit_s`: a query still running after this many seconds is
  interrupted, exactly as StopQueryExecution interrupts it, and fails with
  EXCEEDED_TIME_LIMIT (Trino's wording: "Query exceeded the maximum
  execution time limit of 30.00m").
- `memory_limit`: DuckDB's memory_limit for the query database (e.g.
  "2GB"); a query that needs more fails with EXCEEDED_LOCAL_MEMORY_LIMIT.
  The limit holds for the engine as a whole, so queries running at the same
  time share it.

Both are configurable with environment variables read when the local cloud
installs Athena: LOCALCLOUD_ATHENA_TIME_LIMIT_S and
LOCALCLOUD_ATHENA_MEMORY_LIMIT (unset: 30 minutes and DuckDB's default of 80%
of the machine's memory).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from localcloud.athena.exceptions import QueryFailed

DEFAULT_TIME_LIMIT_S = 30 * 60.0
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.I)


@dataclass(frozen=True)
class QueryLimits:
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    memory_limit: str | None = None

    def __post_init__(self) -> None:
        if self.time_limit_s <= 0:
            raise ValueError("the query time limit must be positive")
        if self.memory_limit is not None and not _MEMORY.match(self.memory_limit):
            raise ValueError(f"memory limit {self.memory_limit!r} is not a size such as 2GB or 512MB")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> QueryLimits:
        env = os.environ if env is None else env
        seconds = env.get("LOCALCLOUD_ATHENA_TIME_LIMIT_S")
        return cls(time_limit_s=float(seconds) if seconds else DEFAULT_TIME_LIMIT_S,
                   memory_limit=env.get("LOCALCLOUD_ATHENA_MEMORY_LIMIT") or None)

    def time_exceeded(self) -> QueryFailed:
        return QueryFailed("EXCEEDED_TIME_LIMIT",
                           f"Query exceeded the maximum execution time limit of {_duration(self.time_limit_s)}")

    def memory_exceeded(self) -> QueryFailed:
        limit = self.memory_limit or "the engine's memory"
        return QueryFailed("EXCEEDED_LOCAL_MEMORY_LIMIT", f"Query exceeded per-node memory limit of {limit}")


def _duration(seconds: float) -> str:
    """Airlift's Duration.toString, which Trino prints: 30.00m, 1.50s, 2.00h."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size:
            return f"{seconds / size:.2f}{unit}"
    return f"{seconds * 1000:.2f}ms"

"""Athena's query history, durable: an execution's record survives kill -9 once it is acknowledged.

StartQueryExecution's record (QUEUED) and each execution's final state (SUCCEEDED, FAILED,
CANCELLED) are written to the data dir's write-ahead log (localcloud/durability, as a key of
its JSON store) before the client can see them: the start record before the response is sent,
the final state before GetQueryExecution can show it. RUNNING is not logged: it is not final,
and a query that was queued or running when the server died is restored as FAILED (error
category 1 SYSTEM, type 100 "Internal service error", Athena error catalog), since nothing runs
it any more and running it again could write twice. The result set is not kept, only its shape
(ColumnInfo, header row, UpdateCount, in the final record): after a restart, or once the set has
left memory, GetQueryResults reads the result file in S3, which is durable on its own, as Athena does.

"Athena keeps a query history for 45 days" (Athena API reference, ListQueryExecutions); older
records are dropped on start. The executions store also keeps only the newest
MAX_KEPT_EXECUTIONS (executions.py) and forgets older ones here, so the history stays bounded
even with a dashboard querying every few seconds.
Without a durable data dir (`--no-persist`, in-process test clouds) nothing is written.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("localcloud.athena")

STORE = "athena-executions"
RETAINED_S = 45 * 24 * 3600
FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
# The fields of a QueryExecution that make its record (not the result set, nor the worker's handles).
FIELDS = ("id", "query", "database", "catalog", "workgroup", "output_location", "account_id", "region",
          "statement_type", "substatement_type", "state", "reason", "error_category", "error_type",
          "submitted", "started", "completed", "data_scanned", "parameters", "manifest_location",
          "result_shape")
INTERRUPTED_REASON = "The query was interrupted: the local cloud stopped while it was queued or running."
SYSTEM, INTERNAL_SERVICE_ERROR = 1, 100


class ExecutionHistory:
    """Writes execution records to the data dir's log, and reads them back on start."""

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir)

    def _durable(self) -> Any:
        from localcloud.durability import active_for

        return active_for(self.data_dir)

    def record(self, fields: dict[str, Any]) -> None:
        """Log one execution's record and return once it is on disk (no-op without a durable data dir)."""
        durable = self._durable()
        if durable is None:
            return
        durable.wait_durable(durable.checkpoint_put(STORE, fields["id"], fields))

    def forget(self, execution_ids: list[str]) -> None:
        """Drop these executions' records (logged; nobody waits: forgetting early is no loss)."""
        durable = self._durable()
        if durable is not None:
            for execution_id in execution_ids:
                durable.checkpoint_delete(STORE, execution_id)

    def restore(self, now: float | None = None) -> list[dict[str, Any]]:
        """Every retained record, oldest first; unfinished ones turned FAILED (and logged so)."""
        durable = self._durable()
        if durable is None:
            return []
        now = time.time() if now is None else now
        records = []
        interrupted = expired = 0
        for key, fields in durable.checkpoint_items(STORE).items():
            if fields.get("submitted", now) < now - RETAINED_S:
                durable.checkpoint_delete(STORE, key)
                expired += 1
                continue
            if fields.get("state") not in FINAL_STATES:
                fields.update(state="FAILED", reason=INTERRUPTED_REASON, error_category=SYSTEM,
                              error_type=INTERNAL_SERVICE_ERROR, completed=now)
                durable.checkpoint_put(STORE, key, fields)
                interrupted += 1
            records.append(fields)
        if records or expired:
            log.info("athena: restored %d query executions (%d interrupted by the restart marked FAILED, %d older "
                     "than 45 days dropped)", len(records), interrupted, expired)
        return sorted(records, key=lambda f: f.get("submitted", 0))

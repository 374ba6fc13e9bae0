"""The scheduler runner: fires rate schedules whose target is Athena's StartQueryExecution (universal target).

About once a second it lists every ENABLED schedule over the Scheduler API
(through the service plane, in each region moto has a Scheduler backend for)
and fires those that are due: the target's `Input` is the StartQueryExecution
request, sent to the local Athena through `plane.client("athena", region)`.

Timing: a rate schedule fires when it is first seen (its creation) or, with a
`StartDate`, once that moment has come; then once per period, and never after its
`EndDate`. AWS: "If you do not provide a StartDate for a rate-based schedule, your
schedule starts invoking the target immediately"
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html). Acknowledge after commit: a run counts only once its
query reached SUCCEEDED; a query that failed, or could not be started, is
fired again at the next period, and a restart of the local cloud fires every
due schedule again. The runner is meant for idempotent work (the CDC MERGE):
running it once more changes nothing. Due schedules of one region fire one
after another in name order, never concurrently.

Not run locally (logged once each): cron(...) and at(...) expressions, and any
target other than the Athena universal target.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from localcloud import moto_patches
from localcloud.loops import LoopThread
from localcloud.scheduler.expressions import rate_seconds

if TYPE_CHECKING:
    from localcloud.plane import ServicePlane

log = logging.getLogger("localcloud.scheduler")

ATHENA_TARGET = "aws-sdk:athena:startQueryExecution"
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


@dataclass
class ScheduleRuns:
    """What the runner knows of one schedule: when it last succeeded and how its last run ended."""

    period_s: int
    last_success: float | None = None
    next_due: float = 0.0
    runs: int = 0
    failures: int = 0
    last_query_id: str | None = None
    last_error: str | None = None


class SchedulerRunner:
    """Keeps per-schedule timing; `health()` reports each schedule's runs, failures and last error."""

    name = "scheduler"

    def __init__(self, plane: ServicePlane, poll_interval_s: float = 1.0, query_timeout_s: float = 300.0):
        self.plane = plane
        self.poll_interval_s = poll_interval_s
        self.query_timeout_s = query_timeout_s
        self._schedules: dict[str, ScheduleRuns] = {}
        self._skipped: set[str] = set()
        self._thread = LoopThread("localcloud-scheduler", self._loop)
        self._stop = self._thread.stopping
        self._lock = threading.Lock()
        self._polls = 0

    @property
    def polls(self) -> int:
        """Completed passes (tests wait for passes, not for the clock; tests/support/waiting.py)."""
        return self._polls

    # -- Runner protocol -------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop()

    def health(self) -> dict[str, Any]:
        """{"state", "last_error", "schedules": {arn: {runs, failures, last_success, last_query_id, last_error}}}.

        The same top-level shape as the other runners', so the Health page's runner table shows
        whether the scheduler runs and which schedule's last run failed.
        """
        with self._lock:
            schedules = {
                arn: {"runs": s.runs, "failures": s.failures, "last_success": s.last_success,
                      "last_query_id": s.last_query_id, "last_error": s.last_error}
                for arn, s in self._schedules.items()
            }
        failing = sorted((arn.rsplit("/", 1)[-1], h["last_error"]) for arn, h in schedules.items() if h["last_error"])
        last_error = None
        if failing:
            name, error = failing[0]
            more = f" (and {len(failing) - 1} more failing)" if len(failing) > 1 else ""
            last_error = f"schedule {name}: {error}{more}"
        return {"state": "running" if self._thread.alive else "stopped", "last_error": last_error,
                "schedules": schedules}

    # -- the loop ---------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
            except Exception:  # one bad pass must not end the runner; the next pass tries again
                log.exception("scheduler: pass failed")
            self._polls += 1
            self._stop.wait(self.poll_interval_s)

    def run_due(self) -> None:
        """One pass: fire every due schedule of every region, in name order per region."""
        regions = sorted({region for _, region, backend in moto_patches.all_backends("scheduler")})
        seen: set[str] = set()
        for region in regions:
            for schedule in self._enabled_schedules(region):
                seen.add(schedule["Arn"])
                if not self._stop.is_set():
                    self._maybe_fire(region, schedule)
        with self._lock:
            for arn in set(self._schedules) - seen:  # deleted or disabled: forget its timing
                del self._schedules[arn]

    def _enabled_schedules(self, region: str) -> list[dict[str, Any]]:
        scheduler = self.plane.client("scheduler", region)
        out = []
        for summary in scheduler.list_schedules(State="ENABLED").get("Schedules", []):
            out.append(scheduler.get_schedule(Name=summary["Name"], GroupName=summary["GroupName"]))
        return sorted(out, key=lambda s: (s["GroupName"], s["Name"]))

    def _runnable(self, schedule: dict[str, Any]) -> int | None:
        arn = schedule["Arn"]
        period = rate_seconds(schedule.get("ScheduleExpression", ""))
        target = schedule.get("Target", {}).get("Arn", "")
        reason = None
        if period is None:
            reason = f"expression {schedule.get('ScheduleExpression')!r} is not a rate(...) expression"
        elif not target.endswith(f":{ATHENA_TARGET}") or ":scheduler:::" not in target:
            reason = f"target {target!r} is not the Athena StartQueryExecution universal target"
        if reason:
            if arn not in self._skipped:
                self._skipped.add(arn)
                log.warning("scheduler: schedule %s is not run by the local cloud: %s", arn, reason)
            return None
        return period

    def _maybe_fire(self, region: str, schedule: dict[str, Any]) -> None:
        period = self._runnable(schedule)
        if period is None:
            return
        arn = schedule["Arn"]
        now = time.time()
        start, end = schedule.get("StartDate"), schedule.get("EndDate")
        if (start is not None and now < start.timestamp()) or (end is not None and now >= end.timestamp()):
            return  # before its first occurrence, or past its last
        with self._lock:
            runs = self._schedules.get(arn)
            if runs is None or runs.period_s != period:
                runs = self._schedules[arn] = ScheduleRuns(period_s=period)
            due = time.time() >= runs.next_due
        if not due:
            return
        started = time.time()
        query_id, error = self._fire(region, schedule)
        with self._lock:
            runs.next_due = started + period
            runs.last_query_id = query_id
            if error is None:
                runs.runs += 1
                runs.last_success = started
                runs.last_error = None
            else:
                runs.failures += 1
                runs.last_error = error
                log.warning("scheduler: %s run failed (next in %d s): %s", arn, period, error)

    def _fire(self, region: str, schedule: dict[str, Any]) -> tuple[str | None, str | None]:
        """Start the target's query and wait for it; (query id, None) once SUCCEEDED, else an error."""
        athena = self.plane.client("athena", region)
        try:
            request = json.loads(schedule["Target"].get("Input") or "{}")
            query_id = athena.start_query_execution(**request)["QueryExecutionId"]
        except (ValueError, TypeError) as exc:
            return None, f"the target Input is not a StartQueryExecution request: {exc}"
        except (BotoCoreError, ClientError) as exc:
            return None, f"StartQueryExecution failed: {exc}"
        deadline = time.monotonic() + self.query_timeout_s
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
            except (BotoCoreError, ClientError) as exc:
                return query_id, f"GetQueryExecution failed: {exc}"
            if status["State"] == "SUCCEEDED":
                return query_id, None
            if status["State"] in TERMINAL:
                return query_id, f"query {status['State']}: {status.get('StateChangeReason', '')}"
            time.sleep(0.1)
        return query_id, "the query did not finish in time"

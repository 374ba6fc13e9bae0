"""EventBridge Scheduler for the local cloud: moto keeps the schedules, `SchedulerRunner` runs them.

moto stores schedules but never fires one. `install(cloud)` adds a
`SchedulerRunner` (runner name "scheduler") to `cloud.runners`; it fires the
`rate(...)` schedules whose target is the universal target
`arn:aws:scheduler:::aws-sdk:athena:startQueryExecution`, reaching Athena only
through the service plane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localcloud.scheduler.runner import SchedulerRunner

if TYPE_CHECKING:
    from localcloud.server import LocalCloud

__all__ = ["install", "SchedulerRunner"]


def install(cloud: LocalCloud) -> None:
    cloud.runners.append(SchedulerRunner(cloud.plane))

"""Tests that decide themselves when the Iceberg tables are written stop `up`'s schedules first.

The local scheduler fires each schedule when it first sees it (then once per rate period); a
test that runs its own MERGEs lets those first runs finish, then deletes the schedules, so no
scheduled MERGE or OPTIMIZE writes the tables behind its back.
"""

from __future__ import annotations

from typing import Any

from tests.support.waiting import eventually


def remove_schedules(cloud: Any, factory: Any) -> None:
    from salescdc.current_state import SCHEDULE_GROUP

    (runner,) = [r for r in cloud.runners if r.name == "scheduler"]
    scheduler = factory.client("scheduler")
    names = [s["Name"] for s in scheduler.list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"]]
    eventually(lambda: len(runner.health()["schedules"]) == len(names)
               and all(h["runs"] for h in runner.health()["schedules"].values()),
               "the first scheduled runs", timeout=60, interval=0.2, context=runner.health)
    for name in names:
        scheduler.delete_schedule(Name=name, GroupName=SCHEDULE_GROUP)

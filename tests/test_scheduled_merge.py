"""`up`'s EventBridge Scheduler schedules keep `cdc_data.orders` current in the local cloud, with no Lambda.

The schedules' universal target is Athena's StartQueryExecution; moto stores
them and the local cloud's scheduler runner fires them through the local
Athena. A schedule fires when first seen and then once per rate period; a run
whose query fails is counted as a failure and not acknowledged.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

from salescdc.analytics import Analytics
from salescdc.clients import ClientFactory
from salescdc.current_state import SCHEDULE_GROUP, SCHEDULE_NAMES
from salescdc.generator import GeneratorOptions, OrderGenerator
from salescdc.settings import Settings
from tests.support.waiting import after_polls, eventually
from tests.support.pipeline import all_events_in_lake, dynamodb_rows, relation_rows


def _runner(cloud: Any) -> Any:
    (runner,) = [r for r in cloud.runners if r.name == "scheduler"]
    return runner


def test_the_schedules_merge_new_changes_through_athena(cloud: Any, provisioned_pipeline: tuple[Settings, ClientFactory]) -> None:
    settings, factory = provisioned_pipeline
    scheduler, runner = factory.client("scheduler"), _runner(cloud)
    arns = [scheduler.get_schedule(Name=n, GroupName=SCHEDULE_GROUP)["Arn"] for n in SCHEDULE_NAMES]
    target = scheduler.get_schedule(Name=SCHEDULE_NAMES[1], GroupName=SCHEDULE_GROUP)["Target"]
    assert target["Arn"] == "arn:aws:scheduler:::aws-sdk:athena:startQueryExecution"
    assert json.loads(target["Input"])["QueryString"].startswith('MERGE INTO "cdc_data"."orders"')
    # Fired when first seen, over the still empty lake.
    eventually(lambda: all(runner.health()["schedules"].get(a, {}).get("runs", 0) >= 1 for a in arns), "both schedules ran",
               timeout=60, interval=0.2, context=runner.health)
    assert all(runner.health()["schedules"][a]["failures"] == 0 for a in arns)

    options = GeneratorOptions(rate_per_s=150, count=120, update_share=0.35, delete_share=0.2, seed=77)
    OrderGenerator(settings, factory, options).run(threading.Event())
    all_events_in_lake(settings, factory, {})
    analytics = Analytics(settings, factory)
    oracle = dynamodb_rows(settings, factory)
    assert relation_rows(analytics, "cdc_data.orders") == {}  # the next run is minutes away

    # A changed rate restarts the schedule's timing: it fires now, and then every minute.
    for name in SCHEDULE_NAMES:
        got = scheduler.get_schedule(Name=name, GroupName=SCHEDULE_GROUP)
        scheduler.update_schedule(Name=name, GroupName=SCHEDULE_GROUP, ScheduleExpression="rate(1 minute)",
                                  State="ENABLED", FlexibleTimeWindow=got["FlexibleTimeWindow"], Target=got["Target"])
    eventually(lambda: relation_rows(analytics, "cdc_data.orders") == oracle, "the scheduled MERGE applied every change",
               timeout=60, interval=0.5, context=runner.health)
    # The new rate's timing counts afresh.
    schedules = runner.health()["schedules"]
    assert all(schedules[a]["runs"] >= 1 and schedules[a]["failures"] == 0 for a in arns)


def test_a_failing_run_is_counted_and_not_acknowledged(cloud: Any, provisioned_pipeline: tuple[Settings, ClientFactory]) -> None:
    settings, factory = provisioned_pipeline
    scheduler, runner = factory.client("scheduler"), _runner(cloud)
    role = scheduler.get_schedule(Name=SCHEDULE_NAMES[0], GroupName=SCHEDULE_GROUP)["Target"]["RoleArn"]
    arn = scheduler.create_schedule(
        Name="broken", GroupName=SCHEDULE_GROUP, ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:scheduler:::aws-sdk:athena:startQueryExecution", "RoleArn": role,
                "Input": json.dumps({"QueryString": "SELECT * FROM no_such_table",
                                     "QueryExecutionContext": {"Database": settings.glue_database},
                                     "WorkGroup": settings.athena_workgroup})},
    )["ScheduleArn"]
    try:
        eventually(lambda: runner.health()["schedules"].get(arn, {}).get("failures", 0) >= 1, "the broken schedule ran",
                   timeout=60, interval=0.2, context=runner.health)
        state = runner.health()["schedules"][arn]
        assert state["runs"] == 0 and state["last_success"] is None
        assert "TABLE_NOT_FOUND" in state["last_error"] or "does not exist" in state["last_error"]
        # The runner's own line (the Health page's runner table) names the failing schedule.
        top = runner.health()
        assert top["state"] == "running" and top["last_error"] == f"schedule broken: {state['last_error']}"
    finally:
        scheduler.delete_schedule(Name="broken", GroupName=SCHEDULE_GROUP)


def test_a_rate_schedule_with_a_start_date_waits_for_it(cloud: Any, provisioned_pipeline: tuple[Settings, ClientFactory]) -> None:
    # AWS: a rate schedule's StartDate is its first occurrence; without one it fires at once
    # (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html).
    settings, factory = provisioned_pipeline
    scheduler, runner = factory.client("scheduler"), _runner(cloud)
    role = scheduler.get_schedule(Name=SCHEDULE_NAMES[0], GroupName=SCHEDULE_GROUP)["Target"]["RoleArn"]
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(seconds=20)
    arn = scheduler.create_schedule(
        Name="later", GroupName=SCHEDULE_GROUP, ScheduleExpression="rate(1 hour)", StartDate=start,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:scheduler:::aws-sdk:athena:startQueryExecution", "RoleArn": role,
                "Input": json.dumps({"QueryString": "SELECT 1",
                                     "QueryExecutionContext": {"Database": settings.glue_database},
                                     "WorkGroup": settings.athena_workgroup})},
    )["ScheduleArn"]
    try:
        after_polls(runner)
        if time.time() < start.timestamp():  # on a box too loaded to pass twice in 20 s this proves nothing
            assert runner.health()["schedules"].get(arn, {}).get("runs", 0) == 0
        eventually(lambda: runner.health()["schedules"].get(arn, {}).get("runs", 0) >= 1, "the schedule ran at its StartDate",
                   timeout=90, interval=0.2, context=runner.health)
        assert runner.health()["schedules"][arn]["last_success"] >= start.timestamp()
    finally:
        scheduler.delete_schedule(Name="later", GroupName=SCHEDULE_GROUP)

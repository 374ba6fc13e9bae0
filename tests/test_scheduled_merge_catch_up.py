"""The scheduled MERGE reads from each table's own watermark, so after a pause of any length the schedule
alone catches up, and then reads only the recent partitions (the local Athena prunes `dt` by the scalar
subquery's value, as Trino's dynamic filtering does).

A cloud of its own (`fresh_cloud`): the lake must hold only this test's changes, or the watermark
would already say today.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from salescdc.analytics import Analytics
from salescdc.clients import ClientFactory
from salescdc.contract import format_timestamp
from salescdc.current_state import SCHEDULE_GROUP, SCHEDULE_NAMES, scheduled_merge_statements
from salescdc.infra import ApplyOptions, provision
from salescdc.settings import Settings
from tests.support.schedules import remove_schedules
from tests.support.pipeline import relation_rows


def _change(orderid: str, sequence: int, when: dt.datetime, quantity: int = 1, deleted: bool = False) -> str:
    stamp = format_timestamp(when)
    return json.dumps({
        "orderid": orderid, "product_name": "Phone", "quantity": quantity, "price": "10.25", "updated_at": stamp,
        "op": "REMOVE" if deleted else "MODIFY", "is_deleted": deleted, "event_id": f"{orderid}-{sequence}",
        "sequence_number": str(10**20 + sequence), "event_time": stamp, "arrival_time": stamp, "extra": "{}",
    }) + "\n"


def test_the_scheduled_merge_catches_up_after_a_long_pause_then_reads_only_recent_partitions(
        fresh_cloud: Any) -> None:
    cloud = fresh_cloud
    settings = Settings(endpoint_url=cloud.url, buffer_interval_s=0, buffer_size_mb=1)
    factory = ClientFactory(settings)
    provision(settings, factory, options=ApplyOptions(poll_interval_s=0.1, timeout_s=120, role_propagation_s=5))
    scheduler = factory.client("scheduler")
    scheduled = [json.loads(scheduler.get_schedule(Name=n, GroupName=SCHEDULE_GROUP)["Target"]["Input"])
                 ["QueryString"] for n in SCHEDULE_NAMES]
    assert scheduled == scheduled_merge_statements(settings)
    remove_schedules(cloud, factory)  # this test fires the schedules' statements itself, as the schedule would
    s3, bucket, analytics = factory.client("s3"), factory.bucket_name(), Analytics(settings, factory)

    def deliver(day: dt.datetime, name: str, body: str) -> int:
        s3.put_object(Bucket=bucket, Key=f"orders/dt={day:%Y-%m-%d}/{name}", Body=body.encode())
        return len(body.encode())

    def fire() -> int:
        return sum(analytics.run(sql).data_scanned_bytes or 0 for sql in scheduled)

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    long_ago, paused = now - dt.timedelta(days=9), now - dt.timedelta(days=6)
    deliver(long_ago, "a", _change("1", 1, long_ago) + _change("2", 2, long_ago))
    fire()
    assert relation_rows(analytics, "cdc_data.orders") == {"1": ("Phone", 1, Decimal("10.25")),
                                                   "2": ("Phone", 1, Decimal("10.25"))}
    # Six days without a run (far more than the two days the schedule used to re-read), with a big
    # history of order 3 in the middle of the pause, a delete, and one change of today.
    history = "".join(_change("3", 10 + i, paused + dt.timedelta(seconds=i), quantity=1 + i % 7)
                      for i in range(3000))
    big = deliver(paused, "b", history + _change("1", 5000, paused, quantity=4))
    deliver(paused + dt.timedelta(days=1), "c", _change("2", 5001, paused + dt.timedelta(days=1), deleted=True))
    deliver(now, "d", _change("4", 5002, now, quantity=2) + _change("5", 5003, now)
            + _change("5", 5004, now, deleted=True))
    fire()
    expected = {"1": ("Phone", 4, Decimal("10.25")), "3": ("Phone", 1 + 2999 % 7, Decimal("10.25")),
                "4": ("Phone", 2, Decimal("10.25"))}
    assert relation_rows(analytics, "cdc_data.orders") == expected
    # Caught up: the next run reads from the tables' own watermarks (yesterday), not the paused days.
    assert fire() < big
    assert relation_rows(analytics, "cdc_data.orders") == expected

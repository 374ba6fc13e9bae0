"""The journey table never shows a stage before the write: S3's whole-second times are upper bounds."""

from __future__ import annotations

import datetime as dt

from salescdc.journey import Journey, JourneyEvent


def test_s3_stage_is_shown_to_the_second_with_an_upper_bound_delay() -> None:
    written = dt.datetime(2026, 11, 27, 2, 8, 44, 97000, tzinfo=dt.timezone.utc)
    event = JourneyEvent(
        event_id="e1",
        op="MODIFY",
        updated_at=written,
        arrival_time=written + dt.timedelta(milliseconds=327),
        s3_time=written.replace(microsecond=0),  # S3 LastModified: 02:08:44.000
        queryable_time=written + dt.timedelta(milliseconds=1691),
    )
    journey = Journey(orderid="5226", saved_at=written, events={"e1": event})
    (row,) = journey.rows()
    assert row["DynamoDB write"] == "02:08:44.097"
    assert row["Kinesis arrival +s"] == 0.327
    assert row["S3 object"] == "02:08:44"
    assert row["S3 object +s"] == "≤ 0.903"
    assert row["Queryable +s"] == 1.691

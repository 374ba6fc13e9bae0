"""The hourly cost estimate: plain arithmetic on a documented price table."""

from __future__ import annotations

import pytest

from salescdc.cost import PRICES, estimate_hourly_cost


def test_idle_pipeline_costs_the_stream_hour():
    estimate = estimate_hourly_cost("ap-south-1", changes_per_s=0)
    by = {line.service: line.usd_per_hour for line in estimate.lines}
    assert by["Kinesis Data Streams"] == PRICES["ap-south-1"]["kinesis_per_stream_hour"]
    assert estimate.total_usd_per_hour == pytest.approx(PRICES["ap-south-1"]["kinesis_per_stream_hour"])


def test_cost_grows_with_the_rate_and_the_dashboard():
    slow = estimate_hourly_cost("us-east-1", changes_per_s=1 / 3)
    fast = estimate_hourly_cost("us-east-1", changes_per_s=100)
    watched = estimate_hourly_cost("us-east-1", changes_per_s=100, dashboard_queries_per_hour=7 * 360)
    assert slow.total_usd_per_hour < fast.total_usd_per_hour < watched.total_usd_per_hour
    dynamo = {line.service: line for line in fast.lines}["DynamoDB"]
    assert dynamo.usd_per_hour == pytest.approx(360_000 / 1e6 * PRICES["us-east-1"]["dynamodb_per_million_writes"])
    athena = {line.service: line for line in watched.lines}["Athena"]
    # Athena bills at least 10 MB per query.
    assert athena.usd_per_hour == pytest.approx(7 * 360 * 10 * 1024**2 / 1024**4 * 5.0)


def test_unknown_region_is_flagged():
    estimate = estimate_hourly_cost("eu-west-3", changes_per_s=1)
    assert estimate.priced_as == "us-east-1"
    assert "No prices recorded for eu-west-3" in estimate.note
    assert "estimate" in estimate.note.lower()

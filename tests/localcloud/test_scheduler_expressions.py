"""The local scheduler times rate(...) expressions as EventBridge Scheduler writes them, and nothing else."""

from __future__ import annotations

import pytest

from localcloud.scheduler.expressions import rate_seconds


@pytest.mark.parametrize("expression, seconds", [
    ("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(1 hour)", 3600), ("rate(2 hours)", 7200),
    ("rate(1 day)", 86400), ("rate(3 days)", 259200),
])
def test_rate_expressions(expression: str, seconds: int) -> None:
    assert rate_seconds(expression) == seconds


@pytest.mark.parametrize("expression", [
    "rate(0 minutes)", "rate(1 minutes)", "rate(5 minute)", "rate(5 seconds)", "rate(-1 minutes)",
    "cron(0/5 * * * ? *)", "at(2025-01-01T00:00:00)", "rate(5minutes)",
])
def test_other_expressions_are_not_timed(expression: str) -> None:
    assert rate_seconds(expression) is None

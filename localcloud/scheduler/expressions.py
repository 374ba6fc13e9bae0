"""Schedule expressions the local runner can time: `rate(value unit)` (EventBridge Scheduler's syntax).

`rate(1 minute)`, `rate(5 minutes)`, `rate(1 hour)`, `rate(2 days)`: the value is a
positive whole number; the unit is singular for 1 and plural otherwise, as the
Scheduler documentation writes it. `cron(...)` and `at(...)` are not timed locally.
"""

from __future__ import annotations

import re

_RATE = re.compile(r"^rate\((?P<value>[1-9][0-9]*) (?P<unit>minutes?|hours?|days?)\)$")
_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int | None:
    """The period of a rate expression in seconds, or None for any other expression."""
    match = _RATE.match(expression.strip())
    if not match:
        return None
    value, unit = int(match["value"]), match["unit"]
    if (value == 1) != (not unit.endswith("s")):
        return None  # "rate(1 minutes)" / "rate(5 minute)" are not valid
    return value * _SECONDS[unit.rstrip("s")]

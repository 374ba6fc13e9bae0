"""Pipe FilterCriteria: which source records a pipe passes on to its target.

A record passes when it matches any of the pipe's filters (EventBridge event
patterns, applied to the Pipes event); the rest are dropped and their
position still advances, as on AWS. moto's EventBridge pattern matcher does
the matching, so rules and pipes here agree on what a pattern means.
"""

from __future__ import annotations

from typing import Any

from localcloud import moto_patches
from localcloud.pipes.exceptions import ValidationException


def parse_filter_criteria(criteria: dict[str, Any] | None) -> list[Any]:
    """The patterns of a FilterCriteria; raises ValidationException for one that is not a valid pattern."""
    patterns = []
    for i, item in enumerate((criteria or {}).get("Filters") or []):
        raw = item.get("Pattern") if isinstance(item, dict) else None
        if not raw:
            continue
        try:
            patterns.append(moto_patches.event_pattern(raw))
        except ValueError as exc:
            raise ValidationException(
                f"FilterCriteria.Filters[{i}].Pattern is not a valid event pattern: {exc}"
            ) from None
    return patterns


class RecordFilter:
    """Passes every event when there are no filters, else those matching at least one pattern."""

    def __init__(self, criteria: dict[str, Any] | None):
        self.patterns = parse_filter_criteria(criteria)

    def passes(self, event: dict[str, Any]) -> bool:
        return not self.patterns or any(p.matches_event(event) for p in self.patterns)

"""Build the Firehose response for a whole batch, staying under Lambda's 6 MB response limit.

AWS: the synchronous invocation payload limit is 6 MB for the request and for the
response, and Firehose treats an oversized response as a failed invocation (the
whole batch is retried, then sent to the error prefix). AWS's advice is to keep the
processor's buffer size small enough for that never to happen.

A contract line is usually smaller than the DynamoDB-typed record it comes from,
but not always (a string attribute full of quotes is escaped twice in `extra`). So
we measure the serialised response as we build it. Records that would push it past
the limit come back as ProcessingFailed with their original data and the reason
"response would exceed 6 MB": Firehose writes them under the error prefix, where
they are kept for re-driving, and the rest of the batch is delivered. Returning
original data always fits, because the request that carried it was itself under
6 MB; the budget below reserves, for every record not yet placed, the room of the
smaller of its two forms, and a line smaller than its original is always kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from transform import ProcessingFailed, TransformResult, transform

# Lambda's synchronous response limit (6 MB), less a margin for the runtime's own envelope.
RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024 - 4096
OVERSIZE_REASON = "response would exceed 6 MB"

_HEAD = len('{"records": [')
_TAIL = len("]}")
_SEPARATOR = len(", ")


@dataclass(frozen=True)
class BatchResult:
    """The handler's return value and the per-record outcomes (for logging)."""

    response: dict
    results: list[TransformResult]
    response_bytes: int


def build_response(records: Iterable[dict], limit: int = RESPONSE_LIMIT_BYTES) -> BatchResult:
    """Transform every record, in order, each recordId exactly once."""
    records = list(records)
    transformed = [transform(r) for r in records]
    fallbacks = [
        # An Ok result exists only when the record's data was valid base64, so it can go back as is.
        t if isinstance(t, ProcessingFailed) else ProcessingFailed(t.record_id, r["data"], OVERSIZE_REASON)
        for r, t in zip(records, transformed)
    ]
    sizes = [(_size(t), _size(f)) for t, f in zip(transformed, fallbacks)]
    # Room the not-yet-placed records need at least: each as the smaller of its two forms.
    reserved = sum(min(pair) for pair in sizes) + _SEPARATOR * max(len(records) - 1, 0) + _HEAD + _TAIL
    used = 0
    results: list[TransformResult] = []
    for result, fallback, (size, fallback_size) in zip(transformed, fallbacks, sizes):
        reserved -= min(size, fallback_size)
        if size > fallback_size and used + size + reserved > limit:
            result, size = fallback, fallback_size
        used += size
        results.append(result)
    response = {"records": [r.to_response() for r in results]}
    return BatchResult(response, results, used + _HEAD + _TAIL + _SEPARATOR * max(len(results) - 1, 0))


def _size(result: TransformResult) -> int:
    return len(json.dumps(result.to_response()))

"""Firehose data-transformation handler: DynamoDB stream records in, lake contract lines out.

Handler string `handler.lambda_handler`. The work is in transform.py (one record)
and batch.py (the response and its size limit); this file only logs, Powertools
style: one structured line per batch with counts and failure reasons, never payloads.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter

from batch import build_response

logger = logging.getLogger("firehose_transform")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))


def lambda_handler(event: dict, context: object) -> dict:
    batch = build_response(event.get("records") or [])
    failed = Counter(r.reason for r in batch.results if r.result == "ProcessingFailed")
    logger.info(json.dumps({
        "message": "transformed batch",
        "invocation_id": event.get("invocationId"),
        "records": len(batch.results),
        "ok": len(batch.results) - sum(failed.values()),
        "failed": sum(failed.values()),
        "failure_reasons": dict(failed),
        "response_bytes": batch.response_bytes,
    }))
    return batch.response

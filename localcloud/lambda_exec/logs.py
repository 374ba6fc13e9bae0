"""Function logs to CloudWatch Logs, group /aws/lambda/<name>, like AWS (best effort).

Written straight into moto's logs backend (same process), so a slow or broken log path can
never delay or fail an invocation.
"""

from __future__ import annotations

import logging
import time
import uuid

log = logging.getLogger("localcloud.lambda_exec")


def new_log_stream_name(version: str) -> str:
    """AWS's shape: 2024/01/31/[$LATEST]<32 hex>."""
    return time.strftime("%Y/%m/%d/", time.gmtime()) + f"[{version}]{uuid.uuid4().hex}"


def write_function_log(account_id: str, region: str, group: str, stream: str, text: str) -> None:
    try:
        from moto.logs.models import logs_backends

        backend = logs_backends[account_id][region]
        if group not in backend.groups:
            backend.create_log_group(group, {})
        if stream not in backend.groups[group].streams:
            backend.create_log_stream(group, stream)
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line} for line in text.splitlines() if line]
        if events:
            backend.put_log_events(group, stream, events)
    except Exception as exc:  # logs are best effort: never fail an invocation for them
        log.warning("could not write function logs to %s: %s", group, exc)

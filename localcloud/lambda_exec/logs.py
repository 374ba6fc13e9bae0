"""Function log stream names as AWS makes them; the lines go through the plane's log writer.

Group /aws/lambda/<name>, one stream per execution environment, written by
`ServicePlane.logs` (best effort, so a slow or broken log path can never
delay or fail an invocation).
"""

from __future__ import annotations

import time
import uuid


def new_log_stream_name(version: str) -> str:
    """AWS's shape: 2024/01/31/[$LATEST]<32 hex>."""
    return time.strftime("%Y/%m/%d/", time.gmtime()) + f"[{version}]{uuid.uuid4().hex}"

"""The whole pipeline provisioned on a local cloud, and the change records it delivered to the lake.

End-to-end tests provision the app's stack exactly as the panel does (no Firehose buffering, short
polls) and read back what reached S3; this is that set-up and that read, once.
"""

from __future__ import annotations

import json
from typing import Any

from salescdc.clients import ClientFactory
from salescdc.settings import Settings


def provisioned(endpoint_url: str) -> tuple[Settings, ClientFactory]:
    """Provision the pipeline on the local cloud at `endpoint_url` with Firehose delivering every record at once."""
    from salescdc.infra import ApplyOptions, provision

    settings = Settings(endpoint_url=endpoint_url, buffer_interval_s=0, buffer_size_mb=1)
    factory = ClientFactory(settings)
    provision(settings, factory, options=ApplyOptions(poll_interval_s=0.1, timeout_s=120, role_propagation_s=5))
    return settings, factory


def lake_lines(factory: ClientFactory, **json_options: Any) -> list[dict[str, Any]]:
    """Every JSON line Firehose wrote under the bucket's orders/ prefix; `json_options` go to json.loads."""
    s3 = factory.client("s3")
    bucket = factory.bucket_name()
    lines = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="orders/"):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            lines += [json.loads(line, **json_options) for line in body.splitlines() if line.strip()]
    return lines

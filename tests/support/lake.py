"""A local cloud with a bucket ready for table files, and Glue databases no other test shares.

The Iceberg engine tests (tests/localcloud/test_iceberg*.py) each run one cloud per module and
one database per test or example; this is that set-up, once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from localcloud.testing import running_localcloud
from tests.support.aws import REGION


@contextmanager
def cloud_with_bucket(directory: Path, bucket: str, region: str = REGION) -> Iterator[Any]:
    """A running local cloud keeping its state in `directory`, with S3 bucket `bucket` in `region`."""
    with running_localcloud(directory) as running:
        running.plane.client("s3", region).create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        yield running


def new_glue_database(cloud: Any, prefix: str, region: str = REGION) -> str:
    """Create a Glue database named `prefix` plus a random suffix and return its name."""
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    cloud.plane.client("glue", region).create_database(DatabaseInput={"Name": name})
    return name

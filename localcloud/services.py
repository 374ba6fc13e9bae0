"""The list of emulated-service packages; each adds handlers and runners to a LocalCloud.

A package joins by exposing `install(cloud)` in its `__init__.py` and being listed here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localcloud.server import LocalCloud

SERVICE_PACKAGES: list[str] = [
    "localcloud.s3",
    "localcloud.glue",
    "localcloud.lambda_exec",
    "localcloud.firehose",
    "localcloud.dynamodb",
    "localcloud.kinesis",
    "localcloud.pipes",
    "localcloud.athena",
    # e.g. "localcloud.glue", "localcloud.lambda_exec", "localcloud.pipes", "localcloud.firehose", "localcloud.athena"
]


def install(cloud: LocalCloud) -> None:
    for name in SERVICE_PACKAGES:
        importlib.import_module(name).install(cloud)

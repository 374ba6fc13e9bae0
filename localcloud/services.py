"""The list of emulated-service packages; each adds handlers and runners to a LocalCloud.

A package joins by exposing `install(cloud)` in its `__init__.py` and being listed here.
The order matters: a package may take what an earlier one installed as a constructor
argument (localcloud.firehose takes `cloud.lambda_executor`).
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
    "localcloud.scheduler",
]


def install(cloud: LocalCloud) -> None:
    for name in SERVICE_PACKAGES:
        importlib.import_module(name).install(cloud)

"""Kinesis Data Streams for the local cloud: moto's API with atomic writes and the stream's CloudWatch metrics.

`install(cloud)` wraps moto's Kinesis backend (see `models.py`); metrics go
through the cloud's shared `cloud.metrics` publisher.

No `responses.py`: moto answers every Kinesis API call; `models.py` wraps its backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localcloud.kinesis import models

if TYPE_CHECKING:
    from localcloud.server import LocalCloud

__all__ = ["install"]


def install(cloud: LocalCloud) -> None:
    models.install(cloud.metrics.add)

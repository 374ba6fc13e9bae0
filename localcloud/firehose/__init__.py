"""Firehose data plane: Kinesis-sourced delivery streams really deliver to S3 (moto moves no data).

`install(cloud)` adds a `FirehoseRunner` (runner name "firehose") to `cloud.runners`. It invokes
processor Lambdas through `cloud.lambda_executor` (localcloud.lambda_exec) and publishes metrics
through `cloud.metrics`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localcloud.firehose.runner import FirehoseRunner

if TYPE_CHECKING:
    from localcloud.server import LocalCloud

__all__ = ["FirehoseRunner", "install"]


def install(cloud: LocalCloud) -> None:
    runner = FirehoseRunner(cloud)
    cloud.firehose_runner = runner  # type: ignore[attr-defined]
    cloud.runners.append(runner)

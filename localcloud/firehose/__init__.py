"""Firehose data plane: Kinesis-sourced delivery streams really deliver to S3 (moto moves no data).

`install(cloud)` adds a `FirehoseRunner` (runner name "firehose") to `cloud.runners` and sets the
typed field `cloud.firehose_runner`. The runner gets the Lambda executor (installed before it) as a
constructor argument to invoke processor Lambdas, and reaches Kinesis, S3, logs and metrics through
the service plane.

No `responses.py`: moto answers every Firehose API call; this package is the data
plane only (`runner.py` discovery, `delivery.py` one stream, `processing.py` / `prefixes.py`
the pure rules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localcloud.firehose.runner import FirehoseRunner

if TYPE_CHECKING:
    from localcloud.server import LocalCloud

__all__ = ["FirehoseRunner", "install"]


def install(cloud: LocalCloud) -> None:
    if cloud.lambda_executor is None:
        raise RuntimeError("localcloud.lambda_exec must be installed before localcloud.firehose")
    runner = FirehoseRunner(cloud.plane, cloud.data_dir, cloud.lambda_executor)
    cloud.firehose_runner = runner
    cloud.runners.append(runner)

"""Lambda data plane: Invoke runs the deployed zip in warm worker processes (moto needs Docker).

`install(cloud)` routes `POST /2015-03-31/functions/<name>/invocations` to our executor, exposes
it as `cloud.lambda_executor` (in-process callers such as the Firehose runner use it directly),
and adds a runner named "lambda" whose stop() kills every worker and whose health() lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localcloud.lambda_exec.models import InvocationResult, LambdaExecutor
from localcloud.lambda_exec.responses import INVOKE_PATH, invoke_handler
from localcloud.metrics import MetricsPublisher

if TYPE_CHECKING:
    from localcloud.server import LocalCloud

__all__ = ["InvocationResult", "LambdaExecutor", "install", "shared_metrics"]


class _MetricsRunner:
    """Starts the cloud's one MetricsPublisher once the port (and so the URL) is known."""

    name = "metrics"

    def __init__(self, cloud: LocalCloud, publisher: MetricsPublisher):
        self.cloud = cloud
        self.publisher = publisher

    def start(self) -> None:
        self.publisher.endpoint_url = self.cloud.url
        self.publisher._stop.clear()
        self.publisher.start()

    def stop(self) -> None:
        self.publisher.stop()

    def health(self) -> dict[str, Any]:
        return {"state": "running", "endpoint_url": self.publisher.endpoint_url}


def shared_metrics(cloud: LocalCloud) -> MetricsPublisher:
    """The cloud's single MetricsPublisher (`cloud.metrics`), created and started once."""
    publisher = getattr(cloud, "metrics", None)
    if publisher is None:
        publisher = MetricsPublisher(endpoint_url=cloud.url)
        cloud.metrics = publisher  # type: ignore[attr-defined]
        # First in the list: started before, and stopped after, every runner that publishes.
        cloud.runners.insert(0, _MetricsRunner(cloud, publisher))
    return publisher


class LambdaRunner:
    """Owns the executor's lifetime: stop() kills the warm workers with the cloud."""

    name = "lambda"

    def __init__(self, executor: LambdaExecutor):
        self.executor = executor

    def start(self) -> None:
        self.executor.start()

    def stop(self) -> None:
        self.executor.stop()

    def health(self) -> dict[str, Any]:
        return {"state": "running", "functions": self.executor.health()}


def install(cloud: LocalCloud) -> None:
    executor = LambdaExecutor(cloud.data_dir, endpoint_url=lambda: cloud.url, metrics=shared_metrics(cloud))
    cloud.lambda_executor = executor  # type: ignore[attr-defined]
    cloud.router.rest("lambda", "POST", INVOKE_PATH)(invoke_handler(executor))
    cloud.runners.append(LambdaRunner(executor))

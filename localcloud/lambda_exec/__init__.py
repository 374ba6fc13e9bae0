"""Lambda data plane: Invoke runs the deployed zip in warm worker processes (moto needs Docker).

`install(cloud)` routes `POST /2015-03-31/functions/<name>/invocations` to our executor, sets
the typed field `cloud.lambda_executor` (handed to in-process callers such as the Firehose runner
as a constructor argument), and adds a runner named "lambda" whose stop() kills every worker and
whose health() lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localcloud.lambda_exec.models import InvocationResult, LambdaExecutor
from localcloud.lambda_exec.responses import ROUTES, LambdaResponses

if TYPE_CHECKING:
    from localcloud.server import LocalCloud

__all__ = ["InvocationResult", "LambdaExecutor", "install"]


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
    executor = LambdaExecutor(cloud.data_dir, cloud.plane)
    cloud.lambda_executor = executor
    cloud.router.register("lambda", ROUTES, LambdaResponses(executor))
    cloud.runners.append(LambdaRunner(executor))

"""EventBridge Pipes for the local cloud: the API moto lacks (UpdatePipe, honest states) and the data plane.

`install(cloud)` registers the Pipes REST handlers on `cloud.router` and adds a
`PipesRunner` (runner name "pipes") to `cloud.runners`. The runner reaches the
source and target streams and the metrics publisher through the service plane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localcloud.pipes.models import PipeStore
from localcloud.pipes.responses import ROUTES, PipesResponses
from localcloud.pipes.runner import PipesRunner

if TYPE_CHECKING:
    from localcloud.server import LocalCloud

__all__ = ["install", "PipesRunner", "PipeStore"]


def install(cloud: LocalCloud) -> None:
    store = PipeStore()
    runner = PipesRunner(cloud.plane, cloud.data_dir, store)
    cloud.router.register("pipes", ROUTES, PipesResponses(store, on_change=runner.wake))
    cloud.runners.append(runner)

"""Provision, inspect and tear down the pipeline's AWS resources (issue 3).

Resources are declared as data (`resources.declare`); one engine
(`engine.py`) checks, creates or updates, and waits for each, in dependency
order. The same code runs against AWS and the local cloud: only the
endpoint differs.

    provision(settings, factory, progress=None, *, options=None) -> list[ResourceResult]
    inspect(settings, factory, *, options=None) -> list[ResourceStatus]
    teardown(settings, factory, delete_data=False, progress=None, *, options=None) -> list[ResourceResult]
    start_crawler(settings, factory) -> str
"""

from salescdc.infra.engine import inspect, provision, start_crawler, teardown
from salescdc.infra.model import (
    ApplyOptions,
    Presence,
    ProgressEvent,
    ResourceError,
    ResourceResult,
    ResourceStatus,
    ResourceTimeout,
)

__all__ = [
    "ApplyOptions",
    "Presence",
    "ProgressEvent",
    "ResourceError",
    "ResourceResult",
    "ResourceStatus",
    "ResourceTimeout",
    "inspect",
    "provision",
    "start_crawler",
    "teardown",
]

"""The vocabulary of provisioning: resources as data, progress events, results, errors.

A `Resource` is pure data (what should exist); `salescdc.infra.drivers` knows
how to read, create, update and delete each kind; `salescdc.infra.engine`
applies a list of resources in order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from salescdc.errors import SalesCdcError, TerminalError

# One step of provisioning or teardown for one resource.
Phase = Literal["checking", "creating", "updating", "ready", "failed", "deleting", "deleted", "skipped"]


class Presence(StrEnum):
    """What `inspect` found for one resource."""

    PRESENT = "present"  # exists, ours, as declared
    MISSING = "missing"
    DRIFTED = "drifted"  # exists but differs from the declaration, or is not ours
    FAILED = "failed"  # exists in a state it will not leave by itself (e.g. CREATE_FAILED)


DEFAULT_LAMBDA_SOURCE = Path(__file__).resolve().parents[2] / "lambdas" / "firehose_transform"


class ResourceError(TerminalError):
    """A resource could not be created, updated, deleted or made usable.

    `results` holds what was done before the failure, so callers can show it.
    """

    def __init__(self, message: str, results: list[ResourceResult] | None = None):
        super().__init__(message)
        self.results = list(results or [])


class ResourceTimeout(ResourceError):
    """A resource did not become usable (or go away) in the allowed time."""


@dataclass(frozen=True)
class Ref:
    """A value only known once another resource exists, e.g. a table's LatestStreamArn."""

    kind: str
    name: str
    output: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class Resource:
    """One AWS resource the pipeline needs, described as data.

    `spec` is the desired configuration in the service's own request vocabulary;
    values may be `Ref`s. `owner` names the resource whose tag stands in for this
    one where the service cannot tag it (Glue tables, classifiers, Athena views).
    """

    kind: str
    name: str
    spec: Mapping[str, Any]
    tags: Mapping[str, str]
    owner: str | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass
class Observed:
    """What a driver read back about one existing resource."""

    state: str
    tags: dict[str, str] | None  # None: this kind cannot carry tags
    actual: dict[str, Any] = field(default_factory=dict)  # comparable with the driver's desired()
    outputs: dict[str, Any] = field(default_factory=dict)  # ARNs etc. for Refs
    raw: Any = None


@dataclass(frozen=True)
class ProgressEvent:
    """One step for one resource; the dashboard renders these live."""

    kind: str
    name: str
    phase: Phase
    reason: str = ""

    def line(self) -> str:
        tail = f" ({self.reason})" if self.reason else ""
        return f"{self.phase:<9} {self.kind:<20} {self.name}{tail}"


@dataclass(frozen=True)
class ResourceResult:
    """How one resource ended up after `provision` or `teardown`."""

    kind: str
    name: str
    action: str  # created | updated | unchanged | replaced | deleted | skipped | failed
    detail: str = ""
    state: str = ""

    @property
    def changed(self) -> bool:
        return self.action in ("created", "updated", "replaced", "deleted")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "action": self.action, "detail": self.detail,
                "state": self.state}


@dataclass(frozen=True)
class ResourceStatus:
    """What `inspect` found for one resource."""

    kind: str
    name: str
    status: Presence
    state: str = ""  # the service's own word: ACTIVE, RUNNING, READY, …
    detail: str = ""  # what failed or drifted, or why it is not ours
    managed: bool = True  # carries the project tag (or its owner does)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "status": self.status, "state": self.state,
                "detail": self.detail, "managed": self.managed}


@dataclass(frozen=True)
class ApplyOptions:
    """How patiently the engine waits. Tests shorten these; AWS needs the defaults."""

    poll_interval_s: float = 2.0
    timeout_s: float = 600.0
    # A fresh IAM role can take ~10 s (rarely more) before services may assume it.
    role_propagation_s: float = 120.0
    lambda_source: Path = DEFAULT_LAMBDA_SOURCE


Progress = Callable[[ProgressEvent], None]


def no_progress(_event: ProgressEvent) -> None:
    """The default progress sink."""


__all__ = [
    "ApplyOptions",
    "Observed",
    "Phase",
    "Presence",
    "Progress",
    "ProgressEvent",
    "Ref",
    "Resource",
    "ResourceError",
    "ResourceResult",
    "ResourceStatus",
    "ResourceTimeout",
    "SalesCdcError",
]

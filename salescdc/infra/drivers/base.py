"""What every resource driver offers the engine, and helpers they share.

A driver turns one `Resource` (data) into AWS calls: read it back, say what
the desired configuration looks like in comparable form, create, update,
delete, and tell whether it is usable yet.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

import botocore.exceptions

from salescdc.clients import ClientFactory
from salescdc.infra.model import ApplyOptions, Observed, Resource, ResourceError, ResourceTimeout

T = TypeVar("T")


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Message", ""))
    return str(exc)


def subset_diff(desired: Any, actual: Any, path: str = "") -> list[str]:
    """Paths where `actual` differs from `desired`, ignoring fields desired does not name.

    Services add defaults and read-only fields to what they return; only what
    we asked for counts as drift.
    """
    if isinstance(desired, dict):
        if not isinstance(actual, dict):
            return [path or "."]
        out: list[str] = []
        for key, value in desired.items():
            out += subset_diff(value, actual.get(key), f"{path}.{key}" if path else str(key))
        return out
    if isinstance(desired, list):
        if not isinstance(actual, list) or len(actual) != len(desired):
            return [path or "."]
        out = []
        for i, (d, a) in enumerate(zip(desired, actual)):
            out += subset_diff(d, a, f"{path}[{i}]")
        return out
    return [] if desired == actual else [path or "."]


def tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in sorted(tags.items())]


class Driver(ABC):
    """Base class; subclasses set `kind` and implement read, create and delete."""

    kind = ""
    # Desired keys that cannot change in place.
    immutable: frozenset[str] = frozenset()
    # When an immutable key drifted: delete and recreate (True) or refuse (False).
    replace_on_immutable = False

    def __init__(self, factory: ClientFactory, options: ApplyOptions):
        self.factory = factory
        self.options = options

    def client(self, service: str) -> Any:
        return self.factory.client(service)

    # -- to implement --------------------------------------------------
    @abstractmethod
    def read(self, res: Resource) -> Observed | None:
        """The resource as it exists, or None when it does not."""

    def desired(self, res: Resource) -> dict[str, Any]:
        """The configuration to compare with `Observed.actual` (resolved spec by default)."""
        return dict(res.spec)

    def drift(self, res: Resource, observed: Observed) -> list[str]:
        """What differs between the declared and the observed configuration."""
        return subset_diff(self.desired(res), observed.actual)

    @abstractmethod
    def create(self, res: Resource) -> None:
        """Create the resource as declared."""

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        raise ResourceError(f"{self.kind} {res.name} drifted ({', '.join(drift)}) and cannot be updated in place.")

    @abstractmethod
    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        """Delete the resource (the engine has checked the tag and the data guard)."""

    def usable(self, observed: Observed) -> bool:
        """Whether the resource can be used by the next one in line."""
        return True

    def failure(self, observed: Observed) -> str | None:
        """A reason when the resource reached a state it will not leave by itself."""
        return None

    def data_guard(self, res: Resource, observed: Observed) -> str | None:
        """A reason not to delete (data would be lost) unless delete_data is given."""
        return None

    # -- shared helpers ------------------------------------------------
    def wait(self, what: str, check: Callable[[], T | None], timeout: float | None = None) -> T:
        """Poll `check` until it returns something truthy; ResourceTimeout after the timeout."""
        limit = self.options.timeout_s if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise ResourceTimeout(f"{what} did not happen within {limit:g} s.")
            time.sleep(self.options.poll_interval_s)

    def while_role_propagates(self, call: Callable[[], T]) -> T:
        """Retry `call` while a fresh IAM role is not yet assumable by the service.

        IAM is eventually consistent: for some seconds after CreateRole, Lambda,
        Firehose, Pipes and Glue reject the role as not assumable.
        """
        deadline = time.monotonic() + self.options.role_propagation_s
        delay = min(1.0, self.options.poll_interval_s)
        while True:
            try:
                return call()
            except botocore.exceptions.ClientError as exc:
                if not _role_not_ready(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


_ROLE_CODES = {
    "InvalidParameterValueException",  # Lambda
    "InvalidArgumentException",  # Firehose
    "InvalidInputException",  # Glue
    "ValidationException",  # Pipes
    "AccessDeniedException",
}


def _role_not_ready(exc: botocore.exceptions.ClientError) -> bool:
    message = error_message(exc).lower()
    return error_code(exc) in _ROLE_CODES and ("assume" in message or "role" in message)


def missing_on(codes: set[str], call: Callable[[], T]) -> T | None:
    """`call()`, or None when it fails with one of the not-found `codes`."""
    try:
        return call()
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) in codes:
            return None
        raise

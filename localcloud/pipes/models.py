"""Pipes control plane: one method per Pipes API action, on top of moto's pipes backend.

moto stores the pipes (so its tagging calls and `moto_api` reset keep working)
but its state machine is fake-instant and it has no UpdatePipe. Here the
API only records what the user asked for (DesiredState) and moves
CurrentState into the transitional state AWS reports (CREATING, STARTING,
STOPPING, UPDATING); the runner (`runner.py`) moves it on to RUNNING or
STOPPED once it really is, and sets StateReason when something fails.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from localcloud import moto_patches
from localcloud.pipes.exceptions import ConflictException, NotFoundException, ValidationException
from localcloud.pipes.filters import parse_filter_criteria
from localcloud.routing import paginate

REQUESTED_STATES = ("RUNNING", "STOPPED")
# Keys of Source/TargetParameters that AWS replaces as a whole on UpdatePipe
# (its docs: service-specific objects are updated "atomically as one").
_SOURCE_ONLY_AT_CREATE = {"DynamoDBStreamParameters": ("StartingPosition",),
                          "KinesisStreamParameters": ("StartingPosition", "StartingPositionTimestamp")}


def moto_pipes_backend(account_id: str, region: str) -> Any:
    """moto's pipes backend: `.pipes` (name -> FakePipe), `.create_pipe(...)`."""
    return moto_patches.backend("pipes", account_id, region)


@dataclass(frozen=True)
class PipeSnapshot:
    """What the runner needs to know about one pipe, copied under the lock."""

    key: str  # ARN + creation time: a pipe deleted and re-created is a different pipe
    name: str
    arn: str
    account_id: str
    region: str
    desired_state: str
    current_state: str
    source: str
    source_parameters: dict[str, Any]
    target: str
    target_parameters: dict[str, Any]
    enrichment: str | None
    version: int  # bumps on every UpdatePipe so the runner reloads the configuration
    created_at: float = 0.0  # epoch seconds: where a LATEST start begins (see the runner's _iterator_for)


class PipeStore:
    """The pipes of every account/region in moto, guarded by one lock shared with the runner."""

    def __init__(self) -> None:
        self.lock = threading.RLock()

    # -- helpers -------------------------------------------------------
    def _get(self, account_id: str, region: str, name: str) -> Any:
        pipe = moto_pipes_backend(account_id, region).pipes.get(name)
        if pipe is None:
            raise NotFoundException(f"Pipe {name} does not exist.")
        return pipe

    @staticmethod
    def _touch(pipe: Any) -> None:
        pipe.last_modified_time = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        moto_patches.set_pipe_version(pipe, moto_patches.pipe_version(pipe) + 1)

    @staticmethod
    def _check_desired(desired: str | None) -> None:
        if desired is not None and desired not in REQUESTED_STATES:
            raise ValidationException(
                f"1 validation error detected: Value '{desired}' at 'desiredState' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [RUNNING, STOPPED]"
            )

    # -- API actions ---------------------------------------------------
    def create_pipe(self, account_id: str, region: str, name: str, body: dict[str, Any]) -> Any:
        for field in ("Source", "Target", "RoleArn"):
            if not body.get(field):
                raise ValidationException(f"{field} is a required parameter.")
        self._check_desired(body.get("DesiredState"))
        parse_filter_criteria((body.get("SourceParameters") or {}).get("FilterCriteria"))
        with self.lock:
            backend = moto_pipes_backend(account_id, region)
            if name in backend.pipes:
                raise ConflictException(f"Pipe {name} already exists.")
            pipe = backend.create_pipe(
                name=name,
                description=body.get("Description"),
                desired_state=body.get("DesiredState"),
                source=body["Source"],
                source_parameters=body.get("SourceParameters") or {},
                enrichment=body.get("Enrichment"),
                enrichment_parameters=body.get("EnrichmentParameters"),
                target=body["Target"],
                target_parameters=body.get("TargetParameters") or {},
                role_arn=body["RoleArn"],
                tags=body.get("Tags"),
                log_configuration=body.get("LogConfiguration"),
                kms_key_identifier=body.get("KmsKeyIdentifier"),
            )
            pipe.status = "CREATING"
            pipe.state_reason = None
            moto_patches.set_pipe_version(pipe, 1)
            return pipe

    def describe_pipe(self, account_id: str, region: str, name: str) -> Any:
        with self.lock:
            return self._get(account_id, region, name)

    def update_pipe(self, account_id: str, region: str, name: str, body: dict[str, Any]) -> Any:
        if not body.get("RoleArn"):
            raise ValidationException("RoleArn is a required parameter.")
        self._check_desired(body.get("DesiredState"))
        parse_filter_criteria((body.get("SourceParameters") or {}).get("FilterCriteria"))
        with self.lock:
            pipe = self._get(account_id, region, name)
            if pipe.status in ("CREATING", "UPDATING", "DELETING"):
                raise ConflictException(
                    f"Pipe {name} cannot be updated while it is in state {pipe.status}. Retry when it has settled."
                )
            pipe.role_arn = body["RoleArn"]
            for field, attr in (("Description", "description"), ("Enrichment", "enrichment"),
                                ("Target", "target"), ("LogConfiguration", "log_configuration"),
                                ("KmsKeyIdentifier", "kms_key_identifier"),
                                ("EnrichmentParameters", "enrichment_parameters")):
                if field in body:
                    setattr(pipe, attr, body[field])
            if "DesiredState" in body:
                pipe.desired_state = body["DesiredState"]
            if "SourceParameters" in body:
                pipe.source_parameters = _merge_source_parameters(pipe.source_parameters or {},
                                                                  body["SourceParameters"] or {})
            if "TargetParameters" in body:
                merged = dict(pipe.target_parameters or {})
                merged.update(body["TargetParameters"] or {})
                pipe.target_parameters = merged
            pipe.status = "UPDATING"
            pipe.state_reason = None
            self._touch(pipe)
            return pipe

    def start_pipe(self, account_id: str, region: str, name: str) -> Any:
        with self.lock:
            pipe = self._get(account_id, region, name)
            pipe.desired_state = "RUNNING"
            if pipe.status in ("STOPPED", "STOPPING", "START_FAILED"):
                pipe.status = "STARTING"
                pipe.state_reason = None
            self._touch(pipe)
            return pipe

    def stop_pipe(self, account_id: str, region: str, name: str) -> Any:
        with self.lock:
            pipe = self._get(account_id, region, name)
            pipe.desired_state = "STOPPED"
            if pipe.status in ("RUNNING", "STARTING", "STOP_FAILED"):
                pipe.status = "STOPPING"
            pipe.state_reason = None  # a user stop is no failure; AWS documents no reason string for it
            self._touch(pipe)
            return pipe

    def delete_pipe(self, account_id: str, region: str, name: str) -> Any:
        with self.lock:
            pipe = self._get(account_id, region, name)
            # AWS answers DELETING and the pipe disappears shortly after; the runner
            # notices it is gone from the backend and stops its worker.
            moto_pipes_backend(account_id, region).pipes.pop(name, None)
            pipe.desired_state = "DELETED"
            pipe.status = "DELETING"
            return pipe

    def list_pipes(self, account_id: str, region: str, filters: dict[str, str], limit: int | None,
                   next_token: str | None) -> tuple[list[Any], str | None]:
        with self.lock:
            pipes = sorted(moto_pipes_backend(account_id, region).pipes.values(), key=lambda p: p.name)
        checks = {
            "NamePrefix": lambda p, v: p.name.startswith(v),
            "DesiredState": lambda p, v: p.desired_state == v,
            "CurrentState": lambda p, v: p.status == v,
            "SourcePrefix": lambda p, v: (p.source or "").startswith(v),
            "TargetPrefix": lambda p, v: (p.target or "").startswith(v),
        }
        for field, value in filters.items():
            if value:
                pipes = [p for p in pipes if checks[field](p, value)]
        return paginate(pipes, limit, next_token, ValidationException, invalid_token="The NextToken is not valid.")

    # -- for the runner ------------------------------------------------
    def snapshots(self) -> Iterator[PipeSnapshot]:
        with self.lock:
            for account_id, region, backend in moto_patches.all_backends("pipes"):
                for pipe in list(backend.pipes.values()):
                    yield PipeSnapshot(
                        key=pipe_key(pipe),
                        name=pipe.name,
                        arn=pipe.arn,
                        account_id=account_id,
                        region=region,
                        desired_state=pipe.desired_state,
                        current_state=pipe.status,
                        source=pipe.source,
                        source_parameters=copy.deepcopy(pipe.source_parameters or {}),
                        target=pipe.target,
                        target_parameters=copy.deepcopy(pipe.target_parameters or {}),
                        enrichment=pipe.enrichment,
                        version=moto_patches.pipe_version(pipe),
                        created_at=pipe.creation_time.replace(tzinfo=dt.timezone.utc).timestamp(),
                    )

    def report(self, snapshot: PipeSnapshot, state: str | None = None, reason: str | None | bool = False) -> None:
        """Record the runner's real state; ignored if the pipe was deleted, re-created or updated since."""
        with self.lock:
            try:
                pipe = moto_pipes_backend(snapshot.account_id, snapshot.region).pipes.get(snapshot.name)
            except KeyError:
                return
            if pipe is None or pipe_key(pipe) != snapshot.key:
                return
            if moto_patches.pipe_version(pipe) != snapshot.version:
                return
            if state is not None:
                pipe.status = state
            if reason is not False:
                pipe.state_reason = reason


def pipe_key(pipe: Any) -> str:
    return f"{pipe.arn}@{pipe.creation_time.isoformat()}"


def _merge_source_parameters(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(current)
    for key, value in update.items():
        value = copy.deepcopy(value)
        # StartingPosition cannot be changed by UpdatePipe; keep the one given at creation.
        for kept in _SOURCE_ONLY_AT_CREATE.get(key, ()):
            if isinstance(value, dict) and kept in current.get(key, {}):
                value[kept] = current[key][kept]
        merged[key] = value
    return merged


def epoch(value: dt.datetime | None) -> float | None:
    """Pipes (rest-json) sends timestamps as epoch seconds; moto keeps naive UTC datetimes."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.timestamp()

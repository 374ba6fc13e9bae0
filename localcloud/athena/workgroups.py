"""Athena workgroups: CreateWorkGroup & co., with the validation and UpdateWorkGroup moto lacks.

The workgroups themselves live in moto's Athena backend (reached through
`moto_patches.athena_backend`), so moto's other Athena calls — named
queries, tags — see the same ones. Creation times are ours (moto keeps none).
The merge of ConfigurationUpdates and the validation are pure functions.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from localcloud import moto_patches
from localcloud.athena.exceptions import InvalidRequestException
from localcloud.plane import parse_s3_url

# The API's minimum for a workgroup's per-query data usage control (10 MB, as botocore's model says).
MIN_BYTES_CUTOFF = 10_000_000
# ConfigurationUpdates members copied as they are into the configuration.
_PLAIN_UPDATES = ("EnforceWorkGroupConfiguration", "PublishCloudWatchMetricsEnabled", "RequesterPaysEnabled",
                  "BytesScannedCutoffPerQuery", "EngineVersion", "EnableMinimumEncryptionConfiguration")
# ResultConfigurationUpdates: (member, the flag that removes it).
_RESULT_UPDATES = (("OutputLocation", "RemoveOutputLocation"),
                   ("EncryptionConfiguration", "RemoveEncryptionConfiguration"),
                   ("ExpectedBucketOwner", "RemoveExpectedBucketOwner"),
                   ("AclConfiguration", "RemoveAclConfiguration"))


def check_output_location(location: str) -> None:
    try:
        parse_s3_url(location)
    except ValueError:
        raise InvalidRequestException(f"Invalid OutputLocation: {location}") from None


def validate_configuration(configuration: dict[str, Any]) -> None:
    """A WorkGroupConfiguration the API accepts, or InvalidRequestException."""
    cutoff = configuration.get("BytesScannedCutoffPerQuery")
    if cutoff is not None and int(cutoff) < MIN_BYTES_CUTOFF:
        raise InvalidRequestException(
            f"BytesScannedCutoffPerQuery must be at least {MIN_BYTES_CUTOFF} bytes (10 MB)"
        )
    location = (configuration.get("ResultConfiguration") or {}).get("OutputLocation")
    if location:
        check_output_location(location)


def apply_updates(configuration: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any]:
    """UpdateWorkGroup's ConfigurationUpdates applied to a copy of `configuration`."""
    config = copy.deepcopy(configuration)
    for key in _PLAIN_UPDATES:
        if key in updates:
            config[key] = updates[key]
    if updates.get("RemoveBytesScannedCutoffPerQuery"):
        config.pop("BytesScannedCutoffPerQuery", None)
    result_updates = updates.get("ResultConfigurationUpdates") or {}
    result = dict(config.get("ResultConfiguration") or {})
    for key, remove in _RESULT_UPDATES:
        if result_updates.get(remove):
            result.pop(key, None)
        elif key in result_updates:
            result[key] = result_updates[key]
    config["ResultConfiguration"] = result
    return config


def output_location(wg_config: dict[str, Any], requested: dict[str, Any]) -> str:
    """Where a query's results go: the workgroup's when it enforces its settings, else the caller's."""
    wg_location = (wg_config.get("ResultConfiguration") or {}).get("OutputLocation")
    if wg_config.get("EnforceWorkGroupConfiguration", True) and wg_location:
        location = wg_location
    else:
        location = (requested or {}).get("OutputLocation") or wg_location
    if not location:
        raise InvalidRequestException(
            "No output location provided. An output location is required either through the Workgroup "
            "result configuration setting or as an API input."
        )
    check_output_location(location)
    return location


class WorkGroups:
    """The workgroups of every account/region, kept in moto's backend."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._created: dict[tuple[str, str, str], float] = {}

    def _creation_time(self, account_id: str, region: str, name: str) -> float:
        # `primary` (made by moto) and groups restored from saved state get the time we first see them.
        with self._lock:
            return self._created.setdefault((account_id, region, name), time.time())

    def get_model(self, account_id: str, region: str, name: str) -> Any:
        wg = moto_patches.athena_backend(account_id, region).work_groups.get(name)
        if wg is None:
            raise InvalidRequestException(f"WorkGroup {name} is not found.")
        return wg

    def create(self, account_id: str, region: str, name: str, configuration: dict[str, Any],
               description: str | None, tags: list[dict[str, str]] | None) -> None:
        validate_configuration(configuration)
        backend = moto_patches.athena_backend(account_id, region)
        created = backend.create_work_group(name, copy.deepcopy(configuration), description or "", tags or [])
        if created is None:
            raise InvalidRequestException("WorkGroup is already created")
        with self._lock:
            self._created[(account_id, region, name)] = time.time()

    def get(self, account_id: str, region: str, name: str) -> dict[str, Any]:
        wg = self.get_model(account_id, region, name)
        return {
            "Name": wg.name,
            "State": wg.state,
            "Configuration": wg.configuration,
            "Description": wg.description or "",
            "CreationTime": self._creation_time(account_id, region, wg.name),
        }

    def list(self, account_id: str, region: str) -> list[dict[str, Any]]:
        return [
            {
                "Name": wg.name,
                "State": wg.state,
                "Description": wg.description or "",
                "CreationTime": self._creation_time(account_id, region, wg.name),
                "EngineVersion": wg.configuration.get("EngineVersion", {}),
            }
            for wg in moto_patches.athena_backend(account_id, region).work_groups.values()
        ]

    def update(self, account_id: str, region: str, name: str, updates: dict[str, Any],
               description: str | None, state: str | None) -> None:
        wg = self.get_model(account_id, region, name)
        config = apply_updates(wg.configuration, updates)
        validate_configuration(config)
        wg.configuration = config
        if description is not None:
            wg.description = description
        if state in ("ENABLED", "DISABLED"):
            wg.state = state

    def delete(self, account_id: str, region: str, name: str) -> None:
        if name == "primary":
            raise InvalidRequestException("The primary workgroup cannot be deleted.")
        self.get_model(account_id, region, name)
        moto_patches.athena_backend(account_id, region).delete_work_group(name)
        with self._lock:
            self._created.pop((account_id, region, name), None)

"""moto's AWS state as bytes: each service's backends pickled, and put back.

`localcloud/durability` snapshots a service with `dump_service` and restores it
with `restore_service`; `dumps` pickles the moto objects a log record carries.
Two things in moto's backends plain pickle refuses are handled here (see
`_StatePickler`). `read_legacy` reads what versions before the write-ahead log
saved on a clean stop (`<data_dir>/moto-state/<service>.pickle`), for migration;
`save`/`load` still write and read that format for callers that want a
one-off copy of the state. Pickles are as trusted as the rest of the data dir:
only load a data dir you created.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import threading
import weakref
from collections import defaultdict
from pathlib import Path
from typing import Any

log = logging.getLogger("localcloud.state")

# The services this project uses; others start empty after a restart.
SERVICES = ("dynamodb", "kinesis", "s3", "iam", "lambda", "firehose", "pipes", "glue", "athena", "logs",
            "cloudwatch", "events", "sts", "sqs", "scheduler")


def _weak_value_dict(items: dict[Any, Any]) -> weakref.WeakValueDictionary[Any, Any]:
    return weakref.WeakValueDictionary(items)


def _default_dict(factory: Any, items: dict[Any, Any]) -> defaultdict[Any, Any]:
    return defaultdict(factory, items)


_LOCK_TYPES = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}


def _new_lock(kind: str) -> Any:
    return {"lock": threading.Lock, "rlock": threading.RLock, "condition": threading.Condition}[kind]()


class _StatePickler(pickle.Pickler):
    """Pickles the two things in moto's backends plain pickle refuses.

    - weak indexes (e.g. Lambda's ARN -> function map): as the dicts they index; their values
      are also held strongly elsewhere in the same backend, so they stay alive after loading;
    - defaultdicts whose factory is a lambda making an empty dict/list/set: with that type as factory;
    - locks and conditions (e.g. SQS queues'): as new, unlocked ones (no thread holds them after a load).
    """

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) in _LOCK_TYPES:
            return _new_lock, ("rlock" if _LOCK_TYPES[type(obj)] is threading.RLock else "lock",)
        if isinstance(obj, threading.Condition):
            return _new_lock, ("condition",)
        if isinstance(obj, weakref.WeakValueDictionary):
            return _weak_value_dict, (dict(obj),)
        if isinstance(obj, defaultdict) and getattr(obj.default_factory, "__name__", "") == "<lambda>":
            sample = obj.default_factory()  # type: ignore[misc]
            if type(sample) in (dict, list, set) and not sample:
                return _default_dict, (type(sample), dict(obj))
        return NotImplemented


class _SnapshotPickler(_StatePickler):
    """`_StatePickler` for snapshots: an S3 key with a body file of its own is pickled with the
    file's name, not its bytes (see localcloud/moto_patches.py, "S3 body files in snapshots");
    the names go to `body_files`. DynamoDB items load without re-checking their size
    (`moto_patches.snapshot_reduction`)."""

    def __init__(self, file: Any, body_files: set[str]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.body_files = body_files
        from localcloud import moto_patches

        self._reduction = moto_patches.snapshot_reduction

    def reducer_override(self, obj: Any) -> Any:
        reduced = self._reduction(obj, self.body_files)
        if reduced is not NotImplemented:
            return reduced
        return super().reducer_override(obj)


def _dumps(value: Any, body_files: set[str] | None = None) -> bytes:
    buffer = io.BytesIO()
    if body_files is None:
        _StatePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    else:
        _SnapshotPickler(buffer, body_files).dump(value)
    return buffer.getvalue()


def moto_version() -> str:
    from localcloud import moto_patches

    return moto_patches.moto_version()


_moto_version = moto_version


def dumps(value: Any) -> bytes:
    """Pickle moto objects (backends, items, records) with the two fixes `_StatePickler` makes."""
    return _dumps(value)


def dump_service(service: str, body_files: set[str] | None = None) -> bytes:
    """One service's backends (every account and region) as one pickle.

    `body_files`: pickle S3 keys whose body is a file of its own by the file's name (added to
    the set) instead of the bytes: a snapshot does, a log record does not.
    Pickling walks live dicts; a request changing the service at that moment (one not
    serialised by the durability lock, e.g. a CreateTable) makes it fail with RuntimeError,
    so it is retried a few times (never in a forked child: nothing else runs there)."""
    from localcloud import moto_patches

    backends = moto_patches.service_backends(service)
    for attempt in range(20):
        try:
            if body_files is not None:
                body_files.clear()  # from a failed attempt
            return _dumps({account: dict(regions) for account, regions in list(backends.items())}, body_files)
        except RuntimeError:  # "dictionary changed size during iteration"
            if attempt == 19:
                raise
    raise AssertionError("unreachable")


def restore_service(service: str, blob: bytes) -> None:
    """Put a `dump_service` pickle back as the service's backends."""
    install(service, pickle.loads(blob))


def install(service: str, state: dict[str, dict[str, Any]]) -> None:
    """Put unpickled backends (account -> region -> backend) in place as `service`'s live moto backends."""
    from localcloud import moto_patches

    backends = moto_patches.service_backends(service)
    for account, regions in state.items():
        for region, backend in regions.items():
            backends[account][region] = backend


def read_legacy(data_dir: Path) -> dict[str, Any]:
    """The per-service pickles a version before the write-ahead log saved on a clean stop, unpickled.

    Raises ValueError naming the first file that cannot be read or was written by another moto."""
    folder = data_dir / "moto-state"
    found = {}
    for service in SERVICES:
        path = folder / f"{service}.pickle"
        if not path.exists():
            continue
        found[service] = _read_saved(path)
    return found


def _read_saved(path: Path) -> dict[str, dict[str, Any]]:
    """The state in one `save` pickle; ValueError naming the file if it cannot be read or another moto wrote it."""
    try:
        saved = pickle.loads(path.read_bytes())
    except Exception as exc:
        raise ValueError(f"{path} cannot be read ({type(exc).__name__}: {exc})") from None
    if not isinstance(saved, dict) or saved.get("moto") != moto_version():
        version = saved.get("moto") if isinstance(saved, dict) else "an unknown version"
        raise ValueError(f"{path} was written with moto {version} and this is moto {moto_version()}")
    return saved["state"]


def save(data_dir: Path) -> list[str]:
    """Write every service's state; returns the services saved."""
    from localcloud import moto_patches

    folder = data_dir / "moto-state"
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for service in SERVICES:
        path = folder / f"{service}.pickle"
        try:
            backends = moto_patches.service_backends(service)
            state = {account: dict(regions) for account, regions in backends.items()}
            blob = _dumps({"moto": _moto_version(), "state": state})
        except Exception as exc:  # one unpicklable service must not lose the others
            log.warning("could not save %s state (%s: %s); it will start empty next time",
                        service, type(exc).__name__, exc)
            path.unlink(missing_ok=True)
            continue
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, path)
        saved.append(service)
    return saved


def load(data_dir: Path) -> list[str]:
    """Put saved services back into moto; returns the services restored."""
    folder = data_dir / "moto-state"
    restored = []
    for service in SERVICES:
        path = folder / f"{service}.pickle"
        if not path.exists():
            continue
        try:
            install(service, _read_saved(path))
        except Exception as exc:
            aside = path.with_suffix(".unreadable")
            os.replace(path, aside)
            log.warning("could not restore %s state (%s: %s); starting it empty, file kept as %s",
                        service, type(exc).__name__, exc, aside)
            continue
        restored.append(service)
    return restored

"""Keep moto's AWS state across restarts of `python -m localcloud`: saved on a clean stop, loaded on start.

moto keeps every table, stream, bucket and pipe in memory, so a restart would
lose them while the data dir still holds the runners' positions. We pickle
each service's backends into `<data_dir>/moto-state/<service>.pickle` (one
file per service, so one that cannot be pickled costs only itself) and put
them back before the server answers. A file written by another moto version,
or one that cannot be read, is moved aside and that service starts empty.
The files are as trusted as the rest of the data dir: only load a data dir
you created.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import weakref
from collections import defaultdict
from pathlib import Path
from typing import Any

log = logging.getLogger("localcloud.state")

# The services this project uses; others start empty after a restart.
SERVICES = ("dynamodb", "kinesis", "s3", "iam", "lambda", "firehose", "pipes", "glue", "athena", "logs",
            "cloudwatch", "events", "sts", "scheduler")


def _weak_value_dict(items: dict[Any, Any]) -> weakref.WeakValueDictionary[Any, Any]:
    return weakref.WeakValueDictionary(items)


def _default_dict(factory: Any, items: dict[Any, Any]) -> defaultdict[Any, Any]:
    return defaultdict(factory, items)


class _StatePickler(pickle.Pickler):
    """Pickles the two things in moto's backends plain pickle refuses.

    - weak indexes (e.g. Lambda's ARN -> function map): as the dicts they index; their values
      are also held strongly elsewhere in the same backend, so they stay alive after loading;
    - defaultdicts whose factory is a lambda making an empty dict/list/set: with that type as factory.
    """

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, weakref.WeakValueDictionary):
            return _weak_value_dict, (dict(obj),)
        if isinstance(obj, defaultdict) and getattr(obj.default_factory, "__name__", "") == "<lambda>":
            sample = obj.default_factory()  # type: ignore[misc]
            if type(sample) in (dict, list, set) and not sample:
                return _default_dict, (type(sample), dict(obj))
        return NotImplemented


def _dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    _StatePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def _moto_version() -> str:
    import moto

    return str(moto.__version__)


def save(data_dir: Path) -> list[str]:
    """Write every service's state; returns the services saved."""
    from moto.backends import get_backend

    folder = data_dir / "moto-state"
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for service in SERVICES:
        path = folder / f"{service}.pickle"
        try:
            backends = get_backend(service)  # type: ignore[call-overload]
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
    from moto.backends import get_backend

    folder = data_dir / "moto-state"
    restored = []
    for service in SERVICES:
        path = folder / f"{service}.pickle"
        if not path.exists():
            continue
        try:
            saved = pickle.loads(path.read_bytes())
            if saved.get("moto") != _moto_version():
                raise ValueError(f"written by moto {saved.get('moto')}, this is moto {_moto_version()}")
            backends = get_backend(service)  # type: ignore[call-overload]
            for account, regions in saved["state"].items():
                for region, backend in regions.items():
                    backends[account][region] = backend
        except Exception as exc:
            aside = path.with_suffix(".unreadable")
            os.replace(path, aside)
            log.warning("could not restore %s state (%s: %s); starting it empty, file kept as %s",
                        service, type(exc).__name__, exc, aside)
            continue
        restored.append(service)
    return restored

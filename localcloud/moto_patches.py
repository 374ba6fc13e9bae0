"""Every touch of moto's internals, in one place.

moto is our API layer and state store; where the local cloud needs something no
AWS API exposes (or must change how moto behaves), it goes through a function
here, never through `moto.*.models` imported elsewhere. Each entry names what it
touches, so a moto upgrade that moves it fails here, loudly, in
`tests/localcloud/test_moto_patches.py`, not somewhere in a runner.

Checked against moto 5.1.x and 5.2.x.
"""

from __future__ import annotations

from typing import Any


def put_log_events(account_id: str, region: str, group: str, stream: str, events: list[dict[str, Any]]) -> None:
    """Append events to a CloudWatch Logs stream, creating the group and stream as AWS services do.

    Touches: moto.logs.models.logs_backends, LogsBackend.groups / .streams,
    create_log_group, create_log_stream, put_log_events.
    """
    from moto.logs.models import logs_backends

    backend = logs_backends[account_id][region]
    if group not in backend.groups:
        backend.create_log_group(group, {})
    if stream not in backend.groups[group].streams:
        backend.create_log_stream(group, stream)
    backend.put_log_events(group, stream, events)


def athena_backend(account_id: str, region: str) -> Any:
    """moto's Athena backend of one account/region (`moto.athena.models.athena_backends`).

    Athena keeps its workgroups there, so moto's own Athena calls (named queries,
    tags) see the ones our handlers create, update and delete.
    """
    from moto.athena.models import athena_backends

    return athena_backends[account_id][region]

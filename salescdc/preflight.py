"""Checks a command-line entry point runs before its real work, each ending in one sentence.

A first command on a new machine should say what is wrong and what to do, then
exit non-zero, instead of retrying silently until someone kills it. These checks
are bounded: the endpoint gets a few seconds to answer (a local cloud that is
still starting is waited for), never forever.
"""

from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import urlsplit

from salescdc.errors import TerminalError

DEFAULT_WAIT_S = 10.0


class PreflightError(TerminalError):
    """The command cannot start; the message is the one sentence to print."""


def _host_port(endpoint_url: str) -> tuple[str, int]:
    parts = urlsplit(endpoint_url)
    if not parts.hostname:
        raise PreflightError(f"The endpoint {endpoint_url!r} is not a URL like http://127.0.0.1:4566.")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def wait_for_endpoint(endpoint_url: str, wait_s: float = DEFAULT_WAIT_S, interval_s: float = 0.25) -> None:
    """Return once something accepts connections at `endpoint_url`; raise after `wait_s` seconds."""
    host, port = _host_port(endpoint_url)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=min(2.0, max(wait_s, 0.1))):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise PreflightError(
                    f"Cannot reach {endpoint_url} after {wait_s:g} s: is the local cloud running? Start it "
                    "with `python -m localcloud` (or `streamlit run app/main.py`, which starts it), "
                    "or set AWS_ENDPOINT_URL to where it runs."
                ) from None
            time.sleep(interval_s)


def require_table(dynamodb: Any, table_name: str, where: str) -> None:
    """Raise one sentence when the orders table does not exist yet (the pipeline is not provisioned)."""
    try:
        dynamodb.describe_table(TableName=table_name)
    except dynamodb.exceptions.ResourceNotFoundException:
        raise PreflightError(
            f"The table {table_name} does not exist at {where}: provision the pipeline first with "
            "`python infra_bootstrap.py up` (or Provision in the dashboard)."
        ) from None

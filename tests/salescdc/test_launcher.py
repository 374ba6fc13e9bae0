"""The launcher starts a real local cloud subprocess when nothing answers, and reuses a running one."""

from __future__ import annotations

import socket

from salescdc.launcher import FAILED, NOT_LOCAL, STARTED, USING, ensure_local_cloud, health, is_answering
from salescdc.settings import Settings
from tests.support.processes import free_port, stop_process


def test_starts_in_background_then_reuses_it(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    settings = Settings(endpoint_url=url)
    assert not is_answering(settings)
    started = ensure_local_cloud(settings, data_dir=tmp_path)
    try:
        assert started.status == STARTED, started.message
        assert started.message.startswith(f"Started the local cloud at {url}")
        assert health(url)["status"] == "running"
        again = ensure_local_cloud(settings, data_dir=tmp_path)
        assert again.status == USING and again.message == f"Using the local cloud at {url}."
        assert is_answering(settings)
    finally:
        stop_process(started.pid)
    assert not is_answering(settings)


def test_port_taken_by_something_else_fails_with_a_sentence(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        url = f"http://127.0.0.1:{blocker.getsockname()[1]}"
        result = ensure_local_cloud(Settings(endpoint_url=url), data_dir=tmp_path, wait_s=30)
    assert result.status == FAILED
    assert "did not start" in result.message or "did not answer" in result.message


def test_remote_endpoint_is_never_started(tmp_path):
    result = ensure_local_cloud(Settings(endpoint_url="http://10.255.255.1:4566"), data_dir=tmp_path)
    assert result.status == FAILED and "start it there yourself" in result.message


def test_aws_target_needs_no_local_cloud(tmp_path):
    result = ensure_local_cloud(Settings(target="aws", endpoint_url=None), data_dir=tmp_path)
    assert result.status == NOT_LOCAL and result.ok

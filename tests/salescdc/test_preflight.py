"""First commands explain themselves: one sentence and a non-zero exit, after a bounded wait."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from salescdc.preflight import PreflightError, wait_for_endpoint

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as s:  # bound then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_endpoint_nobody_listens_on_is_one_sentence_after_the_wait() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(PreflightError) as caught:
        wait_for_endpoint(url, wait_s=0.3, interval_s=0.05)
    message = str(caught.value)
    assert message.startswith(f"Cannot reach {url} after 0.3 s") and "python -m localcloud" in message
    assert "\n" not in message


def test_a_listening_endpoint_passes_at_once() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        wait_for_endpoint(f"http://127.0.0.1:{server.getsockname()[1]}", wait_s=0.3)


def test_a_url_without_a_host_is_refused() -> None:
    with pytest.raises(PreflightError, match="not a URL"):
        wait_for_endpoint("127.0.0.1:4566", wait_s=0)


def test_the_generator_cli_exits_2_with_one_sentence_when_no_local_cloud_runs() -> None:
    port = _closed_port()
    env = {"PATH": "/usr/bin:/bin", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_CONFIG_FILE": "/nonexistent"}
    done = subprocess.run([sys.executable, "-m", "salescdc.generator", "--count", "1", "--endpoint-wait", "0.5"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"Cannot reach http://127.0.0.1:{port} after 0.5 s: is the local cloud running? Start it with "
        "`python -m localcloud` (or `streamlit run app/main.py`, which starts it), or set AWS_ENDPOINT_URL "
        "to where it runs."]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("package", ["salescdc", "localcloud"])
def test_an_old_python_gets_a_sentence_not_a_syntax_error(package: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source = (ROOT / package / "__init__.py").read_text()
    monkeypatch.setattr(sys, "version_info", (3, 10, 12, "final", 0))
    with pytest.raises(SystemExit) as caught:
        exec(compile(source, f"{package}/__init__.py", "exec"), {"__name__": f"{package}_probe"})
    assert str(caught.value) == "This project needs Python 3.11 or newer, and this is 3.10: run it with python3.11 (or newer)."

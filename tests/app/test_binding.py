"""The dashboard is served to this machine only, wherever `streamlit run` is started from."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest
from streamlit import config as streamlit_config

from tests.app.conftest import MAIN, no_exceptions, open_page
from tests.support.processes import background, free_port, wait_http

pytestmark = pytest.mark.e2e

LISTEN = "0A"  # TCP state in /proc/net/tcp*


def listening_addresses(port: int) -> set[str]:
    """Local addresses of every socket listening on `port`, from the kernel's own tables."""
    found: set[str] = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                address, port_hex = fields[1].split(":")
                if fields[3] == LISTEN and int(port_hex, 16) == port:
                    found.add(address if len(address) == width else f"?{address}")
    return found


def test_streamlit_run_from_another_folder_listens_on_loopback_only(tmp_path, app_env):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("STREAMLIT_SERVER_ADDRESS", None)
    home = tmp_path / "home"  # no ~/.streamlit of the machine's user can change the answer
    home.mkdir()
    env["HOME"] = str(home)
    elsewhere = tmp_path / "elsewhere"  # no .streamlit/ here: only the file next to app/main.py can bind it
    elsewhere.mkdir()
    argv = [sys.executable, "-m", "streamlit", "run", MAIN, "--server.port", str(port),
            "--server.headless", "true", "--server.fileWatcherType", "none"]
    log = tmp_path / "streamlit.out"
    with background(argv, env, log, elsewhere) as process:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", "streamlit", process=process, log=log)
        # 127.0.0.1 as the kernel writes it (little-endian hex); never 00000000 (all interfaces) or ::.
        assert listening_addresses(port) == {"0100007F"}


def open_page_served_on(address: str):  # noqa: ANN201 - streamlit's AppTest
    """The panel's page as it renders when Streamlit's server.address is `address`; the option is put back after."""
    before = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", address)
    try:
        return open_page()
    finally:
        streamlit_config.set_option("server.address", before)


def test_a_non_loopback_address_is_refused_with_one_sentence(app_env):
    at = open_page_served_on("0.0.0.0")
    no_exceptions(at)
    [error] = at.error
    assert error.value.startswith("This panel can create and delete cloud resources, so it only serves 127.0.0.1")
    assert "--server.address 0.0.0.0" in error.value
    assert not at.title  # no page rendered


def test_loopback_addresses_are_served(app_env):
    at = open_page_served_on("127.0.0.1")
    no_exceptions(at)
    assert not at.error, [e.value for e in at.error]
    assert [t.value for t in at.title] == ["Pipeline"]

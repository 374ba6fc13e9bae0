"""AppTest fixtures: the app pointed at the module's local cloud (tests/conftest.py) through the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from salescdc.clients import ClientFactory
from salescdc.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MAIN = str(ROOT / "app" / "main.py")


@pytest.fixture
def app_env(cloud: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The environment the app reads: the test's local cloud, zero buffering, a private generator dir."""
    env = {
        "AWS_ENDPOINT_URL": cloud.url,
        "SALESCDC_TARGET": "local",
        "SALESCDC_BUFFER_INTERVAL_S": "0",
        "SALESCDC_REFRESH_INTERVAL_S": "2",
        "SALESCDC_STATE_DIR": str(tmp_path / "generator"),
        "SALESCDC_LOCALCLOUD_DIR": str(tmp_path / "localcloud"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("SALESCDC_") and k not in env]:
        monkeypatch.delenv(key)
    return env


def settings_for(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


def open_page(page: str | None = None) -> AppTest:
    """The whole app (router included), switched to `page` (a path under app/, e.g. 'app_pages/orders.py')."""
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def texts(at: AppTest) -> str:
    """Everything a person reads on the page, as one string (for 'is this message shown' checks)."""
    parts: list[str] = []
    for kind in ("title", "markdown", "caption", "error", "warning", "info", "success", "metric", "code"):
        for element in getattr(at, kind):
            value = getattr(element, "value", "")
            label = getattr(element, "label", "")
            parts.append(f"{label} {value}")
    return "\n".join(parts)


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


_factories: dict[Settings, ClientFactory] = {}


def factory_for(env: dict[str, str]) -> ClientFactory:
    """One factory per settings: a boto3 session costs ~0.5 s to build, too slow to make per call."""
    settings = settings_for(env)
    if settings not in _factories:
        _factories[settings] = ClientFactory(settings)
    return _factories[settings]

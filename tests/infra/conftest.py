"""A real local cloud per test (moto server + our extensions over HTTP) and fast engine options."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.testing import running_localcloud
from salescdc.clients import ClientFactory
from salescdc.infra import ApplyOptions
from salescdc.settings import Settings


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[object]:
    with running_localcloud(tmp_path / "localcloud") as c:
        yield c


@pytest.fixture
def settings(cloud) -> Settings:
    return Settings(endpoint_url=cloud.url)


@pytest.fixture
def factory(settings: Settings) -> ClientFactory:
    return ClientFactory(settings)


@pytest.fixture
def options() -> ApplyOptions:
    return ApplyOptions(poll_interval_s=0.05, timeout_s=20, role_propagation_s=2)

"""Infra tests provision from an empty account: a local cloud per test, and fast engine options."""

from __future__ import annotations

import pytest

from salescdc.clients import ClientFactory
from salescdc.infra import ApplyOptions
from salescdc.settings import Settings


@pytest.fixture
def cloud(fresh_cloud):  # noqa: ANN001, ANN201 - overrides the module-scoped cloud of tests/conftest.py
    """A cloud of the test's own: provisioning asserts on everything in the account, so none may be left over."""
    return fresh_cloud


@pytest.fixture
def settings(cloud) -> Settings:  # noqa: ANN001
    return Settings(endpoint_url=cloud.url)


@pytest.fixture
def factory(settings: Settings) -> ClientFactory:
    return ClientFactory(settings)


@pytest.fixture
def options() -> ApplyOptions:
    return ApplyOptions(poll_interval_s=0.05, timeout_s=20, role_propagation_s=2)

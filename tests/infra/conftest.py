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


@pytest.fixture(autouse=True)
def _bucket_policies_see_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give moto's bucket-policy check the request context AWS would have.

    moto evaluates bucket-policy Conditions with no request context, which makes
    every conditional Deny match: the lake's documented TLS-only statement
    (Deny when aws:SecureTransport is false) then denies every object request.
    On AWS our clients always use TLS. Until the local cloud evaluates
    aws:SecureTransport itself (reported as a local-cloud gap), these tests
    evaluate that one statement as a TLS client would (not matching); every
    other statement stays as moto evaluates it.
    """
    import json

    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    tls_only = {"Bool": {"aws:SecureTransport": "false"}}

    def get_permission(self, action: str, resource: str):  # type: ignore[no-untyped-def]
        if self.policy is None:
            return PermissionResult.NEUTRAL
        doc = json.loads(self.policy)
        # A TLS client never matches the TLS-only Deny; moto cannot tell, so drop it here.
        doc["Statement"] = [s for s in doc["Statement"] if s.get("Condition") != tls_only]
        if not doc["Statement"]:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps(doc)).is_action_permitted(action, resource)

    monkeypatch.setattr(FakeBucket, "get_permission", get_permission)

"""Shared fixtures: isolated settings, one real local cloud per module, boto3 clients on it; the e2e lane.

A test that asks for `cloud` (module-scoped) or `fresh_cloud` (its own, for tests that stop,
restart or provision from scratch) runs against a real local cloud over HTTP, and is marked
`e2e` automatically, as is any test that starts a server in its body; `-m "not e2e"` is the fast
lane. Plain helpers (waiting, clients, the orders table) are in tests/support/.

Layout: tests/<package>/ mirrors the code (app, lambdas, localcloud, salescdc, salescdc/infra), and
test_<module or service>[_<topic>].py names what it tests (tests/localcloud/test_glue_crawler.py tests
localcloud/glue's crawler); tests of the whole pipeline across packages sit at the top, tests/test_*.py.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.aws import Clients

if TYPE_CHECKING:
    from localcloud.server import LocalCloud
    from salescdc.clients import ClientFactory
    from salescdc.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# The Lambda source is shipped alone (zipped at its folder root); tests import it the same way.
sys.path.insert(0, str(ROOT / "lambdas" / "firehose_transform"))


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real AWS account or read the developer's credentials."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


# -- the local cloud -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """One local cloud for the module, on a free 127.0.0.1 port; moto is reset before and after.

    Tests in a module share it, so each creates resources under names of its own (see
    tests.support.aws.unique_name) or removes them in a fixture finaliser.
    """
    from localcloud.testing import running_localcloud  # imported here: the fast lane never pays for moto

    with running_localcloud(tmp_path_factory.mktemp("cloud")) as running:
        yield running


@pytest.fixture
def fresh_cloud(tmp_path: Path) -> Iterator[LocalCloud]:
    """A local cloud of the test's own: for tests that stop or restart it, or need an empty account.

    Not in a module that also uses `cloud`: moto's state is per process, and starting this one
    resets it under the module's cloud.
    """
    from localcloud.testing import running_localcloud

    with running_localcloud(tmp_path / "cloud") as running:
        yield running


@pytest.fixture(scope="module")
def aws(cloud: LocalCloud) -> Clients:
    """boto3 clients on the module's cloud, made once: `aws["s3"]` (ap-south-1) or `aws("s3", region)`."""
    return Clients(cloud)


@pytest.fixture
def provisioned_pipeline(cloud: LocalCloud) -> tuple[Settings, ClientFactory]:
    """The app's stack provisioned on the module's cloud as the panel does, Firehose delivering at once."""
    from tests.support.pipeline import provisioned

    return provisioned(cloud.url)


@pytest.fixture
def pipeline_merged_by_test(cloud: LocalCloud) -> tuple[Settings, ClientFactory]:
    """`provisioned_pipeline` without `up`'s MERGE/OPTIMIZE schedules: the test decides when the Iceberg tables change."""
    from tests.support.pipeline import provisioned
    from tests.support.schedules import remove_schedules

    settings, factory = provisioned(cloud.url)
    remove_schedules(cloud, factory)
    return settings, factory


# -- the e2e lane --------------------------------------------------------------------------------
# Fixtures that start a server (a local cloud in-process or as a child, the app).
SERVER_FIXTURES = {"cloud", "fresh_cloud", "server", "app_url"}
# Calls in a test's own body that start one.
STARTS_A_SERVER = re.compile(r"running_localcloud\(|LocalCloud\(|ensure_local_cloud\(|Server\(|\"-m\", \"localcloud\"")


def _starts_a_server(function: Callable[..., Any], seen: dict[Callable[..., Any], bool]) -> bool:
    if function not in seen:
        try:
            seen[function] = bool(STARTS_A_SERVER.search(inspect.getsource(function)))
        except (OSError, TypeError):
            seen[function] = False
    return seen[function]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `e2e` every test that runs against a server, so nobody has to remember to."""
    seen: dict[Callable[..., Any], bool] = {}
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        function = getattr(item, "function", None)
        if names & SERVER_FIXTURES or item.get_closest_marker("browser") or (
                function is not None and _starts_a_server(function, seen)):
            item.add_marker(pytest.mark.e2e)

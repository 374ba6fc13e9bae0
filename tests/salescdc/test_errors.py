"""AWS failures become one actionable sentence, and retry decisions follow AWS's error codes."""

from __future__ import annotations

import botocore.exceptions
import pytest

from salescdc.clients import ClientFactory
from salescdc.errors import ConfigError, explain, is_transient
from salescdc.settings import Settings


def _client_error(code: str, status: int = 400, message: str = "m") -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutItem",
    )


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (_client_error("ProvisionedThroughputExceededException"), True),
        (_client_error("ThrottlingException"), True),
        (_client_error("InternalServerError", 500), True),
        (_client_error("ResourceNotFoundException"), False),
        (_client_error("ConditionalCheckFailedException"), False),
        (botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (ValueError("x"), False),
    ],
)
def test_transient_vs_terminal(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_explanations_are_single_sentences_without_secrets() -> None:
    cases = [
        botocore.exceptions.NoCredentialsError(),
        botocore.exceptions.ProfileNotFound(profile="nope"),
        botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:4566"),
        _client_error("AccessDeniedException", message="not allowed"),
        _client_error("ExpiredTokenException"),
    ]
    for exc in cases:
        text = explain(exc)
        assert text and "\n" not in text and "Traceback" not in text
    assert "nope" in explain(botocore.exceptions.ProfileNotFound(profile="nope"))
    assert "Access denied for PutItem" in explain(_client_error("AccessDeniedException"))


def test_unknown_profile_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env({"SALESCDC_TARGET": "aws", "AWS_PROFILE": "no-such-profile"})
    with pytest.raises(ConfigError, match="no-such-profile"):
        ClientFactory(settings).client("sts")


def test_local_target_uses_dummy_credentials_and_the_endpoint() -> None:
    factory = ClientFactory(Settings.from_env({"AWS_ENDPOINT_URL": "http://127.0.0.1:4999"}))
    client = factory.client("dynamodb")
    assert client.meta.endpoint_url == "http://127.0.0.1:4999"
    assert client.meta.region_name == "ap-south-1"
    assert factory.client("dynamodb") is client  # cached

"""The salescdc exception tree and the one place AWS errors become readable sentences.

Following dlt: one root exception, and a transient/terminal split that decides
whether a caller should retry.
"""

from __future__ import annotations

import botocore.exceptions


class SalesCdcError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(SalesCdcError):
    """The settings are unusable (bad value, unknown target); retrying will not help."""


class TerminalError(SalesCdcError):
    """An operation failed in a way that retrying will not fix (missing table, access denied)."""


class TransientError(SalesCdcError):
    """An operation failed in a way that may succeed later (throttling, endpoint down)."""


# Error codes AWS documents as retryable for the services we call.
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "LimitExceededException",
        "SlowDown",
        "RequestTimeout",
        "TransactionInProgressException",
    }
)


def is_transient(exc: BaseException) -> bool:
    """True when `exc` is worth retrying with backoff."""
    if isinstance(exc, TransientError):
        return True
    if isinstance(
        exc,
        (
            botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.ReadTimeoutError,
            botocore.exceptions.ConnectTimeoutError,
        ),
    ):
        return True
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in TRANSIENT_CODES or status >= 500
    return False


def explain(exc: BaseException) -> str:
    """One sentence a person can act on; never includes a credential."""
    if isinstance(exc, SalesCdcError):
        return str(exc)
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return (
            "No AWS credentials were found: set AWS_PROFILE (or run `aws configure`), "
            "or use SALESCDC_TARGET=local for the local cloud."
        )
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return f"The AWS profile {exc.kwargs.get('profile')!r} does not exist in your AWS config."
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return "No AWS region is set: set AWS_REGION (for example ap-south-1)."
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return (
            f"Cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}: "
            "is the local cloud running (`python -m localcloud`) or the region right?"
        )
    if isinstance(exc, (botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError)):
        return "The AWS endpoint did not answer in time; it may be down or overloaded."
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code", "Error")
        message = err.get("Message", "") or ""
        op = getattr(exc, "operation_name", "the request")
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return f"Access denied for {op}: the credentials in use lack permission ({message})."
        if code in ("UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId"):
            return "The AWS credentials are not valid for this account or region."
        if code in ("ExpiredToken", "ExpiredTokenException"):
            return "The AWS session token has expired: refresh your credentials (for example `aws sso login`)."
        return f"{op} failed: {code}: {message}".rstrip(": ")
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"

"""Athena's errors: API errors (InvalidRequestException) and query failures (StateChangeReason)."""

from __future__ import annotations

from localcloud.routing import AwsServiceError


class AthenaError(Exception):
    """Root of every error this package raises."""


class InvalidRequestException(AthenaError, AwsServiceError):
    """The API call itself is wrong (unknown execution id, bad workgroup, …): an HTTP 400."""

    def __init__(self, message: str):
        AwsServiceError.__init__(self, "InvalidRequestException", message, 400)


# AthenaError.ErrorCategory values of the real service.
SYSTEM, USER, OTHER = 1, 2, 3


class QueryFailed(AthenaError):
    """A query ended FAILED; `reason` is the StateChangeReason in Athena's words.

    `error_type` is Trino's error name (TABLE_NOT_FOUND, SYNTAX_ERROR, …), which
    Athena puts in front of the message.
    """

    def __init__(self, error_type: str, message: str, line: int | None = None, col: int | None = None,
                 category: int = USER):
        self.error_type = error_type
        self.category = category
        where = f"line {line}:{col}: " if line is not None else ""
        self.reason = f"{error_type}: {where}{message}" if error_type else message
        super().__init__(self.reason)


class QueryCancelled(AthenaError):
    """StopQueryExecution arrived while the query ran."""

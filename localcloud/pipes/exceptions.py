"""EventBridge Pipes errors: the API's error codes, and the runner's own failures.

`PipesError` is the root. API errors are `ServiceError`s so the router
serialises them in AWS's shape; runner errors say whether a retry can help.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from localcloud.routing import ServiceError


class PipesError(Exception):
    """Root of every error raised by localcloud.pipes."""


class PipesApiError(PipesError, ServiceError):
    """An error the Pipes API returns to the caller: one class per AWS code, raised with a message."""


class ValidationException(PipesApiError):
    code = "ValidationException"


class NotFoundException(PipesApiError):
    code = "NotFoundException"
    status = 404


class ConflictException(PipesApiError):
    code = "ConflictException"
    status = 409


class PipeRunError(PipesError):
    """A pipe could not move a batch. `transient` decides whether the runner retries it as is."""

    transient = True


class RecordTransformError(PipeRunError):
    """A record cannot be turned into a target request (e.g. its PartitionKey path matches nothing).

    Retrying the same record with the same pipe configuration gives the same
    result, so only an UpdatePipe (or MaximumRetryAttempts) gets past it.
    """

    transient = False


class SourceUnavailable(PipeRunError):
    """The stream cannot be read (table or stream gone, endpoint down)."""


class TargetRejected(PipeRunError):
    """The target refused the request itself (e.g. Kinesis: a partition key over 256 characters).

    A customer invocation error in AWS's terms: it counts against MaximumRetryAttempts, and
    AUTOMATIC_BISECT halves the batch to find the record that causes it. `accepted` holds the
    source sequence numbers of records earlier calls of the same delivery did write, so a retry
    never sends them twice.
    """

    transient = False

    def __init__(self, message: str, accepted: frozenset[str] = frozenset()):
        super().__init__(message)
        self.accepted = accepted


class DeadLetterUnavailable(PipesError):
    """The dead-letter queue did not take a message; the runner keeps the records and retries."""


def aws_error(exc: Exception) -> tuple[str, str] | None:
    """The AWS error code and message of a boto3 ClientError; None for any other failure (unreachable, timeout)."""
    if not isinstance(exc, ClientError):
        return None
    error = exc.response.get("Error", {})
    return error.get("Code", ""), error.get("Message", "")

"""Errors of the Lambda data plane: the AWS error codes Invoke answers with, and worker failures."""

from __future__ import annotations

from localcloud.routing import ServiceError


class LambdaExecError(Exception):
    """Root of this package's errors."""


class WorkerTimedOut(LambdaExecError):
    """The function ran past its Timeout (or init past its 10 s); its worker was killed."""

    def __init__(self, limit_s: float | None = None):
        super().__init__(f"timed out after {limit_s} s" if limit_s else "timed out")
        self.limit_s = limit_s


class WorkerCrashed(LambdaExecError):
    """The worker process exited mid-invocation (os._exit, a segfault, out of memory…)."""


# -- what Invoke answers: one class per AWS code, raised with a message ----------------
class LambdaApiError(LambdaExecError, ServiceError):
    """An error the Invoke API returns to the caller."""


class ResourceNotFoundException(LambdaApiError):
    code = "ResourceNotFoundException"
    status = 404


class InvalidRequestContentException(LambdaApiError):
    code = "InvalidRequestContentException"


class RequestTooLargeException(LambdaApiError):
    code = "RequestTooLargeException"
    status = 413


class InvalidParameterValueException(LambdaApiError):
    code = "InvalidParameterValueException"

"""Errors of the Lambda data plane: the AWS error codes Invoke answers with, and worker failures."""

from __future__ import annotations

from localcloud.routing import AwsServiceError


class LambdaExecError(Exception):
    """Root of this package's errors."""


class WorkerTimedOut(LambdaExecError):
    """The function ran past its Timeout (or init past its 10 s); its worker was killed."""

    def __init__(self, limit_s: float | None = None):
        super().__init__(f"timed out after {limit_s} s" if limit_s else "timed out")
        self.limit_s = limit_s


class WorkerCrashed(LambdaExecError):
    """The worker process exited mid-invocation (os._exit, a segfault, out of memory…)."""


def function_not_found(arn: str) -> AwsServiceError:
    return AwsServiceError("ResourceNotFoundException", f"Function not found: {arn}", 404)


def invalid_request_content(detail: str) -> AwsServiceError:
    return AwsServiceError("InvalidRequestContentException", f"Could not parse request body into json: {detail}", 400)


def request_too_large(size: int, limit: int) -> AwsServiceError:
    return AwsServiceError(
        "RequestTooLargeException",
        f"{size} byte payload is too large for the RequestResponse invocation type (limit {limit} bytes)",
        413,
    )


def invalid_parameter(message: str) -> AwsServiceError:
    return AwsServiceError("InvalidParameterValueException", message, 400)

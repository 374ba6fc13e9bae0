"""Errors of the Lambda data plane: the AWS error codes Invoke answers with, and worker failures."""

from __future__ import annotations

import signal

from localcloud.routing import ServiceError


class LambdaExecError(Exception):
    """Root of this package's errors."""


class WorkerTimedOut(LambdaExecError):
    """The function ran past its Timeout (or init past its 10 s); its worker was killed."""

    def __init__(self, limit_s: float | None = None):
        super().__init__(f"timed out after {limit_s} s" if limit_s else "timed out")
        self.limit_s = limit_s


class WorkerCrashed(LambdaExecError):
    """The worker process exited mid-invocation (os._exit, a segfault, out of memory…).

    `exit_code` is the process's return code (negative: the signal that ended it), None if unknown.
    """

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        self.exit_code = exit_code

    @property
    def reason(self) -> str:
        """What AWS's runtime reports in Runtime.ExitError (Go's wording of the process state)."""
        code = self.exit_code
        if code is None or code == 0:
            return "Runtime exited without providing a reason"
        if code > 0:
            return f"Runtime exited with error: exit status {code}"
        try:
            name = signal.strsignal(-code) or f"signal {-code}"
        except ValueError:
            name = f"signal {-code}"
        return f"Runtime exited with error: signal: {name.lower()}"


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

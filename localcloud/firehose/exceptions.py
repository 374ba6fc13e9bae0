"""Errors of the Firehose data plane; `transient` says whether retrying can help."""

from __future__ import annotations


class FirehoseRunnerError(Exception):
    """Root of this package's errors."""

    transient = True


class PrefixError(FirehoseRunnerError):
    """A Prefix/ErrorOutputPrefix expression AWS would have rejected; retrying cannot fix it."""

    transient = False


class InvocationFailed(FirehoseRunnerError):
    """The processor Lambda call failed as a whole; Firehose retries, then errors every record."""

    def __init__(self, error_code: str, message: str):
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


class DeliveryFailed(FirehoseRunnerError):
    """Writing to S3 failed; nothing is acknowledged and the write is retried."""

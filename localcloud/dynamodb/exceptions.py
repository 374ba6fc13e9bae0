"""DynamoDB Streams API errors, in the codes AWS returns (one class per code, raised with a message)."""

from __future__ import annotations

from localcloud.routing import ServiceError


class DynamoDBStreamsError(ServiceError):
    """Root of the errors localcloud.dynamodb returns."""


class ResourceNotFoundException(DynamoDBStreamsError):
    code = "ResourceNotFoundException"


class ValidationException(DynamoDBStreamsError):
    code = "ValidationException"


class ExpiredIteratorException(DynamoDBStreamsError):
    code = "ExpiredIteratorException"


class TrimmedDataAccessException(DynamoDBStreamsError):
    code = "TrimmedDataAccessException"

"""DynamoDB Streams API errors, in the codes AWS returns."""

from __future__ import annotations

from localcloud.routing import AwsServiceError


class DynamoDBStreamsError(AwsServiceError):
    """Root of the errors localcloud.dynamodb returns."""


class ResourceNotFoundException(DynamoDBStreamsError):
    def __init__(self, message: str):
        super().__init__("ResourceNotFoundException", message, 400)


class ValidationException(DynamoDBStreamsError):
    def __init__(self, message: str):
        super().__init__("ValidationException", message, 400)


class ExpiredIteratorException(DynamoDBStreamsError):
    def __init__(self, message: str = "The shard iterator has expired; get a new one with GetShardIterator."):
        super().__init__("ExpiredIteratorException", message, 400)


class TrimmedDataAccessException(DynamoDBStreamsError):
    def __init__(self, message: str):
        super().__init__("TrimmedDataAccessException", message, 400)

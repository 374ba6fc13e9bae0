"""Glue's error codes, raised by the classifier API and the crawler.

Every error is an `AwsServiceError`, so the router answers with AWS's JSON
error shape (`__type` + message) and boto3 raises the matching
`client.exceptions.<Code>`.
"""

from __future__ import annotations

from localcloud.routing import AwsServiceError


class GlueError(AwsServiceError):
    """Root of this package's errors; `code` is the AWS error code."""

    code = "InternalServiceException"
    status = 400

    def __init__(self, message: str):
        super().__init__(self.code, message, self.status)


class AlreadyExistsException(GlueError):
    code = "AlreadyExistsException"


class EntityNotFoundException(GlueError):
    code = "EntityNotFoundException"


class InvalidInputException(GlueError):
    code = "InvalidInputException"


class CrawlerRunningException(GlueError):
    code = "CrawlerRunningException"


class CrawlerNotRunningException(GlueError):
    code = "CrawlerNotRunningException"


class CrawlerStoppingException(GlueError):
    code = "CrawlerStoppingException"

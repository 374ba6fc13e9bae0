"""Glue's error codes, raised by the classifier API and the crawler.

Every error is a `ServiceError` (one class per AWS code, raised with a message),
so the router answers with AWS's JSON error shape (`__type` + message) and
boto3 raises the matching `client.exceptions.<Code>`.
"""

from __future__ import annotations

from localcloud.routing import ServiceError


class GlueError(ServiceError):
    """Root of this package's errors; `code` is the AWS error code."""

    code = "InternalServiceException"


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

"""Athena's errors, declared once: API errors (HTTP 400) and query failures (FAILED + StateChangeReason).

A query failure is named by Trino's error code (SYNTAX_ERROR, TABLE_NOT_FOUND,
…), which Athena puts in front of the message; `QUERY_ERRORS` says, for each
code, the `AthenaError.ErrorCategory` and `ErrorType` Athena reports with it.
Categories and types are the ones of Athena's error catalog:
https://docs.aws.amazon.com/athena/latest/ug/error-reference.html
(1 SYSTEM, 2 USER, 3 OTHER; 1000 user error, 1001 data error, 1003 DDL task
failed, 1006 syntax error, 1106 invalid function argument, 1110 table or view
does not exist, 1200 query not supported, 1303 function not found, 1500
permission error, 401 failed to write query results, …).
"""

from __future__ import annotations

from dataclasses import dataclass

from localcloud.routing import AwsServiceError


class AthenaError(Exception):
    """Root of every error this package raises."""


class InvalidRequestException(AthenaError, AwsServiceError):
    """The API call itself is wrong (unknown execution id, bad workgroup, …): an HTTP 400."""

    code = "InvalidRequestException"

    def __init__(self, message: str):
        AwsServiceError.__init__(self, self.code, message, 400)


class MetadataException(AthenaError, AwsServiceError):
    """A catalog API names a database or table that does not exist (GetDatabase, GetTableMetadata)."""

    code = "MetadataException"

    def __init__(self, message: str):
        AwsServiceError.__init__(self, self.code, message, 400)


# AthenaError.ErrorCategory values.
SYSTEM, USER, OTHER = 1, 2, 3


@dataclass(frozen=True)
class ErrorKind:
    """How Athena classifies one Trino error code."""

    category: int
    error_type: int


# Trino error code -> Athena's classification. Codes not listed are USER / 1000 ("User error").
QUERY_ERRORS: dict[str, ErrorKind] = {
    "SYNTAX_ERROR": ErrorKind(USER, 1006),
    "TABLE_NOT_FOUND": ErrorKind(USER, 1110),
    "SCHEMA_NOT_FOUND": ErrorKind(USER, 1301),
    "CATALOG_NOT_FOUND": ErrorKind(USER, 1301),
    "COLUMN_NOT_FOUND": ErrorKind(USER, 1000),
    "FUNCTION_NOT_FOUND": ErrorKind(USER, 1303),
    "NOT_SUPPORTED": ErrorKind(USER, 1200),
    "INVALID_CAST_ARGUMENT": ErrorKind(USER, 1106),
    "INVALID_FUNCTION_ARGUMENT": ErrorKind(USER, 1106),
    "DIVISION_BY_ZERO": ErrorKind(USER, 1000),
    "NUMERIC_VALUE_OUT_OF_RANGE": ErrorKind(USER, 1000),
    "TYPE_MISMATCH": ErrorKind(USER, 1000),
    "HIVE_BAD_DATA": ErrorKind(USER, 1001),
    "HIVE_CURSOR_ERROR": ErrorKind(USER, 1001),
    "HIVE_CANNOT_OPEN_SPLIT": ErrorKind(USER, 1002),
    "ACCESS_DENIED": ErrorKind(USER, 1500),
    "PERMISSION_DENIED": ErrorKind(USER, 1500),
    "ALREADY_EXISTS": ErrorKind(USER, 1003),
    "TABLE_ALREADY_EXISTS": ErrorKind(USER, 1003),
    "SCHEMA_NOT_EMPTY": ErrorKind(USER, 1003),
    "PARTITION_NOT_FOUND": ErrorKind(USER, 1003),
    "INVALID_PARTITION_VALUE": ErrorKind(USER, 1003),
    "INVALID_TABLE_PROPERTY": ErrorKind(USER, 1103),
    "INVALID_VIEW": ErrorKind(USER, 1107),
    "VIEW_IS_RECURSIVE": ErrorKind(USER, 1107),
    "EXCEEDED_TIME_LIMIT": ErrorKind(SYSTEM, 206),  # "Query timed out"
    "EXCEEDED_LOCAL_MEMORY_LIMIT": ErrorKind(SYSTEM, 0),  # "Query exhausted resources at this scale factor"
    "BYTES_SCANNED_LIMIT": ErrorKind(USER, 1008),
    "RESULT_WRITE_FAILED": ErrorKind(SYSTEM, 401),
    "GENERIC_INTERNAL_ERROR": ErrorKind(SYSTEM, 200),
    "INVALID_PARAMETER_USAGE": ErrorKind(USER, 1100),
    "NOT_FOUND": ErrorKind(USER, 1300),
    "HIVE_PATH_ALREADY_EXISTS": ErrorKind(USER, 1003),
    "HIVE_COLUMN_ORDER_MISMATCH": ErrorKind(USER, 1004),
    "HIVE_TOO_MANY_OPEN_PARTITIONS": ErrorKind(USER, 1000),
}
_DEFAULT_KIND = ErrorKind(USER, 1000)
# Codes Athena does not print in front of the message (its own service errors, not Trino's).
_SILENT_CODES = {"BYTES_SCANNED_LIMIT", "RESULT_WRITE_FAILED"}


def error_kind(code: str) -> ErrorKind:
    return QUERY_ERRORS.get(code, _DEFAULT_KIND)


class QueryFailed(AthenaError):
    """A query ended FAILED; `reason` is the StateChangeReason in Athena's words.

    `error_type` is Trino's error name (TABLE_NOT_FOUND, SYNTAX_ERROR, …), which
    Athena puts in front of the message (`line:col` after it when known).
    """

    def __init__(self, error_type: str, message: str, line: int | None = None, col: int | None = None):
        self.error_type = error_type
        kind = error_kind(error_type)
        self.category = kind.category
        self.athena_error_type = kind.error_type
        where = f"line {line}:{col}: " if line is not None else ""
        shown = error_type and error_type not in _SILENT_CODES
        self.reason = f"{error_type}: {where}{message}" if shown else message
        super().__init__(self.reason)


class QueryCancelled(AthenaError):
    """StopQueryExecution arrived while the query ran."""

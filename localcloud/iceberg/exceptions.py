"""Errors with Athena's (Trino's) error names and wording, for the local Athena to report as they are.

`error_name` is the Trino error code Athena shows before the colon in a failed
query's StateChangeReason (for example `MERGE_TARGET_ROW_MULTIPLE_MATCHES`);
`message` is the text after it.
"""

from __future__ import annotations


class IcebergError(Exception):
    """A statement on an Iceberg table failed the way Athena fails it."""

    def __init__(self, error_name: str, message: str):
        super().__init__(f"{error_name}: {message}")
        self.error_name = error_name
        self.message = message


def table_not_found(database: str, name: str) -> IcebergError:
    return IcebergError("TABLE_NOT_FOUND", f"Table 'awsdatacatalog.{database}.{name}' does not exist")


def not_supported(message: str) -> IcebergError:
    return IcebergError("NOT_SUPPORTED", message)

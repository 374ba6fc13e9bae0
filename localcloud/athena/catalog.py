"""The Glue Data Catalog as Athena sees it, read and written through the local cloud's own Glue API.

Going through the API (not moto's in-memory backend) keeps Athena honest: it
sees exactly what any Glue client sees, including tables the crawler wrote.
The client is handed in (the service plane's), never built here.
Views are stored the way Athena stores them (TableType VIRTUAL_VIEW, a
base64 "Presto View" in ViewOriginalText), so a view made here reads the same
on AWS tooling and vice versa.
"""

from __future__ import annotations

import base64
import json
from typing import Any

PRESTO_VIEW_PREFIX = "/* Presto View: "
PRESTO_VIEW_SUFFIX = " */"


class GlueCatalog:
    """Databases, tables, views and partitions of one region's catalog.

    `glue` is a Glue client of that region (the service plane's, `plane.client("glue", region)`).
    """

    def __init__(self, glue: Any):
        self.glue = glue

    def get_database(self, name: str) -> dict[str, Any] | None:
        try:
            return self.glue.get_database(Name=name)["Database"]
        except self.glue.exceptions.EntityNotFoundException:
            return None

    def list_databases(self) -> list[str]:
        names: list[str] = []
        for page in self.glue.get_paginator("get_databases").paginate():
            names.extend(db["Name"] for db in page["DatabaseList"])
        return names

    def list_database_details(self) -> list[dict[str, Any]]:
        databases: list[dict[str, Any]] = []
        for page in self.glue.get_paginator("get_databases").paginate():
            databases.extend(page["DatabaseList"])
        return databases

    def get_table(self, database: str, name: str) -> dict[str, Any] | None:
        try:
            return self.glue.get_table(DatabaseName=database, Name=name)["Table"]
        except self.glue.exceptions.EntityNotFoundException:
            return None

    def list_tables(self, database: str) -> list[dict[str, Any]]:
        tables: list[dict[str, Any]] = []
        for page in self.glue.get_paginator("get_tables").paginate(DatabaseName=database):
            tables.extend(page["TableList"])
        return tables

    def get_partitions(self, database: str, table: str) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        for page in self.glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table):
            parts.extend(page["Partitions"])
        return parts

    def put_table(self, database: str, table_input: dict[str, Any], replace: bool) -> None:
        try:
            self.glue.create_table(DatabaseName=database, TableInput=table_input)
        except self.glue.exceptions.AlreadyExistsException:
            if not replace:
                raise
            self.glue.update_table(DatabaseName=database, TableInput=table_input)

    def delete_table(self, database: str, name: str) -> None:
        self.glue.delete_table(DatabaseName=database, Name=name)

    def add_partitions(self, database: str, table: str, partitions: list[dict[str, Any]]) -> None:
        for start in range(0, len(partitions), 100):
            self.glue.batch_create_partition(
                DatabaseName=database, TableName=table, PartitionInputList=partitions[start:start + 100]
            )

    def delete_partitions(self, database: str, table: str, partitions: list[dict[str, Any]]) -> None:
        for start in range(0, len(partitions), 25):
            self.glue.batch_delete_partition(
                DatabaseName=database, TableName=table, PartitionsToDelete=partitions[start:start + 25]
            )

    def create_database(self, name: str) -> None:
        self.glue.create_database(DatabaseInput={"Name": name})

    def delete_database(self, name: str) -> None:
        self.glue.delete_database(Name=name)


def is_view(table: dict[str, Any]) -> bool:
    return table.get("TableType") == "VIRTUAL_VIEW"


def encode_presto_view(definition: dict[str, Any]) -> str:
    """Athena's ViewOriginalText: `/* Presto View: <base64 JSON> */`."""
    payload = base64.b64encode(json.dumps(definition, separators=(",", ":")).encode()).decode()
    return f"{PRESTO_VIEW_PREFIX}{payload}{PRESTO_VIEW_SUFFIX}"


def decode_presto_view(text: str) -> dict[str, Any]:
    """ViewOriginalText -> {originalSql, catalog, schema, columns, …}; ValueError if it is not one."""
    text = (text or "").strip()
    if not (text.startswith(PRESTO_VIEW_PREFIX) and text.endswith(PRESTO_VIEW_SUFFIX)):
        raise ValueError("not a Presto view")
    payload = text[len(PRESTO_VIEW_PREFIX):-len(PRESTO_VIEW_SUFFIX)].strip()
    return json.loads(base64.b64decode(payload))


def view_table_input(name: str, database: str, sql: str, columns: list[tuple[str, str, str]],
                     owner: str | None = None) -> dict[str, Any]:
    """The Glue TableInput Athena writes for CREATE VIEW; columns are (name, athena type, hive type)."""
    definition = {
        "originalSql": sql,
        "catalog": "awsdatacatalog",
        "schema": database,
        "columns": [{"name": c, "type": t} for c, t, _ in columns],
        "owner": owner or "arn:aws:iam::123456789012:root",
        "runAsInvoker": False,
        "properties": {},
    }
    return {
        "Name": name,
        "TableType": "VIRTUAL_VIEW",
        "Parameters": {"presto_view": "true", "comment": "Presto View"},
        "ViewOriginalText": encode_presto_view(definition),
        "ViewExpandedText": "/* Presto View */",
        "StorageDescriptor": {
            "Columns": [{"Name": c, "Type": h} for c, _, h in columns],
            "Location": "",
            "SerdeInfo": {},
            "Compressed": False,
            "NumberOfBuckets": 0,
            "StoredAsSubDirectories": False,
        },
        "PartitionKeys": [],
    }

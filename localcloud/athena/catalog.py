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
import contextlib
import copy
import json
from collections.abc import Iterator
from typing import Any

from localcloud.generations import KeptReads

PRESTO_VIEW_PREFIX = "/* Presto View: "
PRESTO_VIEW_SUFFIX = " */"


class GlueCatalog:
    """Databases, tables, views and partitions of one region's catalog.

    `glue` is a Glue client of that region (the service plane's, `plane.client("glue", region)`).
    `kept`, when given (generations: Glue's, `plane.writes.glue`), keeps the answers of
    get_database, get_table and get_tables_named until Glue is next written: a dashboard's
    queries read the same few tables many times a minute, and each GetTables over HTTP
    costs about 10 ms of the local cloud's CPU. Each caller gets its own copy.
    """

    def __init__(self, glue: Any, kept: KeptReads | None = None):
        self.glue = glue
        self.kept = kept

    def _read(self, key: tuple[Any, ...], fetch: Any) -> Any:
        return copy.deepcopy(self.kept.read(key, fetch)) if self.kept is not None else fetch()

    def get_database(self, name: str) -> dict[str, Any] | None:
        return self._read(("database", name), lambda: self._get_database(name))

    def _get_database(self, name: str) -> dict[str, Any] | None:
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
        return self._read(("table", database, name), lambda: self._get_table(database, name))

    def _get_table(self, database: str, name: str) -> dict[str, Any] | None:
        try:
            return self.glue.get_table(DatabaseName=database, Name=name)["Table"]
        except self.glue.exceptions.EntityNotFoundException:
            return None

    def get_tables_named(self, database: str, names: set[str]) -> dict[str, dict[str, Any]]:
        """Several tables of one database in one GetTables call (its Expression, a regex of the names);
        a name not there is left out."""
        return self._read(("tables", database, frozenset(names)), lambda: self._get_tables_named(database, names))

    def _get_tables_named(self, database: str, names: set[str]) -> dict[str, dict[str, Any]]:
        import re

        pattern = "^(" + "|".join(re.escape(name) for name in sorted(names)) + ")$"
        found: dict[str, dict[str, Any]] = {}
        try:
            pages = self.glue.get_paginator("get_tables").paginate(DatabaseName=database, Expression=pattern)
            for page in pages:
                found.update({t["Name"]: t for t in page["TableList"] if t["Name"] in names})
        except self.glue.exceptions.EntityNotFoundException:
            return {}
        return found

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


class PlanCatalog:
    """The catalog as one statement's plan reads it: each table fetched from Glue once.

    A query naming several tables of one database (the Sales page's merge on read names three)
    fetches them with one GetTables call (`prefetch`); every later lookup in the same plan, a
    view's inner tables included, reuses what was read. Any other call goes to the catalog
    itself, and one that may write drops what was read.
    """

    def __init__(self, catalog: GlueCatalog):
        self._catalog = catalog
        self._tables: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._planning = False

    @contextlib.contextmanager
    def planning(self) -> Iterator[None]:
        """Reads are remembered only while a query is planned (DDL, CTAS and Iceberg writes around
        it always see the catalog as it is)."""
        self._planning, self._tables = True, {}
        try:
            yield
        finally:
            self._planning, self._tables = False, {}

    def prefetch(self, database: str, names: set[str]) -> None:
        if not self._planning:
            return
        missing = {name for name in names if (database, name) not in self._tables}
        if len(missing) < 2:
            return  # one table: its own GetTable is as cheap
        found = self._catalog.get_tables_named(database, missing)
        for name in missing:
            # Absent here may be a race with a create: leave it to GetTable.
            if name in found:
                self._tables[(database, name)] = found[name]

    def get_table(self, database: str, name: str) -> dict[str, Any] | None:
        key = (database, name)
        if not self._planning:
            return self._catalog.get_table(database, name)
        if key not in self._tables:
            self._tables[key] = self._catalog.get_table(database, name)
        return self._tables[key]

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._catalog, name)
        if callable(attribute) and not name.startswith(("get_", "list_")):
            self._tables.clear()  # put_table, delete_table, add_partitions, …: read again after
        return attribute

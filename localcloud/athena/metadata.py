"""Athena's catalog actions answered from the Glue Data Catalog (AwsDataCatalog).

ListDataCatalogs, GetDataCatalog, ListDatabases, GetDatabase,
ListTableMetadata and GetTableMetadata: what SQLAlchemy's reflection, BI
tools and pyathena's metadata calls use. AwsDataCatalog is the account's
Glue catalog, read over HTTP through the service plane's Glue client, so it
shows exactly what the crawler and DDL wrote; other data catalogs are the
ones CreateDataCatalog registered (kept in moto's backend). Shapes follow
the Athena API reference: DataCatalogSummary {CatalogName, Type}, Database
{Name, Description, Parameters}, TableMetadata {Name, CreateTime,
LastAccessTime, TableType, Columns, PartitionKeys, Parameters}.
"""

from __future__ import annotations

import re
from typing import Any

from localcloud import moto_patches
from localcloud.athena.catalog import GlueCatalog
from localcloud.athena.exceptions import InvalidRequestException, MetadataException
from localcloud.plane import ServicePlane

AWS_DATA_CATALOG = "AwsDataCatalog"


def table_metadata(table: dict[str, Any]) -> dict[str, Any]:
    """A Glue table -> Athena's TableMetadata (types as Glue keeps them: string, decimal(10,2), …)."""
    sd = table.get("StorageDescriptor") or {}

    def columns(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"Name": c["Name"], "Type": c.get("Type", ""), **({"Comment": c["Comment"]} if c.get("Comment")
                                                                   else {})} for c in items]

    out: dict[str, Any] = {
        "Name": table["Name"],
        "TableType": table.get("TableType", "EXTERNAL_TABLE"),
        "Columns": columns(sd.get("Columns") or []),
        "PartitionKeys": columns(table.get("PartitionKeys") or []),
        "Parameters": {**(table.get("Parameters") or {}),
                       **({"location": sd["Location"]} if sd.get("Location") else {}),
                       **({"inputformat": sd["InputFormat"]} if sd.get("InputFormat") else {}),
                       **({"outputformat": sd["OutputFormat"]} if sd.get("OutputFormat") else {}),
                       **({"serde.serialization.lib": sd["SerdeInfo"]["SerializationLibrary"]}
                          if (sd.get("SerdeInfo") or {}).get("SerializationLibrary") else {})},
    }
    for key in ("CreateTime", "LastAccessTime"):
        when = table.get(key)
        if when is not None:  # boto3 gives datetimes; the JSON protocol carries epoch seconds
            out[key] = when.timestamp() if hasattr(when, "timestamp") else when
    return out


def database_summary(database: dict[str, Any]) -> dict[str, Any]:
    return {"Name": database["Name"], "Description": database.get("Description", ""),
            "Parameters": database.get("Parameters") or {}}


def name_filter(expression: str | None) -> Any:
    """ListTableMetadata's Expression: a regex matched against the whole table name."""
    if not expression:
        return lambda name: True
    try:
        pattern = re.compile(expression, re.I)
    except re.error:
        raise InvalidRequestException(f"Expression {expression!r} is not a valid regular expression") from None
    return lambda name: pattern.fullmatch(name) is not None


class CatalogMetadata:
    """The catalog actions for every account/region, over Glue."""

    def __init__(self, plane: ServicePlane):
        self.plane = plane

    def _glue(self, region: str, catalog_name: str | None) -> GlueCatalog:
        name = catalog_name or AWS_DATA_CATALOG
        if name.lower() != AWS_DATA_CATALOG.lower():
            raise MetadataException(f"Catalog {name} does not exist or is not a Glue data catalog")
        return GlueCatalog(self.plane.client("glue", region))

    def list_data_catalogs(self, account_id: str, region: str) -> list[dict[str, Any]]:
        others = moto_patches.athena_backend(account_id, region).list_data_catalogs()
        return [{"CatalogName": AWS_DATA_CATALOG, "Type": "GLUE"}] + [
            {"CatalogName": c["CatalogName"], "Type": c["Type"]} for c in others
            if c["CatalogName"].lower() != AWS_DATA_CATALOG.lower()]

    def get_data_catalog(self, account_id: str, region: str, name: str) -> dict[str, Any]:
        if name.lower() == AWS_DATA_CATALOG.lower():
            return {"Name": AWS_DATA_CATALOG, "Description": "AWS Glue Data Catalog", "Type": "GLUE",
                    "Parameters": {"catalog-id": account_id}}
        found = moto_patches.athena_backend(account_id, region).get_data_catalog(name)
        if found is None:
            raise InvalidRequestException(f"Catalog {name} does not exist")
        return found

    def list_databases(self, region: str, catalog_name: str | None) -> list[dict[str, Any]]:
        glue = self._glue(region, catalog_name)
        return [database_summary(d) for d in glue.list_database_details()]

    def get_database(self, region: str, catalog_name: str | None, name: str) -> dict[str, Any]:
        found = self._glue(region, catalog_name).get_database(name.lower())
        if found is None:
            raise MetadataException(f"Database {name} not found.")
        return database_summary(found)

    def list_table_metadata(self, region: str, catalog_name: str | None, database: str,
                            expression: str | None) -> list[dict[str, Any]]:
        glue = self._glue(region, catalog_name)
        if glue.get_database(database.lower()) is None:
            raise MetadataException(f"Database {database} not found.")
        wanted = name_filter(expression)
        return [table_metadata(t) for t in glue.list_tables(database.lower()) if wanted(t["Name"])]

    def get_table_metadata(self, region: str, catalog_name: str | None, database: str,
                           table: str) -> dict[str, Any]:
        glue = self._glue(region, catalog_name)
        found = glue.get_table(database.lower(), table.lower())
        if found is None:
            if glue.get_database(database.lower()) is None:
                raise MetadataException(f"Database {database} not found.")
            raise MetadataException(f"Table {table} not found.")
        return table_metadata(found)

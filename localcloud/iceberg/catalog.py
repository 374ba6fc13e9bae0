"""pyiceberg's own Glue catalog, pointed at the local cloud through the service plane.

pyiceberg's `GlueCatalog` takes a boto3 Glue client, so it gets the plane's
loopback client: tables are registered in the local Glue catalog over HTTP with
the same Parameters pyiceberg and Athena write on AWS (`table_type=ICEBERG`,
`metadata_location`, `previous_metadata_location`) and commits use Glue's
`UpdateTable` with the table's `VersionId` for optimistic concurrency. Data and
metadata files go through pyiceberg's PyArrow FileIO (pyarrow's S3 filesystem)
at the local cloud's endpoint with the plane's dummy credentials.
"""

from __future__ import annotations

from typing import Any

from pyiceberg.catalog.glue import GlueCatalog

from localcloud.plane import DUMMY_CREDENTIALS

# Athena's data catalog name; Glue is the catalog behind it.
CATALOG_NAME = "awsdatacatalog"


def file_io_properties(endpoint_url: str, region: str) -> dict[str, str]:
    """pyiceberg FileIO properties for the local S3 (path-style requests to the endpoint, dummy keys)."""
    return {
        "py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO",
        "s3.endpoint": endpoint_url,
        "s3.region": region,
        "s3.access-key-id": DUMMY_CREDENTIALS["aws_access_key_id"],
        "s3.secret-access-key": DUMMY_CREDENTIALS["aws_secret_access_key"],
    }


def open_catalog(plane: Any, region: str) -> GlueCatalog:
    """pyiceberg's GlueCatalog over the plane's Glue client for `region`."""
    return GlueCatalog(
        CATALOG_NAME,
        client=plane.client("glue", region),
        **file_io_properties(plane.endpoint_url, region),
    )

"""Athena on DuckDB: the query API, served by the local cloud, over the lake in the emulated S3.

`install(cloud)` routes Athena's query, workgroup and catalog-metadata actions
to our handlers (everything else — named queries, CreateDataCatalog, tags —
stays with moto) and
registers the query worker pool as a runner, so it stops with the cloud.

Layout: sql.py (parse, police, translate), decimals.py (Trino's exact
decimal division), queries.py (catalog tables, views, partition pruning),
ddl.py (DDL and SHOW/DESCRIBE, one handler per statement kind),
catalog.py (the Glue catalog through the service plane), lake.py (S3
objects and their cache), engine.py (locked DuckDB), results.py + types.py
(Athena's result shapes), errors.py (engine errors in Athena's words),
workgroups.py, executions.py, metadata.py (catalog actions from Glue), models.py (one method per action),
exceptions.py (Athena's error codes), responses.py (the JSON protocol).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localcloud.athena.limits import QueryLimits
from localcloud.athena.models import AthenaBackend
from localcloud.athena.responses import handlers

if TYPE_CHECKING:
    from localcloud.server import LocalCloud


def install(cloud: LocalCloud) -> None:
    backend = AthenaBackend(cloud.plane, cloud.data_dir, QueryLimits.from_env())
    for action, handler in handlers(backend).items():
        cloud.router.action("athena", action)(handler)
    cloud.runners.append(backend)
    cloud.athena = backend  # tests and benchmarks reach the engine's state through the cloud

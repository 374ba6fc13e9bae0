"""Athena's state for one LocalCloud: one method per Athena action, over workgroups and executions.

`AthenaBackend` is what responses.py calls and what the cloud runs as a
runner (it stops the worker pool and closes the engine when the cloud stops).
It holds no logic of its own: workgroups.py keeps the workgroups (in moto's
backend), executions.py runs queries, metadata.py answers the catalog
actions from Glue. Its dependencies — the service plane and the data
directory, the query limits (limits.py) — are constructor arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localcloud.athena.engine import Engine
from localcloud.athena.executions import Executions, QueryExecution
from localcloud.athena.history import ExecutionHistory
from localcloud.athena.limits import QueryLimits
from localcloud.athena.metadata import CatalogMetadata
from localcloud.athena.prepared import PreparedStatement, PreparedStatements
from localcloud.athena.workgroups import WorkGroups
from localcloud.plane import ServicePlane


class AthenaBackend:
    """Athena for every account/region of one LocalCloud."""

    name = "athena"  # the LocalCloud runner protocol

    def __init__(self, plane: ServicePlane, data_dir: Path, limits: QueryLimits | None = None):
        self.plane = plane
        self.cache_dir = Path(data_dir) / "athena" / "cache"
        self.workgroups = WorkGroups()
        self.prepared = PreparedStatements()
        self.executions = Executions(plane, self.cache_dir, self.workgroups, self.prepared, limits,
                                     ExecutionHistory(data_dir))
        self.metadata = CatalogMetadata(plane)

    # -- lifecycle (runner protocol) -----------------------------------------------
    def start(self) -> None:
        self.executions.start()

    def stop(self) -> None:
        self.executions.stop()

    def health(self) -> dict[str, Any]:
        return self.executions.health()

    @property
    def engine(self) -> Engine:
        return self.executions.engine

    def clear_cache(self) -> None:
        """Drop decoded snapshots and cached lake objects: the next query starts cold."""
        self.executions.clear_cache()

    # -- workgroups -------------------------------------------------------------------
    def create_work_group(self, account_id: str, region: str, name: str, configuration: dict[str, Any],
                          description: str | None, tags: list[dict[str, str]] | None) -> None:
        self.workgroups.create(account_id, region, name, configuration, description, tags)

    def get_work_group(self, account_id: str, region: str, name: str) -> dict[str, Any]:
        return self.workgroups.get(account_id, region, name)

    def list_work_groups(self, account_id: str, region: str) -> list[dict[str, Any]]:
        return self.workgroups.list(account_id, region)

    def update_work_group(self, account_id: str, region: str, name: str, updates: dict[str, Any],
                          description: str | None, state: str | None) -> None:
        self.workgroups.update(account_id, region, name, updates, description, state)

    def delete_work_group(self, account_id: str, region: str, name: str) -> None:
        self.workgroups.delete(account_id, region, name)

    # -- query executions ---------------------------------------------------------------
    def start_query_execution(self, account_id: str, region: str, query: str, context: dict[str, Any],
                              result_config: dict[str, Any], workgroup_name: str | None,
                              parameters: list[str] | None = None) -> str:
        return self.executions.start_query_execution(account_id, region, query, context, result_config,
                                                     workgroup_name, parameters)

    def get_query_execution(self, execution_id: str) -> QueryExecution:
        return self.executions.get(execution_id)

    def list_query_executions(self, workgroup: str | None) -> list[str]:
        return self.executions.list_query_executions(workgroup)

    def stop_query_execution(self, execution_id: str) -> None:
        self.executions.stop_query_execution(execution_id)

    def get_query_results(self, execution_id: str, max_results: int | None, token: str | None) -> dict[str, Any]:
        return self.executions.get_query_results(execution_id, max_results, token)

    # -- the catalog (from Glue) ----------------------------------------------------------
    def list_data_catalogs(self, account_id: str, region: str) -> list[dict[str, Any]]:
        return self.metadata.list_data_catalogs(account_id, region)

    def get_data_catalog(self, account_id: str, region: str, name: str) -> dict[str, Any]:
        return self.metadata.get_data_catalog(account_id, region, name)

    def list_databases(self, region: str, catalog_name: str | None) -> list[dict[str, Any]]:
        return self.metadata.list_databases(region, catalog_name)

    def get_database(self, region: str, catalog_name: str | None, name: str) -> dict[str, Any]:
        return self.metadata.get_database(region, catalog_name, name)

    def list_table_metadata(self, region: str, catalog_name: str | None, database: str,
                            expression: str | None) -> list[dict[str, Any]]:
        return self.metadata.list_table_metadata(region, catalog_name, database, expression)

    def get_table_metadata(self, region: str, catalog_name: str | None, database: str,
                           table: str) -> dict[str, Any]:
        return self.metadata.get_table_metadata(region, catalog_name, database, table)

    # -- prepared statements ------------------------------------------------------------------
    def create_prepared_statement(self, account_id: str, region: str, workgroup: str, name: str, query: str,
                                  description: str | None) -> None:
        self.workgroups.get_model(account_id, region, workgroup)
        self.prepared.put(account_id, region, workgroup, name, query, description, must_exist=False)

    def update_prepared_statement(self, account_id: str, region: str, workgroup: str, name: str, query: str,
                                  description: str | None) -> None:
        self.workgroups.get_model(account_id, region, workgroup)
        self.prepared.put(account_id, region, workgroup, name, query, description, must_exist=True)

    def get_prepared_statement(self, account_id: str, region: str, workgroup: str, name: str) -> PreparedStatement:
        self.workgroups.get_model(account_id, region, workgroup)
        return self.prepared.get(account_id, region, workgroup, name)

    def list_prepared_statements(self, account_id: str, region: str, workgroup: str) -> list[PreparedStatement]:
        self.workgroups.get_model(account_id, region, workgroup)
        return self.prepared.list(account_id, region, workgroup)

    def delete_prepared_statement(self, account_id: str, region: str, workgroup: str, name: str) -> None:
        self.workgroups.get_model(account_id, region, workgroup)
        self.prepared.delete(account_id, region, workgroup, name)

"""Athena's state: query executions run on a small worker pool, and workgroups (kept in moto's backend).

One `AthenaBackend` per LocalCloud. StartQueryExecution returns at once with
the execution QUEUED; a worker moves it to RUNNING and then SUCCEEDED, FAILED
or CANCELLED. Workgroups live in moto's athena backend (so moto's other
Athena calls — named queries, tags — see the same workgroups); we add the
validation and UpdateWorkGroup moto lacks.
"""

from __future__ import annotations

import concurrent.futures
import copy
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from localcloud.athena import sql as athena_sql
from localcloud.athena.catalog import GlueCatalog, local_client
from localcloud.athena.engine import Engine, interrupt
from localcloud.athena.exceptions import SYSTEM, InvalidRequestException, QueryCancelled, QueryFailed
from localcloud.athena.lake import Lake, split_s3_url
from localcloud.athena.planner import Planner
from localcloud.athena.results import ResultSet

log = logging.getLogger("localcloud.athena")

# The API's minimum for a workgroup's per-query data usage control (10 MB, as botocore's model says).
MIN_BYTES_CUTOFF = 10_000_000
# Athena's (non-adjustable) query string quota.
MAX_QUERY_BYTES = 262_144
# Finished result sets kept in memory for GetQueryResults.
_MAX_KEPT_RESULTS = 500
_WORKERS = 2


@dataclass
class QueryExecution:
    id: str
    query: str
    database: str
    catalog: str
    workgroup: str
    output_location: str | None
    account_id: str
    region: str
    statement_type: str = "DML"
    substatement_type: str = "SELECT"
    state: str = "QUEUED"
    reason: str | None = None
    error_category: int | None = None
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    completed: float | None = None
    data_scanned: int = 0
    result: ResultSet | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    cursor: Any = None

    def describe(self) -> dict[str, Any]:
        status: dict[str, Any] = {"State": self.state, "SubmissionDateTime": self.submitted}
        if self.completed is not None:
            status["CompletionDateTime"] = self.completed
        if self.reason:
            status["StateChangeReason"] = self.reason
        if self.state == "FAILED":
            status["AthenaError"] = {
                "ErrorCategory": self.error_category or 2,
                "ErrorType": 1000 if (self.error_category or 2) == 2 else 401,
                "Retryable": False,
                "ErrorMessage": self.reason or "",
            }
        now = time.time()
        started = self.started or now
        ended = self.completed or now
        stats = {
            "EngineExecutionTimeInMillis": int((ended - started) * 1000) if self.started else 0,
            "DataScannedInBytes": self.data_scanned,
            "TotalExecutionTimeInMillis": int((ended - self.submitted) * 1000),
            "QueryQueueTimeInMillis": int((started - self.submitted) * 1000),
            "ServicePreProcessingTimeInMillis": 0,
            "QueryPlanningTimeInMillis": 0,
            "ServiceProcessingTimeInMillis": 0,
            "ResultReuseInformation": {"ReusedPreviousResult": False},
        }
        out: dict[str, Any] = {
            "QueryExecutionId": self.id,
            "Query": self.query,
            "StatementType": self.statement_type,
            "SubstatementType": self.substatement_type,
            "ResultConfiguration": {"OutputLocation": self.output_location} if self.output_location else {},
            "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
            "QueryExecutionContext": {"Database": self.database, "Catalog": self.catalog},
            "Status": status,
            "Statistics": stats,
            "WorkGroup": self.workgroup,
            "EngineVersion": {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"},
        }
        return out


def _moto_backend(account_id: str, region: str) -> Any:
    from moto.athena.models import athena_backends

    return athena_backends[account_id][region]


class AthenaBackend:
    """Query executions for every account/region of one LocalCloud."""

    def __init__(self, cloud: Any):
        self.cloud = cloud
        self._lock = threading.Lock()
        self._executions: dict[str, QueryExecution] = {}
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._engine: Engine | None = None
        self._lakes: dict[str, Lake] = {}
        self._catalogs: dict[str, GlueCatalog] = {}

    # -- lifecycle (the LocalCloud runner protocol) ------------------------------
    name = "athena"

    def start(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="athena")

    def stop(self) -> None:
        with self._lock:
            running = [e for e in self._executions.values() if e.state in ("QUEUED", "RUNNING")]
        for execution in running:
            execution.cancel.set()
            if execution.cursor is not None:
                interrupt(execution.cursor)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def health(self) -> dict[str, Any]:
        with self._lock:
            states = [e.state for e in self._executions.values()]
        return {
            "state": "running" if self._pool is not None else "stopped",
            "queued": states.count("QUEUED"),
            "running": states.count("RUNNING"),
            "executions": len(states),
        }

    @property
    def cache_dir(self) -> Path:
        return Path(self.cloud.data_dir) / "athena" / "cache"

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = Engine(self.cache_dir)
            return self._engine

    def clear_cache(self) -> None:
        """Drop decoded snapshots and cached lake objects: the next query starts cold."""
        self.engine.drop_snapshots()
        for path in self.cache_dir.glob("*"):
            path.unlink(missing_ok=True)

    def _lake(self, region: str) -> Lake:
        with self._lock:
            if region not in self._lakes:
                self._lakes[region] = Lake(local_client("s3", self.cloud.url, region), self.cache_dir)
            return self._lakes[region]

    # -- workgroups -------------------------------------------------------------
    def work_group(self, account_id: str, region: str, name: str) -> Any:
        wg = _moto_backend(account_id, region).work_groups.get(name)
        if wg is None:
            raise InvalidRequestException(f"WorkGroup {name} is not found.")
        return wg

    def create_work_group(self, account_id: str, region: str, name: str, configuration: dict[str, Any],
                          description: str | None, tags: list[dict[str, str]] | None) -> None:
        _validate_configuration(configuration)
        backend = _moto_backend(account_id, region)
        created = backend.create_work_group(name, copy.deepcopy(configuration), description or "", tags or [])
        if created is None:
            raise InvalidRequestException("WorkGroup is already created")
        created._localcloud_created = time.time()

    def get_work_group(self, account_id: str, region: str, name: str) -> dict[str, Any]:
        wg = self.work_group(account_id, region, name)
        return {
            "Name": wg.name,
            "State": wg.state,
            "Configuration": wg.configuration,
            "Description": wg.description or "",
            "CreationTime": _creation_time(wg),
        }

    def list_work_groups(self, account_id: str, region: str) -> list[dict[str, Any]]:
        return [
            {
                "Name": wg.name,
                "State": wg.state,
                "Description": wg.description or "",
                "CreationTime": _creation_time(wg),
                "EngineVersion": wg.configuration.get("EngineVersion", {}),
            }
            for wg in _moto_backend(account_id, region).work_groups.values()
        ]

    def update_work_group(self, account_id: str, region: str, name: str, updates: dict[str, Any],
                          description: str | None, state: str | None) -> None:
        wg = self.work_group(account_id, region, name)
        config = copy.deepcopy(wg.configuration)
        for key in ("EnforceWorkGroupConfiguration", "PublishCloudWatchMetricsEnabled", "RequesterPaysEnabled",
                    "BytesScannedCutoffPerQuery", "EngineVersion", "EnableMinimumEncryptionConfiguration"):
            if key in updates:
                config[key] = updates[key]
        if updates.get("RemoveBytesScannedCutoffPerQuery"):
            config.pop("BytesScannedCutoffPerQuery", None)
        result_updates = updates.get("ResultConfigurationUpdates") or {}
        result = dict(config.get("ResultConfiguration") or {})
        for key, remove in (("OutputLocation", "RemoveOutputLocation"),
                            ("EncryptionConfiguration", "RemoveEncryptionConfiguration"),
                            ("ExpectedBucketOwner", "RemoveExpectedBucketOwner"),
                            ("AclConfiguration", "RemoveAclConfiguration")):
            if result_updates.get(remove):
                result.pop(key, None)
            elif key in result_updates:
                result[key] = result_updates[key]
        config["ResultConfiguration"] = result
        _validate_configuration(config)
        wg.configuration = config
        if description is not None:
            wg.description = description
        if state in ("ENABLED", "DISABLED"):
            wg.state = state

    def delete_work_group(self, account_id: str, region: str, name: str) -> None:
        if name == "primary":
            raise InvalidRequestException("The primary workgroup cannot be deleted.")
        self.work_group(account_id, region, name)
        _moto_backend(account_id, region).delete_work_group(name)

    # -- query executions ---------------------------------------------------------
    def start_query_execution(self, account_id: str, region: str, query: str, context: dict[str, Any],
                              result_config: dict[str, Any], workgroup_name: str | None) -> str:
        if not query or not query.strip():
            raise InvalidRequestException("QueryString must not be empty")
        if len(query.encode()) > MAX_QUERY_BYTES:
            raise InvalidRequestException(f"Query string exceeds the maximum length of {MAX_QUERY_BYTES} bytes")
        wg = self.work_group(account_id, region, workgroup_name or "primary")
        if wg.state == "DISABLED":
            raise InvalidRequestException(f"WorkGroup {wg.name} is disabled.")
        wg_config = wg.configuration or {}
        wg_location = (wg_config.get("ResultConfiguration") or {}).get("OutputLocation")
        if wg_config.get("EnforceWorkGroupConfiguration", True) and wg_location:
            location = wg_location  # the workgroup's settings override the client's
        else:
            location = (result_config or {}).get("OutputLocation") or wg_location
        if not location:
            raise InvalidRequestException(
                "No output location provided. An output location is required either through the Workgroup "
                "result configuration setting or as an API input."
            )
        try:
            split_s3_url(location)
        except ValueError:
            raise InvalidRequestException(f"Invalid OutputLocation: {location}") from None
        execution_id = str(uuid.uuid4())
        try:
            statement = athena_sql.parse(query)
            statement_type, substatement = statement.statement_type, statement.substatement_type
            suffix = ".csv" if statement.kind == "query" else ".txt"
        except QueryFailed:
            statement, statement_type, substatement, suffix = None, "DML", "SELECT", ".csv"
        execution = QueryExecution(
            id=execution_id,
            query=query,
            database=(context or {}).get("Database") or "default",
            catalog=(context or {}).get("Catalog") or "AwsDataCatalog",
            workgroup=wg.name,
            output_location=location.rstrip("/") + f"/{execution_id}{suffix}",
            account_id=account_id,
            region=region,
            statement_type=statement_type,
            substatement_type=substatement,
        )
        cutoff = wg_config.get("BytesScannedCutoffPerQuery")
        with self._lock:
            self._executions[execution_id] = execution
            self._forget_old_results()
        if self._pool is None:
            self.start()
        self._pool.submit(self._run, execution, cutoff)
        return execution_id

    def get(self, execution_id: str) -> QueryExecution:
        with self._lock:
            execution = self._executions.get(execution_id)
        if execution is None:
            raise InvalidRequestException(f"QueryExecution {execution_id} was not found")
        return execution

    def list_query_executions(self, workgroup: str | None) -> list[str]:
        name = workgroup or "primary"
        with self._lock:
            found = [e for e in self._executions.values() if e.workgroup == name]
        return [e.id for e in sorted(found, key=lambda e: e.submitted, reverse=True)]

    def stop_query_execution(self, execution_id: str) -> None:
        execution = self.get(execution_id)
        execution.cancel.set()
        with self._lock:
            if execution.state == "QUEUED":
                self._finish(execution, "CANCELLED", "Query was cancelled by user")
                return
        # An interrupt that lands between two steps of the worker is lost, so keep
        # interrupting until the worker has noticed.
        threading.Thread(target=self._interrupt_until_done, args=(execution,), daemon=True,
                         name=f"athena-stop-{execution_id[:8]}").start()

    @staticmethod
    def _interrupt_until_done(execution: QueryExecution, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while execution.state in ("QUEUED", "RUNNING") and time.monotonic() < deadline:
            cursor = execution.cursor
            if cursor is not None:
                interrupt(cursor)
            time.sleep(0.05)

    def get_query_results(self, execution_id: str, max_results: int | None, token: str | None) -> dict[str, Any]:
        execution = self.get(execution_id)
        if execution.state in ("QUEUED", "RUNNING"):
            raise InvalidRequestException(f"Query has not yet finished. Current state: {execution.state}")
        if execution.state != "SUCCEEDED":
            raise InvalidRequestException(
                f"Query did not finish successfully. Final query state: {execution.state}"
                + (f"\n{execution.reason}" if execution.reason else "")
            )
        if execution.result is None:
            raise InvalidRequestException("Query results have expired; read them from the output location")
        return execution.result.page(max_results, token)

    # -- running -------------------------------------------------------------------
    def _finish(self, execution: QueryExecution, state: str, reason: str | None = None,
                category: int | None = None) -> None:
        if execution.state in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return
        execution.state = state
        execution.reason = reason
        execution.error_category = category
        execution.completed = time.time()
        execution.cursor = None

    def _run(self, execution: QueryExecution, cutoff: int | None) -> None:
        with self._lock:
            if execution.state != "QUEUED":
                return
            execution.state = "RUNNING"
            execution.started = time.time()
        try:
            result = self._execute(execution, cutoff)
            self._write_result(execution, result)
            with self._lock:
                if execution.cancel.is_set():
                    self._finish(execution, "CANCELLED", "Query was cancelled by user")
                else:
                    execution.result = result
                    self._finish(execution, "SUCCEEDED")
        except QueryCancelled:
            with self._lock:
                self._finish(execution, "CANCELLED", "Query was cancelled by user")
        except QueryFailed as exc:
            with self._lock:
                self._finish(execution, "FAILED", exc.reason, exc.category)
        except duckdb.InterruptException:
            with self._lock:
                self._finish(execution, "CANCELLED", "Query was cancelled by user")
        except Exception as exc:  # an engine bug must end the query, not leave it RUNNING
            log.exception("query %s failed unexpectedly", execution.id)
            with self._lock:
                self._finish(execution, "FAILED", f"GENERIC_INTERNAL_ERROR: {type(exc).__name__}: {exc}", SYSTEM)

    def _planner(self, execution: QueryExecution) -> Planner:
        # boto3 clients are costly to build and thread-safe: one per region.
        with self._lock:
            catalog = self._catalogs.get(execution.region)
            if catalog is None:
                catalog = self._catalogs[execution.region] = GlueCatalog(self.cloud.url, execution.region)
        return Planner(catalog, self._lake(execution.region), evaluate=self._evaluate)

    def _evaluate(self, sql: str) -> list[tuple[Any, ...]]:
        """Run our own small SQL (partition pruning) on the locked engine."""
        cursor = self.engine.cursor()
        try:
            return cursor.sql(sql).fetchall()
        finally:
            cursor.close()

    def _execute(self, execution: QueryExecution, cutoff: int | None) -> ResultSet:
        statement = athena_sql.parse(execution.query)
        planner = self._planner(execution)
        if execution.catalog.lower() != "awsdatacatalog":
            raise QueryFailed("CATALOG_NOT_FOUND", f"Catalog '{execution.catalog.lower()}' does not exist")
        if statement.kind != "query":
            return planner.run_ddl(statement, execution.database,
                                   lambda st, db: self._describe_query(planner, st, db, execution))
        plan = planner.plan_query(statement, execution.database.lower(), Engine.snapshot_name)
        execution.data_scanned = plan.bytes_scanned
        if cutoff and plan.bytes_scanned > int(cutoff):
            raise QueryFailed("", "Query cancelled! Bytes scanned limit was exceeded")
        return self._run_plan(plan, execution, statement.text)

    def _load(self, plan: Any, execution: QueryExecution) -> None:
        engine = self.engine
        for source in plan.sources:
            if execution.cancel.is_set():
                raise QueryCancelled()
            engine.ensure_snapshot(source, self._lake(execution.region))

    def _run_plan(self, plan: Any, execution: QueryExecution, text: str) -> ResultSet:
        self._load(plan, execution)
        cursor = self.engine.cursor()
        execution.cursor = cursor
        try:
            if execution.cancel.is_set():
                raise QueryCancelled()
            try:
                relation = cursor.sql(plan.duckdb_sql)
                names, types = list(relation.columns), list(relation.types)
                rows = relation.fetchall()
            except duckdb.InterruptException:
                raise QueryCancelled() from None
            except duckdb.Error as exc:
                if execution.cancel.is_set():
                    raise QueryCancelled() from None
                raise engine_error(exc, text) from None
            return ResultSet.from_duckdb(names, types, rows)
        finally:
            execution.cursor = None
            cursor.close()

    def _describe_query(self, planner: Planner, statement: athena_sql.Statement, database: str,
                        execution: QueryExecution) -> tuple[list[str], list[Any]]:
        """Column names and types of a query (for CREATE VIEW), checking it resolves."""
        if statement.kind != "query":
            raise QueryFailed("SYNTAX_ERROR", "A view must be defined by a query")
        plan = planner.plan_query(statement, database, Engine.snapshot_name)
        self._load(plan, execution)
        cursor = self.engine.cursor()
        try:
            relation = cursor.sql(f"SELECT * FROM ({plan.duckdb_sql}) LIMIT 0")
            return list(relation.columns), list(relation.types)
        except duckdb.Error as exc:
            raise engine_error(exc, statement.text) from None
        finally:
            cursor.close()

    def _write_result(self, execution: QueryExecution, result: ResultSet) -> None:
        bucket, key = split_s3_url(execution.output_location or "")
        body = result.to_csv() if execution.output_location.endswith(".csv") else result.to_txt()
        s3 = self._lake(execution.region).s3
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        except s3.exceptions.NoSuchBucket:
            raise QueryFailed("", f"Unable to verify/create output bucket {bucket}") from None
        except Exception as exc:
            raise QueryFailed("", f"Access denied when writing output to url: {execution.output_location} "
                              f"({type(exc).__name__})") from None

    def _forget_old_results(self) -> None:
        done = [e for e in self._executions.values() if e.result is not None]
        for execution in sorted(done, key=lambda e: e.submitted)[:-_MAX_KEPT_RESULTS]:
            execution.result = None


def _creation_time(wg: Any) -> float:
    if not hasattr(wg, "_localcloud_created"):
        wg._localcloud_created = time.time()
    return wg._localcloud_created


def _validate_configuration(configuration: dict[str, Any]) -> None:
    cutoff = configuration.get("BytesScannedCutoffPerQuery")
    if cutoff is not None and int(cutoff) < MIN_BYTES_CUTOFF:
        raise InvalidRequestException(
            f"BytesScannedCutoffPerQuery must be at least {MIN_BYTES_CUTOFF} bytes (10 MB)"
        )
    location = (configuration.get("ResultConfiguration") or {}).get("OutputLocation")
    if location:
        try:
            split_s3_url(location)
        except ValueError:
            raise InvalidRequestException(f"Invalid OutputLocation: {location}") from None


# -- DuckDB errors in Athena's words ------------------------------------------------
_COLUMN = re.compile(r'Referenced column "?([^"!]+?)"? not found', re.I)
_COLUMN2 = re.compile(r'column "?([^"\s]+)"? (?:must appear|not found)', re.I)
_FUNCTION = re.compile(r"(?:Scalar|Aggregate|Table) Function with name \"?(\w+)\"? does not exist", re.I)
_NO_MATCH = re.compile(r"No function matches the given name and argument types '([^']+)'", re.I)


def engine_error(exc: Exception, text: str) -> QueryFailed:
    message = str(exc).strip().splitlines()[0]
    m = _COLUMN.search(message)
    if m:
        name = m.group(1).split(".")[-1]
        line, col = _find_identifier(text, name)
        return QueryFailed("COLUMN_NOT_FOUND", f"Column '{name}' cannot be resolved or requester is not "
                           "authorized to access requested resources", line, col)
    if "must appear in the GROUP BY clause" in message:
        return QueryFailed("EXPRESSION_NOT_AGGREGATE", message.split(":", 1)[-1].strip())
    m = _FUNCTION.search(message)
    if m:
        return QueryFailed("NOT_SUPPORTED", f"Function '{m.group(1)}' (as translated for DuckDB) is not supported "
                           "by the local Athena engine")
    m = _NO_MATCH.search(message)
    if m:
        return QueryFailed("TYPE_MISMATCH", f"Unexpected parameters for function {m.group(1)}")
    if isinstance(exc, duckdb.PermissionException):
        return QueryFailed("ACCESS_DENIED", "Access Denied: queries may read only tables of the data catalog")
    if isinstance(exc, (duckdb.ConversionException, duckdb.OutOfRangeException)):
        return QueryFailed("INVALID_CAST_ARGUMENT", message.split(":", 1)[-1].strip())
    if isinstance(exc, duckdb.ParserException):
        return QueryFailed("NOT_SUPPORTED", f"the local Athena engine could not run this query: {message}")
    return QueryFailed("GENERIC_USER_ERROR" if not isinstance(exc, duckdb.InternalException) else
                       "GENERIC_INTERNAL_ERROR", message)


def _find_identifier(text: str, name: str) -> tuple[int | None, int | None]:
    m = re.search(rf'(?<![\w"]){re.escape(name)}(?![\w"])|"{re.escape(name)}"', text, re.I)
    if not m:
        return None, None
    return athena_sql.position(text, m.start())

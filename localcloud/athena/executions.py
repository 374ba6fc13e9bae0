"""Athena's query executions: StartQueryExecution & co., run on a small worker pool.

StartQueryExecution returns at once with the execution QUEUED; a worker moves
it to RUNNING and then SUCCEEDED, FAILED or CANCELLED. A worker parses the
statement (sql.py), plans it against the Glue catalog (queries.py) or runs it
as DDL (ddl.py), loads the table snapshots it reads into the locked engine
(engine.py), runs it and writes Athena's result file to the output location.
Other services are reached only through the service plane's clients.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from localcloud.athena import sql as athena_sql
from localcloud.athena.catalog import GlueCatalog
from localcloud.athena.ddl import DdlRunner
from localcloud.athena.engine import Engine, interrupt
from localcloud.athena.errors import engine_error
from localcloud.athena.exceptions import USER, InvalidRequestException, QueryCancelled, QueryFailed
from localcloud.athena.lake import Lake
from localcloud.athena.prepared import DEALLOCATE, EXECUTE, PREPARE, PreparedStatements
from localcloud.athena.queries import QueryPlan, QueryPlanner
from localcloud.athena.results import ResultSet
from localcloud.athena.workgroups import WorkGroups, output_location
from localcloud.plane import ServicePlane, parse_s3_url

log = logging.getLogger("localcloud.athena")

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
    error_type: int | None = None
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    completed: float | None = None
    data_scanned: int = 0
    result: ResultSet | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    cursor: Any = None
    parameters: list[str] | None = None

    def describe(self) -> dict[str, Any]:
        status: dict[str, Any] = {"State": self.state, "SubmissionDateTime": self.submitted}
        if self.completed is not None:
            status["CompletionDateTime"] = self.completed
        if self.reason:
            status["StateChangeReason"] = self.reason
        if self.state == "FAILED":
            status["AthenaError"] = {
                "ErrorCategory": self.error_category or USER,
                "ErrorType": self.error_type or 1000,
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
        if self.parameters:
            out["ExecutionParameters"] = list(self.parameters)
        return out


class Executions:
    """Query executions for every account/region of one LocalCloud."""

    def __init__(self, plane: ServicePlane, cache_dir: Path, workgroups: WorkGroups, prepared: PreparedStatements):
        self.plane = plane
        self.cache_dir = cache_dir
        self.workgroups = workgroups
        self.prepared = prepared
        self._lock = threading.Lock()
        self._executions: dict[str, QueryExecution] = {}
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._engine: Engine | None = None
        self._lakes: dict[str, Lake] = {}

    # -- lifecycle ------------------------------------------------------------
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

    def lake(self, region: str) -> Lake:
        with self._lock:
            if region not in self._lakes:
                self._lakes[region] = Lake(self.plane.client("s3", region), self.cache_dir)
            return self._lakes[region]

    def catalog(self, region: str) -> GlueCatalog:
        return GlueCatalog(self.plane.client("glue", region))

    # -- the API ---------------------------------------------------------------
    def start_query_execution(self, account_id: str, region: str, query: str, context: dict[str, Any],
                              result_config: dict[str, Any], workgroup_name: str | None,
                              parameters: list[str] | None = None) -> str:
        if not query or not query.strip():
            raise InvalidRequestException("QueryString must not be empty")
        if len(query.encode()) > MAX_QUERY_BYTES:
            raise InvalidRequestException(f"Query string exceeds the maximum length of {MAX_QUERY_BYTES} bytes")
        wg = self.workgroups.get_model(account_id, region, workgroup_name or "primary")
        if wg.state == "DISABLED":
            raise InvalidRequestException(f"WorkGroup {wg.name} is disabled.")
        wg_config = wg.configuration or {}
        location = output_location(wg_config, result_config)
        execution_id = str(uuid.uuid4())
        if PREPARE.match(query) or DEALLOCATE.match(query):
            statement_type, substatement, suffix = "UTILITY", "PREPARE" if PREPARE.match(query) else "DEALLOCATE", ".txt"
        elif EXECUTE.match(query):
            statement_type, substatement, suffix = "DML", "EXECUTE", ".csv"
        else:
            try:
                statement = athena_sql.parse(query)
                statement_type, substatement = statement.statement_type, statement.substatement_type
                suffix = ".csv" if statement.kind == "query" else ".txt"
            except QueryFailed:
                statement_type, substatement, suffix = "DML", "SELECT", ".csv"
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
            parameters=list(parameters) if parameters else None,
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
                error: QueryFailed | None = None) -> None:
        if execution.state in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return
        execution.state = state
        execution.reason = reason
        if error is not None:
            execution.error_category, execution.error_type = error.category, error.athena_error_type
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
                self._finish(execution, "FAILED", exc.reason, exc)
        except duckdb.InterruptException:
            with self._lock:
                self._finish(execution, "CANCELLED", "Query was cancelled by user")
        except Exception as exc:  # an engine bug must end the query, not leave it RUNNING
            log.exception("query %s failed unexpectedly", execution.id)
            with self._lock:
                internal = QueryFailed("GENERIC_INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")
                self._finish(execution, "FAILED", internal.reason, internal)

    def _planner(self, execution: QueryExecution) -> QueryPlanner:
        return QueryPlanner(self.catalog(execution.region), self.lake(execution.region), evaluate=self._evaluate)

    def _evaluate(self, sql: str) -> list[tuple[Any, ...]]:
        """Run our own small SQL (partition pruning) on the locked engine."""
        cursor = self.engine.cursor()
        try:
            return cursor.sql(sql).fetchall()
        finally:
            cursor.close()

    def _execute(self, execution: QueryExecution, cutoff: int | None) -> ResultSet:
        text, prepared = self.prepared.resolve(execution.account_id, execution.region, execution.workgroup,
                                               execution.query, execution.parameters)
        if prepared in ("PREPARE", "DEALLOCATE"):
            return ResultSet.utility([], [])
        statement = athena_sql.parse(text)
        planner = self._planner(execution)
        if execution.catalog.lower() != "awsdatacatalog":
            raise QueryFailed("CATALOG_NOT_FOUND", f"Catalog '{execution.catalog.lower()}' does not exist")
        if statement.kind != "query":
            ddl = DdlRunner(planner.catalog, planner.lake)
            return ddl.run(statement, execution.database,
                           lambda st, db: self._describe_query(planner, st, db, execution))
        plan = planner.plan_query(statement, execution.database.lower(), Engine.snapshot_name)
        execution.data_scanned = plan.bytes_scanned
        if cutoff and plan.bytes_scanned > int(cutoff):
            raise QueryFailed("BYTES_SCANNED_LIMIT", "Query cancelled! Bytes scanned limit was exceeded")
        return self._run_plan(plan, execution, statement.text)

    def _load(self, plan: QueryPlan, execution: QueryExecution) -> None:
        engine = self.engine
        for source in plan.sources:
            if execution.cancel.is_set():
                raise QueryCancelled()
            engine.ensure_snapshot(source, self.lake(execution.region))

    def _run_plan(self, plan: QueryPlan, execution: QueryExecution, text: str) -> ResultSet:
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

    def _describe_query(self, planner: QueryPlanner, statement: athena_sql.Statement, database: str,
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
        bucket, key = parse_s3_url(execution.output_location or "")
        body = result.to_csv() if execution.output_location.endswith(".csv") else result.to_txt()
        s3 = self.lake(execution.region).s3
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        except s3.exceptions.NoSuchBucket:
            raise QueryFailed("RESULT_WRITE_FAILED", f"Unable to verify/create output bucket {bucket}") from None
        except Exception as exc:
            raise QueryFailed("RESULT_WRITE_FAILED", f"Access denied when writing output to url: {execution.output_location} "
                              f"({type(exc).__name__})") from None

    def _forget_old_results(self) -> None:
        done = [e for e in self._executions.values() if e.result is not None]
        for execution in sorted(done, key=lambda e: e.submitted)[:-_MAX_KEPT_RESULTS]:
            execution.result = None

"""Athena's JSON protocol (X-Amz-Target `AmazonAthena.<Action>`): parse requests, serialise answers."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from localcloud.athena.exceptions import InvalidRequestException
from localcloud.athena.models import AthenaBackend
from localcloud.routing import AwsRequest, AwsResponse, AwsServiceError

Handler = Callable[[AwsRequest], AwsResponse]


def _ok(payload: dict[str, Any] | None = None) -> AwsResponse:
    return AwsResponse.json(payload or {})


def _body(request: AwsRequest) -> dict[str, Any]:
    try:
        return request.json()
    except ValueError:
        raise InvalidRequestException("The request body is not valid JSON") from None


def _required(body: dict[str, Any], member: str) -> Any:
    value = body.get(member)
    if value in (None, ""):
        raise InvalidRequestException(f"1 validation error detected: Value null at '{member}' failed to satisfy "
                                      "constraint: Member must not be null")
    return value


def _page(items: list[Any], body: dict[str, Any], limit_default: int = 50) -> tuple[list[Any], str | None]:
    start = 0
    if body.get("NextToken"):
        try:
            start = int(json.loads(base64.urlsafe_b64decode(body["NextToken"]))["offset"])
        except Exception:
            raise InvalidRequestException("NextToken is invalid") from None
    limit = int(body.get("MaxResults") or limit_default)
    if limit < 1:
        raise InvalidRequestException("MaxResults must be at least 1")
    chunk = items[start:start + limit]
    token = None
    if start + limit < len(items):
        token = base64.urlsafe_b64encode(json.dumps({"offset": start + limit}).encode()).decode()
    return chunk, token


def handlers(backend: AthenaBackend) -> dict[str, Handler]:
    """Action name -> handler, bound to one backend."""

    def start_query_execution(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        execution_id = backend.start_query_execution(
            request.account_id, request.region, _required(body, "QueryString"),
            body.get("QueryExecutionContext") or {}, body.get("ResultConfiguration") or {}, body.get("WorkGroup"),
            body.get("ExecutionParameters"),
        )
        return _ok({"QueryExecutionId": execution_id})

    def get_query_execution(request: AwsRequest) -> AwsResponse:
        execution = backend.get_query_execution(_required(_body(request), "QueryExecutionId"))
        return _ok({"QueryExecution": execution.describe()})

    def batch_get_query_execution(request: AwsRequest) -> AwsResponse:
        found, missing = [], []
        for execution_id in _required(_body(request), "QueryExecutionIds"):
            try:
                found.append(backend.get_query_execution(execution_id).describe())
            except InvalidRequestException as exc:
                missing.append({"QueryExecutionId": execution_id, "ErrorCode": "INVALID_INPUT",
                                "ErrorMessage": exc.message})
        return _ok({"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing})

    def list_query_executions(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        ids, token = _page(backend.list_query_executions(body.get("WorkGroup")), body)
        return _ok({"QueryExecutionIds": ids, **({"NextToken": token} if token else {})})

    def get_query_results(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        return _ok(backend.get_query_results(_required(body, "QueryExecutionId"), body.get("MaxResults"),
                                             body.get("NextToken")))

    def stop_query_execution(request: AwsRequest) -> AwsResponse:
        backend.stop_query_execution(_required(_body(request), "QueryExecutionId"))
        return _ok()

    def create_work_group(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        backend.create_work_group(request.account_id, request.region, _required(body, "Name"),
                                  body.get("Configuration") or {}, body.get("Description"), body.get("Tags"))
        return _ok()

    def get_work_group(request: AwsRequest) -> AwsResponse:
        name = _required(_body(request), "WorkGroup")
        return _ok({"WorkGroup": backend.get_work_group(request.account_id, request.region, name)})

    def list_work_groups(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        groups, token = _page(backend.list_work_groups(request.account_id, request.region), body)
        return _ok({"WorkGroups": groups, **({"NextToken": token} if token else {})})

    def update_work_group(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        backend.update_work_group(request.account_id, request.region, _required(body, "WorkGroup"),
                                  body.get("ConfigurationUpdates") or {}, body.get("Description"), body.get("State"))
        return _ok()

    def delete_work_group(request: AwsRequest) -> AwsResponse:
        backend.delete_work_group(request.account_id, request.region, _required(_body(request), "WorkGroup"))
        return _ok()

    def list_data_catalogs(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        items, token = _page(backend.list_data_catalogs(request.account_id, request.region), body)
        return _ok({"DataCatalogsSummary": items, **({"NextToken": token} if token else {})})

    def get_data_catalog(request: AwsRequest) -> AwsResponse:
        name = _required(_body(request), "Name")
        return _ok({"DataCatalog": backend.get_data_catalog(request.account_id, request.region, name)})

    def list_databases(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        items, token = _page(backend.list_databases(request.region, _required(body, "CatalogName")), body)
        return _ok({"DatabaseList": items, **({"NextToken": token} if token else {})})

    def get_database(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        database = backend.get_database(request.region, _required(body, "CatalogName"),
                                        _required(body, "DatabaseName"))
        return _ok({"Database": database})

    def list_table_metadata(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        tables = backend.list_table_metadata(request.region, _required(body, "CatalogName"),
                                             _required(body, "DatabaseName"), body.get("Expression"))
        items, token = _page(tables, body)
        return _ok({"TableMetadataList": items, **({"NextToken": token} if token else {})})

    def get_table_metadata(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        table = backend.get_table_metadata(request.region, _required(body, "CatalogName"),
                                           _required(body, "DatabaseName"), _required(body, "TableName"))
        return _ok({"TableMetadata": table})

    def create_prepared_statement(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        backend.create_prepared_statement(request.account_id, request.region, _required(body, "WorkGroup"),
                                          _required(body, "StatementName"), _required(body, "QueryStatement"),
                                          body.get("Description"))
        return _ok()

    def update_prepared_statement(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        backend.update_prepared_statement(request.account_id, request.region, _required(body, "WorkGroup"),
                                          _required(body, "StatementName"), _required(body, "QueryStatement"),
                                          body.get("Description"))
        return _ok()

    def get_prepared_statement(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        statement = backend.get_prepared_statement(request.account_id, request.region, _required(body, "WorkGroup"),
                                                   _required(body, "StatementName"))
        return _ok({"PreparedStatement": statement.describe()})

    def batch_get_prepared_statement(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        found, missing = [], []
        for name in _required(body, "PreparedStatementNames"):
            try:
                found.append(backend.get_prepared_statement(request.account_id, request.region,
                                                            _required(body, "WorkGroup"), name).describe())
            except AwsServiceError as exc:
                missing.append({"StatementName": name, "ErrorCode": exc.code, "ErrorMessage": exc.message})
        return _ok({"PreparedStatements": found, "UnprocessedPreparedStatementNames": missing})

    def list_prepared_statements(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        statements = backend.list_prepared_statements(request.account_id, request.region,
                                                      _required(body, "WorkGroup"))
        items, token = _page([{"StatementName": s.name, "LastModifiedTime": s.modified} for s in statements], body)
        return _ok({"PreparedStatements": items, **({"NextToken": token} if token else {})})

    def delete_prepared_statement(request: AwsRequest) -> AwsResponse:
        body = _body(request)
        backend.delete_prepared_statement(request.account_id, request.region, _required(body, "WorkGroup"),
                                          _required(body, "StatementName"))
        return _ok()

    return {
        "CreatePreparedStatement": create_prepared_statement,
        "UpdatePreparedStatement": update_prepared_statement,
        "GetPreparedStatement": get_prepared_statement,
        "BatchGetPreparedStatement": batch_get_prepared_statement,
        "ListPreparedStatements": list_prepared_statements,
        "DeletePreparedStatement": delete_prepared_statement,
        "ListDataCatalogs": list_data_catalogs,
        "GetDataCatalog": get_data_catalog,
        "ListDatabases": list_databases,
        "GetDatabase": get_database,
        "ListTableMetadata": list_table_metadata,
        "GetTableMetadata": get_table_metadata,
        "StartQueryExecution": start_query_execution,
        "GetQueryExecution": get_query_execution,
        "BatchGetQueryExecution": batch_get_query_execution,
        "ListQueryExecutions": list_query_executions,
        "GetQueryResults": get_query_results,
        "StopQueryExecution": stop_query_execution,
        "CreateWorkGroup": create_work_group,
        "GetWorkGroup": get_work_group,
        "ListWorkGroups": list_work_groups,
        "UpdateWorkGroup": update_work_group,
        "DeleteWorkGroup": delete_work_group,
    }

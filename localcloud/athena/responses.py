"""Athena's JSON protocol (X-Amz-Target `AmazonAthena.<Action>`): parse requests, serialise answers."""

from __future__ import annotations

from typing import Any

from localcloud.athena.exceptions import InvalidRequestException
from localcloud.athena.metadata import only_attributes
from localcloud.athena.models import AthenaBackend
from localcloud.routing import AwsRequest, AwsResponse, AwsServiceError, paginate, required

def _ok(payload: dict[str, Any] | None = None) -> AwsResponse:
    return AwsResponse.json(payload or {})


def _body(request: AwsRequest) -> dict[str, Any]:
    try:
        return request.json()
    except ValueError:
        raise InvalidRequestException("The request body is not valid JSON") from None


def _required(body: dict[str, Any], member: str) -> Any:
    return required(body, member, InvalidRequestException)


def _page(items: list[Any], body: dict[str, Any], limit_default: int = 50) -> tuple[list[Any], str | None]:
    limit = body.get("MaxResults")
    if limit is not None and int(limit) < 1:
        raise InvalidRequestException("MaxResults must be at least 1")
    return paginate(items, int(limit) if limit else None, body.get("NextToken"), InvalidRequestException,
                    default_limit=limit_default, invalid_token="NextToken is invalid")


class AthenaResponses:
    """One method per Athena action we answer, bound to one backend (moto's responses.py shape)."""

    def __init__(self, backend: AthenaBackend):
        self.backend = backend


    def start_query_execution(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        execution_id = self.backend.start_query_execution(
            request.account_id, request.region, _required(body, "QueryString"),
            body.get("QueryExecutionContext") or {}, body.get("ResultConfiguration") or {}, body.get("WorkGroup"),
            body.get("ExecutionParameters"),
        )
        return _ok({"QueryExecutionId": execution_id})

    def get_query_execution(self, request: AwsRequest) -> AwsResponse:
        execution = self.backend.get_query_execution(_required(_body(request), "QueryExecutionId"))
        execution.wait_for_change()  # an unfinished query: answer when its state changes (or soon after)
        return _ok({"QueryExecution": execution.describe()})

    def batch_get_query_execution(self, request: AwsRequest) -> AwsResponse:
        found, missing = [], []
        for execution_id in _required(_body(request), "QueryExecutionIds"):
            try:
                found.append(self.backend.get_query_execution(execution_id).describe())
            except InvalidRequestException as exc:
                missing.append({"QueryExecutionId": execution_id, "ErrorCode": "INVALID_INPUT",
                                "ErrorMessage": exc.message})
        return _ok({"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing})

    def list_query_executions(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        ids, token = _page(self.backend.list_query_executions(body.get("WorkGroup")), body)
        return _ok({"QueryExecutionIds": ids, **({"NextToken": token} if token else {})})

    def get_query_results(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        return _ok(self.backend.get_query_results(_required(body, "QueryExecutionId"), body.get("MaxResults"),
                                             body.get("NextToken")))

    def stop_query_execution(self, request: AwsRequest) -> AwsResponse:
        self.backend.stop_query_execution(_required(_body(request), "QueryExecutionId"))
        return _ok()

    def create_work_group(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        self.backend.create_work_group(request.account_id, request.region, _required(body, "Name"),
                                  body.get("Configuration") or {}, body.get("Description"), body.get("Tags"))
        return _ok()

    def get_work_group(self, request: AwsRequest) -> AwsResponse:
        name = _required(_body(request), "WorkGroup")
        return _ok({"WorkGroup": self.backend.get_work_group(request.account_id, request.region, name)})

    def list_work_groups(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        groups, token = _page(self.backend.list_work_groups(request.account_id, request.region), body)
        return _ok({"WorkGroups": groups, **({"NextToken": token} if token else {})})

    def update_work_group(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        self.backend.update_work_group(request.account_id, request.region, _required(body, "WorkGroup"),
                                  body.get("ConfigurationUpdates") or {}, body.get("Description"), body.get("State"))
        return _ok()

    def delete_work_group(self, request: AwsRequest) -> AwsResponse:
        self.backend.delete_work_group(request.account_id, request.region, _required(_body(request), "WorkGroup"))
        return _ok()

    def list_data_catalogs(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        items, token = _page(self.backend.list_data_catalogs(request.account_id, request.region), body)
        return _ok({"DataCatalogsSummary": items, **({"NextToken": token} if token else {})})

    def get_data_catalog(self, request: AwsRequest) -> AwsResponse:
        name = _required(_body(request), "Name")
        return _ok({"DataCatalog": self.backend.get_data_catalog(request.account_id, request.region, name)})

    def list_databases(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        databases = only_attributes(self.backend.list_databases(request.region, _required(body, "CatalogName")),
                                    body.get("AttributesToGet"))
        items, token = _page(databases, body)
        return _ok({"DatabaseList": items, **({"NextToken": token} if token else {})})

    def get_database(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        database = self.backend.get_database(request.region, _required(body, "CatalogName"),
                                        _required(body, "DatabaseName"))
        return _ok({"Database": database})

    def list_table_metadata(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        tables = self.backend.list_table_metadata(request.region, _required(body, "CatalogName"),
                                             _required(body, "DatabaseName"), body.get("Expression"))
        items, token = _page(only_attributes(tables, body.get("AttributesToGet")), body)
        return _ok({"TableMetadataList": items, **({"NextToken": token} if token else {})})

    def get_table_metadata(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        table = self.backend.get_table_metadata(request.region, _required(body, "CatalogName"),
                                           _required(body, "DatabaseName"), _required(body, "TableName"))
        return _ok({"TableMetadata": table})

    def create_prepared_statement(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        self.backend.create_prepared_statement(request.account_id, request.region, _required(body, "WorkGroup"),
                                          _required(body, "StatementName"), _required(body, "QueryStatement"),
                                          body.get("Description"))
        return _ok()

    def update_prepared_statement(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        self.backend.update_prepared_statement(request.account_id, request.region, _required(body, "WorkGroup"),
                                          _required(body, "StatementName"), _required(body, "QueryStatement"),
                                          body.get("Description"))
        return _ok()

    def get_prepared_statement(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        statement = self.backend.get_prepared_statement(request.account_id, request.region, _required(body, "WorkGroup"),
                                                   _required(body, "StatementName"))
        return _ok({"PreparedStatement": statement.describe()})

    def batch_get_prepared_statement(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        found, missing = [], []
        for name in _required(body, "PreparedStatementNames"):
            try:
                found.append(self.backend.get_prepared_statement(request.account_id, request.region,
                                                            _required(body, "WorkGroup"), name).describe())
            except AwsServiceError as exc:
                missing.append({"StatementName": name, "ErrorCode": exc.code, "ErrorMessage": exc.message})
        return _ok({"PreparedStatements": found, "UnprocessedPreparedStatementNames": missing})

    def list_prepared_statements(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        statements = self.backend.list_prepared_statements(request.account_id, request.region,
                                                      _required(body, "WorkGroup"))
        items, token = _page([{"StatementName": s.name, "LastModifiedTime": s.modified} for s in statements], body)
        return _ok({"PreparedStatements": items, **({"NextToken": token} if token else {})})

    def delete_prepared_statement(self, request: AwsRequest) -> AwsResponse:
        body = _body(request)
        self.backend.delete_prepared_statement(request.account_id, request.region, _required(body, "WorkGroup"),
                                          _required(body, "StatementName"))
        return _ok()


# The route table: Athena JSON-protocol action -> AthenaResponses method.
ROUTES = {
    "CreatePreparedStatement": "create_prepared_statement",
    "UpdatePreparedStatement": "update_prepared_statement",
    "GetPreparedStatement": "get_prepared_statement",
    "BatchGetPreparedStatement": "batch_get_prepared_statement",
    "ListPreparedStatements": "list_prepared_statements",
    "DeletePreparedStatement": "delete_prepared_statement",
    "ListDataCatalogs": "list_data_catalogs",
    "GetDataCatalog": "get_data_catalog",
    "ListDatabases": "list_databases",
    "GetDatabase": "get_database",
    "ListTableMetadata": "list_table_metadata",
    "GetTableMetadata": "get_table_metadata",
    "StartQueryExecution": "start_query_execution",
    "GetQueryExecution": "get_query_execution",
    "BatchGetQueryExecution": "batch_get_query_execution",
    "ListQueryExecutions": "list_query_executions",
    "GetQueryResults": "get_query_results",
    "StopQueryExecution": "stop_query_execution",
    "CreateWorkGroup": "create_work_group",
    "GetWorkGroup": "get_work_group",
    "ListWorkGroups": "list_work_groups",
    "UpdateWorkGroup": "update_work_group",
    "DeleteWorkGroup": "delete_work_group",
}

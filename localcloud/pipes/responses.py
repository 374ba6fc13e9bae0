"""Pipes REST API (rest-json) route table and handlers: parse the request, call `PipeStore`, serialise like AWS.

We answer Create/Describe/Update/Start/Stop/Delete/ListPipes ourselves so
CurrentState is the runner's real state; tagging stays with moto.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from localcloud.pipes.exceptions import ValidationException
from localcloud.pipes.models import PipeStore, epoch
from localcloud.routing import AwsRequest, AwsResponse

_JSON = "application/json"


def _summary(pipe: Any) -> dict[str, Any]:
    return {
        "Arn": pipe.arn,
        "Name": pipe.name,
        "DesiredState": pipe.desired_state,
        "CurrentState": pipe.status,
        "CreationTime": epoch(pipe.creation_time),
        "LastModifiedTime": epoch(pipe.last_modified_time),
    }


def _description(pipe: Any) -> dict[str, Any]:
    body = _summary(pipe)
    optional = {
        "Description": pipe.description,
        "StateReason": pipe.state_reason,
        "Source": pipe.source,
        "SourceParameters": pipe.source_parameters,
        "Enrichment": pipe.enrichment,
        "EnrichmentParameters": pipe.enrichment_parameters,
        "Target": pipe.target,
        "TargetParameters": pipe.target_parameters,
        "RoleArn": pipe.role_arn,
        "Tags": pipe.tags,
        "LogConfiguration": pipe.log_configuration,
        "KmsKeyIdentifier": pipe.kms_key_identifier,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _name(request: AwsRequest) -> str:
    return unquote(request.path_params["name"])


def _body(request: AwsRequest) -> dict[str, Any]:
    return request.json_object(ValidationException)


class PipesResponses:
    """The Pipes actions; `on_change` is called after a call that changes a pipe (wakes the runner)."""

    def __init__(self, store: PipeStore, on_change: Callable[[], None] = lambda: None):
        self.store = store
        self.on_change = on_change

    def create_pipe(self, request: AwsRequest) -> AwsResponse:
        pipe = self.store.create_pipe(request.account_id, request.region, _name(request), _body(request))
        self.on_change()
        return AwsResponse.json(_summary(pipe), content_type=_JSON)

    def describe_pipe(self, request: AwsRequest) -> AwsResponse:
        pipe = self.store.describe_pipe(request.account_id, request.region, _name(request))
        return AwsResponse.json(_description(pipe), content_type=_JSON)

    def update_pipe(self, request: AwsRequest) -> AwsResponse:
        pipe = self.store.update_pipe(request.account_id, request.region, _name(request), _body(request))
        self.on_change()
        return AwsResponse.json(_summary(pipe), content_type=_JSON)

    def delete_pipe(self, request: AwsRequest) -> AwsResponse:
        pipe = self.store.delete_pipe(request.account_id, request.region, _name(request))
        self.on_change()
        return AwsResponse.json(_summary(pipe), content_type=_JSON)

    def start_pipe(self, request: AwsRequest) -> AwsResponse:
        pipe = self.store.start_pipe(request.account_id, request.region, _name(request))
        self.on_change()
        return AwsResponse.json(_summary(pipe), content_type=_JSON)

    def stop_pipe(self, request: AwsRequest) -> AwsResponse:
        pipe = self.store.stop_pipe(request.account_id, request.region, _name(request))
        self.on_change()
        return AwsResponse.json(_summary(pipe), content_type=_JSON)

    def list_pipes(self, request: AwsRequest) -> AwsResponse:
        q = {k: v[0] for k, v in request.query.items() if v}
        limit = None
        if q.get("Limit"):
            try:
                limit = int(q["Limit"])
            except ValueError:
                raise ValidationException("Limit must be an integer between 1 and 100.") from None
            if not 1 <= limit <= 100:
                raise ValidationException("Limit must be an integer between 1 and 100.")
        filters = {k: q.get(k, "") for k in ("NamePrefix", "DesiredState", "CurrentState", "SourcePrefix",
                                              "TargetPrefix")}
        pipes, token = self.store.list_pipes(request.account_id, request.region, filters, limit, q.get("NextToken"))
        body: dict[str, Any] = {"Pipes": []}
        for pipe in pipes:
            item = _summary(pipe)
            item.update({"Source": pipe.source, "Target": pipe.target})
            if pipe.enrichment:
                item["Enrichment"] = pipe.enrichment
            body["Pipes"].append(item)
        if token:
            body["NextToken"] = token
        return AwsResponse.json(body, content_type=_JSON)


# The route table: "METHOD /path" (rest-json) -> PipesResponses method. Tagging stays with moto.
ROUTES = {
    "POST /v1/pipes/(?P<name>[^/]+)": "create_pipe",
    "GET /v1/pipes/(?P<name>[^/]+)": "describe_pipe",
    "PUT /v1/pipes/(?P<name>[^/]+)": "update_pipe",
    "DELETE /v1/pipes/(?P<name>[^/]+)": "delete_pipe",
    "POST /v1/pipes/(?P<name>[^/]+)/start": "start_pipe",
    "POST /v1/pipes/(?P<name>[^/]+)/stop": "stop_pipe",
    "GET /v1/pipes": "list_pipes",
}

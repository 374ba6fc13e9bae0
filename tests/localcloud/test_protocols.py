"""REST-JSON Athena requests (botocore 1.44.1x) become the JSON 1.1 requests moto and our handlers answer.

The model here is four operations exactly as botocore 1.44.18 models them, so the adapter is
tested whichever botocore is installed; the whole suite under `run-tests.sh --newest` drives it
with the real client.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.model import ServiceModel

from localcloud.protocols import ProtocolAdapter, SerializationException, json_params
from localcloud.service_models import ServiceModels

SCOPE = "AWS4-HMAC-SHA256 Credential=test/20261207/ap-south-1/athena/aws4_request, SignedHeaders=host, Signature=x"

ATHENA_REST_JSON = {
    "metadata": {"apiVersion": "2017-05-18", "endpointPrefix": "athena", "protocol": "rest-json",
                 "protocols": ["rest-json"], "serviceId": "Athena", "signatureVersion": "v4"},
    "operations": {
        "GetWorkGroup": {"name": "GetWorkGroup", "http": {"method": "GET", "requestUri": "/workgroups/{WorkGroup}"},
                         "input": {"shape": "GetWorkGroupInput"}},
        "ListWorkGroups": {"name": "ListWorkGroups", "http": {"method": "GET", "requestUri": "/workgroups"},
                           "input": {"shape": "ListWorkGroupsInput"}},
        "GetQueryResults": {"name": "GetQueryResults",
                            "http": {"method": "GET", "requestUri": "/query-executions/{QueryExecutionId}/results"},
                            "input": {"shape": "GetQueryResultsInput"}},
        "TagResource": {"name": "TagResource", "http": {"method": "POST", "requestUri": "/tags/{ResourceARN}"},
                        "input": {"shape": "TagResourceInput"}},
    },
    "shapes": {
        "String": {"type": "string"},
        "Integer": {"type": "integer"},
        "Tag": {"type": "structure", "members": {"Key": {"shape": "String"}, "Value": {"shape": "String"}}},
        "TagList": {"type": "list", "member": {"shape": "Tag"}},
        "GetWorkGroupInput": {"type": "structure", "required": ["WorkGroup"], "members": {
            "WorkGroup": {"shape": "String", "location": "uri", "locationName": "WorkGroup"}}},
        "ListWorkGroupsInput": {"type": "structure", "members": {
            "NextToken": {"shape": "String", "location": "querystring", "locationName": "NextToken"},
            "MaxResults": {"shape": "Integer", "location": "querystring", "locationName": "MaxResults"}}},
        "GetQueryResultsInput": {"type": "structure", "required": ["QueryExecutionId"], "members": {
            "QueryExecutionId": {"shape": "String", "location": "uri", "locationName": "QueryExecutionId"},
            "NextToken": {"shape": "String", "location": "querystring", "locationName": "NextToken"},
            "MaxResults": {"shape": "Integer", "location": "querystring", "locationName": "MaxResults"}}},
        "TagResourceInput": {"type": "structure", "required": ["ResourceARN", "Tags"], "members": {
            "ResourceARN": {"shape": "String", "location": "uri", "locationName": "ResourceARN"},
            "Tags": {"shape": "TagList"}}},
    },
}


@pytest.fixture
def models() -> ServiceModels:
    return ServiceModels({"athena": [ServiceModel(ATHENA_REST_JSON, service_name="athena")]})


def _op(models: ServiceModels, method: str, path: str) -> tuple[Any, dict[str, str]]:
    found = models.rest_route("athena", method, path)
    assert found is not None, (method, path)
    return found[0].operation, found[1]


def test_uri_labels_and_query_members_become_typed_json_members(models: ServiceModels) -> None:
    op, labels = _op(models, "GET", "/query-executions/abc-123/results")
    assert op.name == "GetQueryResults"
    assert json_params(op, labels, {"MaxResults": ["5"], "NextToken": ["t1"]}, {}, b"") == {
        "QueryExecutionId": "abc-123", "MaxResults": 5, "NextToken": "t1"}
    op, labels = _op(models, "GET", "/workgroups")
    assert op.name == "ListWorkGroups" and json_params(op, labels, {}, {}, b"") == {}


def test_an_encoded_slash_stays_inside_its_label_and_the_body_is_kept(models: ServiceModels) -> None:
    arn = "arn:aws:athena:ap-south-1:123456789012:workgroup/primary"
    op, labels = _op(models, "POST", "/tags/" + arn.replace(":", "%3A").replace("/", "%2F"))
    assert op.name == "TagResource"
    assert json_params(op, labels, {}, {}, b'{"Tags": [{"Key": "k", "Value": "v"}]}') == {
        "ResourceARN": arn, "Tags": [{"Key": "k", "Value": "v"}]}


def test_a_member_that_is_not_its_type_is_a_serialization_error(models: ServiceModels) -> None:
    op, labels = _op(models, "GET", "/workgroups")
    with pytest.raises(SerializationException, match="integer"):
        json_params(op, labels, {"MaxResults": ["ten"]}, {}, b"")
    with pytest.raises(SerializationException, match="not valid JSON"):
        json_params(op, labels, {}, {}, b"{nope")


def _environ(method: str, path: str, body: bytes = b"", **extra: str) -> dict[str, Any]:
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "RAW_URI": path, "QUERY_STRING": "",
            "HTTP_AUTHORIZATION": SCOPE, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), **extra}


def test_the_json_app_sees_the_json_request_and_the_client_gets_rest_json(models: ServiceModels) -> None:
    seen: dict[str, Any] = {}

    def json_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(target=environ["HTTP_X_AMZ_TARGET"], path=environ["PATH_INFO"], method=environ["REQUEST_METHOD"],
                    body=json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))))
        if environ["HTTP_X_AMZ_TARGET"].endswith("GetWorkGroup"):
            body = b'{"__type": "InvalidRequestException", "message": "WorkGroup nope is not found."}'
            start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1")])
            return [body]
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1")])
        return [b'{"WorkGroups": []}']

    answered: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answered.update(status=status, headers=dict(headers))

    adapter = ProtocolAdapter(models, lambda service, action: True)
    body = b"".join(adapter.serve(_environ("GET", "/workgroups", QUERY_STRING="MaxResults=2"), start_response,
                                  json_app))
    assert seen == {"target": "AmazonAthena.ListWorkGroups", "path": "/", "method": "POST", "body": {"MaxResults": 2}}
    assert answered["status"] == "200 OK" and answered["headers"]["Content-Type"] == "application/json"
    assert json.loads(body) == {"WorkGroups": []}

    adapter.serve(_environ("GET", "/workgroups/nope"), start_response, json_app)
    assert seen["body"] == {"WorkGroup": "nope"}
    # botocore's REST-JSON parser reads the error code from this header.
    assert answered["status"].startswith("400") and answered["headers"]["x-amzn-ErrorType"] == "InvalidRequestException"


def test_json_requests_and_other_services_pass_untouched(models: ServiceModels) -> None:
    calls: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        calls.append(dict(environ))
        start_response("200 OK", [])
        return [b"{}"]

    adapter = ProtocolAdapter(models, lambda service, action: True)
    adapter.serve(_environ("POST", "/", HTTP_X_AMZ_TARGET="AmazonAthena.ListWorkGroups"), lambda *a: None, app)
    adapter.serve(_environ("GET", "/workgroups", HTTP_AUTHORIZATION=SCOPE.replace("/athena/", "/glue/")),
                  lambda *a: None, app)
    assert [c["PATH_INFO"] for c in calls] == ["/", "/workgroups"]
    assert calls[1].get("HTTP_X_AMZ_TARGET") is None


def test_the_guard_knows_a_rest_json_models_operations_by_their_json_target(models: ServiceModels) -> None:
    assert models.json_operation("athena", "AmazonAthena.GetWorkGroup").name == "GetWorkGroup"
    assert models.json_operation("athena", "Other.GetWorkGroup") is None


def test_a_json_request_checks_members_a_rest_model_puts_in_the_path(models: ServiceModels) -> None:
    from localcloud.guard import Refused, check_shape

    op = models.json_operation("athena", "AmazonAthena.GetQueryResults")
    with pytest.raises(Refused, match="expected string"):
        check_shape(op.input_shape, {"QueryExecutionId": ["not", "a", "string"]}, all_in_body=True)
    with pytest.raises(Refused, match="Member must not be null"):
        check_shape(op.input_shape, {}, all_in_body=True)
    # A REST-JSON request carries it in the path, where the router reads it.
    assert check_shape(op.input_shape, {}) == {}

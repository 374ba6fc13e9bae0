"""The router's one registration idiom and the request helpers every package shares (localcloud/routing.py)."""

from __future__ import annotations

import io
import json

import pytest

from localcloud.routing import AwsRequest, AwsResponse, Router, ServiceError, paginate, required

AUTH = "AWS4-HMAC-SHA256 Credential=test/20240101/eu-west-1/{service}/aws4_request, SignedHeaders=host, Signature=x"


def environ(service: str, method: str = "POST", path: str = "/", target: str = "", body: bytes = b"") -> dict:
    env = {"HTTP_AUTHORIZATION": AUTH.format(service=service), "REQUEST_METHOD": method, "PATH_INFO": path,
           "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), "QUERY_STRING": ""}
    if target:
        env["HTTP_X_AMZ_TARGET"] = target
    return env


class Echo:
    def action(self, request: AwsRequest) -> AwsResponse:
        return AwsResponse.json({"action": request.action, "body": request.json()})

    def item(self, request: AwsRequest) -> AwsResponse:
        return AwsResponse.json({"name": request.path_params["name"]})


def test_register_routes_actions_and_rest_paths_to_the_responses_methods() -> None:
    router = Router()
    router.register("svc", {"DoThing": "action", "GET /v1/items/(?P<name>[^/]+)": "item"}, Echo())
    handler, request = router.match(environ("svc", target="Svc_2020.DoThing", body=b'{"a": 1}'))
    assert json.loads(handler(request).body) == {"action": "DoThing", "body": {"a": 1}}
    assert request.region == "eu-west-1"
    handler, request = router.match(environ("svc", method="GET", path="/v1/items/x%2Fy"))
    assert json.loads(handler(request).body) == {"name": "x%2Fy"}
    assert router.match(environ("svc", method="GET", path="/v1/items/a/b")) is None  # matched in full only
    assert router.match(environ("svc", target="Svc_2020.Other")) is None  # moto answers the rest
    assert router.match(environ("other", target="Svc_2020.DoThing")) is None


class NotFound(ServiceError):
    code = "NotFoundException"
    status = 404


def test_a_declared_error_answers_in_awss_json_shape() -> None:
    response = NotFound("no such thing").to_response()
    assert response.status == 404
    assert response.headers["x-amzn-ErrorType"] == "NotFoundException"
    assert json.loads(response.body) == {"__type": "NotFoundException", "message": "no such thing",
                                         "Message": "no such thing"}


def test_paginate_walks_every_item_once_and_refuses_a_foreign_token() -> None:
    items = list(range(7))
    seen, token = [], None
    while True:
        page, token = paginate(items, 3, token, NotFound)
        seen.extend(page)
        if token is None:
            break
    assert seen == items
    assert paginate(items, None, None, NotFound, default_limit=100) == (items, None)
    with pytest.raises(NotFound, match="Invalid NextToken"):
        paginate(items, 3, "abc", NotFound)
    with pytest.raises(NotFound):
        paginate(items, 3, "-3", NotFound)


def test_required_names_the_missing_member_as_the_service_does() -> None:
    assert required({"Name": "x"}, "Name", NotFound) == "x"
    with pytest.raises(NotFound, match="Value null at 'streamArn'"):
        required({"StreamArn": ""}, "StreamArn", NotFound, wire_name="streamArn")

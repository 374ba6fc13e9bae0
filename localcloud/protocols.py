"""A request in REST-JSON for a service moto and our handlers answer in JSON 1.1, turned into that request.

AWS sometimes moves a service's SDK protocol and keeps answering the old one: botocore
1.44.1x sends Athena's actions as REST-JSON (`GET /workgroups/{WorkGroup}`, `POST
/query-executions`) where earlier versions send JSON 1.1 (`POST /` with `X-Amz-Target:
AmazonAthena.GetWorkGroup`). moto (5.2.6) and localcloud/athena know only the second. So,
for the services in `JSON_TARGET_PREFIXES`, a REST-JSON request is rewritten, before the
guard and the router see it, into the JSON 1.1 request that names the same operation with
the same members (URI labels, query-string and header members folded into the JSON body,
typed as the model types them), and the answer is given back as REST-JSON gives it
(`application/json`, the operation's success code, `x-amzn-ErrorType` on errors). That is
for the operations localcloud/athena answers; the others (named queries, tags, data catalogs)
reach moto as sent, whose own router reads REST-JSON once it is routed the path.

The operation and its members come from the installed botocore's model, so a client and
the local cloud in one environment always agree; a JSON 1.1 request passes untouched.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from localcloud.routing import AwsServiceError, read_body, signed_service
from localcloud.service_models import JSON_TARGET_PREFIXES, ServiceModels

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerializationException(AwsServiceError):
    def __init__(self, message: str):
        super().__init__("SerializationException", message, 400)


# -- a member's text (URI label, query string, header) as the JSON value its shape types -------
def _integer(text: str) -> int:
    return int(text)


def _boolean(text: str) -> bool:
    if text not in ("true", "false"):
        raise ValueError(text)
    return text == "true"


def _number(text: str) -> float:
    return float(text)


SCALAR_FROM_TEXT: dict[str, Callable[[str], Any]] = {
    "integer": _integer, "long": _integer, "short": _integer, "byte": _integer,
    "boolean": _boolean, "float": _number, "double": _number,
}


def _typed(shape: Any, text: str, member: str) -> Any:
    convert = SCALAR_FROM_TEXT.get(shape.type_name)
    if convert is None:
        return text  # string, timestamp (sent as text), enum
    try:
        return convert(text)
    except ValueError:
        raise SerializationException(f"Cannot read '{text}' as {shape.type_name} for '{member}'.") from None


def json_params(operation: Any, labels: dict[str, str], query: dict[str, list[str]], headers: dict[str, str],
                body: bytes) -> dict[str, Any]:
    """The JSON 1.1 request body of `operation` from the parts of its REST-JSON request.

    `labels` are the URI labels' raw (%-encoded) values, `headers` lower-cased names.
    """
    try:
        params = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise SerializationException("The request body is not valid JSON.") from None
    shape = operation.input_shape
    if shape is None:
        return params if isinstance(params, dict) else {}
    payload = shape.serialization.get("payload")
    if payload:
        params = {payload: params} if body.strip() else {}
    elif not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object.")
    claimed = set()
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri" and wire in labels:
            params[name] = _typed(member, unquote(labels[wire]), name)
        elif location == "querystring" and member.type_name == "map":
            continue  # filled last, from the keys no other member names
        elif location == "querystring" and wire in query:
            claimed.add(wire)
            values = query[wire]
            params[name] = ([_typed(member.member, v, name) for v in values] if member.type_name == "list"
                            else _typed(member, values[0], name))
        elif location == "header" and wire.lower() in headers:
            params[name] = _typed(member, headers[wire.lower()], name)
    for name, member in shape.members.items():
        if member.serialization.get("location") == "querystring" and member.type_name == "map":
            params[name] = {k: v[0] for k, v in query.items() if k not in claimed}
    return params


def _raw_path(environ: dict[str, Any]) -> str:
    """The path as sent (labels still %-encoded, so an encoded '/' in an ARN stays inside its label)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = raw.split("?", 1)[0]
        if "://" in path:  # an absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        return path or "/"
    return quote(environ.get("PATH_INFO", "/"))


class ProtocolAdapter:
    """Serves REST-JSON requests of the services in JSON_TARGET_PREFIXES through a JSON 1.1 `app`.

    Only the operations `ours(service, operation)` says our handlers answer are rewritten; the
    rest go to moto as sent (moto picks a REST-JSON operation by method and path itself, given a
    route to its handler: moto_patches.moto_wsgi_app).
    """

    def __init__(self, models: ServiceModels, ours: Callable[[str, str], bool]):
        self.models = models
        self.ours = ours

    def serve(self, environ: dict[str, Any], start_response: Callable[..., Any], app: WsgiApp) -> Iterable[bytes]:
        service = signed_service(environ)
        prefix = JSON_TARGET_PREFIXES.get(service or "")
        if prefix is None or environ.get("HTTP_X_AMZ_TARGET") or self.models.protocol(service or "") != "rest-json":
            return app(environ, start_response)
        found = self.models.rest_route(service or "", environ.get("REQUEST_METHOD", "GET"), _raw_path(environ))
        if found is None:
            return app(environ, start_response)  # not an operation: whatever answers unknown paths answers
        route, labels = found
        if not self.ours(service or "", route.operation.name):
            return app(environ, start_response)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        try:
            params = json_params(route.operation, labels, parse_qs(environ.get("QUERY_STRING", ""),
                                                                   keep_blank_values=True),
                                 headers, read_body(environ))
        except AwsServiceError as exc:
            refused = exc.to_response()
            return _answer(refused.status, list(refused.headers.items()), refused.body, start_response, success=200)
        body = json.dumps(params).encode()
        environ.update({
            "REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": "", "RAW_URI": "/", "REQUEST_URI": "/",
            "HTTP_X_AMZ_TARGET": f"{prefix}.{route.operation.name}",
            "CONTENT_TYPE": "application/x-amz-json-1.1", "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        })
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ.pop("HTTP_CONTENT_ENCODING", None)  # the body read above was the one sent; it is JSON now
        answered: list[Any] = []

        def capture(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            answered[:] = [status, response_headers]
            return lambda data: None

        chunks = app(environ, capture)
        try:
            response_body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        status, response_headers = answered
        return _answer(int(status.split(" ", 1)[0]), response_headers, response_body, start_response,
                       success=int(route.operation.http.get("responseCode", 200)))


def _answer(status: int, headers: list[tuple[str, str]], body: bytes, start_response: Callable[..., Any],
            success: int) -> list[bytes]:
    """The JSON 1.1 answer as REST-JSON gives it."""
    from http import HTTPStatus

    kept = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-length")]
    if status >= 400 and not any(k.lower() == "x-amzn-errortype" for k, _ in kept):
        try:
            code = json.loads(body).get("__type", "")
        except (ValueError, AttributeError):
            code = ""
        if code:
            kept.append(("x-amzn-ErrorType", str(code).rsplit("#", 1)[-1]))
    if status == 200:
        status = success
    kept += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    start_response(f"{status} {reason}", kept)
    return [body]

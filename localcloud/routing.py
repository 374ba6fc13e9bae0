"""Decide, per HTTP request, whether one of our handlers or moto answers it; and what handlers share.

AWS names the service in the SigV4 credential scope and, for JSON protocols,
the action in `X-Amz-Target`; REST protocols (Lambda, Pipes) name it by
method and path. Handlers receive a parsed `AwsRequest` and return an
`AwsResponse`.

One idiom registers them: each service package's `responses.py` has a route
table, `ROUTES`, mapping a route (a JSON-protocol action name, or
"METHOD /path-regex" for REST) to the name of a method of its responses
object, and its `install()` calls `router.register(service, ROUTES, responses)`.
The request helpers every package needs (`required`, `paginate`) live here too.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs

DEFAULT_ACCOUNT_ID = "123456789012"


@dataclass
class AwsRequest:
    service: str
    region: str
    action: str | None
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    path_params: dict[str, str] = field(default_factory=dict)
    account_id: str = DEFAULT_ACCOUNT_ID

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        return json.loads(self.body)

    def json_object(self, invalid: Callable[[str], Exception]) -> dict[str, Any]:
        """The body as a JSON object; anything else raises `invalid(message)` (the service's own error)."""
        try:
            body = self.json()
        except ValueError:
            raise invalid("The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise invalid("The request body must be a JSON object.")
        return body


@dataclass
class AwsResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, content_type: str = "application/x-amz-json-1.1") -> AwsResponse:
        return cls(status, json.dumps(payload, default=str).encode(), {"Content-Type": content_type})


Handler = Callable[[AwsRequest], AwsResponse]
T = TypeVar("T")


def required(params: dict[str, Any], member: str, invalid: Callable[[str], Exception],
             wire_name: str | None = None) -> Any:
    """`params[member]`, or the service's validation error for a missing member, in AWS's words.

    `wire_name` is the member as the service's error names it (DynamoDB says 'streamArn'
    for StreamArn; Glue repeats the member as given).
    """
    value = params.get(member)
    if value in (None, ""):
        raise invalid(f"1 validation error detected: Value null at '{wire_name or member}' failed to satisfy "
                      f"constraint: Member must not be null")
    return value


def paginate(items: Sequence[T], limit: int | None, token: str | None, invalid: Callable[[str], Exception],
             default_limit: int = 100, invalid_token: str = "Invalid NextToken") -> tuple[list[T], str | None]:
    """The one paginator: a page of `items` (in their order) and the NextToken of the next page, or None.

    A token is the offset of the next item: opaque to callers, as AWS's are, and stable
    for lists whose order does not change between calls. A token that is not one of
    ours raises `invalid(invalid_token)`.
    """
    try:
        start = int(token) if token else 0
    except ValueError:
        raise invalid(invalid_token) from None
    if start < 0:
        raise invalid(invalid_token)
    end = start + (limit or default_limit)
    return list(items[start:end]), (str(end) if end < len(items) else None)


class AwsServiceError(Exception):
    """An error in AWS's JSON error shape; raise it from any handler."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def to_response(self) -> AwsResponse:
        resp = AwsResponse.json({"__type": self.code, "message": self.message, "Message": self.message}, self.status)
        resp.headers["x-amzn-ErrorType"] = self.code
        return resp


class ServiceError(AwsServiceError):
    """The one declarative style for a package's `exceptions.py`: a class per AWS error code.

    Subclasses declare the AWS error `code` and HTTP `status` as class attributes and are
    raised with a message only, e.g. `class NotFoundException(ServiceError): code =
    "NotFoundException"; status = 404`.
    """

    code = "InternalFailure"
    status = 400

    def __init__(self, message: str):
        super().__init__(type(self).code, message, type(self).status)


_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


_QUERY_CREDENTIAL = re.compile(r"X-Amz-Credential=[^&/]+(?:/|%2F)\d{8}(?:/|%2F)[^&/%]+(?:/|%2F)([^&/%]+)",
                               re.IGNORECASE)


def signed_service(environ: dict[str, Any]) -> str | None:
    """The service named in the request's SigV4 credential scope (lower case), if it is signed."""
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return scope.group(2).lower() if scope else None


def request_service(environ: dict[str, Any]) -> str | None:
    """The signing service of the request: from the Authorization header or a presigned URL's query."""
    service = signed_service(environ)
    if service is None:
        match = _QUERY_CREDENTIAL.search(environ.get("QUERY_STRING", ""))
        service = match.group(1).lower() if match else None
    return service


# -- values as AWS's JSON protocols carry them ----------------------------------------
def epoch_seconds(value: Any) -> Any:
    """A stream timestamp as epoch seconds, whole when it is whole (as DynamoDB Streams and Pipes send it)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        seconds = value.timestamp()
        return int(seconds) if seconds == int(seconds) else seconds
    return value


def base64_binaries(value: Any) -> Any:
    """DynamoDB JSON with every Binary (B, and each BS member, at any depth) as base64 text.

    moto keeps binary values as bytes; DynamoDB's JSON protocol carries them base64-encoded
    (the SDKs decode them back to bytes), never as Python's b'...' text.
    """
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: base64_binaries(v) for k, v in value.items()}
    if isinstance(value, list):
        return [base64_binaries(v) for v in value]
    return value


class Router:
    """Maps (service, action) and (service, method, path pattern) to handlers."""

    def __init__(self) -> None:
        self._actions: dict[tuple[str, str], Handler] = {}
        self._rest: list[tuple[str, str, re.Pattern[str], Handler]] = []

    def action(self, service: str, action: str) -> Callable[[Handler], Handler]:
        """Register a JSON-protocol action, e.g. ("glue", "CreateClassifier")."""

        def register(fn: Handler) -> Handler:
            self._actions[(service, action)] = fn
            return fn

        return register

    def register(self, service: str, routes: Mapping[str, str], responses: object) -> None:
        """Register a package's route table: route -> name of the method of `responses` that answers it.

        A route is an action name ("CreateClassifier") for JSON protocols, or
        "METHOD /path-regex" (named groups become `path_params`) for REST ones.
        """
        for route, method_name in routes.items():
            handler = getattr(responses, method_name)
            method, _, pattern = route.partition(" ")
            if pattern:
                self.rest(service, method, pattern)(handler)
            else:
                self.action(service, route)(handler)

    def handles(self, service: str, action: str) -> bool:
        """Whether a JSON-protocol action of `service` is ours (else moto answers it)."""
        return (service, action) in self._actions

    def rest(self, service: str, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Register a REST operation; `pattern` is a regex with named groups, matched in full."""

        def register(fn: Handler) -> Handler:
            self._rest.append((service, method.upper(), re.compile(pattern), fn))
            return fn

        return register

    def match(self, environ: dict[str, Any]) -> tuple[Handler, AwsRequest] | None:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        scope = _SCOPE.search(auth)
        if not scope:
            return None
        region, service = scope.group(1), scope.group(2).lower()
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        action = target.rsplit(".", 1)[-1] if target else None
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "/")
        handler: Handler | None = None
        params: dict[str, str] = {}
        if action and (service, action) in self._actions:
            handler = self._actions[(service, action)]
        else:
            for svc, meth, regex, fn in self._rest:
                if svc == service and meth == method:
                    m = regex.fullmatch(path)
                    if m:
                        handler, params = fn, m.groupdict()
                        break
        if handler is None:
            return None
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        body = read_body(environ)
        request = AwsRequest(
            service=service,
            region=region,
            action=action,
            method=method,
            path=path,
            query=parse_qs(environ.get("QUERY_STRING", "")),
            headers=headers,
            body=body,
            path_params=params,
        )
        return handler, request


def content_length(environ: dict[str, Any]) -> int:
    """The request's Content-Length, 0 when it is missing or not a number (a chunked upload has none)."""
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body as sent: Content-Length bytes, or the decoded stream of a chunked upload."""
    length = content_length(environ)
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if length:
        return stream.read(length)
    # Chunked uploads carry no length; werkzeug exposes the decoded stream.
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        return stream.read()
    return b""

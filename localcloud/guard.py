"""The first check every HTTP request meets, before moto or one of our handlers sees it.

The local cloud listens on a machine where a browser runs, and it is fed by
hand-written clients as well as the SDKs. So, closed by default:

- moto's own `/moto-api/` endpoints (reset, seed, data, ...) answer 404 unless
  the cloud was started with `moto_api=True` (`--enable-moto-api`);
- a request that a web page of another origin sent (it carries an `Origin`
  header that is not this server's own) is refused with 403, a CORS preflight
  is refused with S3's "CORSResponse" 403, and no response carries any
  `Access-Control-*` header: nothing in a browser needs to call the local
  cloud (the dashboard calls it from its server side, with boto3);
- a request body larger than the service's own request-size limit (below,
  with the AWS page each is taken from) is refused with that service's error,
  judged on Content-Length before anything is read; a gzip body is inflated
  in a stream, 64 KiB at a time, and refused as soon as the inflated bytes
  pass the same limit, so a small "zip bomb" never reaches RAM;
- a malformed body of a JSON-protocol request (not JSON, not an object,
  members of the wrong type, numbers that do not fit, nesting deeper than any
  AWS shape) is refused with `SerializationException`, a missing required
  member with `ValidationException`, both checked against botocore's own
  service model of the action, as is a number outside its modelled range, for
  the services in RANGE_ERRORS (with that service's error code, in AWS's
  "Member must have value less than or equal to ..." wording, every violation
  in one message: boto3 checks only minimums); an S3 configuration body (`?tagging`,
  `?lifecycle`, `?delete`, ...) that is not well-formed XML gets `MalformedXML`.
  All of these are 400s in AWS's error shape, never a 500 naming a Python
  exception.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

from localcloud.routing import AwsResponse, AwsServiceError, request_service
from localcloud.service_models import ServiceModels

log = logging.getLogger("localcloud.guard")

MiB = 1024 * 1024
GiB = 1024 * MiB
_CHUNK = 64 * 1024
_MAX_DEPTH = 64  # no AWS input shape nests deeper (DynamoDB allows 32 levels in an item)
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


# -- request-size limits ---------------------------------------------------
@dataclass(frozen=True)
class BodyLimit:
    """The largest body a service takes, and the error (code, status, message) it answers beyond it."""

    max_bytes: int
    code: str
    status: int
    message: str


# Base64 makes a blob 4/3 larger on the wire; JSON framing of up to 500 records adds at most ~1 MiB.
_B64 = 4 / 3
LIMITS: dict[str, BodyLimit] = {
    # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
    # "A single call to BatchWriteItem can transmit up to 16MB of data over the network" - the
    # largest request any DynamoDB action takes; BatchWriteItem's own error for it is a ValidationException.
    "dynamodb": BodyLimit(16 * MiB, "ValidationException", 400,
                          "The total request size exceeds 16 MB ({size} bytes)."),
    # https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html
    # "up to a limit of 5 MiB for the entire request, including partition keys" (data is base64 on the wire).
    "kinesis": BodyLimit(int(5 * MiB * _B64) + MiB, "InvalidArgumentException", 400,
                         "The request of {size} bytes exceeds the 5 MiB limit for the entire request."),
    # https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html
    # "up to a limit of 4 MB for the entire request".
    "firehose": BodyLimit(int(4 * MiB * _B64) + MiB, "InvalidArgumentException", 400,
                          "The request of {size} bytes exceeds the 4 MB limit for the entire request."),
    # https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: a deployment package
    # uploaded directly (CreateFunction/UpdateFunctionCode ZipFile) is at most 50 MB zipped.
    "lambda": BodyLimit(int(50 * MiB * _B64) + MiB, "RequestTooLargeException", 413,
                        "Request must be smaller than {limit} bytes ({size} bytes received)."),
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html: "upload a single object
    # up to 5 GB" with one PUT (larger ones need multipart upload, whose parts are also at most 5 GB);
    # https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html: EntityTooLarge, 400.
    "s3": BodyLimit(5 * GiB, "EntityTooLarge", 400,
                    "Your proposed upload exceeds the maximum allowed size ({size} > {limit} bytes)."),
}
# https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html: "For synchronous invocations, the
# maximum payload size is 6 MB. For asynchronous invocations, the maximum payload size is 1 MB."
INVOKE_SYNC = BodyLimit(6 * MiB, "RequestTooLargeException", 413,
                        "Request must be smaller than {limit} bytes for the InvokeFunction operation.")
INVOKE_ASYNC = BodyLimit(1 * MiB, "RequestTooLargeException", 413,
                         "Request must be smaller than {limit} bytes for the InvokeAsync operation.")
# Every other service (Glue, Athena, Pipes, CloudWatch, Logs, SQS, IAM, ...): none documents a request
# larger than DynamoDB's 16 MB, so that is the cap; the error is the generic HTTP one.
DEFAULT_LIMIT = BodyLimit(16 * MiB, "RequestEntityTooLarge", 413,
                          "The request body of {size} bytes exceeds the {limit}-byte limit for this service.")
_INVOKE = re.compile(r"/2015-03-31/functions/[^/]+/invocations")


def body_limit(service: str | None, environ: dict[str, Any]) -> BodyLimit:
    """The request-size limit that applies to this request."""
    if service == "lambda" and _INVOKE.fullmatch(environ.get("PATH_INFO", "")):
        event = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "").strip() == "Event"
        return INVOKE_ASYNC if event else INVOKE_SYNC
    return LIMITS.get(service or "", DEFAULT_LIMIT)


class Refused(AwsServiceError):
    """A request the guard answers itself, with AWS's error code and status.

    It carries what every AWS error carries (code, message, status); the guard sends it in the
    protocol of the service asked (`error_response`), not only AWS's JSON shape.
    """


# -- error shapes ----------------------------------------------------------
def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def error_response(environ: dict[str, Any], service: str | None, code: str, message: str,
                   status: int) -> AwsResponse:
    """AWS's error shape for the request's protocol: S3's XML, the query protocol's XML, or JSON."""
    content_type = environ.get("CONTENT_TYPE", "")
    if service == "s3":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>{_xml_escape(message)}</Message><RequestId>localcloud</RequestId></Error>")
        return AwsResponse(status, body.encode(), {"Content-Type": "application/xml"})
    if content_type.startswith("application/x-www-form-urlencoded"):
        kind = "Sender" if status < 500 else "Receiver"
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>{kind}</Type>'
                f"<Code>{code}</Code><Message>{_xml_escape(message)}</Message></Error>"
                f"<RequestId>localcloud</RequestId></ErrorResponse>")
        return AwsResponse(status, body.encode(), {"Content-Type": "text/xml"})
    resp = AwsResponse.json({"__type": code, "message": message, "Message": message}, status,
                            content_type="application/x-amz-json-1.1")
    resp.headers["x-amzn-ErrorType"] = code
    return resp


# -- checking a JSON body against a shape ----------------------------------
def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _type_error(path: str, expected: str, value: Any) -> Refused:
    kind = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number"}.get(type(value), type(value).__name__)
    where = f" at '{path}'" if path else ""
    return Refused("SerializationException",
                   f"Unexpected value type{where}: expected {expected}, found {kind}.")


def check_shape(shape: Any, value: Any, path: str = "", depth: int = 0, all_in_body: bool = False) -> Any:
    """`value` (parsed JSON) checked against a botocore input shape; returns it with null members dropped.

    `all_in_body`: the request is JSON 1.1 (`X-Amz-Target`), which carries every member in the body,
    also those a REST-JSON model of the same operation puts in the path, query or headers.

    Raises Refused(SerializationException) for a wrong type or a number that does not fit,
    Refused(ValidationException) for a missing required member.
    """
    if depth > _MAX_DEPTH:
        raise Refused("SerializationException", f"The request nests deeper than {_MAX_DEPTH} levels.")
    kind = shape.type_name
    if getattr(shape, "is_document_type", False):
        return value  # a document takes any JSON value
    if kind == "structure":
        if not isinstance(value, dict):
            raise _type_error(path, "object", value)
        out = {}
        for name, member_value in value.items():
            if member_value is None:  # JSON null is an absent member on AWS
                continue
            member = shape.members.get(name)
            if member is None or (member.serialization.get("location") and not all_in_body):
                out[name] = member_value  # AWS ignores members it does not know
                continue
            out[name] = check_shape(member, member_value, f"{path}.{name}" if path else name, depth + 1)
        for required in shape.required_members:
            member = shape.members.get(required)
            if member is not None and member.serialization.get("location") and not all_in_body:
                continue  # a path/header/query member; the router checks those
            if out.get(required) is None:
                where = _camel(f"{path}.{required}" if path else required)
                raise Refused("ValidationException",
                              f"1 validation error detected: Value null at '{where}' failed to satisfy "
                              f"constraint: Member must not be null")
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise _type_error(path, "array", value)
        return [check_shape(shape.member, v, f"{path}.member", depth + 1) if v is not None
                else _null_in(path) for v in value]
    if kind == "map":
        if not isinstance(value, dict):
            raise _type_error(path, "object", value)
        return {k: check_shape(shape.value, v, f"{path}.{k}", depth + 1) if v is not None else _null_in(path)
                for k, v in value.items()}
    if kind == "string":
        if not isinstance(value, str):
            raise _type_error(path, "string", value)
    elif kind in ("integer", "long", "short", "byte"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise _type_error(path, "integer", value)
        low, high = _INT32 if kind != "long" else _INT64
        if not low <= value <= high:
            raise Refused("SerializationException",
                          f"Numeric value ({value}) at '{path}' out of range of "
                          f"{'int' if kind != 'long' else 'long'}.")
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not (isinstance(value, (int, float)) or value in
                                           ("NaN", "Infinity", "-Infinity")):
            raise _type_error(path, "number", value)
        if isinstance(value, int) and abs(value) > 2**1024:
            raise Refused("SerializationException", f"Numeric value at '{path}' out of range of double.")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise _type_error(path, "boolean", value)
    elif kind == "blob":
        if not isinstance(value, str):
            raise _type_error(path, "base64-encoded string", value)
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise Refused("SerializationException", f"Value at '{path}' is not valid base64.") from None
    elif kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise _type_error(path, "timestamp", value)
    return value


# The services held to their modelled ranges here, and the error each answers a violation with
# (Athena's API reference: InvalidRequestException is a parameter "missing or out of range").
# Not the others: Kinesis answers GetRecords' Limit over 10,000 with InvalidArgumentException
# (API_GetRecords), Glue cut GetTables' MaxResults down to 100 where the model says refuse,
# Lambda words it differently and its MemorySize limit depends on the account.
RANGE_ERRORS = {"athena": "InvalidRequestException", "dynamodb": "ValidationException",
                "pipes": "ValidationException"}


def range_violations(shape: Any, value: Any, path: str = "") -> list[str]:
    """Each integer in `value` (a body `check_shape` accepted) outside its member's modelled min/max,
    in AWS's validation wording: "Value '700000' at 'a.b' failed to satisfy constraint: ..."."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict) and not getattr(shape, "is_document_type", False):
        found = []
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is not None:
                found += range_violations(member, member_value, f"{path}.{_camel(name)}" if path else _camel(name))
        return found
    if kind == "list" and isinstance(value, list):
        return [v for n, item in enumerate(value, 1) for v in range_violations(shape.member, item, f"{path}.{n}.member")]
    if kind == "map" and isinstance(value, dict):
        return [v for key, item in value.items() for v in range_violations(shape.value, item, f"{path}.{key}")]
    if kind in ("integer", "long", "short", "byte") and isinstance(value, int):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            return [f"Value '{value}' at '{path}' failed to satisfy constraint: "
                    f"Member must have value greater than or equal to {low}"]
        if high is not None and value > high:
            return [f"Value '{value}' at '{path}' failed to satisfy constraint: "
                    f"Member must have value less than or equal to {high}"]
    return []


def _null_in(path: str) -> Any:
    raise Refused("SerializationException", f"Unexpected null value in '{path}'.")


# -- S3 configuration bodies -----------------------------------------------
# The root element of each XML document S3 takes (the S3 API reference's request syntax of each
# Put*/Complete*/Delete*/Restore* action); the key is the subresource in the query string.
_S3_XML_ROOTS = {
    "acl": "AccessControlPolicy", "analytics": "AnalyticsConfiguration", "cors": "CORSConfiguration",
    "delete": "Delete", "encryption": "ServerSideEncryptionConfiguration",
    "intelligent-tiering": "IntelligentTieringConfiguration", "inventory": "InventoryConfiguration",
    "lifecycle": "LifecycleConfiguration", "logging": "BucketLoggingStatus", "metrics": "MetricsConfiguration",
    "notification": "NotificationConfiguration", "object-lock": "ObjectLockConfiguration",
    "ownershipControls": "OwnershipControls", "publicAccessBlock": "PublicAccessBlockConfiguration",
    "replication": "ReplicationConfiguration", "requestPayment": "RequestPaymentConfiguration",
    "restore": "RestoreRequest", "retention": "Retention", "legal-hold": "LegalHold", "tagging": "Tagging",
    "versioning": "VersioningConfiguration", "website": "WebsiteConfiguration",
    "accelerate": "AccelerateConfiguration",
}
_S3_XML_SUBRESOURCES = frozenset(_S3_XML_ROOTS)


_MALFORMED_XML = ("MalformedXML", "The XML you provided was not well-formed or did not validate against our "
                                   "published schema")
_BODY_OPTIONAL = frozenset({"acl", "restore"})  # a canned ACL header, a default restore request


def _s3_xml_kind(environ: dict[str, Any]) -> tuple[str, str] | None:
    """("required" or "optional", root element) when the request's body is an XML document S3 parses,
    else None (the body is object data)."""
    method = environ.get("REQUEST_METHOD")
    if method not in ("PUT", "POST"):
        return None
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    subresources = sorted(_S3_XML_SUBRESOURCES.intersection(query))
    if subresources:
        return ("optional" if set(subresources) <= _BODY_OPTIONAL else "required"), _S3_XML_ROOTS[subresources[0]]
    if method == "POST" and "uploadId" in query:
        return "required", "CompleteMultipartUpload"
    bucket_path = environ.get("PATH_INFO", "").strip("/")
    if method == "PUT" and bucket_path and "/" not in bucket_path and not query:
        return "optional", "CreateBucketConfiguration"
    return None


def _check_s3_xml(environ: dict[str, Any], body: bytes) -> None:
    expected = _s3_xml_kind(environ)
    if expected is None:
        return
    kind, root_name = expected
    if not body.strip():
        if kind == "required":
            raise Refused("MissingRequestBodyError", "Request Body is empty")
        return
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:  # S3 takes no DTDs; this also rules out entity bombs
        raise Refused(*_MALFORMED_XML)
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise Refused(*_MALFORMED_XML) from None
    if root.tag.rsplit("}", 1)[-1] != root_name:  # "{namespace}Tagging" or "Tagging"
        raise Refused(*_MALFORMED_XML)


# -- reading a body within its limit ---------------------------------------
def _declared_length(environ: dict[str, Any]) -> int | None:
    try:
        return int(environ["CONTENT_LENGTH"]) if environ.get("CONTENT_LENGTH") else None
    except ValueError:
        raise Refused("SerializationException", "The Content-Length header is not a number.") from None


def _read_capped(stream: Any, declared: int | None, limit: BodyLimit) -> bytes:
    """The raw body, read in chunks; refused once it passes the limit (nothing beyond is read)."""
    out = io.BytesIO()
    remaining = declared
    while remaining is None or remaining > 0:
        chunk = stream.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
        if not chunk:
            break
        out.write(chunk)
        if remaining is not None:
            remaining -= len(chunk)
        if out.tell() > limit.max_bytes:
            raise _too_large(limit, out.tell(), exact=False)
    return out.getvalue()


def _inflate_capped(raw_chunks: Iterable[bytes], limit: BodyLimit) -> bytes:
    """A gzip body inflated as it streams; refused once the inflated bytes pass the limit."""
    inflater = zlib.decompressobj(wbits=31)
    out = io.BytesIO()
    try:
        for chunk in raw_chunks:
            data = chunk
            while data:
                out.write(inflater.decompress(data, _CHUNK))
                if out.tell() > limit.max_bytes:
                    raise _too_large(limit, out.tell(), inflated=True, exact=False)
                data = inflater.unconsumed_tail
        out.write(inflater.flush())
    except zlib.error as exc:
        raise Refused("SerializationException", f"The request body is not valid gzip: {exc}") from None
    if not inflater.eof:
        raise Refused("SerializationException", "The request body is not valid gzip: it ends early.")
    if out.tell() > limit.max_bytes:
        raise _too_large(limit, out.tell(), inflated=True)
    return out.getvalue()


def _too_large(limit: BodyLimit, size: int, inflated: bool = False, exact: bool = True) -> Refused:
    """`exact`: `size` is the body's whole size (declared); else only how far reading got before stopping."""
    message = limit.message.format(size=size if exact else f"more than {limit.max_bytes}", limit=limit.max_bytes)
    if inflated:
        message += " (measured after gzip decompression)"
    return Refused(limit.code, message, limit.status)


# -- the guard -------------------------------------------------------------
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def _is_cors_header(name: str) -> bool:
    return name.lower().startswith("access-control-")


class RequestGuard:
    """Checks a request (`check`) and cleans a response (`start_response`) for one LocalCloud."""

    def __init__(self, moto_api: bool, own_host: Callable[[], str], own_port: Callable[[], int]):
        self.moto_api = moto_api
        self._own_host = own_host
        self._own_port = own_port
        self.models = ServiceModels()

    # -- responses ---------------------------------------------------------
    @staticmethod
    def start_response(start_response: Callable[..., Any]) -> Callable[..., Any]:
        """`start_response` that drops every Access-Control-* header (moto's flask-cors adds them)."""

        def without_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if not _is_cors_header(k)]
            if exc_info is not None:
                return start_response(status, kept, exc_info)
            return start_response(status, kept)

        return without_cors

    def call_moto(self, app: Callable[..., Any], environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """moto's WSGI app, with an AWS-shaped 500 instead of werkzeug's HTML page if moto itself fails."""
        try:
            return app(environ, start_response)
        except Exception:
            log.exception("moto failed on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            service = request_service(environ)
            if service is None:
                # An unsigned request moto cannot place in any service: AWS refuses those unsigned.
                return _start(error_response(environ, service, "MissingAuthenticationToken",
                                             "Missing Authentication Token: the request is not signed and "
                                             "names no service.", 403), start_response)
            if service == "s3" and _s3_xml_kind(environ) is not None:
                # Well-formed (checked) yet moto could not read it: a document outside S3's schema.
                return _start(error_response(environ, service, *_MALFORMED_XML, 400), start_response)
            response = error_response(environ, service, "InternalFailure",
                                      "The local cloud failed on this request; its log has the details.", 500)
            return _start(response, start_response)

    # -- requests ----------------------------------------------------------
    def check(self, environ: dict[str, Any]) -> AwsResponse | None:
        """None if the request may go on (its body may have been replaced: inflated, re-read, cleaned);
        else the refusal to send."""
        service = request_service(environ)
        try:
            self._check(environ, service)
        except Refused as refused:
            return error_response(environ, service, refused.code, refused.message, refused.status)
        return None

    def _check(self, environ: dict[str, Any], service: str | None) -> None:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/moto-api") and not self.moto_api:
            raise Refused("NotFound", "Not found: moto's /moto-api/ endpoints are off; start the local cloud "
                                      "with --enable-moto-api to use them.", 404)
        self._check_origin(environ)
        self._check_body(environ, service)

    def _own_origins(self) -> set[str]:
        port = self._own_port()
        hosts = set(_LOOPBACK_NAMES)
        host = self._own_host()
        if host not in ("", "0.0.0.0", "::"):
            hosts.add(f"[{host}]" if ":" in host else host)
        return {f"http://{h}:{port}" for h in hosts}

    def _check_origin(self, environ: dict[str, Any]) -> None:
        origin = environ.get("HTTP_ORIGIN")
        preflight = environ.get("REQUEST_METHOD") == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
        if preflight:
            # S3's answer to a preflight its CORS rules do not allow (ErrorResponses.html, "CORSResponse").
            raise Refused("CORSResponse", "This CORS request is not allowed. The local cloud takes no "
                                          "requests from web pages.", 403)
        if origin is None:
            return
        parts = urlsplit(origin.strip())
        normalised = f"{parts.scheme}://{parts.netloc}".lower()
        if normalised not in self._own_origins():
            raise Refused("AccessDenied", f"Requests from the web origin {origin!r} are not allowed: the local "
                                          f"cloud takes no requests from web pages.", 403)

    def _check_body(self, environ: dict[str, Any], service: str | None) -> None:
        limit = body_limit(service, environ)
        declared = _declared_length(environ)
        gzipped = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower() == "gzip"
        chunked = environ.get("HTTP_TRANSFER_ENCODING", "").strip().lower() == "chunked"
        if declared is not None and declared > limit.max_bytes:
            raise _too_large(limit, declared)
        if service == "s3":
            decoded = environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH", "")
            if decoded.isdigit() and int(decoded) > limit.max_bytes:
                raise _too_large(limit, int(decoded))
            if declared is not None and declared <= 64 * 1024 and environ.get("REQUEST_METHOD") in ("PUT", "POST"):
                body = _read_capped(environ["wsgi.input"], declared, limit)
                _replace_body(environ, body)
                _check_s3_xml(environ, body)
            return  # object data streams on to moto; for S3, Content-Encoding describes the stored object
        stream = environ.get("wsgi.input")
        if stream is None or (declared is None and not chunked):
            return
        if gzipped:
            body = _inflate_capped(_chunks(stream, declared), limit)
            del environ["HTTP_CONTENT_ENCODING"]
        else:
            body = _read_capped(stream, declared, limit)
        body = self._check_json(environ, service, body)
        _replace_body(environ, body)

    def _check_json(self, environ: dict[str, Any], service: str | None, body: bytes) -> bytes:
        """A JSON-protocol body checked against its action's input shape (null members dropped)."""
        content_type = environ.get("CONTENT_TYPE", "").lower()
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        op = None
        if service and target:
            op = self.models.json_operation(service, target)
        elif service and (content_type.startswith("application/json") or not content_type) and body:
            op = self.models.rest_operation(service, environ.get("REQUEST_METHOD", "GET"),
                                             environ.get("PATH_INFO", "/"))
            if op is not None and op.input_shape is not None and op.input_shape.serialization.get("payload"):
                if op.name == "Invoke":
                    _check_invoke_nesting(body)
                return body  # the body is the payload itself (Lambda Invoke's event): its handler judges it
        is_json = "json" in content_type or target
        if op is None and not is_json:
            return body
        if not body.strip():
            if op is not None and op.input_shape is not None:
                check_shape(op.input_shape, {}, all_in_body=bool(target))  # required members are still required
            return body
        try:
            parsed = json.loads(body)
        except RecursionError:
            raise Refused("SerializationException", "The request body nests too deeply.") from None
        except (ValueError, UnicodeDecodeError):
            raise Refused("SerializationException", "Start of structure or map found where not expected: "
                                                    "the request body is not valid JSON.") from None
        if not isinstance(parsed, dict):
            raise Refused("SerializationException", "The request body must be a JSON object.")
        if op is None or op.input_shape is None:
            return body
        try:
            cleaned = check_shape(op.input_shape, parsed, all_in_body=bool(target))
        except RecursionError:
            raise Refused("SerializationException", "The request body nests too deeply.") from None
        if service == "kinesis" and op.name == "PutRecords":
            _check_put_records_size(cleaned)
        violations = range_violations(op.input_shape, cleaned) if service in RANGE_ERRORS else []
        if violations:  # AWS checks every modelled range before it acts (e.g. a pipe's MaximumRecordAgeInSeconds)
            count = f"{len(violations)} validation error{'s' if len(violations) > 1 else ''} detected"
            raise Refused(RANGE_ERRORS[service], f"{count}: " + "; ".join(violations))
        if cleaned == parsed:
            return body  # unchanged: pass the client's own bytes on
        return json.dumps(cleaned).encode()


KINESIS_PUT_RECORDS_MAX = 5 * MiB  # API_PutRecords.html: "5 MiB for the entire request, including partition keys"


def _check_put_records_size(body: dict[str, Any]) -> None:
    """Kinesis counts PutRecords' limit on the decoded data plus the partition keys, not on the JSON."""
    total = 0
    for record in body.get("Records") or []:
        if not isinstance(record, dict):
            continue
        data = record.get("Data") or ""
        total += len(data) * 3 // 4 - data[-2:].count("=") + len(str(record.get("PartitionKey", "")).encode())
    if total > KINESIS_PUT_RECORDS_MAX:
        raise Refused("InvalidArgumentException",
                      f"Records size of {total} bytes exceeds the limit of {KINESIS_PUT_RECORDS_MAX} bytes for "
                      f"the entire PutRecords request, including partition keys.")


def _check_invoke_nesting(body: bytes) -> None:
    """Lambda's event must be JSON (its handler says so when it is not); one nested deeper than a JSON
    parser can follow is refused here with Lambda's error for an event it cannot parse."""
    try:
        json.loads(body)
    except RecursionError:
        raise Refused("InvalidRequestContentException",
                      "Could not parse request body into json: the document nests too deeply.") from None
    except (ValueError, UnicodeDecodeError):
        return  # Lambda's handler answers InvalidRequestContentException with its own detail


def _chunks(stream: Any, declared: int | None) -> Iterable[bytes]:
    remaining = declared
    while remaining is None or remaining > 0:
        chunk = stream.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
        if not chunk:
            return
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


def _replace_body(environ: dict[str, Any], body: bytes) -> None:
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ.pop("wsgi.input_terminated", None)


def _start(response: AwsResponse, start_response: Callable[..., Any]) -> list[bytes]:
    from http import HTTPStatus

    headers = dict(response.headers)
    headers["Content-Length"] = str(len(response.body))
    start_response(f"{response.status} {HTTPStatus(response.status).phrase}", list(headers.items()))
    return [response.body]

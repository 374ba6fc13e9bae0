"""Which requests change state, and how their change is made durable.

Three kinds of request, decided from the request line and headers alone
(the SigV4 scope names the service, in the Authorization header or a presigned URL's query; a
write that names none is S3's, as moto routes it; `X-Amz-Target` or the query protocol's
`Action` names the action; REST services go by method and path):

- `READ`: changes nothing that must survive (Get*, List*, Describe*, Query, Lambda Invoke...);
- `LOGGED`: a data-plane write whose result the capture hooks put in the WAL
  (DynamoDB item writes, Kinesis puts, S3 object writes): the response waits for the fsync;
- `SNAPSHOT`: any other write (CreateTable, CreatePipe, PutBucketPolicy, UpdateFunctionCode...):
  rare, so the service's state is snapshotted before the response is sent.

CloudWatch PutMetricData and CloudWatch Logs PutLogEvents (which the local cloud's own runners
make many times a second) are `LOGGED` like the other data-plane writes: a snapshot of those
services per request would cost far more. So are Athena's StartQueryExecution and
StopQueryExecution: the execution record goes into the log through Athena's history
(localcloud/athena/history.py), and the query's result is an S3 object, logged as such.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from localcloud.routing import content_length, request_service

READ = "read"
LOGGED = "logged"
SNAPSHOT = "snapshot"

_READ_PREFIXES = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "Search", "Select", "Lookup",
                  "Check", "Test", "Filter", "Validate", "Estimate", "Preview", "Head", "Invoke", "Simulate",
                  "Decode", "Assume", "Poll", "TransactGet")
# Data-plane writes the capture hooks log (see localcloud/moto_patches.py, "durability capture").
_LOGGED_ACTIONS = {
    "dynamodb": {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
                 "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"},
    "kinesis": {"PutRecord", "PutRecords"},
    "firehose": {"PutRecord", "PutRecordBatch"},  # direct puts land in S3 through the S3 hooks
    "events": {"PutEvents"},  # moves data on, stores none
    "logs": {"PutLogEvents"},
    "monitoring": {"PutMetricData"},
    "cloudwatch": {"PutMetricData"},
    "athena": {"StartQueryExecution", "StopQueryExecution"},
}
# Hosts that name no bucket (path-style requests); any other dotted host is `<bucket>.<endpoint>`.
_PATH_STYLE_HOST = re.compile(r"[\d.]+|localhost|\[[0-9a-fA-F:]+\]|s3[.\w-]*amazonaws\.com")
_RPC_V2_PATH = re.compile(r"^/service/[^/]+/operation/([A-Za-z0-9]+)$")
_QUERY_PROTOCOL = {"iam", "sts", "monitoring", "sqs", "sns"}
# S3 subresources that change an object's or bucket's settings, not an object's bytes.
_S3_SETTINGS = re.compile(r"(^|&)(acl|tagging|retention|legal-hold|policy|versioning|lifecycle|cors|"
                          r"notification|encryption|website|logging|replication|ownershipControls|"
                          r"publicAccessBlock|object-lock|accelerate|requestPayment|intelligent-tiering|"
                          r"inventory|analytics|metrics)(=|&|$)")


@dataclass(frozen=True)
class Kind:
    kind: str
    service: str | None = None


def classify(environ: dict[str, Any]) -> Kind:
    service = request_service(environ)  # the Authorization header's scope, or a presigned URL's
    method = environ.get("REQUEST_METHOD", "GET").upper()
    if service is None:
        if method in ("GET", "HEAD", "OPTIONS"):
            return Kind(READ)
        # An anonymous write: moto answers unsigned requests as S3 (a public-write bucket, a form).
        return _classify_s3(environ, method)
    if service == "s3":
        return _classify_s3(environ, method)
    action = _action(environ, service)
    if action is not None:
        if action in _LOGGED_ACTIONS.get(service, ()):
            return Kind(LOGGED, service)
        if reads_only(action):
            return Kind(READ, service)
        return Kind(SNAPSHOT, service)
    # REST protocols (Lambda, Pipes, ...): by method and path.
    if method in ("GET", "HEAD", "OPTIONS"):
        return Kind(READ, service)
    path = environ.get("PATH_INFO", "")
    if service == "lambda" and path.endswith(("/invocations", "/invoke-async")):
        return Kind(READ, service)
    return Kind(SNAPSHOT, service)


def _classify_s3(environ: dict[str, Any], method: str) -> Kind:
    if method in ("GET", "HEAD", "OPTIONS"):
        return Kind(READ, "s3")
    query = environ.get("QUERY_STRING", "")
    has_key = bool(s3_bucket_and_key(environ)[1])
    if _S3_SETTINGS.search(query):
        return Kind(SNAPSHOT, "s3")
    if has_key:
        return Kind(LOGGED, "s3")  # PutObject, CopyObject, multipart, DeleteObject
    if method == "POST" and re.search(r"(^|&)delete(=|&|$)", query):
        return Kind(LOGGED, "s3")  # DeleteObjects
    if method == "POST" and "multipart/form-data" in environ.get("CONTENT_TYPE", ""):
        return Kind(LOGGED, "s3")  # browser-form PostObject
    return Kind(SNAPSHOT, "s3")  # CreateBucket, DeleteBucket, ...


def s3_bucket_and_key(environ: dict[str, Any]) -> tuple[str, str]:
    """(bucket, key) an S3 request names, path style or virtual-hosted; key '' for a bucket's own request."""
    path = environ.get("PATH_INFO", "/").lstrip("/")
    host = environ.get("HTTP_HOST", "").split(":")[0]
    if host and "." in host and not _PATH_STYLE_HOST.fullmatch(host):
        return host.split(".", 1)[0], path
    bucket, _, key = path.partition("/")
    return bucket, key


def reads_only(action: str) -> bool:
    """Whether an action (of a JSON or query protocol) only reads, by its name."""
    return action.startswith(_READ_PREFIXES)


def _action(environ: dict[str, Any], service: str) -> str | None:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1]
    rpc_v2 = _RPC_V2_PATH.match(environ.get("PATH_INFO", ""))
    if rpc_v2:  # Smithy RPC v2 CBOR (CloudWatch in current SDKs): the operation is in the path
        return rpc_v2.group(1)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    if service in _QUERY_PROTOCOL and environ.get("CONTENT_TYPE", "").startswith(
            "application/x-www-form-urlencoded"):
        body = _peek_body(environ)
        actions = parse_qs(body.decode("utf-8", "replace")).get("Action")
        return actions[0] if actions else None
    return None


def _peek_body(environ: dict[str, Any]) -> bytes:
    """Read the body and put it back, so whoever answers the request reads it too."""
    length = content_length(environ)
    stream = environ.get("wsgi.input")
    if stream is None or length <= 0:
        return b""
    body = stream.read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body

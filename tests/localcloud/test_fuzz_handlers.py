"""Property-based fuzzing of request bodies over HTTP: no body makes the local cloud answer 5xx.

hypothesis draws bodies (random bytes, random JSON, objects with the action's real member names
and values of any type, huge numbers, deep nesting) for our own handlers — Pipes REST, Glue,
Athena, Lambda Invoke, DynamoDB Streams — and for the DynamoDB and Kinesis actions moto answers
behind our guard. Every answer must be below 500, an error must be in AWS's shape (JSON `__type`
or `x-amzn-ErrorType`, with a message naming no Python exception), and the server must still
answer afterwards.
"""

from __future__ import annotations

import http.client
import io
import json
import re
import zipfile
from collections.abc import Iterator
from urllib.parse import urlsplit

import boto3
import botocore.session
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localcloud.server import HEALTH_PATH, LocalCloud
from localcloud.testing import running_localcloud

REGION = "us-east-1"
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_PYTHON_ERROR = re.compile(r"Traceback|\b(Type|Key|Value|Attribute|Index|Recursion|ZeroDivision|Unicode\w*)Error\b")
_MODELS = botocore.session.get_session()


def auth(service: str) -> str:
    return (f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/{REGION}/{service}/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature=0")


def client(cloud: LocalCloud, service: str):  # noqa: ANN201
    # Module-scoped fixtures run before conftest's per-test dummy credentials, so pass them here.
    return boto3.client(service, endpoint_url=cloud.url, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with running_localcloud(tmp_path_factory.mktemp("fuzz")) as c:
        ddb = client(c, "dynamodb")
        ddb.create_table(TableName="fuzz", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        client(c, "kinesis").create_stream(StreamName="fuzz", ShardCount=1)
        role = client(c, "iam").create_role(
            RoleName="fuzz", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("handler.py", "def handler(event, context):\n    return event\n")
        client(c, "lambda").create_function(
            FunctionName="fuzz-fn", Runtime="python3.12", Role=role, Handler="handler.handler",
            Code={"ZipFile": buf.getvalue()}, Timeout=5)
        yield c


def send(cloud: LocalCloud, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    parts = urlsplit(cloud.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers={"Content-Length": str(len(body)), **headers})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def assert_aws_answer(cloud: LocalCloud, status: int, headers: dict, body: bytes) -> None:
    assert status < 500, (status, body[:2000])
    if status >= 400:
        payload = json.loads(body)
        assert isinstance(payload, dict), body[:2000]
        code = payload.get("__type") or headers.get("x-amzn-errortype")
        assert code, body[:2000]
        message = payload.get("message", payload.get("Message"))
        assert isinstance(message, str), body[:2000]
        assert not _PYTHON_ERROR.search(message), message
    health_status, _, health = send(cloud, "GET", HEALTH_PATH, b"", {})
    assert health_status == 200 and json.loads(health)["status"] == "running"


# -- body strategies ---------------------------------------------------------
def _members(service: str, operation: str) -> list[str]:
    shape = _MODELS.get_service_model(service).operation_model(operation).input_shape
    names = list(shape.members) if shape is not None else []
    # nested member names too, one level down, so shaped bodies reach deeper than the top
    for member in list(names):
        sub = shape.members[member]
        inner = getattr(sub, "member", None) or getattr(sub, "value", None) or sub
        names += list(getattr(inner, "members", {}) or {})
    return sorted(set(names))


_NESTED_KEYS = ["S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL", "Data", "PartitionKey", "Path",
                "S3Targets", "Name", "Value"]
_SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**63, max_value=10**40)
            | st.floats(allow_nan=False) | st.text(max_size=40) | st.sampled_from(["", "fuzz", "0", "-1", "AA=="]))


def _json_values(keys: list[str]) -> st.SearchStrategy:
    return st.recursive(
        _SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(keys) | st.text(max_size=8),
                                                                    inner, max_size=4),
        max_leaves=12,
    )


def _deep(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def bodies(member_names: list[str]) -> st.SearchStrategy:
    keys = member_names + _NESTED_KEYS
    shaped = st.dictionaries(st.sampled_from(member_names or ["x"]), _json_values(keys), max_size=6)
    return st.one_of(
        st.binary(max_size=300),
        _json_values(keys).map(lambda v: json.dumps(v).encode()),
        shaped.map(lambda v: json.dumps(v).encode()),
        st.tuples(st.integers(min_value=10, max_value=20_000), st.sampled_from(["list", "dict"])).map(
            lambda t: _deep(*t)),
        st.integers(min_value=0, max_value=3).map(lambda n: b'{"Limit": ' + b"9" * (10 ** n * 5) + b"}"),
    )


# -- targets -----------------------------------------------------------------
JSON_TARGETS = {
    "glue": ("glue", "glue", "AWSGlue", "application/x-amz-json-1.1",
             ["CreateClassifier", "UpdateClassifier", "GetClassifier", "CreateCrawler", "UpdateCrawler",
              "StartCrawler", "BatchGetCrawlers", "ListCrawls", "GetCrawlerMetrics"]),
    "athena": ("athena", "athena", "AmazonAthena", "application/x-amz-json-1.1",
               ["StartQueryExecution", "GetQueryExecution", "BatchGetQueryExecution", "GetQueryResults",
                "StopQueryExecution", "CreateWorkGroup", "UpdateWorkGroup", "ListQueryExecutions"]),
    "dynamodbstreams": ("dynamodb", "dynamodbstreams", "DynamoDBStreams_20120810", "application/x-amz-json-1.0",
                        ["DescribeStream", "GetShardIterator", "GetRecords"]),
    "dynamodb": ("dynamodb", "dynamodb", "DynamoDB_20120810", "application/x-amz-json-1.0",
                 ["PutItem", "UpdateItem", "Query", "BatchWriteItem", "DescribeTable"]),
    "kinesis": ("kinesis", "kinesis", "Kinesis_20131202", "application/x-amz-json-1.1",
                ["PutRecord", "PutRecords", "GetShardIterator", "GetRecords", "DescribeStream"]),
}


@pytest.mark.parametrize("target", sorted(JSON_TARGETS))
def test_json_actions_never_answer_5xx(cloud: LocalCloud, target: str) -> None:
    signing, model, prefix, content_type, actions = JSON_TARGETS[target]
    strategies = {action: bodies(_members(model, action)) for action in actions}

    @FUZZ
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        action = data.draw(st.sampled_from(actions))
        body = data.draw(strategies[action])
        status, headers, resp = send(cloud, "POST", "/", body, {
            "Authorization": auth(signing), "X-Amz-Target": f"{prefix}.{action}", "Content-Type": content_type})
        assert_aws_answer(cloud, status, headers, resp)

    check()


REST_TARGETS = [
    ("POST", "/v1/pipes/fuzz-pipe", "CreatePipe"),
    ("PUT", "/v1/pipes/fuzz-pipe", "UpdatePipe"),
    ("POST", "/v1/pipes/fuzz-pipe/start", "StartPipe"),
    ("POST", "/v1/pipes/fuzz-pipe/stop", "StopPipe"),
]


def test_pipes_rest_handlers_never_answer_5xx(cloud: LocalCloud) -> None:
    strategies = {op: bodies(_members("pipes", op)) for _, _, op in REST_TARGETS}

    @FUZZ
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        method, path, op = data.draw(st.sampled_from(REST_TARGETS))
        body = data.draw(strategies[op])
        status, headers, resp = send(cloud, method, path, body, {
            "Authorization": auth("pipes"), "Content-Type": "application/json"})
        assert_aws_answer(cloud, status, headers, resp)

    check()


def test_lambda_invoke_never_answers_5xx(cloud: LocalCloud) -> None:
    @FUZZ
    @given(body=bodies(["key", "Records", "payload"]),
           invocation_type=st.sampled_from(["RequestResponse", "Event", "DryRun", "Bogus"]))
    def check(body: bytes, invocation_type: str) -> None:
        status, headers, resp = send(cloud, "POST", "/2015-03-31/functions/fuzz-fn/invocations", body, {
            "Authorization": auth("lambda"), "X-Amz-Invocation-Type": invocation_type})
        assert_aws_answer(cloud, status, headers, resp)

    check()


S3_TARGETS = [
    ("PUT", "/fuzz-bucket?tagging"), ("PUT", "/fuzz-bucket?versioning"), ("PUT", "/fuzz-bucket?lifecycle"),
    ("PUT", "/fuzz-bucket?cors"), ("POST", "/fuzz-bucket?delete"), ("PUT", "/fuzz-bucket?policy"),
    ("PUT", "/fuzz-bucket?notification"), ("PUT", "/fuzz-bucket/key?tagging"), ("PUT", "/fuzz-new-bucket"),
]
_XML_TAGS = st.sampled_from(["Tagging", "TagSet", "Tag", "Key", "Value", "VersioningConfiguration", "Status",
                             "LifecycleConfiguration", "Rule", "Expiration", "Days", "Delete", "Object",
                             "CORSConfiguration", "CORSRule", "AllowedMethod", "CreateBucketConfiguration",
                             "LocationConstraint", "Filter", "Prefix", "ID"])


def _xml_docs() -> st.SearchStrategy:
    leaf = st.tuples(_XML_TAGS, st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)).map(
        lambda t: f"<{t[0]}>{t[1].replace('&', '').replace('<', '')}</{t[0]}>")
    return st.recursive(leaf, lambda inner: st.tuples(_XML_TAGS, st.lists(inner, max_size=4)).map(
        lambda t: f"<{t[0]}>{''.join(t[1])}</{t[0]}>"), max_leaves=10).map(str.encode)


def test_s3_configuration_bodies_never_answer_5xx(cloud: LocalCloud) -> None:
    client(cloud, "s3").create_bucket(Bucket="fuzz-bucket")
    client(cloud, "s3").put_object(Bucket="fuzz-bucket", Key="key", Body=b"k")

    @FUZZ
    @given(target=st.sampled_from(S3_TARGETS),
           body=st.one_of(st.binary(max_size=300), _xml_docs(), bodies(["Version", "Statement", "Effect"])))
    def check(target: tuple[str, str], body: bytes) -> None:
        method, path = target
        status, _, resp = send(cloud, method, path, body, {"Authorization": auth("s3")})
        assert status < 500, (status, resp[:2000])
        if status >= 400:
            assert b"<Code>" in resp and b"<Message>" in resp, resp[:2000]
            assert not _PYTHON_ERROR.search(resp.decode(errors="replace")), resp[:2000]
        health_status, _, _ = send(cloud, "GET", HEALTH_PATH, b"", {})
        assert health_status == 200

    check()

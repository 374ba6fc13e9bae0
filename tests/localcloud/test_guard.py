"""The request guard over HTTP: moto-api closed, no CORS, foreign origins refused, size limits, bad bodies.

Every test talks to a real local cloud on a free port, with raw HTTP where the SDK would not send
what a hostile page or a broken client sends.
"""

from __future__ import annotations

import gzip
import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud.guard import RANGE_ERRORS, range_violations
from localcloud.routing import AwsServiceError
from localcloud.server import LocalCloud
from localcloud.testing import reset_moto, running_localcloud

REGION = "us-east-1"
EVIL = "http://evil.example"


def auth(service: str) -> str:
    """A SigV4 Authorization header naming `service` (moto does not verify signatures)."""
    return (f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/{REGION}/{service}/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature=0")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with running_localcloud(tmp_path_factory.mktemp("guard")) as c:
        yield c


def request(cloud: LocalCloud, method: str, path: str, body: bytes = b"",
            headers: dict[str, str] | None = None, send_body: bool = True) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request; `send_body=False` declares the Content-Length but sends nothing."""
    parts = urlsplit(cloud.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        if send_body and body:
            conn.send(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def ddb_call(cloud: LocalCloud, action: str, body: bytes, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return request(cloud, "POST", "/", body, {
        "Authorization": auth("dynamodb"), "X-Amz-Target": f"DynamoDB_20120810.{action}",
        "Content-Type": "application/x-amz-json-1.0", **headers,
    })


def assert_json_error(status: int, body: bytes, expected_status: int, code: str) -> dict:
    assert status == expected_status, body
    payload = json.loads(body)
    assert payload["__type"] == code, payload
    assert payload["message"]
    assert "Error:" not in payload["message"] and "Traceback" not in payload["message"]
    return payload


def cors_headers(headers: dict[str, str]) -> list[str]:
    return [k for k in headers if k.startswith("access-control-")]


@pytest.fixture
def table(cloud: LocalCloud) -> Iterator[str]:
    ddb = boto3.client("dynamodb", endpoint_url=cloud.url, region_name=REGION)
    name = f"guard-{time.monotonic_ns()}"
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    yield name
    ddb.delete_table(TableName=name)


# -- moto-api --------------------------------------------------------------
@pytest.mark.parametrize("path", ["/moto-api/reset", "/moto-api/seed?a=42", "/moto-api/data.json", "/moto-api/"])
def test_moto_api_is_off_by_default_and_reset_wipes_nothing(cloud: LocalCloud, table: str, path: str) -> None:
    status, _, body = request(cloud, "POST" if "data" not in path and path != "/moto-api/" else "GET", path)
    assert status == 404
    assert "--enable-moto-api" in json.loads(body)["message"]
    ddb = boto3.client("dynamodb", endpoint_url=cloud.url, region_name=REGION)
    assert table in ddb.list_tables()["TableNames"]


def test_moto_api_answers_when_enabled(tmp_path: Path) -> None:
    reset_moto()
    cloud = LocalCloud(port=0, data_dir=tmp_path, start_runners=False, moto_api=True).start()
    try:
        ddb = boto3.client("dynamodb", endpoint_url=cloud.url, region_name=REGION)
        ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        status, _, _ = request(cloud, "POST", "/moto-api/reset")
        assert status == 200
        assert ddb.list_tables()["TableNames"] == []
    finally:
        cloud.stop()
        reset_moto()


@pytest.mark.e2e
def test_python_m_localcloud_keeps_the_moto_api_off_unless_the_flag_is_given(tmp_path: Path) -> None:
    import os
    import re
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    root = Path(__file__).resolve().parents[2]
    for flag, expected in (([], 404), (["--enable-moto-api"], 200)):
        proc = subprocess.Popen(
            [sys.executable, "-m", "localcloud", "--port", "0", "--no-persist", "--no-runners",
             "--data-dir", str(tmp_path / f"d{len(flag)}"), *flag],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONPATH=str(root), PYTHONUNBUFFERED="1"))
        try:
            match = re.search(r"ready at (http://127\.0\.0\.1:\d+)", proc.stdout.readline())
            assert match, proc.stderr.read()
            req = urllib.request.Request(match.group(1) + "/moto-api/reset", data=b"", method="POST")
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            assert status == expected, flag
        finally:
            proc.terminate()
            proc.communicate(timeout=60)


# -- CORS and foreign origins ----------------------------------------------
def test_a_preflight_from_a_foreign_origin_is_refused_without_cors_headers(cloud: LocalCloud) -> None:
    status, headers, body = request(cloud, "OPTIONS", "/moto-api/reset", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert status in (403, 404)
    assert cors_headers(headers) == []
    status, headers, _ = request(cloud, "OPTIONS", "/", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-amz-target,authorization,content-type"})
    assert status == 403
    assert cors_headers(headers) == []


def test_a_simple_request_from_a_foreign_origin_is_refused_and_changes_nothing(cloud: LocalCloud) -> None:
    # A page can POST a form to any URL without a preflight; the query protocol would create the queue.
    form = b"Action=CreateQueue&QueueName=planted&Version=2012-11-05"
    status, headers, body = request(cloud, "POST", "/", form, {
        "Origin": EVIL, "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in body
    assert cors_headers(headers) == []
    sqs = boto3.client("sqs", endpoint_url=cloud.url, region_name=REGION)
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix="planted")


def test_same_origin_and_sdk_requests_pass_but_get_no_cors_headers(cloud: LocalCloud, table: str) -> None:
    own = f"http://127.0.0.1:{cloud.port}"
    status, headers, body = ddb_call(cloud, "DescribeTable", json.dumps({"TableName": table}).encode(), Origin=own)
    assert status == 200, body
    assert cors_headers(headers) == []
    status, headers, _ = ddb_call(cloud, "ListTables", b"{}")
    assert status == 200
    assert cors_headers(headers) == []


# -- request size ------------------------------------------------------------
def test_an_oversized_dynamodb_body_is_refused_on_its_declared_length_before_it_is_sent(cloud: LocalCloud) -> None:
    status, _, body = request(cloud, "POST", "/", headers={
        "Authorization": auth("dynamodb"), "X-Amz-Target": "DynamoDB_20120810.BatchWriteItem",
        "Content-Type": "application/x-amz-json-1.0", "Content-Length": str(16 * 1024 * 1024 + 1)},
        send_body=False)
    assert_json_error(status, body, 400, "ValidationException")
    assert "16 MB" in json.loads(body)["message"]


def test_a_gzip_bomb_is_refused_once_the_inflated_bytes_pass_the_limit(cloud: LocalCloud, table: str) -> None:
    inflated = b'{"TableName": "' + table.encode() + b'", "Item": {"id": {"S": "' + b"0" * (17 * 1024 * 1024) + b'"}}}'
    bomb = gzip.compress(inflated, compresslevel=9)
    assert len(bomb) < 100_000  # small on the wire
    status, _, body = ddb_call(cloud, "PutItem", bomb, **{"Content-Encoding": "gzip"})
    payload = assert_json_error(status, body, 400, "ValidationException")
    assert "after gzip decompression" in payload["message"]
    ddb = boto3.client("dynamodb", endpoint_url=cloud.url, region_name=REGION)
    assert ddb.scan(TableName=table)["Count"] == 0


def test_a_gzip_body_within_the_limit_is_inflated_and_served(cloud: LocalCloud, table: str) -> None:
    body = gzip.compress(json.dumps({"TableName": table, "Item": {"id": {"S": "zipped"}}}).encode())
    status, _, resp = ddb_call(cloud, "PutItem", body, **{"Content-Encoding": "gzip"})
    assert status == 200, resp
    ddb = boto3.client("dynamodb", endpoint_url=cloud.url, region_name=REGION)
    assert ddb.get_item(TableName=table, Key={"id": {"S": "zipped"}})["Item"]["id"]["S"] == "zipped"


def test_a_body_that_is_not_gzip_is_a_serialization_error(cloud: LocalCloud) -> None:
    status, _, body = ddb_call(cloud, "ListTables", b"not gzip at all", **{"Content-Encoding": "gzip"})
    assert_json_error(status, body, 400, "SerializationException")


def test_kinesis_lambda_and_s3_limits_give_each_services_own_error(cloud: LocalCloud) -> None:
    status, _, body = request(cloud, "POST", "/", headers={
        "Authorization": auth("kinesis"), "X-Amz-Target": "Kinesis_20131202.PutRecords",
        "Content-Type": "application/x-amz-json-1.1", "Content-Length": str(8 * 1024 * 1024)}, send_body=False)
    assert_json_error(status, body, 400, "InvalidArgumentException")
    status, headers, body = request(cloud, "POST", "/2015-03-31/functions/any/invocations", headers={
        "Authorization": auth("lambda"), "Content-Length": str(6 * 1024 * 1024 + 1)}, send_body=False)
    assert status == 413
    assert headers["x-amzn-errortype"] == "RequestTooLargeException"
    assert "6291456" in json.loads(body)["message"]
    status, headers, body = request(cloud, "POST", "/2015-03-31/functions/any/invocations", headers={
        "Authorization": auth("lambda"), "X-Amz-Invocation-Type": "Event",
        "Content-Length": str(1024 * 1024 + 1)}, send_body=False)
    assert status == 413
    status, _, body = request(cloud, "PUT", "/bucket/key", headers={
        "Authorization": auth("s3"), "Content-Length": str(5 * 1024**3 + 1)}, send_body=False)
    assert status == 400
    assert b"<Code>EntityTooLarge</Code>" in body


# -- malformed bodies --------------------------------------------------------
@pytest.mark.parametrize(("body", "code"), [
    (b"{not json", "SerializationException"),
    (b"[1, 2]", "SerializationException"),
    (b'{"TableName": 5, "Item": {}}', "SerializationException"),
    (b'{"TableName": "t", "Item": {"id": {"S": ["a"]}}}', "SerializationException"),
    (b'{"TableName": "t", "Item": {"id": {"B": "%%%not base64"}}}', "SerializationException"),
    (b'{"TableName": "t"}', "ValidationException"),
    (b"[" * 50_000 + b"]" * 50_000, "SerializationException"),
    (b'{"TableName": "t", "Item": ' + b'{"a": {"M": ' * 200 + b"{}" + b"}}" * 200 + b"}", "SerializationException"),
])
def test_a_malformed_dynamodb_body_gets_awss_400(cloud: LocalCloud, body: bytes, code: str) -> None:
    status, _, resp = ddb_call(cloud, "PutItem", body)
    assert_json_error(status, resp, 400, code)


def test_numbers_that_do_not_fit_their_member_are_serialization_errors(cloud: LocalCloud) -> None:
    for limit in (2**31, -(2**31) - 1, 10**40, 1.5, True, "10"):
        status, _, resp = request(cloud, "POST", "/", json.dumps({"ShardIterator": "x", "Limit": limit}).encode(), {
            "Authorization": auth("kinesis"), "X-Amz-Target": "Kinesis_20131202.GetRecords",
            "Content-Type": "application/x-amz-json-1.1"})
        assert_json_error(status, resp, 400, "SerializationException")


@pytest.mark.parametrize("service, target, body, code, message", [
    ("dynamodb", "DynamoDB_20120810.Scan", {"TableName": "t", "Limit": 0}, "ValidationException",
     "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value "
     "greater than or equal to 1"),
    ("athena", "AmazonAthena.ListQueryExecutions", {"MaxResults": 51}, "InvalidRequestException",
     "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: Member must have "
     "value less than or equal to 50"),
])
def test_a_number_outside_its_modelled_range_is_a_validation_error(cloud: LocalCloud, service: str, target: str,
                                                                    body: dict, code: str, message: str) -> None:
    """botocore's model carries AWS's ranges; boto3 checks only the minimums, AWS checks both."""
    assert service in RANGE_ERRORS
    status, _, resp = request(cloud, "POST", "/", json.dumps(body).encode(), {
        "Authorization": auth(service), "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
    assert_json_error(status, resp, 400, code)
    assert json.loads(resp)["message"] == message


def test_range_violations_reach_integers_inside_lists_and_maps() -> None:
    from botocore.model import ShapeResolver

    shapes = ShapeResolver({
        "In": {"type": "structure", "members": {"Items": {"shape": "L"}, "ByName": {"shape": "M"}}},
        "L": {"type": "list", "member": {"shape": "Small"}},
        "M": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "Small"}},
        "S": {"type": "string"},
        "Small": {"type": "integer", "min": 1, "max": 5},
    })
    found = range_violations(shapes.get_shape_by_name("In"), {"Items": [3, 9], "ByName": {"a": 0, "b": 2}})
    assert found == [
        "Value '9' at 'items.2.member' failed to satisfy constraint: Member must have value less than or equal to 5",
        "Value '0' at 'byName.a' failed to satisfy constraint: Member must have value greater than or equal to 1"]


def test_a_service_outside_range_errors_is_left_to_its_own_handler(cloud: LocalCloud) -> None:
    """Kinesis answers a GetRecords Limit over 10,000 with InvalidArgumentException (API_GetRecords),
    not the generic ValidationException: the guard leaves it alone."""
    status, _, resp = request(cloud, "POST", "/", json.dumps({"ShardIterator": "x", "Limit": 10001}).encode(), {
        "Authorization": auth("kinesis"), "X-Amz-Target": "Kinesis_20131202.GetRecords",
        "Content-Type": "application/x-amz-json-1.1"})
    assert "failed to satisfy constraint" not in resp.decode(), resp


def test_a_null_member_is_an_absent_member(cloud: LocalCloud, table: str) -> None:
    body = json.dumps({"TableName": table, "Item": {"id": {"S": "n"}}, "ConditionExpression": None}).encode()
    status, _, resp = ddb_call(cloud, "PutItem", body)
    assert status == 200, resp


def test_a_malformed_s3_configuration_body_is_malformed_xml(cloud: LocalCloud) -> None:
    s3 = boto3.client("s3", endpoint_url=cloud.url, region_name=REGION)
    s3.create_bucket(Bucket="guard-xml")
    for body in (b"<Tagging><TagSet>", b"not xml", b'<!DOCTYPE x [<!ENTITY a "b">]><Tagging/>'):
        status, _, resp = request(cloud, "PUT", "/guard-xml?tagging", body, {"Authorization": auth("s3")})
        assert status == 400, resp
        assert b"<Code>MalformedXML</Code>" in resp
    # an object upload is data, never parsed
    status, _, resp = request(cloud, "PUT", "/guard-xml/k", b"<not xml", {"Authorization": auth("s3")})
    assert status == 200, resp
    assert s3.get_object(Bucket="guard-xml", Key="k")["Body"].read() == b"<not xml"


def test_a_handler_failure_is_a_500_that_names_no_python_exception(cloud: LocalCloud) -> None:
    @cloud.router.action("glue", "GuardTestExplode")
    def explode(_request):  # noqa: ANN001, ANN202
        raise ZeroDivisionError("secret internals")

    status, _, resp = request(cloud, "POST", "/", b"{}", {
        "Authorization": auth("glue"), "X-Amz-Target": "AWSGlue.GuardTestExplode",
        "Content-Type": "application/x-amz-json-1.1"})
    payload = assert_json_error(status, resp, 500, "InternalFailure")
    assert "ZeroDivisionError" not in resp.decode() and "secret internals" not in resp.decode()
    assert "log" in payload["message"]


def test_a_handlers_own_aws_error_still_passes_through(cloud: LocalCloud) -> None:
    @cloud.router.action("glue", "GuardTestRefuse")
    def refuse(_request):  # noqa: ANN001, ANN202
        raise AwsServiceError("EntityNotFoundException", "no such thing")

    status, _, resp = request(cloud, "POST", "/", b"{}", {
        "Authorization": auth("glue"), "X-Amz-Target": "AWSGlue.GuardTestRefuse",
        "Content-Type": "application/x-amz-json-1.1"})
    assert_json_error(status, resp, 400, "EntityNotFoundException")
    glue = boto3.client("glue", endpoint_url=cloud.url, region_name=REGION)
    with pytest.raises(ClientError) as exc:
        glue.get_crawler(Name="does-not-exist")
    assert exc.value.response["Error"]["Code"] == "EntityNotFoundException"


def test_kinesis_put_records_is_limited_on_its_decoded_data_plus_keys(cloud: LocalCloud) -> None:
    import base64

    kinesis = boto3.client("kinesis", endpoint_url=cloud.url, region_name=REGION)
    kinesis.create_stream(StreamName="guard-size", ShardCount=1)
    blob = base64.b64encode(b"x" * (1024 * 1024 - 16)).decode()  # each record just under 1 MiB with its key

    def put(count: int, extra: int = 0) -> tuple[int, bytes]:
        records = [{"Data": blob, "PartitionKey": f"key-{i}"} for i in range(count)]
        if extra:
            records.append({"Data": base64.b64encode(b"y" * extra).decode(), "PartitionKey": "extra"})
        status, _, body = request(cloud, "POST", "/", json.dumps({"StreamName": "guard-size", "Records": records}).encode(), {
            "Authorization": auth("kinesis"), "X-Amz-Target": "Kinesis_20131202.PutRecords",
            "Content-Type": "application/x-amz-json-1.1"})
        return status, body

    status, body = put(5)  # 5 MiB minus a little: taken
    assert status == 200, body
    status, body = put(5, extra=1024)  # over 5 MiB decoded, though the JSON is under the HTTP cap
    payload = assert_json_error(status, body, 400, "InvalidArgumentException")
    assert "5242880" in payload["message"]
    shard = kinesis.list_shards(StreamName="guard-size")["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName="guard-size", ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert len(kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"]) == 5


def test_s3_configuration_bodies_need_their_documents_root_and_a_body(cloud: LocalCloud) -> None:
    s3 = boto3.client("s3", endpoint_url=cloud.url, region_name=REGION)
    s3.create_bucket(Bucket="guard-root")
    status, _, resp = request(cloud, "PUT", "/guard-root?versioning", b"<Tagging/>", {"Authorization": auth("s3")})
    assert status == 400 and b"<Code>MalformedXML</Code>" in resp
    status, _, resp = request(cloud, "PUT", "/guard-root?tagging", b"", {"Authorization": auth("s3")})
    assert status == 400 and b"<Code>MissingRequestBodyError</Code>" in resp
    status, _, resp = request(cloud, "PUT", "/guard-root?acl", b"", {"Authorization": auth("s3"), "x-amz-acl": "private"})
    assert status == 200, resp  # a canned ACL needs no body
    body = (b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>k</Key>'
            b"<Value>v</Value></Tag></TagSet></Tagging>")
    status, _, resp = request(cloud, "PUT", "/guard-root?tagging", body, {"Authorization": auth("s3")})
    assert status in (200, 204), resp
    assert s3.get_bucket_tagging(Bucket="guard-root")["TagSet"] == [{"Key": "k", "Value": "v"}]


@pytest.mark.parametrize("path", ["//moto-api/reset", "/MOTO-API/reset", "/./moto-api/reset", "/moto-api%2Freset"])
def test_no_spelling_of_the_moto_api_path_reaches_it_and_none_is_a_500(cloud: LocalCloud, table: str, path: str) -> None:
    status, _, body = request(cloud, "POST", path)
    assert status in (403, 404), body
    assert json.loads(body)["__type"] in ("NotFound", "MissingAuthenticationToken")
    ddb = boto3.client("dynamodb", endpoint_url=cloud.url, region_name=REGION)
    assert table in ddb.list_tables()["TableNames"]


def test_the_sdk_gets_the_size_error_for_a_batch_over_16_mb(cloud: LocalCloud, table: str) -> None:
    from botocore.config import Config

    ddb = boto3.client("dynamodb", endpoint_url=cloud.url, region_name=REGION,
                       config=Config(retries={"max_attempts": 1}))
    big = "x" * (700 * 1024)
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": {"id": {"S": str(i)}, "v": {"S": big}}}} for i in range(25)]})
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert "16 MB" in exc.value.response["Error"]["Message"]
    assert ddb.scan(TableName=table)["Count"] == 0

"""Which requests the write-ahead log waits for (localcloud/durability/requests.py): every write,
however it is signed. A presigned URL carries its SigV4 scope in the query string, and an anonymous
PUT names no service at all; both were taken for reads, so their 200 did not wait for the log's fsync."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.durability.requests import LOGGED, READ, SNAPSHOT, classify

HEADER = "AWS4-HMAC-SHA256 Credential=test/20261207/ap-south-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
PRESIGNED = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20261207%2Fap-south-1%2Fs3%2Faws4_request"
             "&X-Amz-Date=20261207T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=0")


def environ(method: str, path: str, query: str = "", service: str | None = None, target: str = "") -> dict[str, Any]:
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": "127.0.0.1:4566"}
    if service:
        env["HTTP_AUTHORIZATION"] = HEADER.format(service=service)
    if target:
        env["HTTP_X_AMZ_TARGET"] = target
    return env


@pytest.mark.parametrize("request_, kind, service", [
    (environ("PUT", "/lake/orders/a.json", service="s3"), LOGGED, "s3"),
    (environ("PUT", "/lake/orders/a.json", PRESIGNED), LOGGED, "s3"),
    (environ("PUT", "/lake/orders/a.json"), LOGGED, "s3"),  # anonymous: moto answers it as S3
    (environ("PUT", "/lake", PRESIGNED + "&policy"), SNAPSHOT, "s3"),
    (environ("GET", "/lake/orders/a.json", PRESIGNED), READ, "s3"),
    (environ("GET", "/lake/orders/a.json"), READ, None),
    (environ("POST", "/", service="dynamodb", target="DynamoDB_20120810.PutItem"), LOGGED, "dynamodb"),
    (environ("POST", "/", service="glue", target="AWSGlue.GetTables"), READ, "glue"),
    (environ("POST", "/", service="glue", target="AWSGlue.UpdateTable"), SNAPSHOT, "glue"),
])
def test_every_write_is_waited_for_however_it_is_signed(request_: dict[str, Any], kind: str,
                                                         service: str | None) -> None:
    found = classify(request_)
    assert (found.kind, found.service) == (kind, service)


def test_presigned_and_anonymous_puts_survive_kill_9(tmp_path: Any) -> None:
    import signal
    import urllib.request

    import boto3

    from localcloud.testing import start_localcloud_process, stop_localcloud_process

    def s3_of(url: str) -> Any:
        return boto3.client("s3", endpoint_url=url, region_name="ap-south-1", aws_access_key_id="test",
                            aws_secret_access_key="test")

    def put(url: str, body: bytes) -> None:
        request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request) as answer:
            assert answer.status == 200

    process, url = start_localcloud_process(tmp_path / "data", stderr_log=tmp_path / "stderr.txt")
    try:
        s3 = s3_of(url)
        s3.create_bucket(Bucket="put-anyhow", CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
        written = {}
        for n in range(15):
            written[f"presigned/{n}"] = f"presigned {n}".encode()
            put(s3.generate_presigned_url("put_object", Params={"Bucket": "put-anyhow", "Key": f"presigned/{n}"}),
                written[f"presigned/{n}"])
            written[f"anonymous/{n}"] = f"anonymous {n}".encode()
            put(f"{url}/put-anyhow/anonymous/{n}", written[f"anonymous/{n}"])
        process.send_signal(signal.SIGKILL)  # right after the last 200
        process.wait(timeout=30)
        process, url = start_localcloud_process(tmp_path / "data", stderr_log=tmp_path / "stderr-2.txt")
        s3 = s3_of(url)
        for key, body in written.items():
            assert s3.get_object(Bucket="put-anyhow", Key=key)["Body"].read() == body, f"{key} lost"
    finally:
        stop_localcloud_process(process)

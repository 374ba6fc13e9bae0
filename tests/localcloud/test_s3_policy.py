"""Bucket policies see the request's transport: TLS-only denies plain HTTP from the network, not loopback."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

from localcloud.s3.policy import is_secure_transport, resolve_conditions

TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::lake", "arn:aws:s3:::lake/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


def test_tls_only_deny_applies_to_insecure_requests_only() -> None:
    assert resolve_conditions(TLS_ONLY, secure_transport=True)["Statement"] == []
    kept = resolve_conditions(TLS_ONLY, secure_transport=False)["Statement"]
    assert len(kept) == 1 and "Condition" not in kept[0] and kept[0]["Effect"] == "Deny"


def test_conditions_we_cannot_evaluate_are_left_alone() -> None:
    other = {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}]}
    assert resolve_conditions(other, secure_transport=True) == other


@pytest.mark.parametrize(
    ("environ", "secure"),
    [
        ({"wsgi.url_scheme": "http", "REMOTE_ADDR": "127.0.0.1"}, True),
        ({"wsgi.url_scheme": "http", "REMOTE_ADDR": "::1"}, True),
        ({"wsgi.url_scheme": "http", "REMOTE_ADDR": "192.0.2.10"}, False),
        ({"wsgi.url_scheme": "https", "REMOTE_ADDR": "192.0.2.10"}, True),
        ({"wsgi.url_scheme": "http"}, False),
    ],
)
def test_secure_transport_from_the_connection(environ: dict[str, str], secure: bool) -> None:
    assert is_secure_transport(environ) is secure


def test_loopback_clients_can_use_a_tls_only_bucket(aws) -> None:  # noqa: ANN001
    s3 = aws["s3"]
    s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    s3.put_bucket_policy(Bucket="lake", Policy=json.dumps(TLS_ONLY))
    s3.put_object(Bucket="lake", Key="orders/a.json", Body=b"{}\n")
    assert s3.get_object(Bucket="lake", Key="orders/a.json")["Body"].read() == b"{}\n"
    # A Deny without a condition still denies: the policy is really evaluated.
    deny_all = json.loads(json.dumps(TLS_ONLY))
    del deny_all["Statement"][0]["Condition"]
    deny_all["Statement"][0]["Action"] = "s3:GetObject"
    s3.put_bucket_policy(Bucket="lake", Policy=json.dumps(deny_all))
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.get_object(Bucket="lake", Key="orders/a.json")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

"""boto3 on a local cloud: one client factory, the orders table, names no other test uses.

Module-scoped fixtures run before conftest's per-test dummy credentials are set, so the client
factory passes the dummy credentials itself.
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3

REGION = "ap-south-1"
ACCOUNT = "123456789012"


def client(cloud: Any, service: str, region: str = REGION, config: Any = None) -> Any:
    """A boto3 client for `service` on the local cloud `cloud` (anything with a `.url`)."""
    return boto3.client(service, endpoint_url=cloud.url, region_name=region,
                        aws_access_key_id="test", aws_secret_access_key="test", config=config)


class Clients:
    """boto3 clients on one local cloud, each made once: `aws["s3"]`, or `aws("s3", "us-east-1")`."""

    def __init__(self, cloud: Any):
        self.cloud = cloud
        self._made: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str = REGION) -> Any:
        if (service, region) not in self._made:
            self._made[service, region] = client(self.cloud, service, region)
        return self._made[service, region]

    def __getitem__(self, service: str) -> Any:
        return self(service)


def create_orders_table(dynamodb: Any, name: str, stream: str | None = "NEW_AND_OLD_IMAGES") -> dict[str, Any]:
    """The orders table as the pipeline uses it (key `orderid`, on demand); returns its TableDescription.

    `stream` is the stream view type, or None for a table without a stream.
    """
    extra: dict[str, Any] = {}
    if stream is not None:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
    return dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )["TableDescription"]


def unique_name(prefix: str) -> str:
    """`prefix` plus a random suffix: a resource no other test (or earlier failure) can collide with."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"

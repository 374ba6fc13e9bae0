"""Read the crawler's data from S3 over HTTP, through the service plane's S3 client.

The crawler reads another service's data, so it goes over HTTP as Glue does on
AWS (see localcloud/plane.py): it sees exactly what an S3 client sees (latest
versions, no delete markers, the bucket's policy applied).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError


class S3PathError(ValueError):
    """An S3 target path that is not s3://bucket[/prefix], or a bucket that does not exist."""


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime


def split_s3_path(path: str) -> tuple[str, str]:
    """'s3://bucket/a/b' -> ('bucket', 'a/b/'); the prefix always ends in '/' unless empty."""
    parsed = urlparse(path or "")
    if parsed.scheme.lower() not in ("s3", "s3a", "s3n") or not parsed.netloc:
        raise S3PathError(f"{path!r} is not an S3 path of the form s3://bucket/prefix/")
    prefix = parsed.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return parsed.netloc, prefix


class S3Reader:
    """Lists and reads objects with an S3 client (the plane's loopback client in the local cloud)."""

    def __init__(self, s3: Any):
        self._s3 = s3

    def list(self, bucket: str, prefix: str) -> list[S3Object]:
        """Every current object under `prefix`, sorted by key."""
        found = []
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    found.append(S3Object(bucket, item["Key"], item["Size"], item["ETag"].strip('"'),
                                          item["LastModified"]))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
                raise S3PathError(f"S3 bucket {bucket} does not exist") from None
            raise
        return sorted(found, key=lambda o: o.key)

    def read(self, obj: S3Object) -> bytes:
        try:
            return self._s3.get_object(Bucket=obj.bucket, Key=obj.key)["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "NoSuchBucket":
                raise S3PathError(f"S3 bucket {obj.bucket} does not exist") from None
            if code == "NoSuchKey":
                raise S3PathError(f"s3://{obj.bucket}/{obj.key} disappeared while crawling") from None
            raise

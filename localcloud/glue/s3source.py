"""Read the crawler's data from the emulated S3 (moto's backend, in-process).

The crawler runs inside the local cloud, next to moto's S3 state, so it reads
objects directly rather than over HTTP; it sees exactly what an S3 client would
(latest versions, no delete markers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse


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
    """Lists and reads objects of one account from moto's S3 backend."""

    def __init__(self, account_id: str):
        self.account_id = account_id

    def _backend(self):  # type: ignore[no-untyped-def]
        from moto.s3.models import s3_backends

        return s3_backends[self.account_id]["aws"]

    def _bucket(self, bucket: str):  # type: ignore[no-untyped-def]
        from moto.s3.exceptions import MissingBucket

        try:
            return self._backend().get_bucket(bucket)
        except MissingBucket:
            raise S3PathError(f"S3 bucket {bucket} does not exist") from None

    def list(self, bucket: str, prefix: str) -> list[S3Object]:
        """Every current object under `prefix`, sorted by key."""
        from moto.s3.models import FakeKey

        store = self._bucket(bucket)
        found = []
        for key_name, key in store.keys.items():
            if not key_name.startswith(prefix) or not isinstance(key, FakeKey):
                continue  # delete markers are not objects
            found.append(S3Object(bucket, key_name, key.size, key.etag.strip('"'), key.last_modified))
        return sorted(found, key=lambda o: o.key)

    def read(self, obj: S3Object) -> bytes:
        key = self._bucket(obj.bucket).keys.get(obj.key)
        if key is None:
            raise S3PathError(f"s3://{obj.bucket}/{obj.key} disappeared while crawling")
        return key.value

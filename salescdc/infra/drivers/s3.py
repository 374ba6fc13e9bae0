"""S3 lake bucket driver: public access blocked, SSE-S3, TLS-only policy, results lifecycle."""

from __future__ import annotations

import json
from typing import Any

from salescdc.infra.drivers.base import Driver, error_code, missing_on, tag_list
from salescdc.infra.model import Observed, Resource, ResourceError

_SETTINGS = ("PublicAccessBlockConfiguration", "ServerSideEncryptionConfiguration", "Policy", "LifecycleConfiguration")


class BucketDriver(Driver):
    kind = "s3.bucket"
    immutable = frozenset({"Region"})

    def read(self, res: Resource) -> Observed | None:
        s3 = self.client("s3")
        # ListBuckets only lists the caller's own buckets, so a name taken by another
        # account reads as missing here and CreateBucket then says BucketAlreadyExists.
        owned = s3.list_buckets(Prefix=res.name).get("Buckets", [])
        if not any(b["Name"] == res.name for b in owned):
            return None
        region = s3.get_bucket_location(Bucket=res.name).get("LocationConstraint") or "us-east-1"
        actual: dict[str, Any] = {"Bucket": res.name, "Region": region}
        pab = missing_on({"NoSuchPublicAccessBlockConfiguration"}, lambda: s3.get_public_access_block(Bucket=res.name))
        actual["PublicAccessBlockConfiguration"] = (pab or {}).get("PublicAccessBlockConfiguration")
        enc = missing_on(
            {"ServerSideEncryptionConfigurationNotFoundError"}, lambda: s3.get_bucket_encryption(Bucket=res.name)
        )
        actual["ServerSideEncryptionConfiguration"] = (enc or {}).get("ServerSideEncryptionConfiguration")
        pol = missing_on({"NoSuchBucketPolicy"}, lambda: s3.get_bucket_policy(Bucket=res.name))
        actual["Policy"] = json.loads(pol["Policy"]) if pol else None
        life = missing_on(
            {"NoSuchLifecycleConfiguration"}, lambda: s3.get_bucket_lifecycle_configuration(Bucket=res.name)
        )
        actual["LifecycleConfiguration"] = {"Rules": life["Rules"]} if life else None
        tagging = missing_on({"NoSuchTagSet"}, lambda: s3.get_bucket_tagging(Bucket=res.name))
        tags = {t["Key"]: t["Value"] for t in (tagging or {}).get("TagSet", [])}
        return Observed(state="AVAILABLE", tags=tags, actual=actual, outputs={"Arn": f"arn:aws:s3:::{res.name}"})

    def create(self, res: Resource) -> None:
        s3 = self.client("s3")
        kwargs: dict[str, Any] = {"Bucket": res.name}
        if res.spec["Region"] != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": res.spec["Region"]}
        try:
            s3.create_bucket(**kwargs)
        except Exception as exc:
            code = error_code(exc)
            if code == "BucketAlreadyExists":
                raise ResourceError(
                    f"The bucket name {res.name} is already taken by another AWS account; "
                    "choose another with SALESCDC_BUCKET."
                ) from None
            if code != "BucketAlreadyOwnedByYou":
                raise
        # Tag first: if a later call fails, the next `up` still recognises the bucket as ours.
        s3.put_bucket_tagging(Bucket=res.name, Tagging={"TagSet": tag_list(dict(res.tags))})
        for key in _SETTINGS:
            self._apply(res, key)

    def _apply(self, res: Resource, key: str) -> None:
        s3 = self.client("s3")
        value = res.spec[key]
        if key == "PublicAccessBlockConfiguration":
            s3.put_public_access_block(Bucket=res.name, PublicAccessBlockConfiguration=value)
        elif key == "ServerSideEncryptionConfiguration":
            s3.put_bucket_encryption(Bucket=res.name, ServerSideEncryptionConfiguration=value)
        elif key == "Policy":
            s3.put_bucket_policy(Bucket=res.name, Policy=json.dumps(value))
        elif key == "LifecycleConfiguration":
            s3.put_bucket_lifecycle_configuration(Bucket=res.name, LifecycleConfiguration=value)

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        if any(d.startswith("Region") for d in drift):
            raise ResourceError(
                f"Bucket {res.name} is in {observed.actual['Region']}, not {res.spec['Region']}; "
                "a bucket cannot move regions: set AWS_REGION to its region or choose another SALESCDC_BUCKET."
            )
        if any(d.startswith("tags") for d in drift):
            self.client("s3").put_bucket_tagging(Bucket=res.name, Tagging={"TagSet": tag_list(dict(res.tags))})
        for key in _SETTINGS:
            if any(d.startswith(key) for d in drift):
                self._apply(res, key)

    def data_guard(self, res: Resource, observed: Observed) -> str | None:
        s3 = self.client("s3")
        listed = s3.list_object_versions(Bucket=res.name, MaxKeys=1)
        if listed.get("Versions") or listed.get("DeleteMarkers"):
            return f"bucket {res.name} holds data; kept (pass --delete-data to delete it and everything in it)"
        return None

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        s3 = self.client("s3")
        if delete_data:
            # Every version and delete marker, so versioned buckets empty too.
            paginator = s3.get_paginator("list_object_versions")
            for page in paginator.paginate(Bucket=res.name):
                batch = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                for i in range(0, len(batch), 1000):
                    s3.delete_objects(Bucket=res.name, Delete={"Objects": batch[i : i + 1000], "Quiet": True})
        s3.delete_bucket(Bucket=res.name)

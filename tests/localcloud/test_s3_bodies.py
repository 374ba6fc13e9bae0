"""An object is the bytes that were PUT, whatever the request's Content-Type: a form type
(application/x-www-form-urlencoded, multipart/form-data) is the object's metadata, not a form to
parse. moto alone answered such a PutObject or UploadPart 200 and stored no bytes."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest

from tests.support.aws import REGION, client, unique_name

BODY = b"a=1&b=2\n"


@pytest.fixture
def bucket(cloud: Any) -> tuple[Any, str]:
    s3, name = client(cloud, "s3"), unique_name("bodies")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return s3, name


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_put_object_with_a_form_content_type_keeps_its_bytes(bucket: tuple[Any, str], content_type: str) -> None:
    s3, name = bucket
    s3.put_object(Bucket=name, Key="form/object.txt", Body=BODY, ContentType=content_type)
    stored = s3.get_object(Bucket=name, Key="form/object.txt")
    assert stored["Body"].read() == BODY
    assert stored["ContentType"] == content_type


def test_upload_part_with_a_form_content_type_keeps_its_bytes(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    upload = s3.create_multipart_upload(Bucket=name, Key="form/multipart.txt",
                                        ContentType="application/x-www-form-urlencoded")
    part = s3.upload_part(Bucket=name, Key="form/multipart.txt", UploadId=upload["UploadId"], PartNumber=1,
                          Body=BODY)
    s3.complete_multipart_upload(Bucket=name, Key="form/multipart.txt", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
    assert s3.get_object(Bucket=name, Key="form/multipart.txt")["Body"].read() == BODY


def test_a_presigned_put_from_a_plain_http_client_keeps_its_bytes(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    url = s3.generate_presigned_url("put_object", Params={"Bucket": name, "Key": "form/presigned.txt"})
    # urllib sends a body as application/x-www-form-urlencoded unless told otherwise
    with urllib.request.urlopen(urllib.request.Request(url, data=BODY, method="PUT")) as answer:
        assert answer.status == 200
    assert s3.get_object(Bucket=name, Key="form/presigned.txt")["Body"].read() == BODY

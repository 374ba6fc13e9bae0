"""IAM documents pass parliament with no findings; the Lambda zip is deterministic."""

from __future__ import annotations

import hashlib
import json
import zipfile
from io import BytesIO
from pathlib import Path

import parliament
import pytest

from salescdc.infra import policies
from salescdc.infra.model import DEFAULT_LAMBDA_SOURCE, ResourceError
from salescdc.infra.package import build_zip, code_sha256
from salescdc.infra.resources import ROLE, declare
from salescdc.settings import Settings

ACCOUNT = "123456789012"


def _roles() -> list:
    return [r for r in declare(Settings(), ACCOUNT, DEFAULT_LAMBDA_SOURCE) if r.kind == ROLE]


def _findings(doc: dict) -> list[tuple[str, object]]:
    return [(f.issue, f.detail) for f in parliament.analyze_policy_string(json.dumps(doc)).findings]


@pytest.mark.parametrize("role", _roles(), ids=lambda r: r.name)
def test_inline_policies_have_no_findings_and_no_wildcard_actions(role) -> None:
    for name, doc in role.spec["Policies"].items():
        assert _findings(doc) == [], name
        for stmt in doc["Statement"]:
            assert all("*" not in action for action in stmt["Action"])
            if stmt["Resource"] == ["*"]:
                # Only where the API has no resource-level permission at all.
                assert stmt["Action"] == ["dynamodb:ListStreams"]


@pytest.mark.parametrize("role", _roles(), ids=lambda r: r.name)
def test_trust_policy_names_exactly_one_service(role) -> None:
    doc = role.spec["AssumeRolePolicyDocument"]
    (stmt,) = doc["Statement"]
    assert stmt["Action"] == "sts:AssumeRole"
    assert list(stmt["Principal"]) == ["Service"]
    expected = {"process-kinesis-firehose-role": "lambda.amazonaws.com",
                "kinesis-to-s3-nrt-batch-role": "firehose.amazonaws.com",
                "sales-ingestion-dynamodb-to-kinesis-role": "pipes.amazonaws.com",
                "Kinesis-s3-data-crawler-role": "glue.amazonaws.com",
                "sales-cdc-current-state-role": "scheduler.amazonaws.com"}[role.name]
    assert stmt["Principal"]["Service"] == expected
    # parliament lints identity policies; a trust policy is the role's resource policy,
    # so lint it with the role as its Resource.
    linted = {"Version": doc["Version"], "Statement": [dict(stmt, Resource=f"arn:aws:iam::{ACCOUNT}:role/{role.name}")]}
    linted["Statement"][0].pop("Principal")
    assert _findings(linted) == []


def test_bucket_policy_denies_plain_http_and_lints_clean() -> None:
    bucket = next(r for r in declare(Settings(), ACCOUNT, DEFAULT_LAMBDA_SOURCE) if r.kind == "s3.bucket")
    doc = bucket.spec["Policy"]
    assert _findings(doc) == []
    (stmt,) = doc["Statement"]
    assert stmt["Effect"] == "Deny"
    assert stmt["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_zip_is_deterministic_and_follows_the_source(tmp_path: Path) -> None:
    src = tmp_path / "fn"
    src.mkdir()
    (src / "handler.py").write_text("def lambda_handler(event, context):\n    return event\n")
    (src / "helper.py").write_text("X = 1\n")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"junk")
    first = build_zip(src)
    (src / "helper.py").touch()  # a new mtime must not change the package
    second = build_zip(src)
    assert first == second
    assert code_sha256(first) == code_sha256(second)
    with zipfile.ZipFile(BytesIO(first)) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["handler.py", "helper.py"]
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}
    (src / "helper.py").write_text("X = 2\n")
    assert code_sha256(build_zip(src)) != code_sha256(first)
    assert code_sha256(first) == __import__("base64").b64encode(hashlib.sha256(first).digest()).decode()


def test_zip_without_handler_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ResourceError, match="no handler.py"):
        build_zip(tmp_path)


def test_arns_use_the_partition_of_the_region() -> None:
    a = policies.Arns("aws-cn", "cn-north-1", ACCOUNT, "t", "s", "b", "f", "h", "/g", "d", "tb")
    assert a.kinesis_stream == f"arn:aws-cn:kinesis:cn-north-1:{ACCOUNT}:stream/s"

"""infra_bootstrap.py as users run it: output, confirmation, exit codes, one-sentence errors."""

from __future__ import annotations

import io
import json

import boto3
import botocore.exceptions
import pytest

import infra_bootstrap
from salescdc.clients import ClientFactory
from salescdc.infra import ApplyOptions

FAST = {"options": ApplyOptions(poll_interval_s=0.05, timeout_s=20, role_propagation_s=2)}


def _run(argv: list[str], environ: dict[str, str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = infra_bootstrap.run(argv, environ, out=out, err=err, stdin=io.StringIO(stdin), **FAST)
    return code, out.getvalue(), err.getvalue()


def test_up_up_status_down(cloud) -> None:
    env = {"AWS_ENDPOINT_URL": cloud.url}
    code, out, err = _run(["up"], env)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert sum(line.startswith("creating") for line in lines) == 28
    assert sum(line.startswith("ready") for line in lines) == 28
    assert lines[-1] == "Done: 28 of 28 resources created or updated."

    code, out, _ = _run(["up"], env)
    assert code == 0
    assert out.splitlines()[-1] == "Nothing changed: all 28 resources were already as declared."
    assert not any(line.startswith(("creating", "updating")) for line in out.splitlines())

    code, out, _ = _run(["status", "--json"], env)
    doc = json.loads(out)
    assert code == 0 and len(doc) == 28
    assert {d["status"] for d in doc} == {"present"}
    assert {"kind", "name", "status", "state", "detail"} <= set(doc[0])
    assert next(d for d in doc if d["kind"] == "pipes.pipe")["state"] == "RUNNING"

    code, out, _ = _run(["down"], env, stdin="no\n")
    assert code == infra_bootstrap.EXIT_ABORTED
    assert "nothing was deleted" in out
    assert json.loads(_run(["status", "--json"], env)[1])[0]["status"] == "present"

    code, out, err = _run(["down", "--yes", "--delete-data"], env)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "Done: 28 deleted, 0 left in place."
    assert {d["status"] for d in json.loads(_run(["status", "--json"], env)[1])} == {"missing"}


def _aws_env(**extra: str) -> dict[str, str]:
    return {"SALESCDC_TARGET": "aws", "AWS_REGION": "ap-south-1", "AWS_EC2_METADATA_DISABLED": "true", **extra}


def _one_sentence(code: int, out: str, err: str) -> str:
    assert code == infra_bootstrap.EXIT_FAILED
    assert "Traceback" not in err + out
    (line,) = err.strip().splitlines()
    return line


def test_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    line = _one_sentence(*_run(["status"], _aws_env()))
    assert "No AWS credentials were found" in line


def test_unknown_profile() -> None:
    line = _one_sentence(*_run(["up"], _aws_env(AWS_PROFILE="no-such-profile")))
    assert "no-such-profile" in line and "does not exist" in line


def test_unknown_region() -> None:
    line = _one_sentence(*_run(["up"], _aws_env(AWS_REGION="xx-nowhere-1")))
    assert "'xx-nowhere-1' is not an AWS region" in line


def test_access_denied(monkeypatch: pytest.MonkeyPatch) -> None:
    class DeniedFactory(ClientFactory):
        def account_id(self) -> str:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform sts:GetCallerIdentity"}},
                "GetCallerIdentity",
            )

    monkeypatch.setattr(infra_bootstrap, "ClientFactory", DeniedFactory)
    line = _one_sentence(*_run(["up"], {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}))
    assert line.startswith("Error: Access denied for GetCallerIdentity")


def test_bucket_owned_by_another_account(cloud) -> None:
    sts = boto3.client("sts", endpoint_url=cloud.url, region_name="ap-south-1")
    creds = sts.assume_role(RoleArn="arn:aws:iam::111111111111:role/other", RoleSessionName="other")["Credentials"]
    other = boto3.client("s3", endpoint_url=cloud.url, region_name="ap-south-1",
                         aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"])
    other.create_bucket(Bucket="sales-cdc-lake-123456789012-ap-south-1",
                        CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    line = _one_sentence(*_run(["up"], {"AWS_ENDPOINT_URL": cloud.url}))
    assert "already taken by another AWS account" in line
    assert "SALESCDC_BUCKET" in line

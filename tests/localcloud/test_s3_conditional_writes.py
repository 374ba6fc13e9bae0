"""Conditional writes are atomic per key, as on AWS: of concurrent `If-None-Match: *` puts of one key
exactly one succeeds and every other gets 412 PreconditionFailed; `If-Match` is a compare-and-set."""

from __future__ import annotations

import threading

import botocore.exceptions
import pytest

from tests.support.aws import REGION, client, unique_name

WRITERS = 8
ROUNDS = 15


def _outcome(call) -> str:  # noqa: ANN001
    try:
        call()
        return "ok"
    except botocore.exceptions.ClientError as exc:
        return exc.response["Error"]["Code"]


def _race(calls: list) -> list[str]:  # noqa: ANN001
    """Run every call at once (released together by a barrier); their outcomes, in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = [""] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        outcomes[i] = _outcome(calls[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.fixture(scope="module")
def bucket(cloud) -> str:  # noqa: ANN001
    name = unique_name("cond-")
    client(cloud, "s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


def test_of_concurrent_if_none_match_puts_exactly_one_wins(cloud, bucket: str) -> None:  # noqa: ANN001
    s3s = [client(cloud, "s3") for _ in range(WRITERS)]  # one client (connection pool) per writer
    for round_no in range(ROUNDS):
        key = f"lock-{round_no}"
        outcomes = _race([lambda s3=s3, n=n: s3.put_object(Bucket=bucket, Key=key, Body=f"writer {n}".encode(),
                                                           IfNoneMatch="*") for n, s3 in enumerate(s3s)])
        assert outcomes.count("ok") == 1, outcomes
        assert set(outcomes) == {"ok", "PreconditionFailed"}, outcomes
        winner = outcomes.index("ok")
        assert s3s[0].get_object(Bucket=bucket, Key=key)["Body"].read() == f"writer {winner}".encode()


def test_if_match_is_a_compare_and_set(cloud, bucket: str) -> None:  # noqa: ANN001
    s3s = [client(cloud, "s3") for _ in range(WRITERS)]
    etag = s3s[0].put_object(Bucket=bucket, Key="cas", Body=b"v0")["ETag"]
    outcomes = _race([lambda s3=s3, n=n: s3.put_object(Bucket=bucket, Key="cas", Body=f"v1 by {n}".encode(),
                                                       IfMatch=etag) for n, s3 in enumerate(s3s)])
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) == {"ok", "PreconditionFailed"}, outcomes

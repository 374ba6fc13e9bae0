"""A bounded soak: under a steady write load, the local cloud's RSS stays flat once warmed up.

`python -m localcloud` runs as a user runs it, with records kept for a few seconds
(`--retention-seconds`), while this test writes for ~40 s: DynamoDB items (a cycling set of keys,
on a table with a stream, so every write adds a stream record), Kinesis PutRecords (new records
every time) and S3 PutObject (a cycling set of keys). The retained data is bounded by the key
sets and the retention, so RSS (VmRSS in /proc/<pid>/status) must stop growing: the mean over the
last third of the run may exceed the mean over the second third by less than 25 %. Without
trimming, the Kinesis records alone would add ~200 KB per round.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time
from pathlib import Path

import boto3
import pytest

from localcloud.testing import start_localcloud_process, stop_localcloud_process

REGION = "us-east-1"
LOAD_SECONDS = 40
RETENTION_SECONDS = 3
TOLERANCE = 0.25


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def start_server(data_dir: Path, retention_seconds: float) -> tuple[subprocess.Popen, str]:
    return start_localcloud_process(data_dir, "--no-persist", "--retention-seconds", str(retention_seconds),
                                    stderr_log=data_dir.parent / "server-stderr.txt", cwd=data_dir.parent)


def soak(url: str, pid: int, seconds: float) -> tuple[list[int], int]:
    """Write the steady load for `seconds`; returns RSS samples (one a second) and rounds done."""
    def client(service: str):  # noqa: ANN202
        return boto3.client(service, endpoint_url=url, region_name=REGION,
                            aws_access_key_id="test", aws_secret_access_key="test")

    ddb, kinesis, s3 = client("dynamodb"), client("kinesis"), client("s3")
    ddb.create_table(TableName="soak", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    kinesis.create_stream(StreamName="soak", ShardCount=1)
    s3.create_bucket(Bucket="soak")
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            samples.append(rss_bytes(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rounds = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            payload = os.urandom(1024).hex()  # 2 KB of text, different every round
            ddb.put_item(TableName="soak", Item={"id": {"S": f"order-{rounds % 100}"}, "blob": {"S": payload}})
            kinesis.put_records(StreamName="soak", Records=[
                {"Data": os.urandom(20 * 1024), "PartitionKey": f"k{i}"} for i in range(10)])
            s3.put_object(Bucket="soak", Key=f"obj-{rounds % 50}", Body=os.urandom(8 * 1024))
            rounds += 1
    finally:
        done.set()
        sampler.join()
    return samples, rounds


@pytest.mark.e2e
def test_rss_stays_flat_under_a_steady_load(tmp_path: Path) -> None:
    proc, url = start_server(tmp_path / "data", RETENTION_SECONDS)
    try:
        samples, rounds = soak(url, proc.pid, LOAD_SECONDS)
        assert proc.poll() is None, "the server died under the load"
    finally:
        stop_localcloud_process(proc, grace_s=60)
    assert rounds > 100, f"only {rounds} rounds of load: too few to judge growth"
    bodies = list((tmp_path / "data" / "tmp" / "s3-bodies").glob("body-*"))
    assert len(bodies) <= 2 * 50, f"{len(bodies)} S3 body files for 50 keys: overwritten bodies are not removed"
    third = len(samples) // 3
    second, last = samples[third : 2 * third], samples[2 * third :]
    growth = statistics.mean(last) / statistics.mean(second) - 1
    mib = [round(s / 2**20) for s in samples]
    assert growth < TOLERANCE, f"RSS grew {growth:.0%} between the second and last third (MiB per second: {mib})"

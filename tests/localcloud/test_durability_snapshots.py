"""Snapshots written in the background: writes go on while one is written, and kill -9 then loses nothing.

A real `python -m localcloud --no-runners --compact-mb 1` on its own data dir: 256 KB S3 puts
fill the log until a compaction forks the process that writes it (the server logs its pid);
the test stops that process with SIGSTOP (a snapshot that takes as long as a slow disk or a huge
store makes it take) and writes while it is stopped. Those writes must be acknowledged, and
the server's kill -9 (which takes the stopped child with it) must lose none of them, nor any
write from before. A second test lets a compaction finish and checks that a restart uses the
S3 body files the snapshot names where they are, instead of writing them again.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud.testing import start_localcloud_process
from tests.support.processes import free_port
from tests.support.waiting import eventually

REGION = "us-east-1"
TABLE = "snapshot-orders"
BUCKET = "snapshot-objects"
# The compaction's child (every service) as the server logs it; a control-plane write's child names its service.
COMPACTION_CHILD = re.compile(r"snapshot of \d+ services at LSN \d+ is being written by process (\d+)")


class Server:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process, self.url = start_localcloud_process(
            self.data_dir, "--no-runners", "--compact-mb", "1", port=self.port,
            stderr_log=self.data_dir.parent / "server-stderr.txt")

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def log(self) -> str:
        return (self.data_dir / "localcloud.log").read_text()

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, aws_access_key_id="test",
                            aws_secret_access_key="test")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    proc = Server(tmp_path / "data")
    proc.start()
    yield proc
    if proc.process is not None and proc.process.poll() is None:
        proc.process.kill()
        proc.process.wait(timeout=30)


def _cpu_ticks(pid: int) -> int | None:
    """User + system clock ticks `pid` has run for (fields 14 and 15 of its stat); None once gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _process_state(pid: int) -> str | None:
    """The state letter of `pid` (R, S, T for stopped, Z for exited but not reaped); None once gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _provision_and_fill(server: Server, items: int) -> dict[str, dict[str, Any]]:
    ddb, s3 = server.client("dynamodb"), server.client("s3")
    ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    s3.create_bucket(Bucket=BUCKET)
    written = {}
    for start in range(0, items, 25):  # a store big enough that pickling it takes a while
        batch = [{"orderid": {"S": f"fill-{n}"}, "product_name": {"S": "Laptop"}, "quantity": {"N": str(n % 9 + 1)},
                  "price": {"N": "1234.56"}} for n in range(start, min(start + 25, items))]
        ddb.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": item}} for item in batch]})
        written.update({item["orderid"]["S"]: item for item in batch})
    return written


def _start_a_compaction_and_stop_its_writer(server: Server, objects: dict[str, bytes]) -> int:
    """Put 256 KB objects until a compaction's child shows in the log, SIGSTOP it; returns its pid.

    A child that finished before the signal reached it is let be, and the next one is tried."""
    s3 = server.client("s3")
    tried: set[int] = set()

    def caught() -> int | None:
        key = f"filler/{len(objects)}"
        objects[key] = os.urandom(256 * 1024)
        s3.put_object(Bucket=BUCKET, Key=key, Body=objects[key])
        for pid in map(int, COMPACTION_CHILD.findall(server.log())):
            if pid in tried:
                continue
            tried.add(pid)
            # Not before the child has armed PR_SET_PDEATHSIG, its first step after fork: stopped before
            # that, it would outlive the server. 20 ms of its own CPU is far past it (pickling takes longer).
            eventually(lambda p=pid: _cpu_ticks(p) is None or _cpu_ticks(p) >= 2, f"process {pid} to get going",
                       interval=0.001)
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                continue
            state = eventually(lambda p=pid: _process_state(p) in ("T", "Z", None) and (_process_state(p) or "gone"),
                               f"process {pid} to stop or end")
            if state == "T":
                return pid
        return None

    return eventually(caught, "a compaction's snapshot process to stop while it writes", timeout=120, interval=0)


def _scan(server: Server) -> dict[str, dict[str, Any]]:
    pages = server.client("dynamodb").get_paginator("scan").paginate(TableName=TABLE)
    return {item["orderid"]["S"]: item for page in pages for item in page["Items"]}


def _check_everything_is_back(server: Server, items: dict[str, dict[str, Any]], objects: dict[str, bytes]) -> None:
    assert _scan(server) == items, "every acknowledged item is back after kill -9"
    s3 = server.client("s3")
    for key, body in objects.items():
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body, f"acknowledged object {key} lost"
    assert "missing from the data dir" not in server.log()


@pytest.mark.timeout(300)
def test_writes_are_acknowledged_while_a_snapshot_is_written_and_kill_9_then_loses_nothing(server: Server) -> None:
    items = _provision_and_fill(server, 3000)
    objects: dict[str, bytes] = {}
    child = _start_a_compaction_and_stop_its_writer(server, objects)
    ddb, s3 = server.client("dynamodb"), server.client("s3")

    acknowledged = 0
    for n in range(30):
        item = {"orderid": {"S": f"during-{n}"}, "product_name": {"S": "Desk"}, "quantity": {"N": "2"},
                "price": {"N": "99.5"}}
        ddb.put_item(TableName=TABLE, Item=item)
        items[item["orderid"]["S"]] = item
        acknowledged += 1
    ddb.delete_item(TableName=TABLE, Key={"orderid": {"S": "fill-7"}})
    del items["fill-7"]
    acknowledged += 1
    for n in range(3):
        objects[f"during/{n}"] = os.urandom(50_000)
        s3.put_object(Bucket=BUCKET, Key=f"during/{n}", Body=objects[f"during/{n}"])
        acknowledged += 1
    # A control-plane write snapshots its service before answering: not behind the stopped compaction.
    s3.create_bucket(Bucket="made-during-the-snapshot")
    acknowledged += 1
    assert _process_state(child) == "T", "the snapshot was being written all along"
    assert acknowledged == 35, "every write was acknowledged while the snapshot was being written"

    server.kill9()
    eventually(lambda: _process_state(child) in (None, "Z"), "the snapshot process to die with the server")
    server.start()
    assert "recovered state" in server.log()
    _check_everything_is_back(server, items, objects)
    buckets = {b["Name"] for b in server.client("s3").list_buckets()["Buckets"]}
    assert "made-during-the-snapshot" in buckets


@pytest.mark.timeout(300)
def test_a_restart_uses_the_s3_body_files_a_finished_snapshot_names_in_place(server: Server) -> None:
    items = _provision_and_fill(server, 200)
    s3 = server.client("s3")
    objects = {f"kept/{n}": os.urandom(300_000) for n in range(8)}  # 2.4 MB of log: a compaction
    for key, body in objects.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    eventually(lambda: "snapshot of every service (log passed" in server.log(), "a compaction to finish",
               timeout=60)
    # A control-plane write right after it changes no LSN: its own snapshot must still replace the compaction's.
    s3.create_bucket(Bucket="made-after-the-compaction")
    bodies = server.data_dir / "state" / "s3-bodies"
    before = {path.name: path.stat().st_ino for path in bodies.glob("body-*")}
    objects["kept/0"] = b"replaced after the snapshot"  # the snapshot's file for it must outlive the key
    s3.put_object(Bucket=BUCKET, Key="kept/0", Body=objects["kept/0"])
    s3.delete_object(Bucket=BUCKET, Key="kept/1")
    del objects["kept/1"]

    server.kill9()
    server.start()
    recovered = [line for line in server.log().splitlines() if "recovered state" in line][-1]
    used = int(re.search(r"(\d+) S3 object bodies used in place", recovered).group(1))  # type: ignore[union-attr]
    assert used >= 8, recovered
    after = {path.name: path.stat().st_ino for path in bodies.glob("body-*")}
    kept = {name for name in before if after.get(name) == before[name]}
    assert len(kept) >= used, "the files the snapshot names are used as they are, not written again"
    _check_everything_is_back(server, items, objects)
    assert "made-after-the-compaction" in {b["Name"] for b in s3.list_buckets()["Buckets"]}

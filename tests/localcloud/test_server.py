"""`python -m localcloud` as a user runs it: a subprocess, its health endpoint, signals, port clashes, the log."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest

from localcloud.server import HEALTH_PATH, LocalCloud, port_is_free
from tests.support.aws import create_orders_table
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"Local cloud ready at (http://127\.0\.0\.1:(\d+))")


class Server:
    """A `python -m localcloud` child process on a free port."""

    def __init__(self, data_dir: Path, *args: str, port: int = 0):
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        self.data_dir = data_dir
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "localcloud", "--port", str(port), "--data-dir", str(data_dir), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(data_dir.parent),
        )
        line = self.proc.stdout.readline()  # blocks until ready (or the process ends)
        match = READY.search(line)
        if not match:
            self.proc.kill()
            raise AssertionError(f"server did not start: {line!r} {self.proc.stderr.read()!r}")
        self.url, self.port = match.group(1), int(match.group(2))

    def health(self) -> dict:
        with urllib.request.urlopen(self.url + HEALTH_PATH, timeout=10) as resp:
            assert resp.headers["Content-Type"].startswith("application/json")
            return json.loads(resp.read())

    def signal_and_wait(self, sig: int) -> tuple[int, str]:
        self.proc.send_signal(sig)
        out, _ = self.proc.communicate(timeout=60)
        return self.proc.returncode, out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = Server(tmp_path_factory.mktemp("srv") / "data")
    yield srv
    if srv.proc.poll() is None:
        srv.proc.kill()
        srv.proc.wait()


def test_serves_aws_apis_and_health_on_loopback(server: Server) -> None:
    ddb = boto3.client("dynamodb", endpoint_url=server.url, region_name="ap-south-1")
    assert ddb.list_tables()["TableNames"] == []
    health = server.health()
    assert health["status"] == "running"
    assert health["url"] == server.url
    pipes = health["runners"]["pipes"]
    assert pipes["state"] == "running"
    assert pipes["pipes"] == {}
    assert "last_error" in pipes


def test_a_second_server_on_the_same_port_fails_with_one_sentence_and_exit_2(server: Server, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "localcloud", "--port", str(server.port), "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.returncode == 2
    message = done.stderr.strip()
    assert message.count("\n") == 0, message  # one line, no traceback
    assert f"Port {server.port}" in message and "already in use" in message
    assert server.health()["status"] == "running"  # the first one is unharmed


def test_requests_are_not_logged_unless_asked_and_sigterm_stops_cleanly(server: Server) -> None:
    boto3.client("kinesis", endpoint_url=server.url, region_name="ap-south-1").list_streams()
    code, out = server.signal_and_wait(signal.SIGTERM)
    assert code == 0
    assert "Local cloud stopped." in out
    log = (server.data_dir / "localcloud.log").read_text()
    assert "local cloud serving on" in log
    assert "POST /" not in log  # per-request logging is off by default
    assert port_is_free("127.0.0.1", server.port)


TGKILL = {"x86_64": 234, "aarch64": 131}.get(os.uname().machine) if hasattr(os, "uname") else None


@pytest.mark.skipif(not sys.platform.startswith("linux") or TGKILL is None, reason="tgkill: Linux on x86_64/arm64")
def test_sigterm_stops_the_server_even_when_another_thread_takes_it(tmp_path: Path) -> None:
    """A process's SIGTERM may be handled on any of its threads. It once landed on a runner's
    thread while the main thread slept in a lock, and the server ignored it for minutes."""
    import ctypes

    srv = Server(tmp_path / "data")
    try:
        others = sorted(int(t) for t in os.listdir(f"/proc/{srv.proc.pid}/task") if int(t) != srv.proc.pid)
        assert others, "the server runs more than one thread"
        libc = ctypes.CDLL(None, use_errno=True)
        assert libc.syscall(TGKILL, srv.proc.pid, others[-1], signal.SIGTERM) == 0, ctypes.get_errno()
        out, _ = srv.proc.communicate(timeout=60)
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()
    assert srv.proc.returncode == 0
    assert "Local cloud stopped." in out


def test_log_requests_writes_each_request_to_the_log_file_and_sigint_stops(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", "--log-requests")
    try:
        boto3.client("kinesis", endpoint_url=srv.url, region_name="ap-south-1").list_streams()
        code, _ = srv.signal_and_wait(signal.SIGINT)
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()
    assert code == 0
    assert '"POST / HTTP/1.1" 200' in (tmp_path / "data" / "localcloud.log").read_text()


def test_runners_can_be_left_off_and_started_by_name(tmp_path: Path) -> None:
    from localcloud.testing import reset_moto

    reset_moto()
    with LocalCloud(port=0, data_dir=tmp_path / "d", start_runners=False) as cloud:
        assert cloud.health()["runners"]["pipes"]["state"] == "stopped"
        cloud.runner("pipes").start()
        assert cloud.health()["runners"]["pipes"]["state"] == "running"
        with pytest.raises(KeyError, match="no runner named 'nope'"):
            cloud.runner("nope")
    reset_moto()


def test_in_process_start_and_stop_release_the_port(tmp_path: Path) -> None:
    from localcloud.testing import reset_moto

    reset_moto()
    cloud = LocalCloud(port=0, data_dir=tmp_path / "d")
    with cloud:
        assert cloud.host == "127.0.0.1"
        port = cloud.port
        assert not port_is_free("127.0.0.1", port)
        assert {r.name for r in cloud.runners} >= {"pipes"}
        assert cloud.health()["runners"]["pipes"]["state"] == "running"
        # botocore gzips bodies over 10 KB; moto alone inflates them twice and fails.
        cw = boto3.client("cloudwatch", endpoint_url=cloud.url, region_name="ap-south-1")
        data = [{"MetricName": f"m{i}", "Value": 1.0, "Dimensions": [{"Name": "StreamName", "Value": "s" * 60}]}
                for i in range(300)]
        cw.put_metric_data(Namespace="Test/Gzip", MetricData=data[:150])
        cw.put_metric_data(Namespace="Test/Gzip", MetricData=data[150:])
        assert len(cw.list_metrics(Namespace="Test/Gzip")["Metrics"]) == 300
    assert port_is_free("127.0.0.1", port)
    assert cloud.health()["status"] == "stopped"
    assert cloud.health()["runners"]["pipes"]["state"] == "stopped"
    reset_moto()


def _kinesis_events(kinesis, stream: str) -> list[dict]:
    events = []
    for shard in kinesis.describe_stream(StreamName=stream)["StreamDescription"]["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        events.extend(json.loads(r["Data"]) for r in kinesis.get_records(ShardIterator=it, Limit=10000)["Records"])
    return events


def test_a_restarted_server_keeps_the_aws_state_and_its_pipe_resumes_without_loss(tmp_path: Path) -> None:
    data = tmp_path / "data"
    region = "ap-south-1"

    def clients(url: str):
        return (boto3.client("dynamodb", endpoint_url=url, region_name=region),
                boto3.client("kinesis", endpoint_url=url, region_name=region),
                boto3.client("pipes", endpoint_url=url, region_name=region))

    first = Server(data)
    try:
        ddb, kinesis, pipes = clients(first.url)
        stream_arn = create_orders_table(ddb, "orders")["LatestStreamArn"]
        kinesis.create_stream(StreamName="sales", ShardCount=1)
        pipes.create_pipe(
            Name="p", RoleArn="arn:aws:iam::123456789012:role/r", Source=stream_arn,
            Target=kinesis.describe_stream_summary(StreamName="sales")["StreamDescriptionSummary"]["StreamARN"],
            SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON"}},
            TargetParameters={"KinesisStreamParameters": {"PartitionKey": "$.dynamodb.Keys.orderid.S"}},
        )
        for i in range(3):
            ddb.put_item(TableName="orders", Item={"orderid": {"S": str(i)}})
        eventually(lambda: len(_kinesis_events(kinesis, "sales")) == 3, "3 records before the restart")
        code, _ = first.signal_and_wait(signal.SIGTERM)
        assert code == 0
    finally:
        if first.proc.poll() is None:
            first.proc.kill()

    second = Server(data)
    try:
        ddb, kinesis, pipes = clients(second.url)
        assert ddb.scan(TableName="orders")["Count"] == 3
        eventually(lambda: pipes.describe_pipe(Name="p")["CurrentState"] == "RUNNING", "the pipe to run again")
        for i in range(3, 5):
            ddb.put_item(TableName="orders", Item={"orderid": {"S": str(i)}})
        events = eventually(lambda: (e := _kinesis_events(kinesis, "sales")) and len(e) >= 5 and e, "5 records")
        assert sorted(e["dynamodb"]["Keys"]["orderid"]["S"] for e in events) == ["0", "1", "2", "3", "4"]
    finally:
        second.signal_and_wait(signal.SIGTERM)

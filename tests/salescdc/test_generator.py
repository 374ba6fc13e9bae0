"""The order generator against a real local cloud over HTTP: counts, real updates/deletes, seeds, stops, errors."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from boto3.dynamodb.types import TypeDeserializer

from salescdc.clients import ClientFactory
from salescdc.generator import (
    GeneratorAlreadyRunning,
    GeneratorOptions,
    GeneratorProcess,
    OrderGenerator,
    TableMissingError,
)
from salescdc.generator.process import PID_FILE
from salescdc.settings import Settings
from tests.support.aws import create_orders_table
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
_names = itertools.count()
_deserializer = TypeDeserializer()


def new_table(cloud, create: bool = True) -> tuple[Settings, ClientFactory]:
    settings = Settings(endpoint_url=cloud.url, table_name=f"OrdersGen{next(_names)}")
    factory = ClientFactory(settings)
    if create:
        create_orders_table(factory.client("dynamodb"), settings.table_name)
    return settings, factory


def table_items(settings: Settings, factory: ClientFactory) -> dict[str, dict]:
    items = {}
    for page in factory.client("dynamodb").get_paginator("scan").paginate(TableName=settings.table_name):
        for raw in page["Items"]:
            item = {k: _deserializer.deserialize(v) for k, v in raw.items()}
            items[item["orderid"]] = item
    return items


def stream_event_names(settings: Settings, factory: ClientFactory) -> Counter:
    arn = factory.client("dynamodb").describe_table(TableName=settings.table_name)["Table"]["LatestStreamArn"]
    streams = factory.client("dynamodbstreams")
    names: Counter = Counter()
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            names.update(r["eventName"] for r in page["Records"])
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return names


def replay(ops) -> dict[str, dict]:
    expected: dict[str, dict] = {}
    for op in ops:
        if op.kind == "delete":
            del expected[op.orderid]
        else:
            expected[op.orderid] = op.item
    return expected


def comparable(items: dict[str, dict]) -> dict[str, tuple]:
    return {oid: (i["product_name"], int(i["quantity"]), Decimal(i["price"]), i["updated_at"]) for oid, i in items.items()}


def test_counts_match_the_table_and_updates_and_deletes_really_happen(cloud):
    settings, factory = new_table(cloud)
    written = []
    options = GeneratorOptions(rate_per_s=1000, count=300, update_share=0.3, delete_share=0.2, seed=11)
    stats = OrderGenerator(settings, factory, options, on_written=written.extend).run()

    assert stats.written == len(written) == 300
    assert stats.by_kind() == {k: Counter(op.kind for op in written)[k] for k in ("insert", "update", "delete")}
    assert stats.updates > 30 and stats.deletes > 20 and stats.errors == {}
    assert stats.last_write_at is not None and stats.achieved_rate_per_s > 0
    table = table_items(settings, factory)
    assert len(table) == stats.inserts - stats.deletes
    assert comparable(table) == comparable(replay(written))  # updated values and deletions are in the table
    assert stream_event_names(settings, factory) == Counter(
        {"INSERT": stats.inserts, "MODIFY": stats.updates, "REMOVE": stats.deletes})


def test_same_seed_same_operations_and_table(cloud):
    def run(seed):
        settings, factory = new_table(cloud)
        ops = []
        options = GeneratorOptions(rate_per_s=1000, count=120, update_share=0.3, delete_share=0.2, seed=seed)
        OrderGenerator(settings, factory, options, on_written=ops.extend).run()
        state = {oid: v[:3] for oid, v in comparable(table_items(settings, factory)).items()}
        return [op.identity() for op in ops], state

    first, second, other = run(3), run(3), run(4)
    assert first == second
    assert first[0] != other[0]


def test_stop_event_ends_a_run_cleanly(cloud):
    settings, factory = new_table(cloud)
    stop = threading.Event()
    generator = OrderGenerator(settings, factory, GeneratorOptions(rate_per_s=40))
    result = {}
    thread = threading.Thread(target=lambda: result.update(stats=generator.run(stop)))
    thread.start()
    eventually(lambda: generator.stats.written >= 5)
    stop.set()
    thread.join(timeout=20)
    assert not thread.is_alive()
    stats = result["stats"]
    assert stats.written == stats.inserts >= 5
    assert len(table_items(settings, factory)) == stats.written  # every acknowledged write, nothing more


def test_duration_bound_ends_the_run(cloud):
    settings, factory = new_table(cloud)
    stats = OrderGenerator(settings, factory, GeneratorOptions(rate_per_s=20, duration_s=0.3)).run()
    assert stats.written >= 1 and len(table_items(settings, factory)) == stats.written


def test_missing_table_is_one_sentence(cloud):
    settings, factory = new_table(cloud, create=False)
    generator = OrderGenerator(settings, factory, GeneratorOptions(count=1))
    with pytest.raises(TableMissingError) as err:
        generator.run()
    sentence = (f"Table {settings.table_name} does not exist in ap-south-1: "
                "provision the pipeline first (python infra_bootstrap.py up).")
    assert str(err.value) == sentence and generator.stats.last_error == sentence


def test_cli_missing_table_exits_2_without_traceback(cloud):
    settings, _ = new_table(cloud, create=False)
    env = dict(os.environ, AWS_ENDPOINT_URL=cloud.url, SALESCDC_TABLE=settings.table_name, SALESCDC_TARGET="local")
    done = subprocess.run([sys.executable, "-m", "salescdc.generator", "--count", "3"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"Table {settings.table_name} does not exist in ap-south-1: provision the pipeline first "
        "(python infra_bootstrap.py up)."]


def test_cli_writes_count_orders_and_summarises(cloud):
    settings, factory = new_table(cloud)
    env = dict(os.environ, AWS_ENDPOINT_URL=cloud.url, SALESCDC_TABLE=settings.table_name, SALESCDC_TARGET="local")
    done = subprocess.run([sys.executable, "-m", "salescdc.generator", "--count", "20", "--rate", "200", "--seed", "1"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("Stopped: 20 written (20 inserts, 0 updates, 0 deletes)")
    assert len(table_items(settings, factory)) == 20


def test_throttling_is_retried_with_backoff_and_counted(cloud):
    settings, factory = new_table(cloud)
    generator = OrderGenerator(settings, factory, GeneratorOptions(rate_per_s=500, count=60))
    calls = Counter()

    def throttle_first_three(**kwargs):
        calls["BatchWriteItem"] += 1
        if calls["BatchWriteItem"] <= 3:
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
                     "ResponseMetadata": {"HTTPStatusCode": 400}}
            return type("Http", (), {"status_code": 400, "headers": {}})(), error
        return None  # the real request goes to the server

    generator.writer.client.meta.events.register("before-call.dynamodb.BatchWriteItem", throttle_first_three)
    stats = generator.run()
    assert stats.transient_retries == 3 and stats.errors == {}
    assert stats.written == 60 and len(table_items(settings, factory)) == 60
    assert "throughput" in (stats.last_error or "").lower()


# -- the managed background process -------------------------------------------


@pytest.fixture
def managed(tmp_path):
    """GeneratorProcess instances whose children are stopped even when a test fails."""
    made: list[GeneratorProcess] = []

    def make(settings: Settings) -> GeneratorProcess:
        made.append(GeneratorProcess(tmp_path, settings, status_interval_s=0.1))
        return made[-1]

    yield make
    for process in made:
        process.stop(timeout=10)


def test_background_process_start_status_stop_across_instances(cloud, tmp_path, managed):
    settings, factory = new_table(cloud)
    starter = managed(settings)
    started = starter.start(GeneratorOptions(rate_per_s=50, update_share=0.2, delete_share=0.1, seed=2))
    assert started.pid and started.state in ("starting", "running")

    other = GeneratorProcess(tmp_path, Settings())  # another page render / another process: files only
    status = eventually(lambda: (s := other.status()).stats and s.stats.written >= 3 and s)
    assert status.running and status.state == "running" and status.pid == started.pid
    assert status.options == GeneratorOptions(rate_per_s=50, update_share=0.2, delete_share=0.1, seed=2)
    with pytest.raises(GeneratorAlreadyRunning):
        other.start(GeneratorOptions())

    final = other.stop(timeout=20)
    assert not final.running and final.state == "stopped" and final.pid is None
    assert final.stats.written >= status.stats.written
    assert len(table_items(settings, factory)) == final.stats.inserts - final.stats.deletes
    assert not (tmp_path / PID_FILE).exists()
    assert starter.status() == final


def test_background_process_ends_at_its_bound(cloud, managed):
    settings, factory = new_table(cloud)
    process = managed(settings)
    process.start(GeneratorOptions(rate_per_s=100, count=7))
    status = eventually(lambda: (s := process.status()).state == "stopped" and s)
    assert not status.running and status.stats.written == 7 and status.last_error is None
    assert len(table_items(settings, factory)) == 7


def test_background_process_reports_a_missing_table(cloud, managed):
    settings, _ = new_table(cloud, create=False)
    process = managed(settings)
    process.start(GeneratorOptions(count=1))
    status = eventually(lambda: (s := process.status()).state == "failed" and s)
    assert not status.running
    assert status.last_error == (f"Table {settings.table_name} does not exist in ap-south-1: provision the pipeline "
                                 "first (python infra_bootstrap.py up).")


def test_a_stale_pid_file_reads_as_not_running(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / PID_FILE).write_text(str(gone.pid))
    process = GeneratorProcess(tmp_path, Settings())
    status = process.status()
    assert not status.running and status.pid is None
    assert process.stop().running is False
    (tmp_path / PID_FILE).write_text(str(os.getpid()))  # alive, but not a generator: pid reused
    assert not process.status().running


def test_a_run_whose_status_folder_vanished_stops_itself(cloud, tmp_path):
    import shutil
    import signal

    settings, _ = new_table(cloud)
    state_dir = tmp_path / "state"
    process = GeneratorProcess(state_dir, settings, status_interval_s=0.1)
    pid = process.start(GeneratorOptions(rate_per_s=20)).pid
    try:
        eventually(lambda: (s := process.status()).running and s.stats)
        shutil.rmtree(state_dir)  # nobody can see or stop this run any more
        eventually(lambda: not _pid_alive(pid))
    finally:
        if _pid_alive(pid):  # the behaviour under test failed: do not leave the child behind
            os.kill(pid, signal.SIGKILL)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_writer_refuses_orders_the_pipeline_cannot_carry_and_writes_the_rest(cloud):
    from salescdc.generator.orders import Operation
    from salescdc.generator.stats import DELETE, INSERT
    from salescdc.generator.writer import INVALID_ORDER, BatchWriter, dynamodb_client

    settings, factory = new_table(cloud)
    writer = BatchWriter(dynamodb_client(factory), settings.table_name, settings.region)

    def insert(orderid: str, quantity=1, price="10.00") -> Operation:
        return Operation(INSERT, orderid, {"orderid": orderid, "product_name": "Phone", "quantity": quantity,
                                           "price": Decimal(price), "updated_at": "2026-01-01T00:00:00.000Z"})

    ops = [insert("ok"), insert("big", price="1E+40"), insert("o" * 257), insert(" 7"),
           insert("q", quantity=2**31), insert("cents", price="0.001"), Operation(DELETE, "")]
    outcome = writer.write(ops)
    assert [op.orderid for op in outcome.acknowledged] == ["ok"]
    assert sorted(outcome.refused) == sorted(op.orderid for op in ops[1:])
    assert len(outcome.failed[INVALID_ORDER]) == 6
    assert "at most 99,999,999.99" in outcome.refused["big"]
    assert "at most 256 characters" in outcome.refused["o" * 257]
    assert "orderid must not be empty" in outcome.refused[""]
    assert "refused" in outcome.error
    assert set(table_items(settings, factory)) == {"ok"}

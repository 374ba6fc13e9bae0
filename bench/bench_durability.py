"""Benchmark durable state: what the write-ahead log costs, how fast kill -9 recovers, RSS as state grows.

    python bench/bench_durability.py [--seconds 8] [--threads 4] [--items 100000] [--kinesis 300000] [--skip-rates]
                                     [--lake-lines 1000000]

Starts `python -m localcloud --no-runners` (APIs only, so no runner competes for the CPU) as a
child process on a free port with a temporary data dir, and prints, measured in one run:
  1. write throughput with durability on (the default) and off (`--no-persist`), and their ratio:
     DynamoDB PutItem (a table with a NEW_AND_OLD_IMAGES stream), Kinesis PutRecords (batches of
     100 records of 100 bytes, counted in records), S3 PutObject of 10 KB, CloudWatch PutMetricData
     (20 data points a call, counted in points) and CloudWatch Logs PutLogEvents (10 events of 100
     bytes a call, counted in events); --threads writers each.
     Both servers run side by side and are measured in turns, --rounds times; the median of each
     is printed, so a neighbour's load on a shared machine hits both alike;
  2. RSS of the server after 10k, 50k and 100k (--items) DynamoDB changes;
  3. the same write rates once the store is full (--items items with their stream records,
     --kinesis Kinesis records, --lake-lines JSON lines in lake-style S3 objects), against empty
     (--skip-rates leaves out 1 and 3);
  4. PutItem latency while a compaction of the full store is written (in a forked process);
  5. recovery after kill -9 of the full server: time to "ready" and the recovery the log reports.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localcloud.durability import wal  # noqa: E402
from localcloud.testing import start_localcloud_process  # noqa: E402
REGION = "us-east-1"
TABLE = "bench-orders"
STREAM = "bench-stream"
BUCKET = "bench-objects"
LAKE = "bench-lake"
LOG_GROUP = "/bench/durability"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, data_dir: Path, *flags: str, root: Path = ROOT):
        self.data_dir, self.flags, self.port, self.root = data_dir, flags, free_port(), root
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> float:
        """Start and wait for "ready"; returns the seconds it took."""
        started = time.monotonic()
        self.process, _ = start_localcloud_process(
            self.data_dir, "--no-runners", *self.flags, port=self.port,
            stderr_log=self.data_dir.parent / f"{self.data_dir.name}-stderr.txt", cwd=self.root, root=self.root)
        return time.monotonic() - started

    def rss_mb(self) -> float:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(60)

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(600)


def clients(url: str, threads: int) -> dict[str, Any]:
    config = Config(retries={"max_attempts": 1}, max_pool_connections=threads * 2, read_timeout=600)
    kw = dict(endpoint_url=url, region_name=REGION, config=config, aws_access_key_id="bench",
              aws_secret_access_key="bench")
    return {name: boto3.client(name, **kw) for name in ("dynamodb", "kinesis", "s3", "cloudwatch", "logs")}


def provision(c: dict[str, Any]) -> None:
    c["dynamodb"].create_table(
        TableName=TABLE, KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    c["kinesis"].create_stream(StreamName=STREAM, ShardCount=1)
    for bucket in (BUCKET, LAKE):
        c["s3"].create_bucket(Bucket=bucket)
    c["logs"].create_log_group(logGroupName=LOG_GROUP)



def item(key: str) -> dict[str, Any]:
    return {"orderid": {"S": key}, "product_name": {"S": "Laptop"}, "quantity": {"N": "3"},
            "price": {"N": "1234.56"}}


def run_threads(threads: int, seconds: float | None, total: int | None,
                op: Callable[[dict[str, Any], int, int], int], c: dict[str, Any]) -> tuple[int, float]:
    """Run `op(clients, thread, i)` (returns units done) in threads for `seconds` or until `total` units."""
    done = [0] * threads
    stop = threading.Event()
    deadline = time.monotonic() + seconds if seconds else None

    def work(n: int) -> None:
        i = 0
        while not stop.is_set():
            if deadline and time.monotonic() >= deadline:
                return
            if total is not None and sum(done) >= total:
                return
            done[n] += op(c, n, i)
            i += 1

    started = time.monotonic()
    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done), time.monotonic() - started


_run_id = [0]


def measure_rates(c: dict[str, Any], threads: int, seconds: float) -> dict[str, float]:
    _run_id[0] += 1
    tag = f"m{_run_id[0]}"
    data = os.urandom(100)
    body = os.urandom(10 * 1024)

    def put_item(c: dict[str, Any], n: int, i: int) -> int:
        c["dynamodb"].put_item(TableName=TABLE, Item=item(f"{tag}-{n}-{i}"))
        return 1

    def put_records(c: dict[str, Any], n: int, i: int) -> int:
        c["kinesis"].put_records(StreamName=STREAM, Records=[{"Data": data, "PartitionKey": f"{n}-{i}-{k}"}
                                                             for k in range(100)])
        return 100

    def put_object(c: dict[str, Any], n: int, i: int) -> int:
        c["s3"].put_object(Bucket=BUCKET, Key=f"{tag}/{n}/{i}", Body=body)
        return 1

    def put_metric_data(c: dict[str, Any], n: int, i: int) -> int:
        c["cloudwatch"].put_metric_data(Namespace="Bench/Durability", MetricData=[
            {"MetricName": "Writes", "Value": float(k), "Unit": "Count",
             "Dimensions": [{"Name": "Writer", "Value": str(n)}]} for k in range(20)])
        return 20

    message = "x" * 100

    def put_log_events(c: dict[str, Any], n: int, i: int) -> int:
        stream = f"{tag}-{n}"
        now_ms = int(time.time() * 1000)
        c["logs"].put_log_events(logGroupName=LOG_GROUP, logStreamName=stream,
                                 logEvents=[{"timestamp": now_ms, "message": message} for _ in range(10)])
        return 10

    for n in range(threads):  # one log stream per writer, made before the clock runs (a snapshot each)
        c["logs"].create_log_stream(logGroupName=LOG_GROUP, logStreamName=f"{tag}-{n}")
    rates = {}
    for name, op in (("DynamoDB PutItem/s", put_item), ("Kinesis PutRecords records/s", put_records),
                     ("S3 PutObject 10KB/s", put_object), ("CloudWatch PutMetricData points/s", put_metric_data),
                     ("Logs PutLogEvents events/s", put_log_events)):
        count, elapsed = run_threads(threads, seconds, None, op, c)
        rates[name] = count / elapsed
    return rates


def median_rates(runs: list[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def fill_items(server: Server, c: dict[str, Any], threads: int, total: int) -> dict[int, float]:
    """PutItem `total` new items (each a change with a stream record); RSS at 10k/50k/100k changes."""
    marks = [m for m in (10_000, 50_000, 100_000) if m <= total] or [total]
    rss: dict[int, float] = {}
    written = 0
    for mark in marks:
        count, _ = run_threads(threads, None, mark - written,
                               lambda c, n, i, base=written: (c["dynamodb"].put_item(
                                   TableName=TABLE, Item=item(f"fill-{base}-{n}-{i}")), 1)[1], c)
        written += count
        rss[written] = server.rss_mb()
    return rss


def fill_kinesis(c: dict[str, Any], threads: int, total: int) -> int:
    data = os.urandom(100)

    def op(c: dict[str, Any], n: int, i: int) -> int:
        c["kinesis"].put_records(StreamName=STREAM, Records=[{"Data": data, "PartitionKey": f"f{n}-{i}-{k}"}
                                                             for k in range(500)])
        return 500

    return run_threads(threads, None, total, op, c)[0]


def fill_lake(c: dict[str, Any], threads: int, lines: int, per_object: int = 2000) -> int:
    line = (b'{"orderid":"order-000000","product_name":"Laptop","quantity":3,"price":1234.56,"updated_at":null,'
            b'"op":"INSERT","is_deleted":false,"event_id":"0123456789abcdef0123456789abcdef",'
            b'"sequence_number":"1100000000017454423009","event_time":"2026-11-29 12:00:00.000",'
            b'"arrival_time":"2026-11-29 12:00:00.100","extra":"{}"}\n')
    body = line * per_object

    def op(c: dict[str, Any], n: int, i: int) -> int:
        c["s3"].put_object(Bucket=LAKE, Key=f"orders/year=2026/month=11/day=29/hour=12/obj-{n}-{i}", Body=body)
        return per_object

    return run_threads(threads, None, lines, op, c)[0]


def recovered_line(log: Path) -> str:
    lines = [line for line in log.read_text().splitlines() if "recovered state" in line]
    return lines[-1].split(": ", 1)[1] if lines else "(no recovery line)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per throughput measurement")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="alternating on/off measurements (median)")
    parser.add_argument("--baseline-root", type=Path,
                        help="also measure the local cloud of another checkout (e.g. the main branch) as 'before'")
    parser.add_argument("--baseline-durable", action="store_true",
                        help="run the --baseline-root cloud with durability on (default: off, --no-persist)")
    parser.add_argument("--rates-only", action="store_true", help="stop after the on/off throughput table")
    parser.add_argument("--skip-rates", action="store_true",
                        help="no throughput tables (1 and 3): only fill, RSS, writes during a compaction, recovery")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--kinesis", type=int, default=300_000)
    parser.add_argument("--lake-lines", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"{args.threads} writer threads, {args.seconds:.0f} s per rate", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-durability-") as tmp:
        on = Server(Path(tmp) / "on")
        if args.skip_rates:
            on.start()
            c = clients(on.url, args.threads)
            provision(c)
            fill_and_recover(args, tmp, on, c, None)
            return
        off = Server(Path(tmp) / "off", "--no-persist")
        off.start()
        c_off = clients(off.url, args.threads)
        provision(c_off)
        on.start()
        c = clients(on.url, args.threads)
        provision(c)
        before = c_before = None
        if args.baseline_root:
            before = Server(Path(tmp) / "before", *(() if args.baseline_durable else ("--no-persist",)),
                            root=args.baseline_root.resolve())
            before.start()
            c_before = clients(before.url, args.threads)
            provision(c_before)
        runs_off, runs_on, runs_before = [], [], []
        for _ in range(args.rounds):
            if c_before is not None:
                runs_before.append(measure_rates(c_before, args.threads, args.seconds))
            runs_off.append(measure_rates(c_off, args.threads, args.seconds))
            runs_on.append(measure_rates(c, args.threads, args.seconds))
        off.stop()
        if before is not None:
            before.stop()
        rates_off, rates_on = median_rates(runs_off), median_rates(runs_on)
        print(f"\n1. write throughput, durability on vs off (empty store; median of {args.rounds} alternating runs)")
        print(f"   {'':34}{'before':>10}{'off':>10}{'on':>10}{'on/off':>8}")
        for name in rates_off:
            was = f"{median_rates(runs_before)[name]:10.0f}" if runs_before else f"{'-':>10}"
            print(f"   {name:34}{was}{rates_off[name]:10.0f}{rates_on[name]:10.0f}"
                  f"{rates_on[name] / rates_off[name]:8.2f}")
        if args.rates_only:
            on.stop()
            return
        fill_and_recover(args, tmp, on, c, rates_on)


def fill_and_recover(args: argparse.Namespace, tmp: str, on: Server, c: dict[str, Any],
                     rates_on: dict[str, float] | None) -> None:
    """Sections 2-5: fill the durable server, its rates when full (unless --skip-rates), writes
    during a compaction, kill -9 and recovery."""
    started = time.monotonic()
    rss = fill_items(on, c, args.threads, args.items)
    fill_seconds = time.monotonic() - started
    print(f"\n2. server RSS after DynamoDB changes (PutItem, durability on; {fill_seconds:.0f} s to write "
          f"{max(rss)}):")
    for changes, mb in rss.items():
        print(f"   {changes:>7} changes: {mb:7.0f} MB")
    started = time.monotonic()
    records = fill_kinesis(c, args.threads, args.kinesis)
    lines = fill_lake(c, args.threads, args.lake_lines)
    print(f"   then {records} Kinesis records and {lines} lake lines ({lines // 2000} S3 objects of 2,000 lines, "
          f"~{lines * 260 // 1_000_000} MB) in {time.monotonic() - started:.0f} s; RSS {on.rss_mb():.0f} MB",
          flush=True)

    if rates_on is not None:
        rates_full = median_rates([measure_rates(c, args.threads, args.seconds) for _ in range(args.rounds)])
        print(f"\n3. raw write rates with durability on, empty store vs full ({max(rss)} items, {records} Kinesis "
              f"records, {lines} lake lines)")
        print(f"   {'':34}{'empty':>10}{'full':>10}{'full/empty':>11}")
        for name in rates_on:
            print(f"   {name:34}{rates_on[name]:10.0f}{rates_full[name]:10.0f}"
                  f"{rates_full[name] / rates_on[name]:11.2f}")

    writes_during_compaction(on, c, args.threads)

    # The puts above leave a long log (a compaction cuts where it starts, and the next one starts only
    # when it is done): wait for one that started after the last write, so the kill hits the store as
    # it usually is, snapshots covering it plus little log. None starts if the log is short already.
    log_path = on.data_dir / "localcloud.log"
    starts_before = len(re.findall(r"snapshot of \d+ services at LSN", log_path.read_text()))
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        text = log_path.read_text()
        starts = len(re.findall(r"snapshot of \d+ services at LSN", text))
        if starts > starts_before and text.count("snapshot of every service") >= starts:
            break
        if starts == starts_before and time.monotonic() > deadline - 480:  # two minutes and none started
            break
        time.sleep(1)
    state = Path(tmp) / "on" / "state"
    on.kill9()
    logged = wal.read_segments(state / "wal").records  # what a restart must replay
    wal_mb = sum(len(payload) + wal.HEADER.size for _, payload in logged) / 1e6
    snap_mb = sum(p.stat().st_size for p in (state / "snapshots").glob("*.snap")) / 1e6
    bodies = list((state / "s3-bodies").glob("body-*"))
    bodies_mb = sum(p.stat().st_size for p in bodies) / 1e6
    ready = on.start()
    c = clients(on.url, args.threads)
    count = sum(page["Count"] for page in c["dynamodb"].get_paginator("scan").paginate(
        TableName=TABLE, Select="COUNT"))
    print(f"\n5. kill -9 of the full server (snapshots {snap_mb:.0f} MB naming {len(bodies)} S3 body files of "
          f"{bodies_mb:.0f} MB, {len(logged)} log records of {wal_mb:.0f} MB to replay), restart: "
          f"ready in {ready:.1f} s, {count} items back")
    print(f"   log: {recovered_line(on.data_dir / 'localcloud.log')}")
    print(f"   RSS after recovery: {on.rss_mb():.0f} MB")
    started = time.monotonic()
    on.stop()
    print(f"   clean stop (a snapshot of everything): {time.monotonic() - started:.1f} s")
    problems = [line for line in log_path.read_text().splitlines() if " WARNING " in line or " ERROR " in line]
    if problems:
        print("   the server logged:\n" + "\n".join(f"     {line[:300]}" for line in problems[-10:]))


def writes_during_compaction(on: Server, c: dict[str, Any], threads: int) -> None:
    """PutItem from `threads` writers while 1 MB S3 objects fill the log until a compaction runs;
    prints the compaction's own log line and the write latencies while it ran."""
    log_path = on.data_dir / "localcloud.log"
    done_before = log_path.read_text().count("snapshot of every service")
    body = os.urandom(1024 * 1024)
    acks: list[tuple[float, float]] = []  # (acknowledged at, latency), wall clock as the log's
    stop = threading.Event()

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            sent = time.time()
            c["dynamodb"].put_item(TableName=TABLE, Item=item(f"during-{n}-{i}"))
            acks.append((time.time(), time.time() - sent))
            i += 1

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    i = 0
    deadline = time.monotonic() + 900
    while log_path.read_text().count("snapshot of every service") == done_before and time.monotonic() < deadline:
        c["s3"].put_object(Bucket=BUCKET, Key=f"compaction-filler/{i}", Body=body)
        i += 1
    stop.set()
    for w in workers:
        w.join()
    text = log_path.read_text()
    started_line = [line for line in text.splitlines() if "is being written by process" in line][-1]
    done_line = [line for line in text.splitlines() if "snapshot of every service" in line][-1]

    def stamp(line: str) -> float:
        return time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S")) + int(line[20:23]) / 1000

    began, ended = stamp(started_line), stamp(done_line)
    during = sorted(latency for at, latency in acks if began <= at <= ended)
    outside = sorted(latency for at, latency in acks if not began - 1 <= at <= ended + 1)
    print(f"\n4. PutItem ({threads} writers) during a compaction of the full store ({i} MB of S3 puts to start one):")
    print(f"   log: {done_line.split(': ', 1)[1]}")
    if during:
        elsewhere = (f" (outside it: p50 {statistics.median(outside) * 1000:.0f} ms, max {outside[-1] * 1000:.0f} ms)"
                     if outside else "")
        print(f"   {len(during)} PutItems acknowledged while the {ended - began:.1f} s snapshot was written; latency "
              f"p50 {statistics.median(during) * 1000:.0f} ms, max {during[-1] * 1000:.0f} ms{elsewhere}", flush=True)
    else:
        print(f"   no PutItem was acknowledged during the {ended - began:.1f} s snapshot", flush=True)


if __name__ == "__main__":
    main()

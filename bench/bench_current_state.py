"""Benchmark: one Sales refresh's current-state queries via `orders_current` vs the Iceberg table merged on read.

    python bench/bench_current_state.py [--sizes 10000,100000,1000000] [--orders 10000] [--recent 1000]

For each history size: a fresh local cloud in its own process (as the app
reaches it: `python -m localcloud`, so client and server do not share one
interpreter), `up` (salescdc.infra.provision), a
lake of that many change records over 28 old days (bench_athena's generator:
≤ `--orders` live orders, deletes, duplicates, sequence numbers of two widths),
one `merge_now` that absorbs them, then `--recent` changes of today merged
and as many again not merged (so merge on read has work to do). Then the four
Sales queries that read live orders (kpis, by_product, top_orders,
price_distribution) run through Athena both ways, as the Sales page runs
them: the four at once (Analytics.run_many), the new path after its watermark
query, whose answer the four are built from. One cold refresh, then `--repeat`
warm ones timed (p50 and p95 of their wall time, and the CPU seconds the bench
and the local cloud process spent per refresh: wall time on a machine other
sessions load is theirs as much as ours, CPU time is the work itself). Prints bytes scanned per
refresh and the AWS cost per day of one open dashboard refreshing every 10 s at
$5 per TB with Athena's 10 MB minimum per query. Both paths' answers are
checked to be equal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_athena import generate  # noqa: E402

from localcloud.testing import start_localcloud_process, stop_localcloud_process  # noqa: E402
from salescdc.analytics import Analytics, QueryResult, run_live_sales, sales_queries  # noqa: E402
from salescdc.clients import ClientFactory  # noqa: E402
from salescdc.current_state import SCHEDULE_GROUP, merge_now  # noqa: E402
from salescdc.infra import ApplyOptions, provision  # noqa: E402
from salescdc.settings import Settings  # noqa: E402

CURRENT_STATE_QUERIES = ("kpis", "by_product", "top_orders", "price_distribution")
PRICE_PER_TB = 5.0
MIN_BILLED = 10 * 1024 * 1024
REFRESHES_PER_DAY = 24 * 3600 // 10


def recent_changes(count: int, orders: int, offset: int) -> bytes:
    """`count` NDJSON change records of today for existing orders, newer than every history record."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    lines = []
    for i in range(count):
        n = offset + i
        stamp = (now - dt.timedelta(seconds=count - i)).isoformat(sep=" ", timespec="milliseconds")
        lines.append(json.dumps({
            "orderid": str(1 + n * 7 % orders), "product_name": "Phone", "quantity": 1 + n % 4,
            "price": f"{10 + n % 90}.25", "updated_at": None, "op": "MODIFY", "is_deleted": False,
            "event_id": f"recent-{n}", "sequence_number": "3" + str(n).zfill(39), "event_time": stamp,
            "arrival_time": stamp, "extra": "{}",
        }))
    return ("\n".join(lines) + "\n").encode()


LAST_WATERMARK: list[QueryResult | None] = [None]  # the previous refresh's, as the page keeps it


def once(analytics: Analytics, settings: Settings, new_path: bool) -> tuple[list, dict]:
    """One refresh as the Sales page does it: (every result, the four queries by name). The new path runs
    the four with the query for the next watermark, from the previous refresh's (run_live_sales)."""
    if new_path:
        live = run_live_sales(analytics, LAST_WATERMARK[0], names=CURRENT_STATE_QUERIES)
        if not isinstance(live.watermark, QueryResult):
            raise live.watermark
        LAST_WATERMARK[0] = live.watermark
        by_name = dict(zip(live.queries, live.answers))
        results, answers = [live.watermark], [by_name[name] for name in CURRENT_STATE_QUERIES]
    else:
        queries = sales_queries(settings)
        results, answers = [], analytics.run_many([queries[name].sql for name in CURRENT_STATE_QUERIES])
    for answer in answers:
        if not isinstance(answer, QueryResult):
            raise answer
    return results + answers, dict(zip(CURRENT_STATE_QUERIES, answers))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of this process (all threads) plus those of process `pid` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return time.process_time() + ticks / os.sysconf("SC_CLK_TCK")


def refresh(analytics: Analytics, settings: Settings, new_path: bool, repeat: int, server_pid: int) -> dict:
    """A cold refresh, then `repeat` warm ones timed: bytes scanned and billed per refresh, wall p50/p95,
    CPU seconds per refresh (bench + local cloud), answers."""
    results, answers = once(analytics, settings, new_path)
    walls = []
    cpu_start = cpu_seconds(server_pid)
    for _ in range(repeat):
        start = time.perf_counter()
        results, answers = once(analytics, settings, new_path)
        walls.append(time.perf_counter() - start)
    cpu = (cpu_seconds(server_pid) - cpu_start) / max(1, repeat)
    walls.sort()
    return {
        "scanned": sum(r.data_scanned_bytes or 0 for r in results),
        "billed": sum(max(r.data_scanned_bytes or 0, MIN_BILLED) for r in results),
        "p50": statistics.median(walls),
        "p95": walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))],
        "cpu": cpu,
        "answers": {name: result.frame for name, result in answers.items()},
    }


def measure(size: int, orders: int, recent: int, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_localcloud_process(Path(tmp) / "cloud", stderr_log=Path(tmp) / "stderr.txt")
        try:
            return _measure(Path(tmp), url, process.pid, size, orders, recent, repeat)
        finally:
            stop_localcloud_process(process)


def _measure(tmp: Path, url: str, server_pid: int, size: int, orders: int, recent: int, repeat: int) -> dict:
    settings = Settings(endpoint_url=url)
    factory = ClientFactory(settings)
    provision(settings, factory, options=ApplyOptions(poll_interval_s=0.1, timeout_s=120, role_propagation_s=5))
    # The bench runs its own MERGEs: no scheduled one may absorb the unmerged changes mid-measurement.
    scheduler = factory.client("scheduler")
    for schedule in scheduler.list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"]:
        scheduler.delete_schedule(Name=schedule["Name"], GroupName=SCHEDULE_GROUP)
    s3, bucket = factory.client("s3"), factory.bucket_name()
    root = Path(tmp) / "lake"
    for path in generate(root, size, max(1, min(100, size // 10_000)), orders):
        s3.put_object(Bucket=bucket, Key="orders/" + path.relative_to(root).as_posix(), Body=path.read_bytes())
    analytics = Analytics(settings, factory)
    merge_now(analytics)
    today = dt.date.today().isoformat()
    s3.put_object(Bucket=bucket, Key=f"orders/dt={today}/recent-merged.json", Body=recent_changes(recent, orders, 0))
    merge_now(analytics)
    s3.put_object(Bucket=bucket, Key=f"orders/dt={today}/recent-new.json",
                  Body=recent_changes(recent, orders, recent))
    old = refresh(analytics, settings, False, repeat, server_pid)
    new = refresh(analytics, settings, True, repeat, server_pid)
    for name in CURRENT_STATE_QUERIES:
        assert new["answers"][name].to_dict("records") == old["answers"][name].to_dict("records"), name
    live = int(analytics.run("SELECT count(*) AS n FROM cdc_data.orders").frame["n"].iloc[0])
    return {"size": size, "live": live, "old": old, "new": new}


def cost_per_day(billed_per_refresh: int) -> float:
    return billed_per_refresh * REFRESHES_PER_DAY / 1024**4 * PRICE_PER_TB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--recent", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=10, help="warm refreshes timed per path")
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, {platform.processor() or 'unknown cpu'}, Python {platform.python_version()}")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print("history | live orders | path | scanned/refresh | warm wall/refresh p50 / p95 | CPU s/refresh | "
          "AWS $/day (one dashboard, 10 s)")
    for size in (int(s) for s in args.sizes.split(",")):
        row = measure(size, args.orders, args.recent, args.repeat)
        for label, path in (("orders_current", row["old"]), ("iceberg + merge on read", row["new"])):
            print(f"{size:>9,} | {row['live']:>6,} | {label:<24} | {path['scanned'] / 1e6:8.2f} MB | "
                  f"{path['p50']:6.2f} / {path['p95']:.2f} s | {path['cpu']:5.2f} s | "
                  f"${cost_per_day(path['billed']):,.2f} (load {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

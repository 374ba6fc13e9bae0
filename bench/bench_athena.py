"""Benchmark: the local Athena (pyathena over HTTP) vs DuckDB straight on the same NDJSON files.

    python bench/bench_athena.py [--records 1000000] [--files 100] [--orders 10000] [--repeat 5]
                                 [--conformance-only]

Generates a lake of change records shaped like salescdc.contract (DuckDB COPY
to NDJSON, then uploaded to the local cloud's S3), defines `order_changes` as
infra does and `orders_current` through Athena DDL, then times revenue by
product from both, cold (nothing cached) and warm (run again), through the
Athena API and through DuckDB reading the files directly. Prints the times
and the ratio, and checks that both give the same answer. Each figure is the p50 of
`--repeat` rounds (cold, then warm, on each side; the range is printed too): one
cold run swings by a quarter either way even on a quiet machine. The local cloud runs
in this process, so the CPU seconds each side used are measured too (user +
system, all threads): on a shared, busy machine wall times swing with other
load, CPU seconds much less; the load average is printed with them. First it prints
the conformance suite's counts per area (answered with Trino's value /
refused with Athena's error).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import decimal
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
import duckdb  # noqa: E402
import sqlglot  # noqa: E402

from localcloud.testing import running_localcloud  # noqa: E402
from salescdc.contract import COLUMNS, PARTITION_COLUMNS  # noqa: E402
from salescdc.infra.views import orders_current_select_sql, orders_current_sql  # noqa: E402
from salescdc.settings import Settings  # noqa: E402

REGION = "ap-south-1"
BUCKET = "bench-lake"
DB = "cdc_data"
WORKGROUP = "bench"
RESULTS = f"s3://{BUCKET}/athena-results/"

QUERIES = {
    "orders_current": "SELECT product_name, sum(price * quantity) AS revenue FROM orders_current "
                      "GROUP BY product_name ORDER BY product_name",
    "order_changes": "SELECT product_name, sum(price * quantity) AS revenue FROM order_changes "
                     "WHERE op <> 'REMOVE' GROUP BY product_name ORDER BY product_name",
}


def generate(out: Path, records: int, files: int, orders: int) -> list[Path]:
    """NDJSON lake files, one day per file group; every 10th change a delete, every 50th a duplicate."""
    con = duckdb.connect()
    paths = []
    per_file = -(-records // files)
    for k in range(files):
        start, stop = k * per_file, min(records, (k + 1) * per_file)
        if start >= stop:
            break
        day = f"2024-05-{1 + k % 28:02d}"
        path = out / f"dt={day}" / f"bench-{k:05d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"""
            COPY (
              SELECT
                CAST(1 + i % {orders} AS VARCHAR) AS orderid,
                ['Laptop', 'Phone', 'Tablet', 'Headphones', 'charger'][1 + (i * 7) % 5] AS product_name,
                CAST(1 + i % 5 AS INTEGER) AS quantity,
                CAST(10 + (i * 37 % 49000) / 100.0 AS DECIMAL(10,2)) AS price,
                NULL AS updated_at,
                CASE WHEN i % 10 = 9 THEN 'REMOVE' WHEN i < {orders} THEN 'INSERT' ELSE 'MODIFY' END AS op,
                i % 10 = 9 AS is_deleted,
                'ev-' || CAST(CASE WHEN i % 50 = 49 THEN i - 1 ELSE i END AS VARCHAR) AS event_id,
                -- 21 digits early on, 40 digits later: sequence numbers of different lengths.
                CASE WHEN i < {records // 2}
                     THEN '1' || lpad(CAST(CASE WHEN i % 50 = 49 THEN i - 1 ELSE i END AS VARCHAR), 20, '0')
                     ELSE '2' || lpad(CAST(i AS VARCHAR), 39, '0') END AS sequence_number,
                strftime(TIMESTAMP '{day}' + INTERVAL (i % 86400) SECOND, '%Y-%m-%d %H:%M:%S.%g') AS event_time,
                strftime(TIMESTAMP '{day}' + INTERVAL (i % 86400) SECOND, '%Y-%m-%d %H:%M:%S.%g') AS arrival_time,
                '{{}}' AS extra
              FROM range({start}, {stop}) AS r(i)
            ) TO '{path.as_posix()}' (FORMAT JSON)
        """)
        paths.append(path)
    return paths


def upload(s3: object, root: Path, paths: list[Path]) -> int:
    def put(path: Path) -> int:
        key = "orders/" + path.relative_to(root).as_posix()
        body = path.read_bytes()
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)  # type: ignore[attr-defined]
        return len(body)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        return sum(pool.map(put, paths))


def provision(cloud_url: str) -> tuple[object, object, object]:
    kw = dict(endpoint_url=cloud_url, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    s3, glue, athena = (boto3.client(s, **kw) for s in ("s3", "glue", "athena"))
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    glue.create_database(DatabaseInput={"Name": DB})
    location = f"s3://{BUCKET}/orders/"
    glue.create_table(DatabaseName=DB, TableInput={
        "Name": "order_changes", "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", "classification": "json", "projection.enabled": "true",
                       "projection.dt.type": "date", "projection.dt.format": "yyyy-MM-dd",
                       "projection.dt.range": "2024-01-01,NOW", "storage.location.template": f"{location}dt=${{dt}}"},
        "PartitionKeys": [{"Name": n, "Type": t} for n, t, _ in PARTITION_COLUMNS],
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t, _ in COLUMNS], "Location": location,
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
        },
    })
    athena.create_work_group(Name=WORKGROUP, Configuration={
        "ResultConfiguration": {"OutputLocation": RESULTS}, "EnforceWorkGroupConfiguration": True,
        "BytesScannedCutoffPerQuery": 1_000_000_000_000,
    })
    return s3, glue, athena


def direct_duckdb(root: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB on the same files: the catalog's columns and types, dt from the folder, the view's SQL."""
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    types = {n: sqlglot.exp.DataType.build(t, dialect="hive").sql("duckdb") for n, t, _ in COLUMNS}
    spec = ", ".join(f"'{n}': '{t}'" for n, t in types.items())
    con.execute(f"""
        CREATE VIEW order_changes AS SELECT * FROM read_json('{root.as_posix()}/*/*.json',
            columns={{{spec}}}, format='newline_delimited', hive_partitioning=true,
            timestampformat='%Y-%m-%d %H:%M:%S.%g')
    """)
    view_sql = sqlglot.transpile(orders_current_select_sql(Settings()).replace('"cdc_data".', ""),
                                 read="athena", write="duckdb")[0]
    con.execute(f"CREATE VIEW orders_current AS {view_sql}")
    return con


CPU = [0.0]  # CPU seconds of the last timed() call


def timed(fn) -> tuple[float, object]:
    """Wall seconds of fn() and its result; the CPU seconds it used (every thread of this process) go in CPU."""
    cpu, start = sum(os.times()[:2]), time.perf_counter()
    result = fn()
    CPU[0] = sum(os.times()[:2]) - cpu
    return time.perf_counter() - start, result


def conformance_line(cache_dir: Path) -> str:
    """The conformance suite's counts per area: cases answered with Trino's value / refused as documented.

    Runs every case of tests/localcloud/athena/conformance_cases.py on the engine, as the fast lane does;
    a case counts only when its outcome is the expected one.
    """
    from localcloud.athena.engine import Engine
    from localcloud.athena.exceptions import QueryFailed
    from tests.localcloud.athena.conformance_cases import CASES
    from tests.localcloud.test_athena_conformance import run_on_engine

    engine = Engine(cache_dir)
    counts: dict[str, list[int]] = {}
    wrong = 0
    try:
        for case in CASES:
            right, refused = counts.setdefault(case.area, [0, 0])
            try:
                value, type_name = run_on_engine(engine, case.sql)
                ok = case.error is None and value == case.value and case.type in (None, type_name)
                counts[case.area][0] += ok
            except QueryFailed as exc:
                ok = case.error is not None and exc.reason.startswith(case.error)
                counts[case.area][1] += ok
            wrong += not ok
    finally:
        engine.close()
    areas = ", ".join(f"{area} {right}/{refused}" for area, (right, refused) in counts.items())
    total_right = sum(r for r, _ in counts.values())
    total_refused = sum(f for _, f in counts.values())
    return (f"conformance (answered right / failed as expected: Athena's error or NOT_SUPPORTED): {areas}; "
            f"total {total_right}/{total_refused}"
            f"{f', {wrong} NOT AS EXPECTED' if wrong else ''}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--orders", type=int, default=10_000, help="distinct orderids")
    parser.add_argument("--repeat", type=int, default=5, help="rounds per figure (p50 reported)")
    parser.add_argument("--conformance-only", action="store_true", help="print only the conformance counts")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-conformance-") as tmp:
        print(conformance_line(Path(tmp)))
    if args.conformance_only:
        return 0

    import pyathena

    with tempfile.TemporaryDirectory(prefix="bench-athena-") as tmp:
        root = Path(tmp) / "lake"
        t_gen, paths = timed(lambda: generate(root, args.records, args.files, args.orders))
        with running_localcloud(Path(tmp) / "cloud") as cloud:
            s3, glue, athena = provision(cloud.url)
            t_up, size = timed(lambda: upload(s3, root, paths))
            print(f"lake: {args.records:,} change records in {len(paths)} files, {size / 1e6:.1f} MB "
                  f"(generated in {t_gen:.1f}s, uploaded in {t_up:.1f}s)")
            conn = pyathena.connect(s3_staging_dir=RESULTS, region_name=REGION, work_group=WORKGROUP,
                                    schema_name=DB, endpoint_url=cloud.url, aws_access_key_id="test",
                                    aws_secret_access_key="test", poll_interval=0.02)
            with conn.cursor() as cur:
                cur.execute(orders_current_sql(Settings()))
                cloud.athena.clear_cache()

                def via_athena(sql: str) -> list[tuple]:
                    cur.execute(sql)
                    return [(r[0], decimal.Decimal(r[1])) for r in cur.fetchall()]

                results = []
                for name, sql in QUERIES.items():
                    # walls and CPU seconds per round: athena cold, athena warm, duckdb cold, duckdb warm
                    rounds: list[tuple[float, ...]] = []
                    for _ in range(args.repeat):
                        cloud.athena.clear_cache()
                        a_cold, a_rows = timed(lambda: via_athena(sql))
                        a_cold_cpu = CPU[0]
                        scanned = cur.data_scanned_in_bytes
                        a_warm, _ = timed(lambda: via_athena(sql))
                        a_warm_cpu = CPU[0]
                        con = direct_duckdb(root)
                        d_cold, d_rows = timed(lambda: [(r[0], decimal.Decimal(r[1]))
                                                        for r in con.sql(sql).fetchall()])
                        d_cold_cpu = CPU[0]
                        d_warm, _ = timed(lambda: con.sql(sql).fetchall())
                        d_warm_cpu = CPU[0]
                        con.close()
                        if a_rows != d_rows:
                            print(f"MISMATCH for {name}: athena {a_rows} vs duckdb {d_rows}", file=sys.stderr)
                            return 1
                        rounds.append((a_cold, a_warm, d_cold, d_warm, a_cold_cpu, a_warm_cpu, d_cold_cpu, d_warm_cpu))
                    results.append((name, scanned, rounds))
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
              f"python {platform.python_version()}, duckdb {duckdb.__version__}; load average "
              + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        print(f"p50 of {args.repeat} rounds (min-max in brackets for the cold ratio)")
        print(f"{'revenue by product from':<24}{'athena cold':>12}{'athena warm':>12}{'duckdb cold':>12}"
              f"{'duckdb warm':>12}{'ratio cold':>11}{'ratio warm':>11}{'scanned MB':>11}")
        for name, scanned, rounds in results:
            a_cold, a_warm, d_cold, d_warm = (statistics.median(r[k] for r in rounds) for k in range(4))
            spread = sorted(r[0] / r[2] for r in rounds)
            print(f"{name:<24}{a_cold:>11.2f}s{a_warm:>11.2f}s{d_cold:>11.2f}s{d_warm:>11.2f}s"
                  f"{a_cold / d_cold:>10.1f}x{a_warm / d_warm:>10.1f}x{scanned / 1e6:>11.1f}"
                  f"  [{spread[0]:.1f}-{spread[-1]:.1f}x]")
        print(f"{'CPU seconds':<24}{'athena cold':>12}{'athena warm':>12}{'duckdb cold':>12}"
              f"{'duckdb warm':>12}{'ratio cold':>11}{'ratio warm':>11}")
        for name, _, rounds in results:
            a_cold, a_warm, d_cold, d_warm = (statistics.median(r[k] for r in rounds) for k in range(4, 8))
            spread = sorted(r[4] / r[6] for r in rounds)
            print(f"{name:<24}{a_cold:>11.2f}s{a_warm:>11.2f}s{d_cold:>11.2f}s{d_warm:>11.2f}s"
                  f"{a_cold / d_cold:>10.1f}x{a_warm / d_warm:>10.1f}x{'':>11}  [{spread[0]:.1f}-{spread[-1]:.1f}x]")
    return 0


if __name__ == "__main__":
    sys.exit(main())

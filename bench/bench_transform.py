"""Benchmark the Firehose transform: records per second and bytes in/out for realistic batches.

Run: python bench/bench_transform.py [--records 500] [--rounds 20]
Prints throughput of the handler on a batch of order change records (a mix of
INSERT/MODIFY/REMOVE under NEW_AND_OLD_IMAGES), and how the response size compares
with the request (the 6 MB guard in batch.py relies on lines usually shrinking).
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambdas" / "firehose_transform"))

import handler  # noqa: E402


def order_image(rng: random.Random, oid: str) -> dict:
    return {
        "orderid": {"S": oid},
        "product_name": {"S": rng.choice(["Laptop", "Phone", "Tablet", "Headphones", "charger"])},
        "quantity": {"N": str(rng.randint(1, 5))},
        "price": {"N": f"{rng.randint(1000, 50000) / 100:.2f}"},
        "updated_at": {"S": "2026-01-31T12:00:00.123Z"},
    }


def event(n: int, seed: int = 1) -> dict:
    rng = random.Random(seed)
    records = []
    for i in range(n):
        oid = str(rng.randint(1, 10000))
        op = rng.choice(["INSERT", "MODIFY", "REMOVE"])
        dynamodb = {"Keys": {"orderid": {"S": oid}}, "SequenceNumber": str(10**20 + i), "SizeBytes": 120,
                    "StreamViewType": "NEW_AND_OLD_IMAGES", "ApproximateCreationDateTime": 1769860800.123}
        if op != "REMOVE":
            dynamodb["NewImage"] = order_image(rng, oid)
        if op != "INSERT":
            dynamodb["OldImage"] = order_image(rng, oid)
        rec = {"eventID": f"{i:032x}", "eventVersion": "1.1", "eventName": op, "eventSource": "aws:dynamodb",
               "eventSourceARN": "arn:aws:dynamodb:ap-south-1:123456789012:table/OrdersRawTable/stream/x",
               "awsRegion": "ap-south-1", "dynamodb": dynamodb}
        records.append({"recordId": f"r{i}", "approximateArrivalTimestamp": 1769860800456,
                        "data": base64.b64encode(json.dumps(rec).encode()).decode()})
    return {"invocationId": "bench", "records": records}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, default=500)
    p.add_argument("--rounds", type=int, default=20)
    args = p.parse_args()
    ev = event(args.records)
    handler.logger.disabled = True
    handler.lambda_handler(ev, None)  # warm up
    start = time.perf_counter()
    for _ in range(args.rounds):
        response = handler.lambda_handler(ev, None)
    elapsed = time.perf_counter() - start
    request_bytes, response_bytes = len(json.dumps(ev)), len(json.dumps(response))
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{args.records} records x {args.rounds} rounds: {args.records * args.rounds / elapsed:,.0f} records/s "
          f"({elapsed / args.rounds * 1000:.1f} ms per batch)")
    print(f"request {request_bytes:,} B -> response {response_bytes:,} B ({response_bytes / request_bytes:.0%})")


if __name__ == "__main__":
    main()

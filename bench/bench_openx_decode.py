"""Benchmark: what Athena's OpenX JSON rules cost the local engine's decode of the project's lake lines.

    python bench/bench_openx_decode.py [--records 200000] [--files 100] [--repeat 7]

Generates bench_athena.py's lake (lines shaped like the project's), then decodes it with the
engine's loader, alternately without and with the OpenX rules (openx_json.py: case-insensitive
keys, the flags that send a batch to the line-by-line read, integer, boolean and timestamp
conversions), all columns and then the four order_changes revenue reads. Prints the median CPU
seconds of each, the ratio, and the line-by-line read's cost per line (which the project's usual
lines never take). Same process, alternating runs, so machine load affects both sides alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_athena import generate  # noqa: E402
from localcloud.athena import openx_json  # noqa: E402
from localcloud.athena.engine import Engine  # noqa: E402
from localcloud.athena.lake import LakeObject, TableSource  # noqa: E402
from salescdc.contract import COLUMNS  # noqa: E402

REVENUE_COLUMNS = ("product_name", "price", "quantity", "op")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        engine = Engine(root / "cache")
        paths = []
        for i, path in enumerate(generate(root / "lake", args.records, args.files, 10_000)):
            local = engine.cache_dir / f"f{i}.json"  # the loader may read only its cache directory
            shutil.copy(path, local)
            paths.append(local)
        objects = [LakeObject("b", f"k{i}", "e", p.stat().st_size) for i, p in enumerate(paths)]
        columns = [(name, hive_type) for name, hive_type, *_ in COLUMNS]
        plain = TableSource("awsdatacatalog", "db", "t", columns, [], "json", False, objects)
        openx = dataclasses.replace(plain, openx=True, case_insensitive=True)
        print(f"{args.records:,} lines in {len(paths)} files; median CPU seconds of {args.repeat} alternating decodes")
        for label, wanted in (("all 12 columns", None), ("order_changes' 4 columns", REVENUE_COLUMNS)):
            narrow = (lambda s: s) if wanted is None else (
                lambda s: dataclasses.replace(s, columns=[c for c in s.columns if c[0] in wanted]))
            times: dict[str, list[float]] = {"before": [], "openx": []}
            for _ in range(args.repeat):
                for side, source in (("before", narrow(plain)), ("openx", narrow(openx))):
                    start = time.process_time()
                    engine._decode(source, paths, [0] * len(paths))
                    times[side].append(time.process_time() - start)
            before, after = statistics.median(times["before"]), statistics.median(times["openx"])
            print(f"  {label:26} without OpenX rules {before:.3f}s  with {after:.3f}s  ({after / before:.2f}x)")
        sample = paths[:10]
        start = time.process_time()
        rows = openx_json.read_rows(sample, columns, True, False).num_rows
        print(f"  line-by-line read: {(time.process_time() - start) / rows * 1e6:.1f} us a line ({rows:,} lines)")
        engine.close()


if __name__ == "__main__":
    main()

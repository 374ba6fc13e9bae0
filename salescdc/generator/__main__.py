"""CLI: `python -m salescdc.generator [--rate R] [--count N] [--duration S] [--update-share U] [--delete-share D] [--seed X]`.

Ctrl-C or SIGTERM stops cleanly after the batch in flight, with a summary line.
Exit codes: 0 stopped or bound reached; 2 bad options or a terminal error (an
endpoint that does not answer within --endpoint-wait seconds, a missing table),
reported as one sentence without a traceback.
`--status-file` and `--settings-file` are how GeneratorProcess runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from salescdc.clients import ClientFactory
from salescdc.errors import SalesCdcError
from salescdc.generator.generator import OrderGenerator
from salescdc.generator.options import DEFAULT_RATE_PER_S, GeneratorOptions
from salescdc.generator.orders import Operation
from salescdc.generator.process import FAILED, RUNNING, STOPPED, settings_from_dict, write_json_atomically
from salescdc.preflight import DEFAULT_WAIT_S, wait_for_endpoint
from salescdc.settings import Settings

# At or below this rate each write gets a line, like the tutorial's script; above it, a line every few seconds.
ECHO_RATE_PER_S = 2.0
PROGRESS_EVERY_S = 5.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m salescdc.generator", description="Write mock orders to the orders table.")
    p.add_argument("--rate", type=float, default=DEFAULT_RATE_PER_S, help="operations per second (default: one every 3 s)")
    p.add_argument("--count", type=int, help="stop after this many written operations")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--update-share", type=float, default=0.0, help="share of updates of orders this run wrote (0-1)")
    p.add_argument("--delete-share", type=float, default=0.0, help="share of deletes of orders this run wrote (0-1)")
    p.add_argument("--seed", type=int, help="same seed, same starting table -> same operations")
    p.add_argument("--endpoint-wait", type=float, default=DEFAULT_WAIT_S,
                   help=f"seconds to wait for the endpoint to answer before giving up (default {DEFAULT_WAIT_S:g})")
    p.add_argument("--status-file", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--settings-file", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--status-interval", type=float, default=0.5, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    reporter: StatusReporter | None = None
    try:
        if args.settings_file:
            settings = settings_from_dict(json.loads(args.settings_file.read_text()))
        else:
            settings = Settings.from_env(os.environ)
        options = GeneratorOptions(
            rate_per_s=args.rate, update_share=args.update_share, delete_share=args.delete_share,
            count=args.count, duration_s=args.duration, seed=args.seed,
        )
        if settings.endpoint_url:  # the local cloud (or another endpoint): say so at once if nothing answers
            wait_for_endpoint(settings.endpoint_url, wait_s=args.endpoint_wait)
    except SalesCdcError as exc:
        print(exc, file=sys.stderr)
        return 2

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    echo = options.rate_per_s <= ECHO_RATE_PER_S
    def banner() -> None:
        where = settings.endpoint_url or settings.region
        print(f"Writing orders to {settings.table_name} ({where}) at {options.rate_per_s:g}/s; Ctrl-C stops.", flush=True)

    generator = OrderGenerator(settings, ClientFactory(settings), options,
                               on_written=_echo if echo else None, on_started=banner)
    if args.status_file:
        reporter = StatusReporter(args.status_file, generator, options, args.status_interval, stop)
        reporter.start()
    progress = None if echo else _Progress(generator)
    try:
        stats = generator.run(stop)
    except SalesCdcError as exc:
        if reporter:
            reporter.finish(FAILED, str(exc))
        print(exc, file=sys.stderr, flush=True)
        return 2
    finally:
        if progress:
            progress.stop()
    if reporter:
        reporter.finish(STOPPED, stats.last_error)
    print(f"Stopped: {stats.summary()}.", flush=True)
    return 0


def _echo(ops: list[Operation]) -> None:
    for op in ops:
        if op.item is None:
            print(f"{op.kind} order {op.orderid}", flush=True)
        else:
            print(f"{op.kind} order {op.orderid}: {op.item['product_name']} x{op.item['quantity']} "
                  f"at {op.item['price']}", flush=True)


class _Progress:
    """A summary line every few seconds at high rates."""

    def __init__(self, generator: OrderGenerator):
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(generator,), daemon=True)
        self._thread.start()

    def _run(self, generator: OrderGenerator) -> None:
        while not self._done.wait(PROGRESS_EVERY_S):
            print(f"... {generator.stats.summary()}", flush=True)

    def stop(self) -> None:
        self._done.set()


class StatusReporter:
    """Writes the status file every `interval` seconds while the generator runs.

    The status file is the only handle a managing process has: if it can no longer
    be written (its folder was removed), nobody can see or stop this run, so it stops.
    """

    def __init__(self, path: Path, generator: OrderGenerator, options: GeneratorOptions, interval: float,
                 stop: threading.Event):
        self.path = path
        self.generator = generator
        self.options = options
        self.interval = interval
        self.stop = stop
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="generator-status", daemon=True)

    def start(self) -> None:
        self.write(RUNNING, None)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            try:
                self.write(RUNNING, self.generator.stats.last_error)
            except OSError as exc:
                print(f"Cannot write the status file {self.path} ({exc.strerror}); stopping, since nothing "
                      "can manage this run any more.", file=sys.stderr, flush=True)
                self.stop.set()
                return

    def finish(self, state: str, last_error: str | None) -> None:
        self._done.set()
        self._thread.join()
        with contextlib.suppress(OSError):
            self.write(state, last_error)

    def write(self, state: str, last_error: str | None) -> None:
        write_json_atomically(self.path, {
            "pid": os.getpid(),
            "state": state,
            "options": self.options.to_dict(),
            "stats": self.generator.stats.to_dict(),
            "last_error": last_error,
            "updated_at": time.time(),
        })


if __name__ == "__main__":
    sys.exit(main())

"""`python -m localcloud`: serve the local cloud until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import faulthandler
import signal
import sys
import threading

from localcloud.durability import DataDirError
from localcloud.server import LocalCloud, PortInUseError


SIGNAL_POLL_S = 0.25
STOP_WATCHDOG_S = 60


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0 seconds")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--data-dir", default=".localcloud", help="checkpoints, caches and the log")
    parser.add_argument("--log-requests", action="store_true", help="log every request to the log file")
    parser.add_argument("--no-persist", action="store_true",
                        help="start empty and keep the AWS state (tables, streams, buckets, ...) in memory only")
    parser.add_argument("--compact-mb", type=int, default=64, metavar="MB",
                        help="snapshot every service and drop the write-ahead log once it holds this many MB and "
                             "more than the last snapshot (default 64): smaller means faster recovery after a "
                             "crash, more snapshot work")
    parser.add_argument("--no-runners", action="store_true",
                        help="serve the AWS APIs only: pipes, Firehose and the rest move no data")
    parser.add_argument("--enable-moto-api", action="store_true",
                        help="serve moto's /moto-api/ endpoints (reset, seed, data, ...); off by default, "
                             "as any web page in a browser on this machine could call them")
    parser.add_argument("--retention-seconds", type=_positive_seconds, default=None,
                        help="keep DynamoDB stream and Kinesis records this long (default: AWS's, 24 h or "
                             "the stream's RetentionPeriodHours); short values are for tests and soaks")
    args = parser.parse_args(argv)

    # Handlers first: a SIGTERM that arrives while starting still ends in a clean stop.
    stopped = threading.Event()

    def shutdown(signum: int, frame: object) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    if hasattr(signal, "SIGUSR1"):  # `kill -USR1` prints every thread's stack to stderr: how a hang is diagnosed
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    cloud = LocalCloud(args.host, args.port, args.data_dir, log_requests=args.log_requests,
                       start_runners=not args.no_runners, persist_state=not args.no_persist,
                       compact_mb=max(1, args.compact_mb), moto_api=args.enable_moto_api,
                       retention_seconds=args.retention_seconds)
    try:
        cloud.start()
    except (PortInUseError, DataDirError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. a privileged port, an address this machine does not have, an unwritable data dir
        print(f"Cannot start the local cloud on {args.host}:{args.port} with data dir {args.data_dir}: "
              f"{exc.strerror or exc}.", file=sys.stderr)
        return 2
    print(f"Local cloud ready at {cloud.url} (log: {cloud.data_dir / 'localcloud.log'}). Ctrl-C stops it.", flush=True)
    # Not a bare stopped.wait(): the kernel may run a signal's C handler on any thread, and then
    # a main thread blocked in a lock never gets back to Python to run `shutdown` (a SIGTERM was
    # ignored for minutes that way). Waking a few times a second lets it run.
    while not stopped.wait(SIGNAL_POLL_S):
        pass
    # A stop that takes minutes is a bug: say where every thread is (on stderr), and go on waiting.
    faulthandler.dump_traceback_later(STOP_WATCHDOG_S)
    cloud.stop()  # stops the runners first; every acknowledged write is already on disk
    faulthandler.cancel_dump_traceback_later()
    try:
        print("Local cloud stopped.", flush=True)
    except OSError:  # whoever started us may have closed our stdout already; the stop itself went fine
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

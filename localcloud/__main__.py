"""`python -m localcloud`: serve the local cloud until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from localcloud.server import LocalCloud, PortInUseError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--data-dir", default=".localcloud", help="checkpoints, caches and the log")
    parser.add_argument("--log-requests", action="store_true", help="log every request to the log file")
    args = parser.parse_args(argv)

    cloud = LocalCloud(args.host, args.port, args.data_dir, log_requests=args.log_requests)
    try:
        cloud.start()
    except PortInUseError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    stopped = threading.Event()

    def shutdown(signum: int, frame: object) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    print(f"Local cloud ready at {cloud.url} (log: {cloud.data_dir / 'localcloud.log'}). Ctrl-C stops it.", flush=True)
    stopped.wait()
    cloud.stop()
    print("Local cloud stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

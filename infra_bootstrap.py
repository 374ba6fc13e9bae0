"""Provision, inspect and tear down the Sales CDC pipeline.

    python infra_bootstrap.py up              # create or converge everything (idempotent)
    python infra_bootstrap.py status [--json] # present / missing / drifted, with state
    python infra_bootstrap.py down [--yes] [--delete-data]

Targets the local cloud by default (SALESCDC_TARGET=local, AWS_ENDPOINT_URL);
SALESCDC_TARGET=aws uses the standard AWS credential chain. The work is done by
`salescdc.infra`; this file only parses arguments and prints.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from salescdc.clients import ClientFactory
from salescdc.errors import explain
from salescdc.infra import ProgressEvent, ResourceError, inspect, provision, teardown
from salescdc.settings import Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ABORTED = 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="infra_bootstrap.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="create or converge every resource")
    up.add_argument("--json", action="store_true", help="print events as JSON lines")
    st = sub.add_parser("status", help="list every resource as present / missing / drifted")
    st.add_argument("--json", action="store_true", help="print a JSON document")
    down = sub.add_parser("down", help="delete what this project created (tagged resources only)")
    down.add_argument("--json", action="store_true", help="print events as JSON lines")
    down.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    down.add_argument("--delete-data", action="store_true", help="also empty and delete the lake bucket")
    return p


def _printer(out: TextIO, as_json: bool) -> Callable[[ProgressEvent], None]:
    def show(event: ProgressEvent) -> None:
        if event.phase == "checking":
            return  # one line per outcome is enough for people and machines alike
        if as_json:
            out.write(json.dumps({"kind": event.kind, "name": event.name, "phase": event.phase,
                                  "reason": event.reason}) + "\n")
        else:
            out.write(event.line() + "\n")
        out.flush()

    return show


def _confirm(settings: Settings, delete_data: bool, stdin: TextIO, out: TextIO) -> bool:
    where = settings.endpoint_url or f"AWS ({settings.region}{', profile ' + settings.profile if settings.profile else ''})"
    data = " and the lake bucket with ALL its data" if delete_data else " (the lake bucket is kept if it holds data)"
    out.write(f"This deletes every tagged Sales CDC resource at {where}{data}.\nType 'yes' to continue: ")
    out.flush()
    answer = stdin.readline().strip().lower()
    return answer in ("y", "yes")


def run(
    argv: Sequence[str],
    environ: dict[str, str] | os._Environ[str],
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    stdin: TextIO = sys.stdin,
    **engine_options: Any,
) -> int:
    """The CLI as a function: returns the exit code; never raises for an expected failure."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(environ)
        factory = ClientFactory(settings)
        if args.command == "up":
            results = provision(settings, factory, _printer(out, args.json), **engine_options)
            if not args.json:
                changed = [r for r in results if r.changed]
                out.write(
                    f"Nothing changed: all {len(results)} resources were already as declared.\n"
                    if not changed
                    else f"Done: {len(changed)} of {len(results)} resources created or updated.\n"
                )
            return EXIT_OK
        if args.command == "status":
            statuses = inspect(settings, factory, **engine_options)
            if args.json:
                out.write(json.dumps([s.to_dict() for s in statuses], indent=2) + "\n")
            else:
                for s in statuses:
                    detail = f"  {s.detail}" if s.detail else ""
                    out.write(f"{s.status:<8} {s.state or '-':<15} {s.kind:<20} {s.name}{detail}\n")
            return EXIT_OK
        # down
        if not args.yes and not _confirm(settings, args.delete_data, stdin, out):
            out.write("Aborted: nothing was deleted.\n")
            return EXIT_ABORTED
        results = teardown(settings, factory, args.delete_data, _printer(out, args.json), **engine_options)
        if not args.json:
            deleted = sum(r.action == "deleted" for r in results)
            kept = [r for r in results if r.action == "skipped" and r.detail != "not found"]
            out.write(f"Done: {deleted} deleted, {len(kept)} left in place.\n")
        return EXIT_OK
    except ResourceError as exc:
        err.write(f"Error: {exc}\n")
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - the promise is one sentence, never a traceback
        err.write(f"Error: {explain(exc)}\n")
        return EXIT_FAILED


def main() -> int:
    return run(sys.argv[1:], os.environ)


if __name__ == "__main__":
    sys.exit(main())

"""The local cloud server: moto's WSGI app behind our router, plus background runners.

`LocalCloud` can run in-process (tests, the dashboard) or as `python -m localcloud`.
Each emulated service package contributes handlers to the shared `Router` and,
optionally, a background runner (an object with start/stop/health).
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import traceback
from pathlib import Path
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Protocol

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from localcloud import moto_patches
from localcloud.durability import Durability
from localcloud.durability.requests import classify
from localcloud.guard import RequestGuard
from localcloud.protocols import ProtocolAdapter
from localcloud.metrics import MetricsPublisher
from localcloud.plane import ServicePlane
from localcloud.retention import RetentionTask
from localcloud.routing import AwsResponse, AwsServiceError, Router

if TYPE_CHECKING:
    from localcloud.athena.models import AthenaBackend
    from localcloud.firehose.runner import FirehoseRunner
    from localcloud.lambda_exec.models import LambdaExecutor

log = logging.getLogger("localcloud")

HEALTH_PATH = "/_localcloud/health"


class Runner(Protocol):
    """A background data-plane worker (pipes, firehose, …)."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def health(self) -> dict[str, Any]: ...


class PortInUseError(RuntimeError):
    """Another process already listens on the requested port."""


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug logs every request to stderr; we log them only when asked, to our file."""

    log_requests = False

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        if self.log_requests:
            log.info('%s "%s" %s', self.address_string(), self.requestline, code)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
        log.warning(format, *args)


class LocalCloud:
    """moto + our handlers + runners, served on host:port."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 4566,
        data_dir: str | Path = ".localcloud",
        log_requests: bool = False,
        start_runners: bool | Collection[str] = True,
        persist_state: bool = False,
        compact_mb: int = 64,
        moto_api: bool = False,
        retention_seconds: float | None = None,
    ):
        """`start_runners`: True starts every runner, False none (APIs only, no data moves), or a
        collection of runner names (e.g. {"pipes"}) to start only those. Any runner can also be
        stopped and started later through `cloud.runner(name).stop()/.start()`.
        `persist_state`: recover the AWS state from the data dir on start and make every acknowledged
        write durable (write-ahead log + snapshots every `compact_mb` MB of log, see
        localcloud/durability); `python -m localcloud` turns it on.
        `moto_api`: serve moto's /moto-api/ endpoints (reset, seed, ...); off unless asked for.
        `retention_seconds`: how long stream and Kinesis records are kept (None: AWS's own, 24 h or
        the stream's RetentionPeriodHours); see localcloud/retention.py."""
        self.host = host
        self.port = port
        self.data_dir = Path(data_dir)
        self.log_requests = log_requests
        self.start_runners = start_runners
        self.persist_state = persist_state
        self.durability: Durability | None = None
        self.compact_mb = compact_mb
        self.router = Router()
        # Every request meets it first: see localcloud/guard.py.
        self.guard = RequestGuard(moto_api, lambda: self.host, lambda: self.port)
        # ... after a REST-JSON request of a JSON 1.1 service is made that request: localcloud/protocols.py.
        self.protocols = ProtocolAdapter(self.guard.models, self.router.handles)
        self.retention_seconds = retention_seconds
        self.retention: RetentionTask | None = None  # trims expired stream records while serving
        self.runners: list[Runner] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._moto_app: Any = None
        self._installed = False
        # The one way packages reach each other (clients, logs, metrics): see localcloud/plane.py.
        self.plane = ServicePlane(self.url)
        self.metrics: MetricsPublisher = self.plane.metrics
        # Set by the service packages' install(), in SERVICE_PACKAGES order; declared here so the
        # wiring is visible and typed. Later packages receive earlier ones as constructor arguments
        # (the Firehose runner gets the Lambda executor); tests and benchmarks reach them here.
        self.lambda_executor: LambdaExecutor | None = None
        self.firehose_runner: FirehoseRunner | None = None
        self.athena: AthenaBackend | None = None

    @property
    def url(self) -> str:
        """Where clients (and our own runners) reach it; a wildcard bind is reached on loopback."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    # -- lifecycle -----------------------------------------------------
    def start(self) -> LocalCloud:
        """Bind, install the service packages, serve, then start the runners; raises PortInUseError."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _configure_file_log(self.data_dir / "localcloud.log")
        handler = type("Handler", (_QuietHandler,), {"log_requests": self.log_requests})
        in_use = PortInUseError(
            f"Port {self.port} on {self.host} is already in use: is another local cloud running? "
            f"Stop it, or pick another port with --port."
        )
        # Bind before the slow part (importing moto's services) so a clash fails at once.
        if self.port and not port_is_free(self.host, self.port):
            raise in_use
        try:
            # werkzeug prints and calls sys.exit when the port is taken; we want an exception.
            self._server = make_server(
                self.host, self.port, self._wsgi, threaded=True, request_handler=handler
            )
        except SystemExit:
            raise in_use from None
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise in_use from None
            raise
        from localcloud import services

        moto_patches.disable_moto_cors()
        moto_patches.track_model_instances_weakly()  # else every record ever made stays in RAM
        if self.persist_state:  # durable state: its snapshots name these files (see localcloud/durability)
            moto_patches.keep_s3_bodies_on_disk(self.data_dir / "state" / "s3-bodies", keep_existing=True)
            for stale in (self.data_dir / "tmp" / "s3-bodies").glob("body-*"):  # an older version's, never named
                stale.unlink(missing_ok=True)
        else:
            moto_patches.keep_s3_bodies_on_disk(self.data_dir / "tmp" / "s3-bodies")
        self._moto_app = moto_patches.moto_wsgi_app()
        moto_patches.speed_up_moto_dispatch()
        moto_patches.keep_s3_put_bodies()
        if not self._installed:  # handlers and runners are added once, even if start() runs again
            try:
                services.install(self)
            except BaseException:
                self._server.server_close()
                self._server = None
                raise
            self._installed = True
        if self.persist_state and self.durability is None:
            durability = Durability(self.data_dir, compact_bytes=self.compact_mb * 1024 * 1024)
            try:
                durability.open()  # recovers before the first request is answered
            except BaseException:
                self._server.server_close()
                self._server = None
                raise
            self.durability = durability
        self.port = self._server.server_port
        self.plane.set_endpoint(self.url)  # the real port is known only now (port 0 = any free one)
        self._thread = threading.Thread(target=self._server.serve_forever, name="localcloud-http", daemon=True)
        self._thread.start()
        self.metrics.start()
        self.retention = RetentionTask(self.retention_seconds).start()
        for runner in self.runners:
            if self._should_start(runner.name):
                try:
                    runner.start()
                except Exception:  # one broken runner must not take the APIs down; health shows it
                    log.exception("runner %s failed to start", runner.name)
        log.info("local cloud serving on %s (data dir %s)", self.url, self.data_dir)
        return self

    def stop(self) -> None:
        for runner in reversed(self.runners):
            try:
                runner.stop()
            except Exception:  # a runner failing to stop must not keep the port bound
                log.exception("runner %s failed to stop", getattr(runner, "name", runner))
        self.metrics.stop()  # flushes what the runners published last
        if self.retention is not None:
            self.retention.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.durability is not None:
            self.durability.close()  # no request can change it any more: snapshot all, empty the log
            self.durability = None
        self._server = None
        log.info("local cloud stopped")

    def _should_start(self, name: str) -> bool:
        if isinstance(self.start_runners, bool):
            return self.start_runners
        return name in self.start_runners

    def runner(self, name: str) -> Runner:
        """The runner called `name` ("pipes", "firehose", "lambda", ...)."""
        for runner in self.runners:
            if runner.name == name:
                return runner
        raise KeyError(f"no runner named {name!r}; this cloud has {[r.name for r in self.runners]}")

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def health(self) -> dict[str, Any]:
        runners = {}
        for runner in self.runners:
            try:
                runners[runner.name] = runner.health()
            except Exception as exc:  # health must answer even when a runner is broken
                runners[runner.name] = {"state": "error", "last_error": str(exc)}
        return {"status": "running" if self._server is not None else "stopped", "url": self.url,
                "runners": runners}

    # -- WSGI ----------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        start_response = self.guard.start_response(start_response)  # no CORS headers, from anyone
        return self.protocols.serve(environ, start_response, self._guarded)

    def _guarded(self, environ: dict[str, Any], start_response: Any) -> Any:
        refused = self.guard.check(environ)  # moto-api off, foreign origins, body size and shape
        if refused is not None:
            return _send(refused, start_response)
        kind = classify(environ)  # read or write, and which service: for the log and the write generations
        written = self.plane.writes.begin(environ, kind)
        try:
            durability = self.durability
            if durability is not None:  # holds the response until the request's changes are on disk
                return durability.serve(environ, start_response, self._answer, kind)
            return self._answer(environ, start_response)
        finally:  # before the response leaves: whoever reads after it sees a new generation
            self.plane.writes.end(written)

    def _answer(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            return _send(AwsResponse.json(self.health(), content_type="application/json"), start_response)
        matched = self.router.match(environ)
        if matched is None:
            return self.guard.call_moto(self._moto_app, environ, start_response)
        handler, request = matched
        try:
            response = handler(request)
        except AwsServiceError as exc:
            response = exc.to_response()
        except Exception:
            log.error("handler for %s.%s failed: %s", request.service, request.action or request.path,
                      traceback.format_exc())
            response = AwsServiceError("InternalFailure", "The local cloud failed on this request; its log "
                                       "(localcloud.log in the data dir) has the details.", 500).to_response()
        return _send(response, start_response)


def _send(response: AwsResponse, start_response: Any) -> list[bytes]:
    from http import HTTPStatus

    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    headers = dict(response.headers)
    headers.setdefault("Content-Type", "application/json")
    headers["Content-Length"] = str(len(response.body))
    start_response(f"{response.status} {reason}", list(headers.items()))
    return [response.body]


def _configure_file_log(path: Path) -> None:
    root = logging.getLogger("localcloud")
    if any(isinstance(h, logging.FileHandler) and Path(h.baseFilename) == path.resolve() for h in root.handlers):
        return
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


def port_is_free(host: str, port: int) -> bool:
    """True if nothing listens on host:port (a socket lingering in TIME_WAIT does not count, as for the server)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


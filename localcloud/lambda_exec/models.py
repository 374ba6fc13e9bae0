"""Lambda Invoke: run a function's deployed zip in a warm worker and answer as AWS does.

`LambdaExecutor.invoke(...)` is the one code path for every caller: the HTTP Invoke route
(`responses.py`) and in-process callers such as the Firehose runner. The function's code and
configuration come from moto's lambda backend (what CreateFunction/UpdateFunctionCode stored);
we only execute it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localcloud import moto_patches
from localcloud.lambda_exec.exceptions import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    RequestTooLargeException,
    ResourceNotFoundException,
    WorkerCrashed,
    WorkerTimedOut,
)
from localcloud.lambda_exec.logs import new_log_stream_name
from localcloud.lambda_exec.pool import FunctionPool, WorkerSpec
from localcloud.routing import DEFAULT_ACCOUNT_ID

if TYPE_CHECKING:
    from localcloud.plane import ServicePlane

log = logging.getLogger("localcloud.lambda_exec")

# AWS's synchronous payload limits (request and response), in bytes.
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_SYNC_RESPONSE = 6291556
MAX_ASYNC_PAYLOAD = 256 * 1024
LOG_TAIL_BYTES = 4096
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")


@dataclass
class InvocationResult:
    """What Invoke answers: HTTP status, payload and the X-Amz-* facts."""

    status: int
    payload: bytes
    request_id: str
    executed_version: str
    function_error: str | None = None  # "Unhandled" when the function failed
    logs: str = ""  # START…REPORT lines and what the function printed
    duration_ms: float = 0.0
    worker_pid: int | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def log_tail_b64(self) -> str:
        """X-Amz-Log-Result: the last 4 KB of the invocation's log, base64."""
        return base64.b64encode(self.logs.encode("utf-8")[-LOG_TAIL_BYTES:]).decode("ascii")

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload else None


class LambdaExecutor:
    """Finds the function in moto, keeps its warm workers, runs invocations."""

    def __init__(self, data_dir: str | Path, plane: ServicePlane):
        self.code_root = Path(data_dir) / "lambda"
        self._plane = plane  # the endpoint functions call back to, the log writer, the metrics
        self._pools: dict[str, FunctionPool] = {}
        self._lock = threading.Lock()
        self._async = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lambda-async")
        self._async_stopped = False  # stop() shuts the pool down; start() makes a new one

    # -- public API ------------------------------------------------------
    def invoke(
        self,
        function_name: str,
        payload: bytes = b"",
        *,
        region: str,
        account_id: str = DEFAULT_ACCOUNT_ID,
        qualifier: str | None = None,
        invocation_type: str = "RequestResponse",
        client_context: str | None = None,
    ) -> InvocationResult:
        """Invoke like the Lambda API; raises AwsServiceError for request errors (404, 400, 413)."""
        if invocation_type not in INVOCATION_TYPES:
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{invocation_type}' at 'invocationType' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
            )
        fn = self._get_function(function_name, qualifier, region, account_id)
        version = "$LATEST" if str(fn.version) in ("$LATEST", "") or not qualifier else str(fn.version)
        request_id = str(uuid.uuid4())
        if invocation_type == "DryRun":
            return InvocationResult(204, b"", request_id, version)
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
        if len(payload) > limit:
            raise RequestTooLargeException(
                f"{len(payload)} byte payload is too large for the RequestResponse invocation type "
                f"(limit {limit} bytes)"
            )
        if payload:
            try:
                json.loads(payload)
            except ValueError as exc:
                raise InvalidRequestContentException(f"Could not parse request body into json: {exc}") from None
        pool = self._pool_for(fn, version, region, account_id)
        arn = fn.function_arn if not qualifier or fn.function_arn.endswith(f":{qualifier}") else f"{fn.function_arn}:{qualifier}"
        if invocation_type == "Event":
            # AWS queues the event and answers 202 at once; errors only reach the logs/metrics.
            self._async.submit(self._run_logged, pool, fn, arn, version, request_id, payload, region, account_id,
                               client_context)
            return InvocationResult(202, b"", request_id, version)
        return self._run(pool, fn, arn, version, request_id, payload, region, account_id, client_context)

    def worker_pids(self, function_name: str, *, region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> list[int]:
        """The pids of a function's live execution environments (tests check warmth with this)."""
        fn = self._get_function(function_name, None, region, account_id)
        with self._lock:
            pool = self._pools.get(fn.function_arn)
        return pool.pids() if pool else []

    def health(self) -> dict[str, Any]:
        """Per function ARN: its live worker pids."""
        with self._lock:
            pools = dict(self._pools)
        return {arn: {"workers": pool.pids(), "timeout_s": pool.spec.timeout_s} for arn, pool in pools.items()}

    def start(self) -> None:
        """Accept asynchronous invocations again after stop() (runners may be restarted)."""
        if self._async_stopped:
            self._async = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lambda-async")
            self._async_stopped = False

    def stop(self) -> None:
        self._async.shutdown(wait=False, cancel_futures=True)
        self._async_stopped = True
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.kill_all()

    # -- internals -------------------------------------------------------
    def _get_function(self, name: str, qualifier: str | None, region: str, account_id: str) -> Any:
        try:
            return moto_patches.lambda_function(account_id, region, name, qualifier)
        except KeyError:
            if name.startswith("arn:"):
                arn = name
            else:
                arn = f"arn:aws:lambda:{region}:{account_id}:function:{name}"
            if qualifier:
                arn += f":{qualifier}"
            raise ResourceNotFoundException(f"Function not found: {arn}") from None

    def _pool_for(self, fn: Any, version: str, region: str, account_id: str) -> FunctionPool:
        spec = self._spec_for(fn, version, region)
        key = fn.function_arn
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None and pool.spec == spec:
                return pool
            # New code or configuration: AWS starts fresh environments; retire the old ones.
            if pool is not None:
                pool.retire()
            pool = FunctionPool(spec)
            self._pools[key] = pool
            return pool

    def _spec_for(self, fn: Any, version: str, region: str) -> WorkerSpec:
        code: bytes = getattr(fn, "code_bytes", b"") or b""
        if not code:
            raise InvalidParameterValueException(
                f"Function {fn.function_name} has no zip code to run (image functions and missing S3 code "
                f"are not supported by the local cloud)"
            )
        env_vars = {str(k): str(v) for k, v in (fn.environment_vars or {}).items()}
        config = {
            "handler": fn.handler,
            "env": env_vars,
            "timeout": fn.timeout,
            "memory": fn.memory_size,
            "runtime": fn.run_time,
            "version": version,
        }
        code_hash = hashlib.sha256(code).hexdigest()[:16]
        config_hash = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]
        fn_dir = self.code_root / fn.account_id / region / fn.function_name
        code_dir = _extract(code, fn_dir / f"{code_hash}-{config_hash}")
        log_group = f"/aws/lambda/{fn.function_name}"
        runtime = fn.run_time or "python3.11"
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            **env_vars,
            # Reserved variables: AWS sets these and a function cannot override them.
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": version,
            "AWS_LAMBDA_LOG_GROUP_NAME": log_group,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
            "LAMBDA_TASK_ROOT": str(code_dir),
            "LAMBDA_RUNTIME_DIR": str(Path(__file__).parent),
            "_HANDLER": fn.handler or "",
            # The function reaches the local cloud, never a real account.
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_SESSION_TOKEN": "test",
            "AWS_ENDPOINT_URL": self._plane.endpoint_url,
        }
        return WorkerSpec(
            function_name=fn.function_name,
            function_version=version,
            handler=fn.handler or "",
            code_dir=code_dir,
            env=tuple(sorted(env.items())),
            memory_mb=int(fn.memory_size),
            timeout_s=float(fn.timeout),
            log_group_name=log_group,
            stderr_path=fn_dir / "worker-stderr.log",
        )

    def _run_logged(self, *args: Any) -> None:
        try:
            self._run(*args)
        except Exception:
            log.exception("asynchronous invocation failed")

    def _run(
        self,
        pool: FunctionPool,
        fn: Any,
        arn: str,
        version: str,
        request_id: str,
        payload: bytes,
        region: str,
        account_id: str,
        client_context: str | None,
    ) -> InvocationResult:
        spec = pool.spec
        started = time.monotonic()
        error: dict[str, Any] | None = None
        body: bytes = b""
        function_logs = ""
        reusable = True
        worker = None
        try:
            worker = pool.acquire(lambda: new_log_stream_name(version))
            if worker.cold:
                function_logs += worker.init_logs
            reply = worker.invoke(
                {
                    "request_id": request_id,
                    "payload": payload.decode("utf-8") if payload else "",
                    "deadline_ms": time.time() * 1000 + spec.timeout_s * 1000,
                    "invoked_function_arn": arn,
                    "client_context": client_context,
                },
                spec.timeout_s,
            )
            function_logs += reply.get("logs", "")
            if reply.get("ok"):
                body = reply["result"].encode("utf-8")
                if len(body) > MAX_SYNC_RESPONSE:
                    body = b""
                    error = {
                        "errorMessage": f"Response payload size ({len(reply['result'])} bytes) exceeded maximum "
                        f"allowed payload size ({MAX_SYNC_RESPONSE} bytes).",
                        "errorType": "Function.ResponseSizeTooLarge",
                    }
            else:
                error = reply["error"]
                # After a failed init AWS resets the environment; a plain exception keeps it warm.
                reusable = not reply.get("init_error")
        except WorkerTimedOut as exc:
            reusable = False
            if worker is not None:
                function_logs += worker.spooled_logs()
            limit = exc.limit_s or spec.timeout_s
            error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: Task timed out after {limit:.2f} seconds",
            }
        except WorkerCrashed as exc:
            reusable = False
            if worker is not None:
                function_logs += worker.spooled_logs()
            error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: {exc.reason}",
            }
        finally:
            if worker is not None:
                pool.release(worker, reusable)
        duration_ms = (time.monotonic() - started) * 1000
        if error is not None:
            if "stackTrace" not in error and error.get("errorType", "").startswith("Runtime."):
                error["stackTrace"] = []
            body = json.dumps(error).encode("utf-8")
        logs = (
            f"START RequestId: {request_id} Version: {version}\n"
            + function_logs
            + (f"{request_id} {error['errorMessage']}\n" if error and "Timedout" in error.get("errorType", "") else "")
            + f"END RequestId: {request_id}\n"
            + f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, int(duration_ms + 0.999))} ms\tMemory Size: {spec.memory_mb} MB\n"
        )
        if worker is not None:
            # Function logs never delay or fail the invocation: the plane's writer is best effort.
            self._plane.logs.write(account_id, region, spec.log_group_name, worker.log_stream_name,
                                   logs.splitlines())
        self._publish(fn.function_name, region, duration_ms, error is not None)
        return InvocationResult(
            status=200,
            payload=body,
            request_id=request_id,
            executed_version=version,
            function_error="Unhandled" if error is not None else None,
            logs=logs,
            duration_ms=duration_ms,
            worker_pid=worker.pid if worker is not None else None,
        )

    def _publish(self, function_name: str, region: str, duration_ms: float, failed: bool) -> None:
        dims = {"FunctionName": function_name}
        metrics = self._plane.metrics
        metrics.add("AWS/Lambda", "Invocations", 1, "Count", dims, region=region)
        metrics.add("AWS/Lambda", "Errors", 1 if failed else 0, "Count", dims, region=region)
        metrics.add("AWS/Lambda", "Duration", duration_ms, "Milliseconds", dims, region=region)


def _extract(code: bytes, target: Path) -> Path:
    """Unzip once per (code, configuration); a temp dir + rename keeps half-extracted dirs invisible."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".extract-"))
    try:
        with zipfile.ZipFile(io.BytesIO(code)) as zf:
            zf.extractall(tmp)  # zipfile strips absolute paths and '..', so no zip-slip
        try:
            os.replace(tmp, target)
        except OSError:
            if not target.is_dir():  # another thread won the race with identical content
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target

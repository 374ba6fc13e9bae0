"""A Lambda execution environment: one warm Python process running one function's handler.

The parent (`localcloud.lambda_exec.pool`) runs this file BY PATH with `python -I`, cwd = the
function's extracted code, so the function sees what it would see on AWS — its own code, the
standard library and the installed packages (boto3) — and can never import this project.
For that reason this file imports nothing but the standard library.

Protocol (on the process's original stdout/stdin; frames are a 4-byte big-endian length then
UTF-8 JSON):
  parent -> worker  {"type": "init", "handler", "function_name", "function_version",
                     "memory_limit_in_mb", "log_group_name", "log_stream_name", "log_spool"}   (once)
  worker -> parent  {"type": "ready", "logs"}   (after importing the handler, even if that failed)
  parent -> worker  {"type": "invoke", "request_id", "payload" (JSON text), "deadline_ms",
                     "invoked_function_arn", "client_context"}
  worker -> parent  {"ok": true, "result": <JSON text>} or {"ok": false, "error": {...},
                     "init_error": bool}, plus "logs" (what the function printed/logged),
                     "duration_ms" and "max_memory_used_mb".
Anything the function writes to fd 1 below Python goes to stderr, so it cannot corrupt frames.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import resource
import struct
import sys
import threading
import time
import traceback
from typing import Any

_HEADER = struct.Struct(">I")


class _Capture(io.TextIOBase):
    """What the function prints or logs, kept per invocation (AWS sends it to CloudWatch Logs)."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._lock = threading.Lock()
        self._spool: Any = None

    def spool_to(self, path: str) -> None:
        """Also write through to a file, so the parent still has the logs if it must kill us (timeout)."""
        self._spool = open(path, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the worker

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._parts.append(text)
            if self._spool is not None:
                self._spool.write(text)
                self._spool.flush()
        return len(text)

    def take(self) -> str:
        with self._lock:
            text, self._parts = "".join(self._parts), []
            if self._spool is not None:
                self._spool.seek(0)
                self._spool.truncate()
        return text


class _LambdaLogHandler(logging.Handler):
    """Lambda's Python runtime format: [LEVEL]<tab>time<tab>request id<tab>message."""

    def __init__(self, capture: _Capture) -> None:
        super().__init__()
        self.capture = capture
        self.request_id = ""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            msg = self.format(record)
            self.capture.write(
                f"[{record.levelname}]\t{stamp}.{int(record.msecs):03d}Z\t{self.request_id}\t{msg}\n"
            )
        except Exception:  # a logging failure must never fail the invocation
            self.handleError(record)


class LambdaContext:
    """The `context` argument, with the attributes and method AWS's Python runtime provides."""

    def __init__(self, init: dict[str, Any], invoke: dict[str, Any]) -> None:
        self.function_name = init["function_name"]
        self.function_version = init["function_version"]
        # AWS's runtime reads these from the environment, so memory is a string there too.
        self.memory_limit_in_mb = str(init["memory_limit_in_mb"])
        self.log_group_name = init["log_group_name"]
        self.log_stream_name = init["log_stream_name"]
        self.invoked_function_arn = invoke["invoked_function_arn"]
        self.aws_request_id = invoke["request_id"]
        self.client_context = invoke.get("client_context")
        self.identity = None
        self._deadline_ms = invoke["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _read_frame(stream: Any) -> dict[str, Any] | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (length,) = _HEADER.unpack(header)
    body = stream.read(length)
    return json.loads(body.decode("utf-8"))


def _write_frame(stream: Any, message: dict[str, Any]) -> None:
    body = json.dumps(message).encode("utf-8")
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def _error(error_type: str, message: str, stack: list[str] | None = None) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "stackTrace": stack or []}


def _load_handler(handler: str) -> tuple[Any, dict[str, Any] | None]:
    """Import the handler like AWS's runtime, with its error types and messages."""
    try:
        module_path, func_name = handler.rsplit(".", 1)
    except ValueError:
        return None, _error(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)",
        )
    module_name = module_path.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        return None, _error(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc}",
            traceback.format_list(traceback.extract_tb(exc.__traceback__))[1:],
        )
    except ImportError as exc:
        return None, _error("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
    except Exception as exc:  # module-level code raised: AWS reports it as the exception itself
        return None, _error(
            type(exc).__name__, str(exc), traceback.format_list(traceback.extract_tb(exc.__traceback__))[1:]
        )
    func = getattr(module, func_name, None)
    if func is None:
        return None, _error("Runtime.HandlerNotFound", f"Handler '{func_name}' missing on module '{module_name}'")
    return func, None


def main() -> int:
    proto_in = sys.stdin.buffer
    proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # C-level writes to fd 1 must not land inside our frames
    capture = _Capture()
    sys.stdout = capture  # type: ignore[assignment]
    sys.stderr = capture  # type: ignore[assignment]
    log_handler = _LambdaLogHandler(capture)
    root = logging.getLogger()
    root.handlers = [log_handler]
    root.setLevel(logging.WARNING)  # the runtime's default; functions raise it themselves

    init = _read_frame(proto_in)
    if init is None:
        return 0
    if init.get("log_spool"):
        capture.spool_to(init["log_spool"])
    sys.path.insert(0, os.getcwd())
    func, init_error = _load_handler(init["handler"])
    _write_frame(proto_out, {"type": "ready", "logs": capture.take()})

    while True:
        message = _read_frame(proto_in)
        if message is None:
            return 0
        started = time.monotonic()
        log_handler.request_id = message["request_id"]
        reply: dict[str, Any]
        if init_error is not None:
            reply = {"ok": False, "error": dict(init_error, requestId=message["request_id"]), "init_error": True}
        else:
            try:
                event = json.loads(message["payload"]) if message["payload"] else {}
                result = func(event, LambdaContext(init, message))
                try:
                    reply = {"ok": True, "result": json.dumps(result)}
                except (TypeError, ValueError) as exc:
                    reply = {
                        "ok": False,
                        "error": _error("Runtime.MarshalError", f"Unable to marshal response: {exc}"),
                    }
            except Exception as exc:
                tb = traceback.extract_tb(exc.__traceback__)[1:]  # drop this runtime frame, as AWS does
                reply = {
                    "ok": False,
                    "error": {
                        "errorMessage": str(exc),
                        "errorType": type(exc).__name__,
                        "requestId": message["request_id"],
                        "stackTrace": traceback.format_list(tb),
                    },
                }
        reply["logs"] = capture.take()
        reply["duration_ms"] = (time.monotonic() - started) * 1000
        reply["max_memory_used_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        _write_frame(proto_out, reply)


if __name__ == "__main__":
    sys.exit(main())

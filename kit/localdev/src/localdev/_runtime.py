"""The inside of a sandbox: what Lambda's Python runtime does, in a fresh interpreter.

`sandbox.py` starts `python -I -u -c <bootstrap>`: isolated, so neither the current folder nor
PYTHONPATH leaks into the function's `sys.path`. This module then puts the function's code
folder and its layers' `python/` folders first (Lambda's /var/task and /opt/python), imports
the handler module (the init phase, timed), and runs invocations one at a time until its
input pipe closes. Only the standard library is imported before the handler.

Errors have the shapes Lambda's runtime gives them (`Runtime.ImportModuleError`,
`Runtime.HandlerNotFound`, `Runtime.MarshalError`, or the exception's own type).
"""

from __future__ import annotations

import decimal
import importlib
import json
import logging
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from localdev import _protocol as protocol

Handler = Callable[[Any, Any], Any]

_request_id = ""  # the invocation in progress, for log records


class LambdaContext:
    """The context object Lambda passes to handlers, built from the same environment variables."""

    def __init__(self, request_id: str, deadline_ms: int, function_arn: str) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        # A string, as in Lambda's runtime (its type hints say int; code doing maths breaks there).
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


class _Fault(Exception):
    """A runtime error with Lambda's own type name (`Runtime.*`)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def main(argv: Sequence[str]) -> None:
    fd_in, fd_out = int(argv[0]), int(argv[1])
    setup = protocol.receive(fd_in)
    if setup is None:
        return
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path[:0] = [task_root, *setup["paths"]]
    os.chdir(task_root)
    _install_log_handler()

    started = time.perf_counter()
    try:
        handler = _load_handler(os.environ["_HANDLER"])
    except _Fault as fault:
        error = _error(fault.error_type, str(fault), [], "")
        _log_error(error)
        protocol.send(fd_out, {"type": "init_error", "error": error})
        return
    except Exception as exc:  # the module raised while being imported
        error = _error(type(exc).__name__, str(exc), _stack(exc.__traceback__), "")
        _log_error(error)
        protocol.send(fd_out, {"type": "init_error", "error": error})
        return
    init_ms = (time.perf_counter() - started) * 1000
    protocol.send(fd_out, {"type": "ready", "initMs": init_ms, "maxMemoryKb": _max_rss_kb()})

    while (message := protocol.receive(fd_in)) is not None:
        protocol.send(fd_out, _invoke(handler, message))


def _load_handler(name: str) -> Handler:
    """`module.function`, the module found from the task root like Lambda does (`a/b.f` works)."""
    module_name, _, function_name = name.rpartition(".")
    if not module_name or not function_name:
        raise _Fault("Runtime.MalformedHandlerName", f"Bad handler '{name}': not enough values")
    module_name = module_name.replace("/", ".")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise _Fault(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _Fault(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from None
    except SyntaxError as exc:
        raise _Fault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}"
        ) from None
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise _Fault(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return handler  # type: ignore[no-any-return]


def _invoke(handler: Handler, message: dict[str, Any]) -> dict[str, Any]:
    global _request_id
    request_id = _request_id = str(message["requestId"])
    context = LambdaContext(request_id, int(message["deadlineMs"]), str(message["functionArn"]))
    started = time.perf_counter()
    error: dict[str, Any] | None = None
    payload = ""
    try:
        result = handler(message["event"], context)
    except Exception as exc:
        error = _error(type(exc).__name__, str(exc), _stack(exc.__traceback__), request_id)
    else:
        try:
            payload = json.dumps(result, default=_decimal_as_float)
        except (TypeError, ValueError) as exc:
            message_text = f"Unable to marshal response: {exc}"
            error = _error("Runtime.MarshalError", message_text, [], request_id)
    duration_ms = (time.perf_counter() - started) * 1000
    if error is not None:
        _log_error(error)
        payload = json.dumps(error)
    _request_id = ""
    return {
        "type": "result",
        "ok": error is None,
        "payload": payload,
        "durationMs": duration_ms,
        "maxMemoryKb": _max_rss_kb(),
    }


def _error(error_type: str, message: str, stack: list[str], request_id: str) -> dict[str, Any]:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack,
    }


def _stack(tb: TracebackType | None) -> list[str]:
    """The traceback as Lambda lists it: the function's frames, not the runtime's."""
    frames = [f for f in traceback.extract_tb(tb) if f.filename != __file__]
    return traceback.format_list(frames)


def _log_error(error: dict[str, Any]) -> None:
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT") == "JSON":
        record = {"timestamp": _now(), "level": "ERROR", **error}
        line = json.dumps(record)
    else:
        trace = "".join(error["stackTrace"])
        line = f"[ERROR] {error['errorType']}: {error['errorMessage']}"
        line += f"\nTraceback (most recent call last):\n{trace}".rstrip("\n")
    sys.stderr.write(line + "\n")


def _decimal_as_float(value: object) -> float:
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _max_rss_kb() -> int:
    # Linux: this process image's own peak. ru_maxrss keeps the peak of the process it was
    # forked from (a big test runner's, say) across exec, so a small function looked big.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes there, KiB on Linux


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _request_id
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _now(),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": getattr(record, "aws_request_id", ""),
        }
        if record.exc_info:
            entry["stackTrace"] = traceback.format_exception(*record.exc_info)
        return json.dumps(entry, default=str)


def _install_log_handler() -> None:
    """The root logger's handler Lambda installs: its line format, or JSON with LogFormat: JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT") == "JSON":
        handler.setFormatter(_JsonFormatter())
        root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO").upper())
    else:
        formatter = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    root.addHandler(handler)

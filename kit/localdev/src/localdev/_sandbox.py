"""A sandbox: one process running one function, like one Lambda execution environment.

The first invocation starts a fresh interpreter (`_runtime.py`) that imports the handler
module: a cold start, its import time reported as Init Duration. Later invocations reuse it
(warm). The function's Timeout is enforced from here: past it the process is killed, as
Lambda does, and the next invocation starts cold. Each invocation logs Lambda's lines:

    START RequestId: 6f0e... Version: $LATEST
    END RequestId: 6f0e...
    REPORT RequestId: 6f0e...  Duration: 3.18 ms  Billed Duration: 184 ms  Memory Size: 512 MB
           Max Memory Used: 61 MB  Init Duration: 180.22 ms

(tab-separated on one line, as in CloudWatch). The function's own output goes to `log_fd`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import _protocol as protocol
from ._intrinsics import ACCOUNT_ID
from ._template import Function

__all__ = ["INIT_LIMIT", "Invocation", "Sandbox"]

INIT_LIMIT = 10.0  # seconds Lambda gives the init phase before re-running it inside the invoke
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
# Isolated (-I): no current folder or PYTHONPATH on sys.path. The package is imported, then
# its folder taken off the path again, so the handler sees only its code, layers and venv.
_BOOTSTRAP = (
    "import sys; root = sys.argv[1]; sys.path.insert(0, root); "
    "from localdev import _runtime; sys.path.remove(root); _runtime.main(sys.argv[2:])"
)

Log = Callable[[str], None]


@dataclass(frozen=True)
class Invocation:
    """What one invocation returned, and what Lambda would report about it."""

    request_id: str
    payload: str  # the response as JSON, or Lambda's error JSON
    error_type: str | None  # None on success
    duration_ms: float
    init_ms: float | None  # only on a cold start
    max_memory_mb: int
    status: str = "success"  # or "error" (the function raised), "timeout", "crash"

    @property
    def ok(self) -> bool:
        return self.error_type is None

    def result(self) -> Any:
        return json.loads(self.payload)


class _Process:
    def __init__(self, popen: subprocess.Popen[bytes], to_child: int, from_child: int) -> None:
        self.popen, self.to_child, self.from_child = popen, to_child, from_child
        self.peak_kb = 0


class Sandbox:
    """Runs invocations of one function in one process at a time (not thread-safe)."""

    def __init__(
        self,
        function: Function,
        environment: Mapping[str, str],
        log: Log | None = None,
        log_fd: int | None = None,
        init_limit: float = INIT_LIMIT,
    ) -> None:
        self.function = function
        self.init_limit = init_limit
        self.environment = dict(environment)
        self._log = log or _stderr
        self._log_fd = sys.stderr.fileno() if log_fd is None else log_fd
        self._process: _Process | None = None
        region = self.environment.get("AWS_REGION", "us-east-1")
        self.function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function.logical_id}"

    @property
    def warm(self) -> bool:
        return self._process is not None

    def invoke(self, event: Any) -> Invocation:
        request_id = str(uuid.uuid4())
        init_ms: float | None = None
        initialising = False  # init ran past INIT_LIMIT and goes on inside this invocation
        if self._process is None:
            init = self._init()
            if isinstance(init, Invocation):
                return self._failed_init(request_id, init)
            init_ms, initialising = init, init is None
        process = self._process
        assert process is not None
        self._log(f"START RequestId: {request_id} Version: $LATEST")
        started = time.monotonic()
        deadline = started + self.function.timeout
        try:
            if initialising:
                self._wait_ready(process, deadline)
            protocol.send(
                process.to_child,
                {
                    "event": event,
                    "requestId": request_id,
                    "deadlineMs": int((time.time() + deadline - time.monotonic()) * 1000),
                    "functionArn": self.function_arn,
                },
            )
            reply = protocol.receive(process.from_child, deadline)
        except TimeoutError:
            return self._timed_out(process, request_id, init_ms)
        except (BrokenPipeError, _Exited):
            reply = None
        if reply is None:
            return self._crashed(process, request_id, init_ms, time.monotonic() - started)
        process.peak_kb = max(process.peak_kb, int(reply["maxMemoryKb"]))
        payload = str(reply["payload"])
        error_type = None if reply["ok"] else str(json.loads(payload)["errorType"])
        invocation = Invocation(
            request_id,
            payload,
            error_type,
            float(reply["durationMs"]),
            init_ms,
            self._memory_mb(process),
            "success" if error_type is None else "error",
        )
        self._report(invocation)
        return invocation

    def close(self) -> None:
        """Let the process end (its input closes), or kill it if it does not."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            os.close(process.to_child)
        try:
            process.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            _kill(process.popen)
        with contextlib.suppress(OSError):
            os.close(process.from_child)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _init(self) -> Invocation | float | None:
        """Start the process: its Init Duration, None if init is still running after
        the init limit, or an Invocation saying why it failed."""
        to_child_r, to_child = os.pipe()
        from_child, from_child_w = os.pipe()
        started = time.monotonic()
        argv = [sys.executable, "-I", "-u", "-c", _BOOTSTRAP, _PACKAGE_ROOT]
        popen = subprocess.Popen(  # noqa: S603 - our own interpreter and bootstrap
            [*argv, str(to_child_r), str(from_child_w)],
            env=self.environment,
            cwd=self.function.code_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._log_fd,
            stderr=self._log_fd,
            pass_fds=(to_child_r, from_child_w),
            start_new_session=True,  # Ctrl-C reaches the server, which stops its sandboxes
        )
        os.close(to_child_r)
        os.close(from_child_w)
        process = self._process = _Process(popen, to_child, from_child)
        try:
            protocol.send(to_child, {"paths": [str(p) for p in self.function.layer_paths]})
            message = protocol.receive(from_child, started + self.init_limit)
        except TimeoutError:
            # Lambda stops an init that takes over 10 s and runs it again inside the
            # invocation, under the function's Timeout; here the same init goes on.
            limit_ms = self.init_limit * 1000
            self._log(f"INIT_REPORT Init Duration: {limit_ms:.2f} ms\tPhase: init\tStatus: timeout")
            return None
        except BrokenPipeError:
            message = None
        if message is None:
            self.close()
            return _exit_error("", popen)
        if message["type"] == "init_error":
            self.close()
            error = message["error"]
            return Invocation("", json.dumps(error), str(error["errorType"]), 0.0, None, 0, "error")
        process.peak_kb = int(message["maxMemoryKb"])
        return float(message["initMs"])

    def _wait_ready(self, process: _Process, deadline: float) -> None:
        message = protocol.receive(process.from_child, deadline)
        if message is None or message["type"] != "ready":
            raise _Exited

    def _failed_init(self, request_id: str, init: Invocation) -> Invocation:
        self._log(f"START RequestId: {request_id} Version: $LATEST")
        invocation = Invocation(
            request_id, init.payload, init.error_type, init.duration_ms, None, 0, "error"
        )
        self._report(invocation, f"Status: error\tError Type: {init.error_type}")
        return invocation

    def _timed_out(self, process: _Process, request_id: str, init_ms: float | None) -> Invocation:
        memory = self._memory_mb(process)
        _kill(process.popen)
        self.close()
        message = f"Task timed out after {self.function.timeout:.2f} seconds"
        self._log(f"{_timestamp()} {request_id} {message}")
        payload = {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {request_id} Error: {message}",
        }
        invocation = Invocation(
            request_id, json.dumps(payload), "Sandbox.Timedout",
            self.function.timeout * 1000, init_ms, memory, "timeout",
        )  # fmt: skip
        self._report(invocation, "Status: timeout")
        return invocation

    def _crashed(
        self, process: _Process, request_id: str, init_ms: float | None, elapsed: float
    ) -> Invocation:
        memory = self._memory_mb(process)
        self.close()
        crash = _exit_error(request_id, process.popen)
        self._log(f"{json.loads(crash.payload)['errorMessage']}\nRuntime.ExitError")
        invocation = Invocation(
            request_id, crash.payload, crash.error_type, elapsed * 1000, init_ms, memory, "crash"
        )
        self._report(invocation, "Status: error\tError Type: Runtime.ExitError")
        return invocation

    def _memory_mb(self, process: _Process) -> int:
        """The process's peak resident memory (Lambda's Max Memory Used)."""
        process.peak_kb = max(process.peak_kb, _peak_rss_kb(process.popen.pid))
        return math.ceil(process.peak_kb / 1024)

    def _report(self, invocation: Invocation, status: str = "") -> None:
        function = self.function
        self._log(f"END RequestId: {invocation.request_id}")
        # Since August 2025 Lambda bills the init phase of on-demand functions too.
        billed = math.ceil(invocation.duration_ms + (invocation.init_ms or 0))
        fields = [
            f"REPORT RequestId: {invocation.request_id}",
            f"Duration: {invocation.duration_ms:.2f} ms",
            f"Billed Duration: {billed} ms",
            f"Memory Size: {function.memory_size} MB",
            f"Max Memory Used: {invocation.max_memory_mb} MB",
        ]
        if invocation.init_ms is not None:
            fields.append(f"Init Duration: {invocation.init_ms:.2f} ms")
        if status:
            fields.append(status)
        self._log("\t".join(fields) + "\t")
        if invocation.max_memory_mb > function.memory_size:
            self._log(
                f"localdev: warning: {function.logical_id} used {invocation.max_memory_mb} MB, "
                f"more than its MemorySize of {function.memory_size} MB: Lambda would stop it"
            )


def _exit_error(request_id: str, popen: subprocess.Popen[bytes]) -> Invocation:
    """Lambda's error when the runtime process itself ends (os._exit, a signal, a crash)."""
    code = popen.wait()
    how = f"signal: {_signal_name(-code)}" if code < 0 else f"exit status {code}"
    message = f"RequestId: {request_id} Error: Runtime exited with error: {how}"
    payload = json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message})
    return Invocation(request_id, payload, "Runtime.ExitError", 0.0, None, 0, "crash")


class _Exited(Exception):
    """The process ended before it answered."""


def _kill(popen: subprocess.Popen[bytes]) -> None:
    """The whole process group: what the function started dies with it, as in Lambda."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    popen.wait()


def _peak_rss_kb(pid: int) -> int:
    """VmHWM from /proc (Linux); 0 where there is none."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _signal_name(number: int) -> str:
    """As Lambda words it: `killed`, `segmentation fault`."""
    return (signal.strsignal(number) or str(number)).lower()


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)

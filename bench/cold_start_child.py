"""One cold start, in a fresh process (run by cold_start.py; not a benchmark on its own).

    python cold_start_child.py SPEC_JSON RESULT_FILE

SPEC: {"path": [...], "module": "app" | "psycopg" | "a,b,...", "request": null | {...},
       "snapstart": bool, "second": bool (default true: a second request after the first)}
Times the import, then, if asked, the first request (connect included) and a second one,
and the peak RSS. Only the standard library is imported before the timed import.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
from types import SimpleNamespace
from typing import Any


def main() -> None:
    spec = json.loads(sys.argv[1])
    here = sys.path.pop(0)  # this script's folder: bench/, not part of a function
    assert here.endswith("bench"), here
    sys.path[:0] = spec["path"]
    stdout, sys.stdout = sys.stdout, open("/dev/null", "w")  # noqa: SIM115 - the handler's logs
    result: dict[str, Any] = {}
    start = time.perf_counter()
    for name in spec["module"].split(","):
        module = importlib.import_module(name)
    result["import_s"] = time.perf_counter() - start
    request = spec.get("request")
    if request:
        first = request_runner(module, spec, request)
        if spec.get("snapstart"):
            import snapshot_restore_py  # the stub of Lambda's runtime hooks
            from neonkit import snapstart

            start = time.perf_counter()
            snapstart.install()
            snapshot_restore_py.take_snapshot()
            result["before_snapshot_s"] = time.perf_counter() - start
            # ... the snapshot is taken here; a sandbox is restored from it later ...
            start = time.perf_counter()
            snapshot_restore_py.restore()
            result["after_restore_s"] = time.perf_counter() - start
        start = time.perf_counter()
        status = first()
        result["first_request_s"] = time.perf_counter() - start
        result["peak_rss_kb"] = peak_rss_kb()
        if spec.get("second", True):
            start = time.perf_counter()
            first()
            result["second_request_s"] = time.perf_counter() - start
        result["status"] = status
    sys.stdout = stdout
    with open(sys.argv[2], "w") as out:
        json.dump(result, out)


def peak_rss_kb() -> int:
    """This process's peak resident memory (VmHWM: getrusage's ru_maxrss would include the
    parent's memory at fork, which Linux carries across exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def request_runner(module: Any, spec: dict[str, Any], request: dict[str, Any]) -> Any:
    """A callable serving one request: the handler with the event, or plain psycopg."""
    if spec["module"] == "psycopg":
        holder: dict[str, Any] = {}

        def plain() -> int:
            conn = holder.get("conn")
            if conn is None:
                conn = holder["conn"] = module.connect(request["url"], autocommit=True)
            conn.execute(request["sql"], request["params"]).fetchall()
            return 200

        return plain
    handler = getattr(module, request["handler"])
    context = SimpleNamespace(
        function_name=request["function"],
        function_version="$LATEST",
        memory_limit_in_mb=512,
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{request['function']}",
        aws_request_id="00000000-0000-4000-8000-000000000000",
        log_group_name="/aws/lambda/bench",
        log_stream_name="bench",
        get_remaining_time_in_millis=lambda: 30_000,
    )

    def invoke() -> int:
        return int(handler(request["event"], context)["statusCode"])

    return invoke


if __name__ == "__main__":
    main()

"""500 Lambda sandboxes on a 20-connection PostgreSQL: through PgBouncer, then straight to it.

    python bench/load.py [--sandboxes 500] [--seconds 20] [--max-requests 200000]

Everything runs on this machine's loopback: an embedded PostgreSQL started with
max_connections=20 (as a small Neon compute allows few), PgBouncer in transaction mode in
front of it (a pool of 15, max_client_conn above the sandbox count: what Neon's `-pooler`
endpoint is), the project's migrations, 1,000 todos. Each simulated sandbox is a thread with
its own freshly imported `ApiFunction` handler (loaded from template.yaml as Lambda
does) and its own lazily connected neonkit Database with default settings; it calls the
handler with events from events/ (40% get, 30% list, 20% create, 10% update) back to back
until the time is up or the request budget is spent. Phase 1 points every sandbox at
PgBouncer (pooled), phase 2 straight at PostgreSQL, where at most 20 connections fit: the
kit retries "too many clients" with backoff until its connect deadline (10 s), then answers
503. Per request: latency, status, and the kit's error type. Prints a table and writes
bench/results/load.json.

The sandboxes share this process's two cores and one GIL, so latencies include waiting for
the interpreter: they are an upper bound for the database's share, not Lambda's latency.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import itertools
import json
import os
import platform
import random
import sys
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layer" / "python"), str(ROOT)]  # the layer's layout, as in Lambda

import psycopg  # noqa: E402
from localdev.testing import (  # noqa: E402  # noqa: E402  # noqa: E402
    Handler,
    LambdaContext,
    PgBouncer,
    global_environment,
    load_event,
    load_handler,
    pgbouncer_binary,
    postgres_server,
)
from neonkit import Database, Settings, http, using  # noqa: E402
from neonkit.migrations import migrate  # noqa: E402

MAX_CONNECTIONS = 20
SEEDED = 1000
MIX = (("get", 40), ("list", 30), ("create", 20), ("update", 10))
EXPECTED = {"get": 200, "list": 200, "create": 201, "update": 200}
RESULTS = ROOT / "bench" / "results" / "load.json"


# -- what happened to each request --------------------------------------------------------

_errors = threading.local()  # the kit's error type behind the current request's answer


class _PerThread(threading.local):
    current_event: Any = None
    lambda_context: Any = None


def powertools_per_thread() -> None:
    """Give each thread its own current event in Powertools' resolver.

    Powertools keeps the event being resolved on the resolver's base class
    (`BaseRouter.current_event = ...`): right in Lambda, where a process serves one request
    at a time, wrong for sandboxes simulated as threads of one process (in a first run 4 of
    20,785 requests were answered for another thread's event). The class's writes go through
    the module's global name, so that name is pointed at a per-thread holder, and the class
    reads the same holder.
    """
    from aws_lambda_powertools.event_handler import api_gateway

    holder = _PerThread()
    for name in ("current_event", "lambda_context"):
        setattr(api_gateway.BaseRouter, name, _held(holder, name))
    vars(api_gateway)["BaseRouter"] = holder


def _held(holder: _PerThread, name: str) -> property:
    def get(self: object) -> Any:
        return getattr(holder, name)

    def put(self: object, value: Any) -> None:
        setattr(holder, name, value)

    return property(get, put)


def record_error_types() -> None:
    """Note which exception each error answer came from (the one place errors become HTTP)."""
    original = http.error_response

    def recording(exc: BaseException, request_id: str | None = None) -> Any:
        _errors.kind = type(exc).__name__
        return original(exc, request_id)

    vars(http)["error_response"] = recording  # what http.install's handlers call


@dataclass
class Outcome:
    kind: str
    status: int  # 0: the handler raised
    seconds: float
    error: str  # "" when the answer was the expected one
    first: bool  # the sandbox's first request: its connection is opened on the way


@dataclass
class Sandbox:
    """One execution environment: its own handler module and its own lazy connection."""

    number: int
    handler: Handler
    db: Database
    outcomes: list[Outcome] = field(default_factory=list)


def events() -> dict[str, dict[str, Any]]:
    return {
        "get": load_event("todos_get_found"),
        "list": load_event("todos_list"),
        "create": load_event("todos_create_created"),
        "update": load_event("todos_update_found"),
    }


def next_event(
    kind: str, templates: dict[str, dict[str, Any]], rng: random.Random
) -> tuple[dict[str, Any], Callable[[Any], bool]]:
    """An event, and a check that an answer is this event's (not another sandbox's)."""
    event = copy.deepcopy(templates[kind])
    todo_id = rng.randint(1, SEEDED)
    title = f"load {uuid.uuid4().hex[:12]}"
    if kind in ("get", "update"):
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/todos/{todo_id}"
        event["pathParameters"] = {"id": str(todo_id)}
    if kind == "update":
        event["body"] = json.dumps({"done": rng.random() < 0.5})
    elif kind == "create":
        event["body"] = json.dumps({"title": title, "tags": ["load"]})
    checks: dict[str, Callable[[Any], bool]] = {
        "get": lambda body: body["id"] == todo_id,
        "update": lambda body: body["id"] == todo_id,
        "create": lambda body: body["title"] == title,
        "list": lambda body: isinstance(body["items"], list),
    }
    return event, checks[kind]


def run_sandbox(
    sandbox: Sandbox,
    start: threading.Barrier,
    deadline: list[float],
    budget: Iterator[int],
    cap: int,
) -> None:
    rng = random.Random(sandbox.number)
    templates = events()
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    context = LambdaContext(function_name="ApiFunction")
    start.wait()
    with using(sandbox.db):
        while time.monotonic() < deadline[0] and next(budget) < cap:
            kind = rng.choice(kinds)
            event, belongs = next_event(kind, templates, rng)
            _errors.kind = ""
            started = time.perf_counter()
            try:
                response = sandbox.handler(event, context)
                elapsed = time.perf_counter() - started
                status = int(response["statusCode"])
                error = "" if status == EXPECTED[kind] else (_errors.kind or f"HTTP {status}")
                if not error and not belongs(json.loads(response["body"])):
                    error = "an answer to another request"
            except Exception as exc:  # the handler itself failed: Lambda would report it
                elapsed = time.perf_counter() - started
                status, error = 0, f"raised {type(exc).__name__}"
            sandbox.outcomes.append(Outcome(kind, status, elapsed, error, not sandbox.outcomes))
    # The connection stays open, as in a live sandbox: closing it here would hand its slot to
    # a sandbox still waiting to connect, which no real sandbox would do.


# -- one phase: N sandboxes against one URL -----------------------------------------------


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def pooler_stats(bouncer: PgBouncer) -> dict[str, float]:
    """PgBouncer's totals for the database: transactions, their time on a server connection,
    and the time clients waited for one (both in microseconds)."""
    with psycopg.connect(bouncer.console_url, autocommit=True) as console:
        cursor = console.execute("SHOW STATS")
        names = [column.name for column in cursor.description or ()]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    totals = Counter[str]()
    for row in rows:
        if row["database"] != "pgbouncer":
            for key in ("total_xact_count", "total_xact_time", "total_wait_time"):
                totals[key] += int(row[key])
    return dict(totals)


def phase(
    name: str,
    url: str,
    *,
    pooled: bool,
    sandboxes: int,
    seconds: float,
    max_requests: int,
    bouncer: PgBouncer | None = None,
) -> dict[str, Any]:
    log(f"[{name}] loading {sandboxes} handlers...")
    boxes = [
        Sandbox(i, load_handler("ApiFunction"), Database(url, settings=Settings(pooled=pooled)))
        for i in range(sandboxes)
    ]
    start = threading.Barrier(sandboxes + 1)
    deadline = [float("inf")]
    budget = itertools.count()  # next() on it is atomic under the GIL
    threads = [
        threading.Thread(
            target=run_sandbox, args=(box, start, deadline, budget, max_requests), daemon=True
        )
        for box in boxes
    ]
    for thread in threads:
        thread.start()
    log(f"[{name}] {sandboxes} sandboxes running for {seconds:g} s...")
    deadline[0] = time.monotonic() + seconds
    started = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    for box in boxes:
        box.db.close()
    stats = pooler_stats(bouncer) if bouncer is not None else {}
    transactions = stats.get("total_xact_count", 0)

    outcomes = [outcome for box in boxes for outcome in box.outcomes]
    ok = [o for o in outcomes if not o.error]
    errors = Counter(f"{o.status} {o.error}" if o.status else o.error for o in outcomes if o.error)
    failed = [o for o in outcomes if o.error]
    warm = [o.seconds for o in ok if not o.first]
    first = [o.seconds for o in ok if o.first]
    result = {
        "target": name,
        "sandboxes": sandboxes,
        "seconds": round(wall, 1),
        "requests": len(outcomes),
        "ok": len(ok),
        "throughput_rps": round(len(outcomes) / wall, 1),
        "ok_rps": round(len(ok) / wall, 1),
        "p50_ms": ms(percentile([o.seconds for o in outcomes], 50)),
        "p99_ms": ms(percentile([o.seconds for o in outcomes], 99)),
        "ok_p50_ms": ms(percentile([o.seconds for o in ok], 50)),
        "ok_p99_ms": ms(percentile([o.seconds for o in ok], 99)),
        "warm_ok_p50_ms": ms(percentile(warm, 50)),
        "warm_ok_p99_ms": ms(percentile(warm, 99)),
        "first_ok_p50_ms": ms(percentile(first, 50)),
        "first_ok_p99_ms": ms(percentile(first, 99)),
        "failed_p50_ms": ms(percentile([o.seconds for o in failed], 50)),
        "errors": dict(errors.most_common()),
        "sandboxes_answered": sum(any(not o.error for o in box.outcomes) for box in boxes),
        "sandboxes_never_answered": sum(
            bool(box.outcomes) and all(o.error for o in box.outcomes) for box in boxes
        ),
        "connect_attempts": sum(box.db.connector.attempts for box in boxes),
        "reconnects": sum(box.db.reconnects for box in boxes),
        "pooler_transactions": transactions or None,
        "pooler_server_ms": round(stats["total_xact_time"] / transactions / 1000, 2)
        if transactions
        else None,
        "pooler_wait_ms": round(stats["total_wait_time"] / transactions / 1000, 2)
        if transactions
        else None,
    }
    log(f"[{name}] {len(outcomes)} requests in {wall:.1f} s")
    return result


# -- the servers --------------------------------------------------------------------------


def seed(url: str) -> str:
    migrate(url, ROOT / "migrations")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE todos RESTART IDENTITY")
        conn.execute(
            "INSERT INTO todos (owner, title, tags) SELECT 'anonymous', 'todo ' || i, ARRAY['seed']"
            " FROM generate_series(1, %s) AS i",
            [SEEDED],
        )
        conn.execute("ANALYZE todos")
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def lambda_environment() -> None:
    """What the template gives the function, with metrics off and only errors logged (500
    sandboxes printing a log line per request would measure the terminal)."""
    for name in list(os.environ):
        if name.startswith(("DATABASE_", "NEONKIT_")):
            del os.environ[name]
    os.environ.update(global_environment())
    os.environ.update(
        AWS_LAMBDA_FUNCTION_NAME="ApiFunction",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="CRITICAL",
    )
    warnings.simplefilter("ignore")


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    with_cpuinfo = Path("/proc/cpuinfo")
    if with_cpuinfo.exists():
        for line in with_cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_average_before": round(os.getloadavg()[0], 2),  # other work on the host
    }


# -- the report ---------------------------------------------------------------------------

ROWS: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    ("sandboxes (threads)", lambda r: r["sandboxes"]),
    ("wall time (s)", lambda r: r["seconds"]),
    ("requests", lambda r: r["requests"]),
    ("answered as expected", lambda r: r["ok"]),
    ("throughput (requests/s)", lambda r: r["throughput_rps"]),
    ("answered as expected (requests/s)", lambda r: r["ok_rps"]),
    ("p50 latency, all (ms)", lambda r: r["p50_ms"]),
    ("p99 latency, all (ms)", lambda r: r["p99_ms"]),
    ("p50 latency, expected answers (ms)", lambda r: r["ok_p50_ms"]),
    ("p99 latency, expected answers (ms)", lambda r: r["ok_p99_ms"]),
    ("p50 / p99 latency, warm sandbox (ms)", lambda r: _pair(r, "warm_ok")),
    ("p50 / p99 latency, first request, connect included (ms)", lambda r: _pair(r, "first_ok")),
    ("p50 latency, errors (ms)", lambda r: r["failed_p50_ms"]),
    ("sandboxes with at least one answer", lambda r: r["sandboxes_answered"]),
    ("sandboxes with only errors", lambda r: r["sandboxes_never_answered"]),
    ("connection attempts", lambda r: r["connect_attempts"]),
    ("stale connections replaced", lambda r: r["reconnects"]),
    ("PgBouncer: mean transaction time on the server (ms)", lambda r: r["pooler_server_ms"]),
    ("PgBouncer: mean wait for a server connection (ms)", lambda r: r["pooler_wait_ms"]),
)


def _pair(result: dict[str, Any], prefix: str) -> str | None:
    low, high = result[f"{prefix}_p50_ms"], result[f"{prefix}_p99_ms"]
    return None if low is None else f"{low} / {high}"


def table(phases: list[dict[str, Any]]) -> str:
    header = ["", *(p["target"] for p in phases)]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * len(phases) + "|"]
    for label, value in ROWS:
        cells = ["-" if value(p) is None else str(value(p)) for p in phases]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    kinds = sorted({error for p in phases for error in p["errors"]})
    for error in kinds:
        cells = [str(p["errors"].get(error, 0)) for p in phases]
        lines.append(f"| errors: {error} | " + " | ".join(cells) + " |")
    if not kinds:
        lines.append("| errors | " + " | ".join("0" for _ in phases) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandboxes", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase")
    parser.add_argument("--max-requests", type=int, default=200_000, help="per phase")
    parser.add_argument("--pool-size", type=int, default=15, help="PgBouncer's default_pool_size")
    parser.add_argument("--skip-direct", action="store_true", help="only the PgBouncer phase")
    args = parser.parse_args(argv)
    binary = pgbouncer_binary()
    if binary is None:
        print("PgBouncer is not installed: apt-get install -y pgbouncer", file=sys.stderr)
        return 2
    host = machine()  # before anything of ours runs: its load average is other work
    lambda_environment()
    powertools_per_thread()
    record_error_types()
    phases: list[dict[str, Any]] = []
    # Powertools prints its metrics every 100 creates even when they are disabled: not here.
    with (
        open(os.devnull, "w") as quiet,
        contextlib.redirect_stdout(quiet),
        postgres_server(MAX_CONNECTIONS, env=None) as server_url,
    ):
        version = seed(server_url)
        common = {
            "sandboxes": args.sandboxes,
            "seconds": args.seconds,
            "max_requests": args.max_requests,
        }
        with PgBouncer(
            server_url,
            binary=binary,
            pool_size=args.pool_size,
            max_client_conn=max(600, args.sandboxes + 100),
            # A backlog of 128 drops SYNs when every sandbox connects at once: that would
            # measure TCP's 1 s retransmission, not the pooler.
            extra={"listen_backlog": "1024"},
        ) as bouncer:
            phases.append(
                phase("through PgBouncer", bouncer.url, pooled=True, bouncer=bouncer, **common)
            )
        if not args.skip_direct:  # PgBouncer is stopped: its server connections are free
            phases.append(phase("straight to PostgreSQL", server_url, pooled=False, **common))
    report: dict[str, Any] = {
        "command": " ".join(["python bench/load.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": host,
        "postgresql": {"version": version, "max_connections": MAX_CONNECTIONS},
        "pgbouncer": {"pool_mode": "transaction", "default_pool_size": args.pool_size},
        "mix": dict(MIX),
        "phases": phases,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    info = report["machine"]
    print(
        f"\n{info['cpu']}, {info['cores']} cores, Python {info['python']}, PostgreSQL {version}, "
        f"load average before the run {info['load_average_before']}"
    )
    print(table(phases))
    print(f"\nwritten: {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

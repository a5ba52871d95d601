"""One warm request, layer by layer: where its microseconds go, against raw psycopg and Knex.

The request is GET /{resource}/{id} of the kit's fixture app (notes), and of the sample app
(todos) when it is there, served in-process by the real handler with logs and metrics on as
deployed (stdout to a null writer). All of them on one loopback connection each (no TLS, no
proxy), without prepared statements (as through Neon's pooler, where the kit turns them off),
to the same PostgreSQL:

  psycopg    the handler's SELECT, on a plain psycopg connection: autocommit, dict rows
  knex       the seed guide's query, `client.raw('... LIMIT ?')` on Node with knex and pg
             (bench/knex; needs Node 20 and `npm ci` there: the row says when it is missing)
  neonkit    the same SELECT through `db.one` (the kit's statement path)
  route      the route function, called directly: validation, builder, db, JSON
  resolver   Powertools' resolver (`app.resolve`): routing, the kit's middleware, the route
  metrics    `Metrics.log_metrics` around the resolver (the flush, the cold-start metric)
  handler    the whole handler: Logger's context around all of it

and, alone, the pieces inside: the builder's chain + compile, the id's validation, the row
to JSON, the kit's middleware (with a no-op route) and its request log line. Every level
takes its turn call by call in rotating order (Knex batch by batch, in its own process), so
a noisy moment spreads over all of them. Each call's wall time and CPU time are taken (CPU:
this thread's, so a neighbour's load or the server's scheduling counts for little), less
the cost of timing an empty call. A layer's share is the difference of two levels' CPU
medians, or a piece's own: their sum is the handler's to within the noise (the "noise" row).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from harness import FIXTURE, ROOT, SAMPLE, App, Server, context, quiet
from neonkit import Database, Settings, db, http, using
from psycopg.rows import dict_row

TARGET_RATIO = 2.5  # handler p50 / psycopg p50
KNEX = ROOT / "bench" / "knex"


@dataclass
class Request:
    """What one app's GET by id is made of, as callables of no arguments."""

    app: App
    handler: Callable[[], Any]
    levels: dict[str, Callable[[], Any]]  # outermost last
    pieces: dict[str, Callable[[], Any]]
    sql: str
    params: list[Any]
    logger: Any  # the app's Powertools Logger


def measure(server: Server, admin: psycopg.Connection[Any], rounds: int = 1500) -> dict[str, Any]:
    url = server.plain_url()
    settings = Settings(url=url, prepare=False)
    result: dict[str, Any] = {"rounds": rounds, "target_ratio": TARGET_RATIO, "apps": []}
    raw = psycopg.connect(url, autocommit=True, row_factory=dict_row, prepare_threshold=None)
    knex = Knex(server) if Knex.available() else None
    try:
        for app in (FIXTURE, SAMPLE):
            if not app.present():
                continue
            database = Database(url, settings=settings)
            with using(database):
                request = _request(app, admin, raw)
                if knex is not None:
                    knex.aim(request.sql, request.params)
                samples = _interleaved(request, knex, rounds)
                quiet_logs = _at_warning(request, rounds // 3)
                if database.reconnects:
                    raise SystemExit("the kit reconnected during the run; the comparison is void")
            database.close()
            result["apps"].append({**_layers(app, samples), "at_warning": quiet_logs})
    finally:
        raw.close()
        if knex is not None:
            knex.stop()
    result["knex"] = (
        {"node": node_version(), "knex": _installed("knex"), "pg": _installed("pg")}
        if knex is not None
        else {"missing": _knex_missing()}
    )
    return result


# -- the request and its levels -------------------------------------------------------------


def _request(app: App, admin: psycopg.Connection[Any], raw: psycopg.Connection[Any]) -> Request:
    handler = app.load()
    module = sys.modules[handler.__module__]
    row_id = app.insert(admin)
    event = app.event(f"{app.resource}_get_found", row_id=row_id)
    ctx = context(app.function)
    with quiet():
        for _ in range(20):  # warm: the shape's SQL is cached, the code paths are hot
            response = handler(event, ctx)
    if response["statusCode"] != 200:
        raise SystemExit(f"{app.name}: GET answered {response['statusCode']}: {response}")
    query, validate, to_json, route = _app_parts(app, module, row_id)
    compiled = query().compile()
    row = db.one(compiled)
    assert row is not None
    assert row["id"] == row_id
    sql, params = compiled.text, list(compiled.params)
    resolver = module.app
    wrapped = _unwrapped(handler)
    levels: dict[str, Callable[[], Any]] = {
        "psycopg": lambda: raw.execute(sql, params).fetchone(),
        "neonkit": lambda: db.one(sql, params),
        "route": route,
        "resolver": lambda: resolver.resolve(event, ctx),
    }
    for name, function in wrapped:

        def level(function: Callable[..., Any] = function) -> Any:
            return function(event, ctx)

        levels[name] = level
    middleware = _kit_middleware(resolver)
    pieces: dict[str, Callable[[], Any]] = {
        "nothing": lambda: None,  # the timing's own cost, taken off every other median
        "builder": lambda: query().compile(),
        "validation": validate,
        "JSON out": lambda: http.json_response(200, to_json(row)),
    }
    if middleware is not None:
        done = http.json_response(200, {})
        pieces["kit middleware"] = lambda: middleware(resolver, lambda _app: done)
        extra = {"method": "GET", "path": event["rawPath"], "status": 200, "duration_ms": 0.42}
        pieces["request log line"] = lambda: module.logger.info("request", extra=extra)
    return Request(app, lambda: handler(event, ctx), levels, pieces, sql, params, module.logger)


def _app_parts(
    app: App, module: Any, row_id: int
) -> tuple[Callable[[], Any], Callable[[], Any], Callable[[Any], Any], Callable[[], Any]]:
    """The route's own steps, written as the route writes them: (query, validation, the
    row's JSON, the route function)."""
    text = str(row_id)
    if app is FIXTURE:
        columns = ("id", "title", "body", "created_at")
        return (
            lambda: module.notes.select(*columns).where("id", row_id),
            lambda: module.parse_id(text),
            module.to_json,
            lambda: module.get_note(text),
        )
    from todos.repository import COLUMNS, todos
    from todos.resource import Todo

    get_todo = _route_function(module.app, "get_todo")  # defined inside add_todos_routes
    return (
        lambda: todos.select(*COLUMNS).where("id", row_id),
        lambda: Todo.parse_id(text),
        Todo.to_json,
        lambda: get_todo(id=text),
    )


def _route_function(resolver: Any, name: str) -> Callable[..., Any]:
    """A route's function as the resolver holds it (Powertools keeps each in a Route)."""
    routes = resolver._static_routes + resolver._dynamic_routes
    return next(route.func for route in routes if route.func.__name__ == name)  # type: ignore[no-any-return]


_DECORATORS = {"inject_lambda_context": "handler", "log_metrics": "metrics"}


def _unwrapped(handler: Callable[..., Any]) -> list[tuple[str, Callable[..., Any]]]:
    """The handler's Powertools decorators, innermost first: [("metrics", ...), ("handler",
    ...)] for @logger.inject_lambda_context over @metrics.log_metrics."""
    layers = []
    function: Any = handler
    while hasattr(function, "__wrapped__"):
        where = function.__code__.co_qualname  # wraps() copies __qualname__, not the code's
        kind = next((v for k, v in _DECORATORS.items() if k in where), None)
        if kind is None:
            raise SystemExit(f"an unknown decorator on the handler: {where}")
        layers.append((kind, function))
        function = function.__wrapped__
    if not layers or layers[0][0] != "handler":
        layers.insert(0, ("handler", handler))
    return list(reversed(layers))


def _kit_middleware(resolver: Any) -> Callable[..., Any] | None:
    """The middleware `neonkit.http.install` adds to the resolver."""
    for middleware in getattr(resolver, "_router_middlewares", []):
        if getattr(middleware, "__module__", "") == http.__name__:
            return middleware  # type: ignore[no-any-return]
    return None


# -- timing ---------------------------------------------------------------------------------


def _interleaved(request: Request, knex: Knex | None, rounds: int) -> dict[str, Samples]:
    """Each call's wall time and CPU time (this thread's), for every level and piece, and
    Knex's (its process's CPU), in batches between them."""
    calls = {**request.levels, **request.pieces}
    names = list(calls)
    samples: dict[str, Samples] = {name: Samples() for name in names}
    if knex is not None:
        samples["knex"] = Samples()
        knex.run(200)  # warm: Node's JIT and the connection
    batch = 50
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    with quiet():
        for start in range(0, rounds, batch):
            for i in range(start, min(start + batch, rounds)):
                shift = i % len(names)
                for name in names[shift:] + names[:shift]:
                    call = calls[name]
                    w0, c0 = wall(), cpu()
                    call()
                    c1, w1 = cpu(), wall()
                    samples[name].add(w1 - w0, c1 - c0)
            if knex is not None:
                for w, c in knex.run(batch):
                    samples["knex"].add(w, c)
    return samples


def _at_warning(request: Request, rounds: int) -> dict[str, Any]:
    """The handler with the app's logger at INFO and at WARNING (the template's
    LogLevel=WARNING: no request line), call by call, the level switched between the timed
    calls; and raw psycopg beside them."""
    logger = request.logger
    level = logger.log_level
    calls = [("psycopg", logging.INFO, request.levels["psycopg"]),
             ("handler", logging.INFO, request.handler),
             ("handler at WARNING", logging.WARNING, request.handler),
             ("nothing", logging.INFO, request.pieces["nothing"])]  # fmt: skip
    samples = {name: Samples() for name, _, _ in calls}
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    try:
        with quiet():
            for i in range(rounds):
                shift = i % len(calls)
                for name, wanted, call in calls[shift:] + calls[:shift]:
                    logger.setLevel(wanted)
                    w0, c0 = wall(), cpu()
                    call()
                    c1, w1 = cpu(), wall()
                    samples[name].add(w1 - w0, c1 - c0)
    finally:
        logger.setLevel(level)
    w, c = _medians(samples, "wall"), _medians(samples, "cpu")
    return {
        name: {"wall_us": w[name], "cpu_us": c[name]}
        for name in ("psycopg", "handler", "handler at WARNING")
    } | {
        "cpu_saved": round(1 - c["handler at WARNING"] / c["handler"], 3),
        "cpu_ratio_to_psycopg": round(c["handler at WARNING"] / c["psycopg"], 2),
    }


@dataclass
class Samples:
    """Nanoseconds per call: wall time, and CPU time."""

    wall: list[int] = field(default_factory=list)
    cpu: list[int] = field(default_factory=list)

    def add(self, wall_ns: int, cpu_ns: int) -> None:
        self.wall.append(wall_ns)
        self.cpu.append(cpu_ns)

    def us(self, kind: str) -> float:
        samples: list[int] = getattr(self, kind)  # self.wall or self.cpu
        return round(statistics.median(samples) / 1000, 1)


def _medians(samples: dict[str, Samples], kind: str) -> dict[str, float]:
    """Each call's median microseconds, less what timing an empty call costs."""
    timing = samples["nothing"].us(kind)
    return {n: round(s.us(kind) - timing, 1) for n, s in samples.items() if n != "nothing"}


def _layers(app: App, samples: dict[str, Samples]) -> dict[str, Any]:
    """Each layer's CPU microseconds (robust to a busy machine: no waiting counted): a
    level's median less the level inside it, or a piece's own median."""
    us = _medians(samples, "cpu")
    inside_route = sum(us.get(k, 0.0) for k in ("builder", "validation", "JSON out"))
    middleware = us.get("kit middleware", 0.0)
    log_line = us.get("request log line", 0.0)
    layers = {
        "the query (psycopg's own work)": us["psycopg"],
        "neonkit's statement path": us["neonkit"] - us["psycopg"],
        "query builder (chain + compile)": us["builder"],
        "validation (the id)": us["validation"],
        "JSON out (row to a response)": us["JSON out"],
        "the route's own code, and noise": us["route"] - us["neonkit"] - inside_route,
        "routing (Powertools' resolver)": us["resolver"] - us["route"] - middleware,
        "kit middleware (transaction check, timing)": middleware - log_line,
        "logging: the request's log line": log_line,
    }
    if "metrics" in us:
        layers["metrics (log_metrics: flush, cold-start metric)"] = us["metrics"] - us["resolver"]
        layers["logging: Logger's context (inject_lambda_context)"] = us["handler"] - us["metrics"]
    else:
        layers["logging: Logger's context (inject_lambda_context)"] = us["handler"] - us["resolver"]
    timing = samples["nothing"].us("wall")
    wall = {
        name: round(s.us("wall") - timing, 1) for name, s in samples.items() if name != "nothing"
    }
    compared = {
        name: {"wall_us": wall[name], "cpu_us": us[name]}
        for name in ("psycopg", "knex", "handler")
        if name in samples
    }
    return {
        "app": app.name,
        "function": app.function,
        "cpu_us": us,
        "wall_us": wall,
        "layers_cpu_us": {name: round(v, 1) for name, v in layers.items()},
        "compared": compared,
        "ratio_to_psycopg": round(wall["handler"] / wall["psycopg"], 2),
        "cpu_ratio_to_psycopg": round(us["handler"] / us["psycopg"], 2),
        "ratio_to_knex": round(wall["handler"] / wall["knex"], 2) if "knex" in wall else None,
        "samples": len(samples["handler"].wall),
    }


# -- Knex, in a Node process of its own -------------------------------------------------------


class Knex:
    """bench/knex/query.js: runs the query when told, answers each call's nanoseconds."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.process: subprocess.Popen[str] | None = None

    @staticmethod
    def available() -> bool:
        return node_version() is not None and (KNEX / "node_modules" / "knex").is_dir()

    def aim(self, sql: str, params: list[Any]) -> None:
        """(Re)start Node on this query: the seed guide's form, `?` placeholders and a LIMIT."""
        self.stop()
        options = {
            "host": self.server.host,
            "port": self.server.direct_port,
            "user": self.server.user,
            "password": self.server.password,
            "database": self.server.dbname,
            "sql": sql.replace("%s", "?") + " LIMIT ?",
            "params": [*params, 1],
        }
        self.process = subprocess.Popen(
            ["node", str(KNEX / "query.js"), json.dumps(options)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=KNEX,
        )  # fmt: skip

    def run(self, n: int) -> list[tuple[int, int]]:
        process = self.process
        assert process is not None
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(f"run {n}\n")
        process.stdin.flush()
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"bench/knex/query.js stopped (exit status {process.wait()})")
        answer = json.loads(line)
        return list(zip(answer["wall_ns"], answer["cpu_ns"], strict=True))

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.stdin is not None:
            process.stdin.write("quit\n")
            process.stdin.close()
            process.wait(timeout=10)


def node_version() -> str | None:
    if shutil.which("node") is None:
        return None
    done = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or None


def _installed(package: str) -> str | None:
    path = KNEX / "node_modules" / package / "package.json"
    return str(json.loads(path.read_text())["version"]) if path.exists() else None


def _knex_missing() -> str:
    if node_version() is None:
        return "Node is not installed: no Knex row (the seed guide's Knex needs Node 20)"
    return f"bench/knex has no node_modules: run `npm ci` in {Path(KNEX).relative_to(ROOT)}"


if __name__ == "__main__":  # python bench/request.py: this section alone
    os.execv(sys.executable, [sys.executable, str(ROOT / "bench" / "run.py"), "--only", "request"])

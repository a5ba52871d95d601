"""What the handler adds to the SQL it runs, on a loopback connection (no TLS, no proxy).

Three levels per request, taking turns call by call, on one and the same connection (the
kit's: autocommit, dict rows, the same prepared statements and server process):
  psycopg    conn.execute(sql, params).fetchall(): the SQL the handler sent, nothing else
  neonkit    db.all / db.execute with that SQL: the kit's per-statement work added
  resolver   the function's Powertools resolver (`app.resolve`): routing, validation, the
             builder, neonkit, psycopg, JSON, the request's log line
  handler    the function's handler: the resolver inside Powertools' Logger context
             injection and Metrics flush (cold-start metric, EMF line)
Where the handler is over its target, cProfile says where the time goes, by package.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg
from harness import (
    Handler,
    RecordingDatabase,
    Server,
    call,
    context,
    new_key,
    p50,
    quiet,
    summary,
    timed,
)
from neonkit import Settings, using
from round_trips import WARM_UP, Operation, operations

TARGET = 1.5  # handler p50 / psycopg p50


def measure(
    server: Server, admin: psycopg.Connection[Any], handler: Handler, rounds: int = 300
) -> dict[str, Any]:
    url = server.plain_url()
    database = RecordingDatabase(url, settings=Settings(url=url))
    rows: list[dict[str, Any]] = []
    profile: dict[str, Any] = {}
    try:
        with using(database):
            ops = operations(admin)
            for op in ops:
                for _ in range(WARM_UP):
                    call(handler, op.make(), expect=op.status)
                database.sent.clear()
                call(handler, op.make(), expect=op.status)
                statements = list(database.sent)
                conn = database.connection
                assert conn is not None
                levels = _levels(handler, op, statements, conn, database, admin)
                samples = _interleaved(levels, rounds)
                base = p50(samples["psycopg"])
                row: dict[str, Any] = {"operation": op.name}
                for name, values in samples.items():
                    row[name] = {**summary(values), "ratio": round(p50(values) / base, 2)}
                rows.append(row)
                if database.reconnects:
                    raise SystemExit("the kit reconnected during the run; the comparison is void")
            profile = _profile(handler, ops[0])
    finally:
        database.close()
    worst = max(r["handler"]["ratio"] for r in rows)
    return {"target_ratio": TARGET, "worst_ratio": worst, "rows": rows, "profile_get": profile}


def _levels(
    handler: Handler,
    op: Operation,
    statements: list[tuple[Any, Any]],
    conn: psycopg.Connection[Any],
    database: RecordingDatabase,
    admin: psycopg.Connection[Any],
) -> dict[str, Callable[[], Callable[[], Any]]]:
    """name -> a maker of one call (its preparation, e.g. a row to delete, is not timed)."""

    def fresh() -> list[tuple[Any, Any]]:
        # The handler deletes a new row and claims a new key each time; so do the others.
        if op.name == "delete":
            row = admin.execute(
                "INSERT INTO todos (owner, title) VALUES ('anonymous', 'x') RETURNING id"
            ).fetchone()
            assert row is not None
            return [(statements[0][0], [row[0]])]
        if op.name == "create, Idempotency-Key":
            return [(text, {**args, "key": new_key()}) for text, args in statements]
        return statements

    def raw() -> Callable[[], Any]:
        todo = fresh()

        def run() -> None:
            for text, args in todo:
                cur = conn.execute(text, args)
                if cur.description is not None:
                    cur.fetchall()

        return run

    def kit() -> Callable[[], Any]:
        todo = fresh()

        def run() -> None:
            for text, args in todo:
                if "RETURNING" in text or text.lstrip().upper().startswith("SELECT"):
                    database.all(text, args)
                else:
                    database.execute(text, args)

        return run

    ctx = context()
    resolver = sys.modules[handler.__module__].app

    def routed() -> Callable[[], Any]:
        data = op.make()
        return lambda: resolver.resolve(data, ctx)

    def full() -> Callable[[], Any]:
        data = op.make()
        return lambda: handler(data, ctx)

    return {"psycopg": raw, "neonkit": kit, "resolver": routed, "handler": full}


def _interleaved(
    levels: dict[str, Callable[[], Callable[[], Any]]], rounds: int
) -> dict[str, list[float]]:
    """Per-call seconds; the levels take turns in rotating order."""
    names = list(levels)
    samples: dict[str, list[float]] = {name: [] for name in names}
    with quiet():
        for i in range(rounds):
            shift = i % len(names)
            for name in names[shift:] + names[:shift]:
                samples[name].append(timed(levels[name]()))
    return samples


def _profile(handler: Handler, op: Operation, calls: int = 300) -> dict[str, Any]:
    """Where a warm get's time goes: own time by package, over `calls` requests."""
    ctx = context()
    events = [op.make() for _ in range(calls)]
    profiler = cProfile.Profile()
    with quiet():
        profiler.enable()
        for data in events:
            handler(data, ctx)
        profiler.disable()
    stats = pstats.Stats(profiler)
    by_package: Counter[str] = Counter()
    total = 0.0
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_package[_package(filename)] += tottime
        total += tottime
    return {
        "calls": calls,
        "total_ms_per_call": round(total / calls * 1000, 3),
        "share": {name: round(t / total, 3) for name, t in by_package.most_common(12)},
    }


def _package(filename: str) -> str:
    for marker, name in (
        ("aws_lambda_powertools/logging", "powertools logging"),
        ("aws_lambda_powertools/metrics", "powertools metrics"),
        ("aws_lambda_powertools/event_handler", "powertools event_handler"),
        ("aws_lambda_powertools", "powertools (other)"),
        ("/neonkit/query/", "neonkit query builder"),
        ("/neonkit/", "neonkit"),
        ("/todos/", "todos (the sample's validation and SQL)"),
        ("functions/", "the function's app.py"),
        ("/psycopg", "psycopg"),
        ("/json/", "json"),
        ("/logging/", "logging (stdlib)"),
    ):
        if marker in filename:
            return name
    if filename == "~":
        return "builtins (C: socket, json, ...)"
    return "other python"

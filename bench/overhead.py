"""What the handler adds to the SQL it runs, every route of the kit's fixture app, on a
loopback connection (no TLS, no proxy). bench/request.py breaks one request down by layer.

Four levels per request, taking turns call by call, on one and the same connection (the
kit's: autocommit, dict rows, the same prepared statements and server process):
  psycopg    conn.execute(sql, params).fetchall(): the SQL the handler sent, nothing else
  neonkit    db.all / db.execute with that SQL: the kit's per-statement work added
  resolver   the function's Powertools resolver (`app.resolve`): routing, validation, the
             builder, neonkit, psycopg, JSON, the request's log line
  handler    the function's handler: the resolver inside Powertools' Logger context
             injection and Metrics flush (cold-start metric, EMF line)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import psycopg
from harness import (
    App,
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

TARGET = 2.5  # handler p50 / psycopg p50


def measure(
    server: Server, admin: psycopg.Connection[Any], app: App, rounds: int = 300
) -> dict[str, Any]:
    url = server.plain_url()
    database = RecordingDatabase(url, settings=Settings(url=url))
    handler = app.load()
    rows: list[dict[str, Any]] = []
    try:
        with using(database):
            ops = operations(app, admin)
            for op in ops:
                for _ in range(WARM_UP):
                    call(handler, op.make(), expect=op.status)
                database.sent.clear()
                call(handler, op.make(), expect=op.status)
                statements = list(database.sent)
                conn = database.connection
                assert conn is not None
                levels = _levels(app, handler, op, statements, conn, database, admin)
                samples = _interleaved(levels, rounds)
                base = p50(samples["psycopg"])
                row: dict[str, Any] = {"operation": op.name}
                for name, values in samples.items():
                    row[name] = {**summary(values), "ratio": round(p50(values) / base, 2)}
                rows.append(row)
                if database.reconnects:
                    raise SystemExit("the kit reconnected during the run; the comparison is void")
    finally:
        database.close()
    worst = max(r["handler"]["ratio"] for r in rows)
    return {"app": app.name, "target_ratio": TARGET, "worst_ratio": worst, "rows": rows}


def _levels(
    app: App,
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
            return [(statements[0][0], [app.insert(admin)])]
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

    ctx = context(app.function)
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

"""Round trips per request, and what they cost at a realistic distance.

The real handler runs in-process with neonkit's `db` pointed at a FaultProxy in front of the
server; the proxy counts request flights (client data after the server last spoke: one
round trip each) and can delay every chunk by 5 ms each way. Baselines run the very SQL the
kit sent, with plain psycopg:
  connect per request   Neon's Lambda guide: connect (sslmode=require), query, close
  BEGIN/COMMIT          one connection, psycopg's default (non-autocommit), commit per request
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from harness import (
    SAMPLE,
    App,
    Handler,
    RecordingDatabase,
    Server,
    call,
    new_key,
    p50,
    summary,
    timed,
)
from neonkit import Settings, using

from tests.kit.support.proxy import FaultProxy

LATENCY = 0.005  # seconds each way: ~10 ms per round trip, a Lambda and a database apart
WARM_UP = 8  # calls per operation before counting: past psycopg's prepare threshold (5)


@dataclass
class Operation:
    name: str
    make: Callable[[], dict[str, Any]]  # a fresh event for one call (may add a row first)
    status: int


def operations(app: App, admin: psycopg.Connection[Any]) -> list[Operation]:
    """The requests measured, with the app's events (the fixture's, or the sample's)."""
    name = app.resource
    seed, replay_key = app.insert(admin), new_key()
    ops = [
        Operation("get", lambda: app.event(f"{name}_get_found", row_id=seed), 200),
        Operation("list", lambda: app.event(f"{name}_list"), 200),
        Operation("create", lambda: app.event(f"{name}_create_created"), 201),
        Operation(
            "create, Idempotency-Key",
            lambda: app.event(f"{name}_create_idempotent_created", key=new_key()),
            201,
        ),
        Operation(
            "create, replayed key",
            lambda: app.event(f"{name}_create_idempotent_created", key=replay_key),
            201,
        ),
        Operation("update", lambda: app.event(f"{name}_update_found", row_id=seed), 200),
        Operation(
            "delete", lambda: app.event(f"{name}_delete_found", row_id=app.insert(admin)), 204
        ),
    ]
    if app is SAMPLE:
        ops.insert(5, Operation("batch create (3)", lambda: app.event("todos_batch_created"), 201))
    return ops


def settle(proxy: FaultProxy, keep: int = 0) -> None:
    """Wait until the proxy has seen closed connections go (their Terminate counted), so that
    only `keep` connections are left."""
    deadline = time.monotonic() + 2
    while proxy.live > keep and time.monotonic() < deadline:
        time.sleep(0.001)


@contextlib.contextmanager
def kit(url: str, **settings: Any) -> Iterator[RecordingDatabase]:
    database = RecordingDatabase(url, settings=Settings(url=url, **settings))
    try:
        with using(database):
            yield database
    finally:
        database.close()


def flights(proxy: FaultProxy, fn: Callable[[], Any]) -> int:
    before = proxy.flights
    fn()
    return proxy.flights - before


# -- the baselines ------------------------------------------------------------------------


def run_sql(conn: psycopg.Connection[Any], statements: list[tuple[Any, Any]]) -> None:
    for text, args in statements:
        cur = conn.execute(text, args)
        if cur.description is not None:
            cur.fetchall()


def connect_per_request(url: str, statements: list[tuple[Any, Any]], proxy: FaultProxy) -> int:
    """Neon's Lambda guide: a new connection per request. Returns the round trips, not
    counting the Terminate message that close() sends without waiting."""
    before = proxy.flights
    conn = psycopg.connect(url, autocommit=True)
    try:
        run_sql(conn, statements)
        return proxy.flights - before
    finally:
        conn.close()


def begin_commit(conn: psycopg.Connection[Any], statements: list[tuple[Any, Any]]) -> None:
    run_sql(conn, statements)
    conn.commit()


# -- 1. round trips ------------------------------------------------------------------------


def count(server: Server, admin: psycopg.Connection[Any], app: App) -> dict[str, Any]:
    """Flights per request: the kit warm, after an idle gap, cold; and the baselines."""
    handler = app.load()
    ops = operations(app, admin)
    rows: list[dict[str, Any]] = []
    recorded: dict[str, list[tuple[Any, Any]]] = {}
    with FaultProxy(server.host, server.port, name="bench") as proxy:
        url = server.neon_url(port=proxy.port)
        with kit(url) as database:
            for op in ops:
                for _ in range(WARM_UP):
                    call(handler, op.make(), expect=op.status)
                database.sent.clear()

                def once(op: Operation = op) -> dict[str, Any]:
                    return call(handler, op.make(), expect=op.status)

                counts = [flights(proxy, once) for _ in range(10)]
                recorded[op.name] = list(database.sent[: len(database.sent) // 10])
                rows.append({"operation": op.name, "kit": counts})
            first_calls = _first_calls(proxy, url, handler, ops[0])

        idle = _idle_gap(proxy, url, handler, ops)

        guide_url = server.guide_url(port=proxy.port)
        for row in rows:
            statements = recorded[row["operation"]]
            per_connect = []
            for _ in range(3):
                per_connect.append(connect_per_request(guide_url, statements, proxy))
                settle(proxy)
            row["connect per request"] = per_connect
            row["statements"] = len(statements)
        persistent = psycopg.connect(guide_url)  # psycopg's default: a transaction per request
        try:
            for row in rows:
                statements = recorded[row["operation"]]
                begin_commit(persistent, statements)

                def replay(s: list[tuple[Any, Any]] = statements) -> None:
                    begin_commit(persistent, s)

                row["BEGIN/COMMIT"] = [flights(proxy, replay) for _ in range(3)]
        finally:
            persistent.close()
            settle(proxy)

        connects = _connect_flights(server, proxy)
        cold = _cold_requests(proxy, server, handler, ops[0])
    return {
        "warm": rows,
        "first_calls_after_connect": first_calls,
        "idle_gap": idle,
        "connect": connects,
        "cold_request": cold,
        "sql": {name: [str(text) for text, _ in stmts] for name, stmts in recorded.items()},
    }


def _first_calls(proxy: FaultProxy, url: str, handler: Handler, op: Operation) -> list[int]:
    """Flights of the first 8 gets on a new connection: prepared statements cost one extra
    round trip when a statement is first prepared (on its 5th run, where they are on)."""
    with kit(url) as _:
        counts = [
            flights(proxy, lambda: call(handler, op.make(), expect=op.status)) for _ in range(8)
        ]
    settle(proxy)
    return counts


def _idle_gap(
    proxy: FaultProxy, url: str, handler: Handler, ops: list[Operation]
) -> dict[str, Any]:
    """The first request after idle_ping_after: a write is preceded by a ping, a read is not."""
    by_name = {op.name: op for op in ops}
    result: dict[str, Any] = {"idle_ping_after_s": 0.2}
    with kit(url, idle_ping_after=0.2) as _:
        for name in ("create", "get", "update", "delete"):
            op = by_name[name]
            for _ in range(WARM_UP):
                call(handler, op.make(), expect=op.status)
            counts = []

            def once(op: Operation = op) -> dict[str, Any]:
                return call(handler, op.make(), expect=op.status)

            for _ in range(3):
                time.sleep(0.25)
                counts.append(flights(proxy, once))
            result[name] = counts
    settle(proxy)
    return result


def _connect_flights(server: Server, proxy: FaultProxy) -> list[dict[str, Any]]:
    """A connect's round trips for each way of negotiating TLS (the role logs in with SCRAM)."""
    variants = [("no TLS", server.url(port=proxy.port, sslmode="disable"))]
    if server.tls:
        variants += [
            ("TLS, sslnegotiation=postgres", server.url(port=proxy.port, sslmode="require")),
            (
                "TLS, sslnegotiation=direct",
                server.url(port=proxy.port, sslmode="require", sslnegotiation="direct"),
            ),
        ]
    rows = []
    for name, url in variants:
        counts = []
        for _ in range(3):
            before = proxy.flights
            conn = psycopg.connect(url)
            counts.append(proxy.flights - before)
            conn.close()
            settle(proxy)
        rows.append({"connect": name, "flights": counts})
    return rows


def _cold_requests(
    proxy: FaultProxy, server: Server, handler: Handler, op: Operation
) -> list[dict[str, Any]]:
    """The first request of a sandbox: connect + the statement."""
    rows = []
    for name, url in [
        ("kit, sslnegotiation=direct", server.neon_url(port=proxy.port)),
        ("kit, sslnegotiation=postgres", server.guide_url(port=proxy.port)),
    ]:
        counts = []
        for _ in range(3):
            with kit(url):
                counts.append(flights(proxy, lambda: call(handler, op.make(), expect=op.status)))
            settle(proxy)
        rows.append({"request": name, "flights": counts})
    return rows


# -- 2. latency ---------------------------------------------------------------------------


def latency(server: Server, admin: psycopg.Connection[Any], app: App) -> dict[str, Any]:
    """p50 per request with 5 ms added each way, against the kit's own time without it.

    The requests take turns round by round, so that a noisy moment on the machine spreads
    over all of them instead of spoiling one."""
    handler = app.load()
    ops = operations(app, admin)
    with FaultProxy(server.host, server.port, name="latency") as proxy:
        url = server.neon_url(port=proxy.port)
        guide_url = server.guide_url(port=proxy.port)
        round_trip = _bare_round_trip(proxy, url)
        with kit(url) as database:
            statements: dict[str, list[tuple[Any, Any]]] = {}
            for op in ops:
                for _ in range(WARM_UP):
                    call(handler, op.make(), expect=op.status)
                database.sent.clear()
                call(handler, op.make(), expect=op.status)
                statements[op.name] = list(database.sent)
            local = _rounds(ops, 60, lambda op: _handler_call(handler, op))
            proxy.latency(LATENCY)
            try:
                remote = _rounds(ops, 25, lambda op: _handler_call(handler, op))
                persistent = psycopg.connect(guide_url)
                for op in ops:
                    begin_commit(persistent, statements[op.name])
                with_tx = _rounds(
                    ops, 12, lambda op: lambda: begin_commit(persistent, statements[op.name])
                )
                persistent.close()
                per_connect = _rounds(
                    ops,
                    6,
                    lambda op: lambda: connect_per_request(guide_url, statements[op.name], proxy),
                )
            finally:
                proxy.latency(0)
            settle(proxy, keep=1)
        rows: list[dict[str, Any]] = []
        for op in ops:
            mine = local[op.name]
            # One round trip: nominal (2 x 5 ms), and measured (an empty query under the
            # same latency, less the loopback round trip already in the local time).
            nominal = 2 * LATENCY + p50(mine)
            measured = round_trip["added_s"] + p50(mine)
            rows.append({
                "operation": op.name,
                "kit_local": summary(mine),
                "kit": summary(remote[op.name]),
                "ratio_nominal": round(p50(remote[op.name]) / nominal, 3),
                "ratio_measured": round(p50(remote[op.name]) / measured, 3),
                "connect per request": summary(per_connect[op.name]),
                "BEGIN/COMMIT": summary(with_tx[op.name]),
            })  # fmt: skip
        cold = _cold_latency(proxy, server, handler, ops[0])
    return {
        "latency_each_way_ms": LATENCY * 1000,
        "bare_round_trip": round_trip,
        "warm": rows,
        "cold_request": cold,
    }


def _handler_call(handler: Handler, op: Operation) -> Callable[[], Any]:
    data = op.make()  # outside the timed part: a delete's row is added here
    return lambda: call(handler, data, expect=op.status)


def _rounds(
    ops: list[Operation], n: int, make: Callable[[Operation], Callable[[], Any]]
) -> dict[str, list[float]]:
    """Seconds per call: `n` rounds, each op once per round, in rotating order."""
    samples: dict[str, list[float]] = {op.name: [] for op in ops}
    for i in range(n):
        for op in ops[i % len(ops) :] + ops[: i % len(ops)]:
            samples[op.name].append(timed(make(op)))
    return samples


def _bare_round_trip(proxy: FaultProxy, url: str) -> dict[str, Any]:
    """An empty query on a plain psycopg connection, without and with the added latency."""
    with psycopg.connect(url, autocommit=True) as conn:
        local = [timed(lambda: conn.execute("")) for _ in range(50)]
        proxy.latency(LATENCY)
        try:
            remote = [timed(lambda: conn.execute("")) for _ in range(20)]
        finally:
            proxy.latency(0)
    settle(proxy)
    return {
        "local": summary(local),
        "with_latency": summary(remote),
        "added_s": p50(remote) - p50(local),
    }


def _cold_latency(
    proxy: FaultProxy, server: Server, handler: Handler, op: Operation
) -> list[dict[str, Any]]:
    """A sandbox's first request (connect + statement) at 10 ms per round trip."""
    rows = []
    proxy.latency(LATENCY)
    try:
        for name, url in [
            ("kit, sslnegotiation=direct", server.neon_url(port=proxy.port)),
            ("kit, sslnegotiation=postgres", server.guide_url(port=proxy.port)),
        ]:
            samples = []
            for _ in range(6):
                with kit(url):
                    samples.append(timed(lambda: call(handler, op.make(), expect=op.status)))
                settle(proxy)
            rows.append({"request": name, **summary(samples)})
    finally:
        proxy.latency(0)
    return rows

"""A connection closed while the sandbox was frozen is replaced without the caller seeing it.

Between two calls (the sandbox is frozen in between), the server, the pooler or the network
closes the kit's connection. The next read and the next write must both succeed, with nothing
raised, on a new backend, after exactly one reconnect (one connection attempt). Figures: the
duration of the first call after the fault (it includes the reconnect).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from localdev.testing import PgBouncer
from neonkit import Database

from tests.kit.support.proxy import FaultProxy
from tests.kit.support.waiting import hung_up, terminate, wait_until

pytestmark = pytest.mark.pooler

Admin = psycopg.Connection[tuple[Any, ...]]
Report = Callable[[str, float, str], None]


def backend_pid(db: Database) -> int:
    """The PostgreSQL process serving this statement (through a pooler, the server connection
    the pooler picked for it), asked of the server itself."""
    return int(db.value("SELECT pg_backend_pid() AS pid"))


def call(db: Database, kind: str, tag: str) -> float:
    """One read or one write; returns its duration in ms."""
    started = time.monotonic()
    if kind == "read":
        assert db.value("SELECT 41 + 1 AS answer") == 42
    else:
        assert db.execute("INSERT INTO pooler_writes (tag) VALUES (%s)", [tag]) == 1
    return (time.monotonic() - started) * 1000


def rows(direct: Admin, tag: str) -> int:
    row = direct.execute("SELECT count(*) FROM pooler_writes WHERE tag = %s", [tag]).fetchone()
    assert row is not None
    return int(row[0])


def after_fault(
    db: Database, first: str, direct: Admin, report: Report, label: str
) -> tuple[int, int, int]:
    """Run the first call after the fault, then the other kind; both must succeed.

    Returns (new backend pid, reconnects, connection attempts) counted since the fault."""
    reconnects, attempts = db.reconnects, db.connector.attempts
    tag = uuid.uuid4().hex
    second = "write" if first == "read" else "read"
    elapsed = call(db, first, tag)
    call(db, second, tag)
    assert rows(direct, tag) == 1  # the write ran exactly once
    report(f"{label}: first call ({first}) after the fault", elapsed, "ms")
    return backend_pid(db), db.reconnects - reconnects, db.connector.attempts - attempts


@pytest.mark.parametrize("first", ["read", "write"])
@pytest.mark.parametrize("path", ["postgres", "pgbouncer"])
def test_backend_terminated_while_frozen(
    path: str,
    first: str,
    direct_url: str,
    bouncers: Callable[..., PgBouncer],
    databases: Callable[..., Database],
    admin: Admin,
    direct: Admin,
    writes_table: str,
    report: Report,
) -> None:
    """Fault: the backend is killed with pg_terminate_backend between two calls (Neon
    suspending an idle compute). Expected: directly, the next read and write succeed on a new
    backend after exactly one reconnect; through PgBouncer the pooler absorbs the loss (a new
    server connection, zero reconnects by the kit). Figure: the first call's duration."""
    url = direct_url if path == "postgres" else bouncers().url
    db = databases(url, pooled=path == "pgbouncer")
    old_pid = backend_pid(db)

    terminate(admin, old_pid)
    if path == "postgres":  # through PgBouncer, the pooler absorbs the loss
        wait_until(lambda: hung_up(db), "the server's hang-up reached the client")

    new_pid, reconnects, attempts = after_fault(
        db, first, direct, report, f"terminated backend via {path}"
    )
    assert new_pid != old_pid
    expected = 1 if path == "postgres" else 0
    assert (reconnects, attempts) == (expected, expected)


@pytest.mark.parametrize("first", ["read", "write"])
def test_pgbouncer_restarted_while_frozen(
    first: str,
    bouncers: Callable[..., PgBouncer],
    databases: Callable[..., Database],
    direct: Admin,
    writes_table: str,
    report: Report,
) -> None:
    """Fault: PgBouncer restarts between two calls (every client and server connection
    dropped). Expected: the next read and write succeed on a new backend, after exactly one
    reconnect. Figure: the first call's duration, reconnect included."""
    bouncer = bouncers()
    db = databases(bouncer.url)
    old_pid = backend_pid(db)

    bouncer.restart()
    wait_until(lambda: hung_up(db), "PgBouncer's hang-up reached the client")

    new_pid, reconnects, attempts = after_fault(db, first, direct, report, "PgBouncer restart")
    assert new_pid != old_pid
    assert (reconnects, attempts) == (1, 1)


@pytest.mark.parametrize("first", ["read", "write"])
@pytest.mark.parametrize("path", ["postgres", "pgbouncer"])
def test_network_closed_every_connection_while_frozen(
    path: str,
    first: str,
    direct_url: str,
    bouncers: Callable[..., PgBouncer],
    proxies: Callable[[str], tuple[FaultProxy, str]],
    databases: Callable[..., Database],
    direct: Admin,
    writes_table: str,
    report: Report,
) -> None:
    """Fault: the network (a proxy in front of PostgreSQL or of PgBouncer) closes every
    connection between two calls, as a NAT or load balancer does with idle flows. Expected:
    the next read and write succeed after exactly one reconnect; directly, on a new backend
    (through PgBouncer the pooler may hand out the same server connection again). Figure: the
    first call's duration, reconnect included."""
    proxy, url = proxies(direct_url if path == "postgres" else bouncers().url)
    db = databases(url, pooled=path == "pgbouncer")
    old_pid = backend_pid(db)

    proxy.close_all()
    wait_until(lambda: hung_up(db), "the network's hang-up reached the client")

    new_pid, reconnects, attempts = after_fault(db, first, direct, report, f"closed via {path}")
    assert (reconnects, attempts) == (1, 1)
    assert proxy.accepted == 2  # one new client connection
    if path == "postgres":
        assert new_pid != old_pid

"""Network faults under the kit: a black hole, a compute waking, a reset in the middle of a write.

The kit is configured with tight budgets (query_timeout=2, connect_timeout=2,
connect_deadline=4 s) so every fault ends in seconds with a neonkit error, never a hang.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from localdev.testing import PgBouncer
from neonkit import (
    ConnectError,
    ConnectionLostError,
    Database,
    QueryTimeoutError,
    UnavailableError,
)

from tests.kit.support.proxy import FaultProxy
from tests.kit.support.waiting import MARGIN, quiet, wait_until

pytestmark = pytest.mark.pooler

Admin = psycopg.Connection[tuple[Any, ...]]
Report = Callable[[str, float, str], None]
Proxies = Callable[[str], tuple[FaultProxy, str]]


@dataclass(frozen=True)
class Upstream:
    kind: str
    url: str

    @property
    def pooled(self) -> bool:
        return self.kind == "pgbouncer"


@pytest.fixture(params=["postgres", "pgbouncer"])
def upstream(request: pytest.FixtureRequest, direct_url: str) -> Upstream:
    """What the proxy is put in front of: PostgreSQL itself, or a PgBouncer of the test's own."""
    if request.param == "postgres":
        return Upstream("postgres", direct_url)
    bouncer: PgBouncer = request.getfixturevalue("bouncers")()
    return Upstream("pgbouncer", bouncer.url)


def timed(fn: Callable[[], Any]) -> tuple[float, BaseException | None]:
    """(seconds taken, the exception raised or None)."""
    started = time.monotonic()
    try:
        fn()
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def rows(direct: Admin, tag: str) -> int:
    row = direct.execute("SELECT count(*) FROM pooler_writes WHERE tag = %s", [tag]).fetchone()
    assert row is not None
    return int(row[0])


def insert(db: Database, tag: str) -> int:
    return db.execute("INSERT INTO pooler_writes (tag) VALUES (%s)", [tag])


# -- black hole ----------------------------------------------------------------------------
# The slow faults run through PgBouncer only, the shape a function sees (Neon's -pooler): the
# proxy's fault is the same whatever stands behind it.


def test_black_hole_on_a_write_times_out_then_recovers(
    bouncers: Callable[..., PgBouncer],
    proxies: Proxies,
    databases: Callable[..., Database],
    direct: Admin,
    writes_table: str,
    report: Report,
) -> None:
    """Fault: the network silently drops everything on a warm connection (no FIN, no RST).
    Expected: a write raises QueryTimeoutError after query_timeout (2 s), not a hang, and is
    not resent (no new connection is opened for it; once the held packets are delivered, at
    most one row); after the network heals the next call succeeds. Figure: time to the error."""
    proxy, url = proxies(bouncers().url)
    db = databases(url, pooled=True)
    assert db.value("SELECT 1 AS one") == 1
    attempts, tag = db.connector.attempts, uuid.uuid4().hex

    proxy.black_hole()
    elapsed, error = timed(lambda: insert(db, tag))

    assert isinstance(error, QueryTimeoutError), error
    assert isinstance(error, UnavailableError)
    assert db.connector.attempts == attempts
    settings = db.connector.settings
    assert settings.query_timeout <= elapsed < settings.query_timeout + MARGIN
    report("black hole, warm write: time to QueryTimeoutError", elapsed * 1000, "ms")

    proxy.heal()  # what the network held is delivered now, as TCP retransmission would
    assert db.value("SELECT 2 AS two") == 2
    wait_until(lambda: quiet(direct), "the server finished what reached it")
    assert rows(direct, tag) <= 1


def test_black_hole_on_a_read_times_out_then_recovers(
    bouncers: Callable[..., PgBouncer],
    proxies: Proxies,
    databases: Callable[..., Database],
    report: Report,
) -> None:
    """Fault: the network silently drops everything on a warm connection, and on new ones.
    Expected: a read raises QueryTimeoutError within query_timeout (2 s) plus a margin, never
    a hang: the wait spent the budget, so it is not retried on a new connection (which would
    add a connect deadline); after healing the next call succeeds. Figure: time to the error."""
    proxy, url = proxies(bouncers().url)
    db = databases(url, pooled=True)
    assert db.value("SELECT 1 AS one") == 1
    attempts = db.connector.attempts

    proxy.black_hole()
    elapsed, error = timed(lambda: db.value("SELECT 2 AS two"))

    assert isinstance(error, QueryTimeoutError), error
    assert db.connector.attempts == attempts
    settings = db.connector.settings
    assert settings.query_timeout <= elapsed < settings.query_timeout + MARGIN
    report("black hole, warm read: time to QueryTimeoutError", elapsed * 1000, "ms")

    proxy.heal()
    assert db.value("SELECT 3 AS three") == 3


def test_black_hole_on_new_connections_fails_within_the_connect_deadline(
    bouncers: Callable[..., PgBouncer],
    proxies: Proxies,
    databases: Callable[..., Database],
    report: Report,
) -> None:
    """Fault: new connections are accepted but never answered (a stalled network path).
    Expected: the first call raises ConnectError within connect_deadline (4 s) plus one
    attempt's rounding, after a few attempts; after healing the next call succeeds. Figure:
    time to the error, and the attempts made."""
    proxy, url = proxies(bouncers().url)
    db = databases(url, pooled=True)

    proxy.black_hole()
    elapsed, error = timed(lambda: db.value("SELECT 1 AS one"))

    assert isinstance(error, ConnectError), error
    settings = db.connector.settings
    assert settings.connect_deadline <= elapsed + MARGIN
    assert elapsed < settings.connect_deadline + MARGIN
    assert 1 < db.connector.attempts <= 3
    report("black hole, new connection: time to ConnectError", elapsed * 1000, "ms")
    report("black hole, new connection: attempts", db.connector.attempts, "attempts")

    proxy.heal()
    assert db.value("SELECT 2 AS two") == 2


# -- a compute waking ----------------------------------------------------------------------


def test_a_waking_compute_is_waited_for(
    bouncers: Callable[..., PgBouncer],
    proxies: Proxies,
    databases: Callable[..., Database],
    report: Report,
) -> None:
    """Fault: connections are refused for 2 s, as while a suspended compute wakes. Expected:
    the first call succeeds, within the connect deadline (5 s here), after a bounded number of
    attempts with backoff (more than one, fewer than ten). Figures: time to the first answer,
    attempts."""
    proxy, url = proxies(bouncers().url)
    db = databases(url, pooled=True, connect_deadline=5)

    proxy.refuse(2.0)
    started = time.monotonic()
    assert db.value("SELECT 1 AS one") == 1
    elapsed = time.monotonic() - started

    assert 2.0 <= elapsed < db.connector.settings.connect_deadline
    assert 1 < db.connector.attempts < 10
    report("compute waking (2 s refused): time to first answer", elapsed * 1000, "ms")
    report("compute waking (2 s refused): attempts", db.connector.attempts, "attempts")


# -- a reset in the middle of a write ------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "expected_rows"),
    [("before the server got it", 0), ("after the server ran it", 1)],
)
@pytest.mark.parametrize("shape", ["statement", "transaction"])
def test_reset_during_a_write_is_not_resent(
    upstream: Upstream,
    when: str,
    expected_rows: int,
    shape: str,
    proxies: Proxies,
    databases: Callable[..., Database],
    direct: Admin,
    writes_table: str,
    report: Report,
) -> None:
    """Fault: the connection is reset (RST) while a write is in flight: either the request
    is lost before the server sees it, or the server runs (and commits) it and the answer is
    lost. Expected: ConnectionLostError (an UnavailableError), and the write is NOT resent:
    zero rows in the first case, exactly one in the second; the next call works. Figure: time
    to the error."""
    proxy, url = proxies(upstream.url)
    db = databases(url, pooled=upstream.pooled)
    assert db.value("SELECT 1 AS one") == 1
    attempts = db.connector.attempts
    tag = uuid.uuid4().hex

    if when == "before the server got it":
        proxy.reset(0, from_client=True)
    else:
        proxy.reset(0)  # the server's next bytes (its answer) are replaced by a reset

    def write() -> None:
        if shape == "statement":
            insert(db, tag)
        else:
            with db.transaction() as tx:
                tx.defer("INSERT INTO pooler_writes (tag) VALUES (%s)", [tag])
                tx.defer("INSERT INTO pooler_writes (tag) VALUES (%s)", [tag + "-2"])

    elapsed, error = timed(write)

    assert isinstance(error, ConnectionLostError), error
    assert db.connector.attempts == attempts  # no new connection, so nothing was resent
    wait_until(lambda: quiet(direct), "the server finished what reached it")
    assert rows(direct, tag) == expected_rows
    report(
        f"reset {when} ({shape}, via {upstream.kind}): time to ConnectionLostError",
        elapsed * 1000,
        "ms",
    )

    assert db.value("SELECT 2 AS two") == 2

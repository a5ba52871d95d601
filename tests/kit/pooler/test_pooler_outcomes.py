"""What a pooler's refusals mean, proven through a real PgBouncer (1.18, transaction mode).

A statement the pooler refused before any server saw it ("server login has been failing",
"query_wait_timeout") never ran: the kit runs it again within the connect deadline, and never
calls it "outcome unknown". A prepared statement meeting a pooler the kit did not recognise
turns prepared statements off for the process, once, and runs again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from localdev.testing import PgBouncer
from neonkit import Database, Settings
from neonkit import _connector as connector

from tests.kit.support.proxy import FaultProxy
from tests.kit.support.waiting import wait_until

pytestmark = pytest.mark.pooler

Admin = psycopg.Connection[tuple[Any, ...]]
Report = Callable[[str, float, str], None]
Proxies = Callable[[str], tuple[FaultProxy, str]]
OUTAGE = 3.0  # seconds PostgreSQL is away behind PgBouncer


def rows(direct: Admin, tag: str) -> int:
    row = direct.execute("SELECT count(*) FROM pooler_writes WHERE tag = %s", [tag]).fetchone()
    assert row is not None
    return int(row[0])


def read_and_write(db: Database, tag: str) -> None:
    assert db.value("SELECT 41 + 1 AS answer") == 42
    assert db.execute("INSERT INTO pooler_writes (tag) VALUES (%s)", [tag]) == 1


def test_a_database_outage_behind_pgbouncer_is_waited_out(
    direct_url: str,
    bouncers: Callable[..., PgBouncer],
    proxies: Proxies,
    databases: Callable[..., Database],
    direct: Admin,
    writes_table: str,
    report: Report,
) -> None:
    """Fault: PostgreSQL goes away for 3 s behind a running PgBouncer (its connections closed,
    new ones refused), while a warm sandbox and cold ones (arriving 0.5, 1.0, 1.5 and 2.0 s
    into the outage) each run a read and a write. PgBouncer lets the cold ones log in and
    then refuses their statements ("server login has been failing"): nothing ran. Expected:
    every read and write succeeds once PostgreSQL is back, within the connect deadline
    (10 s); no "outcome unknown", no 503; each write landed exactly once; some sandbox did
    meet the refusal (it needed more than one connection attempt). Figure: the slowest."""
    proxy, upstream = proxies(direct_url)
    bouncer = bouncers(upstream)
    budget = {"connect_deadline": 10, "query_timeout": 10}
    warm = databases(bouncer.url, **budget)
    assert warm.value("SELECT 1 AS one") == 1
    sandboxes = {"warm": (warm, 0.0)}
    sandboxes |= {
        f"cold {at}": (databases(bouncer.url, **budget), at) for at in (0.5, 1.0, 1.5, 2.0)
    }
    tag = uuid.uuid4().hex
    failures: dict[str, BaseException] = {}
    took: dict[str, float] = {}

    def run(name: str, db: Database, at: float) -> None:
        time.sleep(at)  # when this sandbox's request arrives: the scenario's schedule
        started = time.monotonic()
        try:
            read_and_write(db, f"{tag} {name}")
        except Exception as exc:
            failures[name] = exc
        took[name] = time.monotonic() - started

    # WHEN PostgreSQL goes away for 3 s
    proxy.refuse(OUTAGE)
    proxy.close_all()
    threads = [threading.Thread(target=run, args=(name, *args)) for name, args in sandboxes.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # THEN everyone succeeded, each write once, and the refusal was met and waited out
    assert failures == {}
    for name in sandboxes:
        assert rows(direct, f"{tag} {name}") == 1, name
    attempts = {name: db.connector.attempts for name, (db, _) in sandboxes.items()}
    assert max(attempts.values()) > 1, attempts
    report("3 s outage behind PgBouncer: slowest read + write", max(took.values()) * 1000, "ms")
    report(
        "3 s outage behind PgBouncer: most connection attempts", max(attempts.values()), "attempts"
    )


@contextlib.contextmanager
def pool_held(url: str, admin: Admin) -> Iterator[Callable[[], None]]:
    """Another client holds the pool's one server connection in an open transaction; the
    block gets a function that lets it go."""
    holder = psycopg.connect(url, application_name="outcome-pool-holder")
    holder.execute("SELECT 1")  # BEGIN: the server connection is held
    wait_until(
        lambda: (
            admin.execute(
                "SELECT 1 FROM pg_stat_activity WHERE application_name = 'outcome-pool-holder'"
                " AND state = 'idle in transaction'"
            ).fetchone()
            is not None
        ),
        "the holder took the pool's server connection",
    )
    try:
        yield holder.close
    finally:
        holder.close()


def test_a_statement_pgbouncer_never_queued_to_a_server_is_run_again(
    bouncers: Callable[..., PgBouncer],
    databases: Callable[..., Database],
    admin: Admin,
    direct: Admin,
    writes_table: str,
    report: Report,
) -> None:
    """Fault: PgBouncer's pool (size 1) is held by another client, so a write waits in
    PgBouncer's queue until PgBouncer gives up on it (query_wait_timeout = 1 s) and drops the
    client: the write never reached a server. The pool is freed 1.5 s in. Expected: the kit
    runs the write again on a new connection (not "outcome unknown", not a 503) and it lands
    exactly once. Figure: time to success."""
    bouncer = bouncers(pool_size=1, query_wait_timeout=1)
    db = databases(bouncer.url, connect_deadline=10, query_timeout=10)
    assert db.value("SELECT 1 AS one") == 1
    tag = uuid.uuid4().hex
    with pool_held(bouncer.url, admin) as release:
        timer = threading.Timer(1.5, release)  # the other client finishes: the scenario
        timer.start()
        started = time.monotonic()
        assert db.execute("INSERT INTO pooler_writes (tag) VALUES (%s)", [tag]) == 1
        elapsed = time.monotonic() - started
        timer.join()
    assert rows(direct, tag) == 1
    assert db.connector.attempts == 2  # the first connection, and one after the refusal
    report("query_wait_timeout in PgBouncer: the write, run again", elapsed * 1000, "ms")


THREADS, QUERIES = 40, 20


@pytest.fixture
def prepared_statements_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that has not yet met a pooler (the switch is per process)."""
    monkeypatch.setattr(connector, "_prepared_statements_off", threading.Event())


def test_prepared_statements_through_an_unrecognised_pooler_heal_themselves(
    prepared_statements_allowed: None,
    bouncers: Callable[..., PgBouncer],
    caplog: pytest.LogCaptureFixture,
    report: Report,
) -> None:
    """Fault: a plain PgBouncer in transaction mode that the kit cannot recognise as a pooler
    (not a Neon -pooler host, NEONKIT_POOLED unset), so prepared statements are on; 40
    sandboxes repeat the same query 20 times at once, 5 server connections shared: psycopg
    prepares it on its 5th run, and PgBouncer hands the next run another server connection
    ('prepared statement "_pg3_0" does not exist' / 'already exists'). Expected: 800 of 800
    succeed: the first clash turns prepared statements off for the process, with one warning
    that says to set NEONKIT_POOLED=on, and each clashing statement (which never ran) runs
    again. Figure: errors (zero)."""
    bouncer = bouncers(pool_size=5)
    caplog.set_level(logging.WARNING, logger="neonkit")
    settings = Settings(url=bouncer.url, query_timeout=10)  # pooled: auto, from the host
    sandboxes = [Database(settings=settings) for _ in range(THREADS)]
    assert not sandboxes[0].connector.target().pooled  # the kit cannot tell it is a pooler
    errors: list[str] = []
    start = threading.Barrier(THREADS)

    def client(n: int) -> None:
        db = sandboxes[n]
        db.ping()
        start.wait()
        for i in range(QUERIES):
            try:
                assert db.value("SELECT %s::int * 1000 + %s::int AS n", [n, i]) == n * 1000 + i
            except Exception as exc:
                errors.append(str(exc).splitlines()[0])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for db in sandboxes:
            db.close()

    warnings = [r.getMessage() for r in caplog.records if "NEONKIT_POOLED=on" in r.getMessage()]
    report("40x20 repeated queries, pooler not recognised: errors", len(errors), "errors")
    assert errors == []
    assert len(warnings) == 1, warnings
    assert connector._prepared_statements_off.is_set()  # it did meet the pooler's refusal

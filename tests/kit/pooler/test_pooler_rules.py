"""What transaction pooling (PgBouncer 1.18, Neon's -pooler) demands of the kit, proven on it.

No transaction is left open, no session state leaks to the next client on the same server
connection, no server-side prepared statements by default, startup `options` refused at
configuration time, and a full pool is a QueryTimeoutError within the query timeout.
Where a test's claim could be vacuous, a control shows the failure the kit avoids.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from localdev.testing import PgBouncer
from neonkit import (
    ConfigurationError,
    ConflictError,
    Database,
    DatabaseError,
    InvalidDataError,
    QueryBuildError,
    QueryTimeoutError,
    Settings,
    UnavailableError,
)

from tests.kit.support.waiting import MARGIN, wait_until

pytestmark = pytest.mark.pooler

Admin = psycopg.Connection[tuple[Any, ...]]
Report = Callable[[str, float, str], None]


def scalar(conn: Admin, query: str, params: Any = None) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


# -- no transaction left open --------------------------------------------------------------


Expected = type[BaseException] | None


def requests_that_fail(db: Database) -> Iterator[tuple[str, Callable[[], Any], Expected]]:
    """(what, a request, the error it raises): two good ones, then the ways requests fail."""
    yield "a read", lambda: db.all("SELECT id FROM pooler_writes LIMIT 3"), None
    yield "a write", lambda: db.execute("INSERT INTO pooler_writes (tag) VALUES ('ok')"), None
    yield "a failing statement", lambda: db.value("SELECT 1 / 0 AS boom"), InvalidDataError

    def duplicate() -> None:
        for _ in range(2):
            db.execute("INSERT INTO pooler_writes (id, tag) VALUES (-1, 'dup')")

    yield "a duplicate key", duplicate, ConflictError

    def python_error_inside() -> None:
        with db.transaction() as tx:
            tx.execute("INSERT INTO pooler_writes (tag) VALUES ('rolled back')")
            raise RuntimeError("the handler failed half-way")

    yield "an exception inside a transaction", python_error_inside, RuntimeError

    def conflict_at_commit() -> None:
        with db.transaction() as tx:
            tx.defer("INSERT INTO pooler_writes (id, tag) VALUES (-1, 'dup')")

    yield "a deferred statement failing", conflict_at_commit, ConflictError

    def timed_out() -> None:
        with db.transaction(statement_timeout_ms=50) as tx:
            tx.value("SELECT pg_sleep(1)")

    yield "a statement timeout", timed_out, QueryTimeoutError

    def failing_savepoint() -> None:
        with db.transaction() as tx:
            tx.execute("INSERT INTO pooler_writes (tag) VALUES ('rolled back')")
            with pytest.raises(ConflictError), db.transaction() as inner:
                inner.execute("INSERT INTO pooler_writes (id, tag) VALUES (-1, 'dup')")
            raise RuntimeError("and then the outer block fails too")

    yield "a failing savepoint", failing_savepoint, RuntimeError

    def write_in_read_only() -> None:
        with db.transaction(read_only=True) as tx:
            tx.execute("INSERT INTO pooler_writes (tag) VALUES ('rolled back')")

    yield "a write in a read-only transaction", write_in_read_only, DatabaseError
    yield "a bare BEGIN", lambda: db.execute("BEGIN"), QueryBuildError


def open_transactions(admin: Admin, dbname: str) -> list[tuple[Any, ...]]:
    return admin.execute(
        "SELECT pid, state, query FROM pg_stat_activity"
        " WHERE datname = %s AND state LIKE 'idle in transaction%%'",
        [dbname],
    ).fetchall()


@pytest.mark.parametrize("path", ["postgres", "pgbouncer"])
def test_no_transaction_is_left_open_after_any_request(
    path: str,
    direct_url: str,
    request: pytest.FixtureRequest,
    databases: Callable[..., Database],
    admin: Admin,
    writes_table: str,
    report: Report,
) -> None:
    """Fault: requests that fail in every way a handler's can (statement errors, constraint
    violations, exceptions in a transaction block, timeouts, savepoints, read-only
    violations, a bare BEGIN). Expected: after each, pg_stat_activity shows no 'idle in
    transaction' backend for the test database, and nothing is left to roll back. Figure:
    the number of requests checked."""
    url = direct_url if path == "postgres" else request.getfixturevalue("pgbouncer").url
    db = databases(url, pooled=path != "postgres")
    dbname = str(psycopg.conninfo.conninfo_to_dict(direct_url)["dbname"])
    checked = 0
    for what, attempt, expected in requests_that_fail(db):
        if expected is None:
            attempt()
        else:
            with pytest.raises(expected):
                attempt()
        assert open_transactions(admin, dbname) == [], f"after {what}"
        assert not db.ensure_idle(), f"after {what}"
        checked += 1
    assert db.value("SELECT count(*) AS n FROM pooler_writes WHERE tag = 'rolled back'") == 0
    report(f"requests left no open transaction ({path})", checked, "requests")

    # Control: a plain client that forgets to commit is caught by the same check
    with psycopg.connect(url) as careless:
        careless.execute("SELECT 1")
        assert open_transactions(admin, dbname) != []


# -- session state -------------------------------------------------------------------------

SESSION_SETTINGS = (
    "statement_timeout",
    "lock_timeout",
    "transaction_read_only",
    "transaction_isolation",
    "application_name",
)


def session_state(conn: Admin) -> dict[str, str]:
    return {name: str(scalar(conn, f"SHOW {name}")) for name in SESSION_SETTINGS}


def test_nothing_the_kit_does_leaks_to_the_next_client(
    bouncers: Callable[..., PgBouncer], databases: Callable[..., Database], report: Report
) -> None:
    """Fault: two clients share PgBouncer's only server connection (pool size 1), and the
    kit sets per-transaction timeouts, a read-only serializable transaction and its own
    application_name. Expected: the other client sees none of it (the kit uses SET LOCAL and
    startup parameters PgBouncer tracks), and no prepared statement is left on the server.
    Control: a session-level SET from a plain client does leak, so the check can fail.
    Figure: the number of settings checked.

    PgBouncer 1.18 restores application_name only for clients that set one: a client that
    sets none sees the previous client's (the kit sets one in Lambda, from the function name)."""
    bouncer = bouncers(pool_size=1)
    kit = databases(bouncer.url, application_name="kit-client")
    with psycopg.connect(
        bouncer.url, autocommit=True, prepare_threshold=None, application_name="other-client"
    ) as other:
        baseline = session_state(other)

        # WHEN the kit runs transactions with local settings on the shared server connection
        with kit.transaction(statement_timeout_ms=1234, lock_timeout_ms=567) as tx:
            assert tx.value("SHOW statement_timeout") == "1234ms"  # it did take effect
            assert tx.value("SHOW lock_timeout") == "567ms"
            kit_pid = tx.value("SELECT pg_backend_pid()")
        with kit.transaction(read_only=True, isolation="SERIALIZABLE") as tx:
            assert tx.value("SHOW transaction_read_only") == "on"
        assert kit.value("SHOW application_name") == "kit-client"

        # THEN the other client, on the same server connection, sees its own defaults
        assert scalar(other, "SELECT pg_backend_pid()") == kit_pid
        assert session_state(other) == baseline
        assert scalar(other, "SELECT count(*) FROM pg_prepared_statements") == 0

        # Control: a session SET (what the kit never does) leaks through the pool
        with psycopg.connect(bouncer.url, autocommit=True, prepare_threshold=None) as careless:
            careless.execute("SET statement_timeout = '4321'")
            assert scalar(other, "SHOW statement_timeout") == "4321ms"
            careless.execute("RESET statement_timeout")
    report("session settings checked for leaks", len(SESSION_SETTINGS), "settings")


# -- prepared statements -------------------------------------------------------------------

THREADS, QUERIES = 40, 20


def hammer(run_query: Callable[[int], Callable[[int], Any]]) -> tuple[int, list[str], float]:
    """THREADS clients x QUERIES repeats of the same statement, all at once.

    `run_query(thread)` returns that client's `query(i)`; returns (ok, errors, seconds)."""
    ok, errors = [0], []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def client(n: int) -> None:
        query = run_query(n)
        start.wait()
        for i in range(QUERIES):
            try:
                assert query(i) == n * 1000 + i
                with lock:
                    ok[0] += 1
            except Exception as exc:
                with lock:
                    errors.append(str(exc).splitlines()[0])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return ok[0], errors, time.monotonic() - started


def test_repeated_queries_through_the_pooler_never_hit_prepared_statements(
    bouncers: Callable[..., PgBouncer], report: Report
) -> None:
    """Fault: 40 clients (each its own Database, as 40 Lambda sandboxes) repeat the same
    query 20 times through PgBouncer 1.18 in transaction mode, 5 server connections shared.
    Expected: with the kit's defaults for a pooled URL, 800 of 800 succeed. Control: plain
    psycopg with its default prepare_threshold fails there ('prepared statement "_pg3_0" does
    not exist' / 'already exists'), so the test can fail. Figures: errors each way."""
    bouncer = bouncers(pool_size=5)
    opened: list[Database | psycopg.Connection[Any]] = []

    def kit_client(n: int) -> Callable[[int], Any]:
        db = Database(bouncer.url, settings=Settings(pooled=True, query_timeout=10))
        opened.append(db)
        return lambda i: db.value("SELECT %s::int * 1000 + %s::int AS n", [n, i])

    ok, errors, seconds = hammer(kit_client)
    report("kit, 40x20 repeated queries via PgBouncer 1.18: errors", len(errors), "errors")
    report("kit, 40x20 repeated queries via PgBouncer 1.18: wall time", seconds * 1000, "ms")
    assert errors == []
    assert ok == THREADS * QUERIES

    def plain_client(n: int) -> Callable[[int], Any]:
        conn = psycopg.connect(bouncer.url, autocommit=True)  # prepare_threshold=5
        opened.append(conn)
        return lambda i: scalar(conn, "SELECT %s::int * 1000 + %s::int", [n, i])

    try:
        ok, errors, _ = hammer(plain_client)
    finally:
        for item in opened:
            item.close()
    report("plain psycopg (prepare_threshold=5), same load: errors", len(errors), "errors")
    assert errors, "the control should fail: psycopg's auto-prepare through transaction pooling"
    assert any("prepared statement" in error for error in errors), errors[:3]


# -- startup options -----------------------------------------------------------------------


@pytest.mark.parametrize("form", ["key=value", "URL"])
def test_startup_options_on_a_pooled_url_are_refused_at_configuration(
    form: str, pgbouncer: PgBouncer
) -> None:
    """Fault: a pooled URL carrying startup `options` (e.g. a statement_timeout). Expected:
    ConfigurationError before any connection attempt, saying that the pooler refuses startup
    options and what to do instead. Control: PgBouncer really rejects them."""
    params = psycopg.conninfo.conninfo_to_dict(pgbouncer.url)
    if form == "key=value":
        url = f"{pgbouncer.url} options='-c statement_timeout=1000'"
    else:
        url = (
            f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"
            "?options=-c%20statement_timeout%3D1000"
        )
    db = Database(url, settings=Settings(pooled=True))

    with pytest.raises(ConfigurationError):
        db.url  # noqa: B018 - what a start-up check reads
    with pytest.raises(ConfigurationError) as info:
        db.value("SELECT 1")
    message = str(info.value)
    assert "options" in message
    assert "unsupported startup parameter" in message
    assert "statement_timeout_ms" in message  # what to do instead
    assert db.connector.attempts == 0

    with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter"):
        psycopg.connect(url, connect_timeout=5)


# -- pool exhausted ------------------------------------------------------------------------


@contextlib.contextmanager
def pool_held(bouncer: PgBouncer, admin: Admin) -> Iterator[None]:
    """Another client holds the pooler's server connection in a long transaction."""
    holder = psycopg.connect(bouncer.url, application_name="pool-holder")

    def sleep() -> None:
        with contextlib.suppress(psycopg.Error):  # cancelled when the block ends
            holder.execute("SELECT pg_sleep(30)")

    sleeping = threading.Thread(target=sleep, daemon=True)
    sleeping.start()
    try:
        wait_until(
            lambda: (
                admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE application_name = 'pool-holder'"
                    " AND state = 'active' AND query LIKE '%pg_sleep%'"
                ).fetchone()
                is not None
            ),
            "the holder started its long statement",
            within=5,
        )
        yield
    finally:
        admin.execute(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'pool-holder'"
        )
        sleeping.join(timeout=5)
        holder.close()


@pytest.mark.parametrize("call", ["first read", "warm read", "warm write"])
def test_a_full_pool_is_a_query_timeout_within_the_budget(
    call: str,
    bouncers: Callable[..., PgBouncer],
    databases: Callable[..., Database],
    admin: Admin,
    writes_table: str,
    report: Report,
) -> None:
    """Fault: PgBouncer's pool (size 1) is held by another client's long transaction
    (pg_sleep), so a new statement waits in PgBouncer's queue. Expected: the kit raises
    QueryTimeoutError (an UnavailableError, 503 + Retry-After) within query_timeout (2 s) plus
    a small margin, whether the Database is new or warm, for a read or a write. Figure: time
    to the error."""
    bouncer = bouncers(pool_size=1)
    db = databases(bouncer.url)
    if call != "first read":
        assert db.value("SELECT 1 AS one") == 1  # warm, before the pool fills

    def statement() -> Any:
        if call == "warm write":
            return db.execute("INSERT INTO pooler_writes (tag) VALUES ('full pool')")
        return db.value("SELECT 2 AS two")

    with pool_held(bouncer, admin):
        started = time.monotonic()
        with pytest.raises(QueryTimeoutError) as info:
            statement()
        elapsed = time.monotonic() - started

    assert isinstance(info.value, UnavailableError)
    report(f"full pool, {call}: time to QueryTimeoutError", elapsed * 1000, "ms")
    timeout = db.connector.settings.query_timeout
    assert timeout <= elapsed < timeout + MARGIN


# -- the caller's identity -----------------------------------------------------------------

WHO = "SELECT current_setting('neonkit.user_id', true) AS who, pg_backend_pid() AS pid"


def test_identities_never_leak_between_clients_of_one_server_connection(
    bouncers: Callable[..., PgBouncer], databases: Callable[..., Database], report: Report
) -> None:
    """Fault: two sandboxes share PgBouncer's only server connection (pool size 1), each
    running statements and transactions as its own user (`db.as_user`), interleaved, then
    with no user. Expected: each sees only its own identity, on the same server process,
    and none once outside its block (set_config(..., true) ends at COMMIT). Control: a
    session-level set_config from a plain client does leak, so the check can fail. Figure:
    interleaved statements checked."""
    bouncer = bouncers(pool_size=1)
    alice, bob = databases(bouncer.url), databases(bouncer.url)
    pids, checked = set(), 0
    for round_ in range(10):
        for db, user in ((alice, "alice"), (bob, "bob")):
            with db.as_user(user):
                row = db.one(WHO)
                assert row is not None
                assert row["who"] == user, (round_, user, row)
                pids.add(row["pid"])
                with db.transaction() as tx:
                    assert tx.value("SELECT current_setting('neonkit.user_id', true)") == user
            other = bob if db is alice else alice
            assert other.value("SELECT current_setting('neonkit.user_id', true)") in (None, "")
            checked += 3
    assert len(pids) == 1  # one server connection served both users throughout
    report("identities checked on one shared server connection", checked, "statements")

    # Control: a session-level setting (what the kit never does) leaks to the next client
    with psycopg.connect(bouncer.url, autocommit=True, prepare_threshold=None) as careless:
        careless.execute("SELECT set_config('neonkit.user_id', 'mallory', false)")
        assert alice.value("SELECT current_setting('neonkit.user_id', true)") == "mallory"
        careless.execute("RESET neonkit.user_id")

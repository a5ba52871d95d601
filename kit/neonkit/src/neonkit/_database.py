"""`Database`: one lazy connection, one round trip per statement, and the one retry rule.

- Importing opens nothing; the first statement connects, or `preconnect()` starts early.
- Autocommit: a single statement is one round trip, with no BEGIN/COMMIT and no ping. Under
  `as_user()`, the caller's identity and the statement go in one flight, one implicit
  transaction ended by its Sync.
- `transaction()` sends BEGIN, SET LOCAL and queued statements in one pipeline flight.
- A failed statement runs again only as `_failures.run_again()` allows: when it cannot have
  run, or when running it twice is harmless and its old connection turned out dead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, LiteralString, TypeVar

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow

from ._connection import LiveConnection
from ._connector import Connector, turn_off_prepared_statements
from ._failures import Outcome, error_for, outcome, run_again
from ._identity import SET_USER, as_user, current_user
from ._psycopg_private import KitConnection
from ._queries import (
    Command,
    Executable,
    Params,
    Row,
    command,
    fetch_all,
    fetch_one,
    fetch_rowcount,
    fetch_value,
)
from ._settings import Settings
from ._transaction import Transaction, begin_statement, open_transaction
from .errors import NeonKitError, QueryBuildError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters.base import BaseProvider

    from ._dsn import DatabaseUrl

logger = logging.getLogger("neonkit")

T = TypeVar("T")


class Database:
    """A lazily connected database: `all`, `one`, `value`, `execute`, `transaction`, `as_user`.

    `url` and `settings` default to the environment (`Settings.from_env()`, read on first use,
    never at import); a `url` given here replaces both DATABASE_URL and DATABASE_SECRET.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        secret_provider: BaseProvider | None = None,
    ) -> None:
        self._url = url
        self._settings = settings
        self._secret_provider = secret_provider
        self._connection: LiveConnection | None = None
        self._transaction: Transaction | None = None  # the open transaction block, if any
        self._lock = threading.RLock()

    # -- where, and how it is doing --------------------------------------------------------

    @property
    def connector(self) -> Connector:
        """How connections are opened (`settings`, `attempts` made so far)."""
        return self._live().connector

    @property
    def settings(self) -> Settings:
        return self.connector.settings

    @property
    def url(self) -> DatabaseUrl:
        """The target URL (prints without its password)."""
        return self.connector.target().url

    @property
    def connected(self) -> bool:
        return self.connection is not None

    @property
    def connection(self) -> psycopg.Connection[DictRow] | None:
        """The open psycopg connection, or None: for what the kit does not do itself (COPY,
        say) and for benchmarks. What runs on it directly bypasses the kit's recovery."""
        return None if self._connection is None else self._connection.current

    @property
    def reconnects(self) -> int:
        """Connections replaced after going stale, for tests and benchmarks."""
        return 0 if self._connection is None else self._connection.reconnects

    # -- statements --------------------------------------------------------------------------

    def all(
        self, query: Executable, params: Params = None, *, idempotent: bool = False
    ) -> list[Row]:
        """Every row, as dicts. `idempotent=True`: running it twice is harmless, so a write
        whose connection died in flight is resent once (reads always are)."""
        return self._run(command(query, params), fetch_all, idempotent)

    def one(
        self, query: Executable, params: Params = None, *, idempotent: bool = False
    ) -> Row | None:
        """The first row as a dict, or None."""
        return self._run(command(query, params), fetch_one, idempotent)

    def value(self, query: Executable, params: Params = None, *, idempotent: bool = False) -> Any:
        """The first column of the first row, or None."""
        return self._run(command(query, params), fetch_value, idempotent)

    def execute(self, query: Executable, params: Params = None, *, idempotent: bool = False) -> int:
        """Run a statement; returns the number of rows it affected."""
        return self._run(command(query, params), fetch_rowcount, idempotent)

    @contextlib.contextmanager
    def transaction(
        self,
        *,
        statement_timeout_ms: int | None = None,
        lock_timeout_ms: int | None = None,
        read_only: bool = False,
        isolation: LiteralString | None = None,
    ) -> Iterator[Transaction]:
        """A transaction; BEGIN, the SET LOCALs and queued statements travel in one flight.

        Statements inside use the same connection (`db.all` and friends work, at one round
        trip each when their results are needed); `tx.defer()` queues a statement whose
        result is read after the block, so a write-only transaction costs one round trip.
        Nested, it is a savepoint. A transaction is never resent.
        """
        with self._lock:
            if self._transaction is not None:
                with self._transaction.savepoint() as nested:
                    yield nested
                return
            begin = begin_statement(read_only, isolation)  # refuses a bad level before I/O
            live = self._live()
            conn, _ = live.get(write=True)
            try:
                with open_transaction(
                    conn,
                    begin=begin,
                    user=current_user(),
                    statement_timeout_ms=statement_timeout_ms,
                    lock_timeout_ms=lock_timeout_ms,
                    name_error=lambda exc: self._failure(exc, conn, "a transaction")[1],
                ) as transaction:
                    self._transaction = transaction
                    try:
                        yield transaction
                    finally:
                        self._transaction = None
            except psycopg.Error as exc:  # from BEGIN, a deferred statement or COMMIT
                raise self._failure(exc, conn, "a transaction")[1] from None
            except BaseException:
                live.leave_idle(conn)
                raise
            finally:
                live.touch()

    def as_user(self, user_id: str) -> contextlib.AbstractContextManager[None]:
        """Run the block's statements as `user_id` (for RLS policies reading
        `current_setting('neonkit.user_id', true)`), each still one round trip: see _identity."""
        return as_user(user_id)

    # -- lifecycle -----------------------------------------------------------------------

    def preconnect(self) -> None:
        """At module level: connect in a background thread while the imports run; the first
        statement waits for it or connects itself. Never raises. NEONKIT_PRECONNECT=auto: only
        inside Lambda's runtime and not in a SnapStart init (tests, localdev: nothing)."""
        try:
            with self._lock:
                self._live().preconnect()
        except Exception as exc:  # a bad setting: the first statement will say so
            logger.warning("not connecting early: %s", exc)

    def ping(self) -> None:
        """One round trip to prove the connection is alive (connects if needed)."""
        self._run(Command("", None, reads_only=True), fetch_rowcount, idempotent=True)

    def backend_pid(self) -> int:
        """The server process serving this statement (through a pooler, it may change)."""
        return int(self.value("SELECT pg_backend_pid()"))

    def ensure_idle(self) -> bool:
        """Roll back a transaction left open (call after each request); True if one was."""
        with self._lock:
            conn = self._live().current
            if conn is None or self._transaction is not None:
                return False
            if conn.pgconn.transaction_status == TransactionStatus.IDLE:
                return False
            logger.warning("a transaction was left open; rolling it back")
            self._live().leave_idle(conn)
            return True

    def close(self) -> None:
        """Close the connection (after a preconnect under way); the next statement opens anew."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()

    def __repr__(self) -> str:
        where = "environment" if self._url is None and self._settings is None else "given"
        return f"<neonkit.Database ({where}), {'connected' if self.connected else 'idle'}>"

    # -- internals -----------------------------------------------------------------------

    def _live(self) -> LiveConnection:
        """The connection holder; settings are read here, on first use."""
        if self._connection is None:
            settings = self._settings or Settings.from_env()
            if self._url:
                settings = dataclasses.replace(settings, url=self._url, secret=None)
            connector = Connector(settings, secret_provider=self._secret_provider)
            self._connection = LiveConnection(connector)
        return self._connection

    def _run(
        self, statement: Command, fetch: Callable[[psycopg.Cursor[Row]], T], idempotent: bool
    ) -> T:
        with self._lock:
            if self._transaction is not None:
                return self._transaction.run(statement, fetch)
            live = self._live()
            connector = live.connector
            deadline = connector.clock() + connector.settings.connect_deadline
            delays = connector.backoff.delays(connector.rng)
            seen: set[Outcome] = set()
            during = "a read" if statement.reads_only else "a write"
            harmless = statement.reads_only or idempotent  # may be resent: no ping first
            while True:
                conn, fresh = live.get(write=not harmless, deadline=deadline)
                try:
                    return self._execute(conn, statement.query, statement.params, fetch)
                except psycopg.Error as exc:
                    result, error = self._failure(exc, conn, during)
                    if not run_again(result, harmless=harmless, fresh=fresh, seen=seen) or (
                        result is Outcome.NOT_EXECUTED and not connector.pause(delays, deadline)
                    ):
                        raise error from None
                    seen.add(result)
                    logger.info("%s was %s; running it again", during, result.value)
                finally:
                    live.touch()

    def _execute(
        self,
        conn: KitConnection,
        query: Any,
        params: Any,
        fetch: Callable[[psycopg.Cursor[Row]], T],
    ) -> T:
        """Send one statement: alone (autocommit), or under `as_user()` after the identity,
        both in one flight ending at one Sync: PostgreSQL runs what comes before a Sync as one
        implicit transaction, committed there (rolled back if anything failed)."""
        user = current_user()
        if user is None:
            result = fetch(conn.execute(query, params))
        else:
            with conn.pipeline():
                conn.execute(SET_USER, [user])
                cursor = conn.cursor()
                cursor.execute(query, params)
            result = fetch(cursor)
        self._check_idle(conn)
        return result

    def _check_idle(self, conn: KitConnection) -> None:
        """Outside `transaction()`, a statement must not leave a transaction open."""
        if conn.closed or conn.pgconn.transaction_status == TransactionStatus.IDLE:
            return
        self._live().leave_idle(conn)
        raise QueryBuildError(
            "a statement opened a transaction (BEGIN) outside db.transaction(); it was "
            "rolled back. Use `with db.transaction():` instead"
        )

    def _failure(
        self, exc: psycopg.Error, conn: KitConnection, during: str
    ) -> tuple[Outcome, NeonKitError]:
        """The one error path: what happened, what is left of the connection, what to raise."""
        live = self._live()
        result = outcome(exc, conn)
        if result is Outcome.PREPARE_CLASH:
            turn_off_prepared_statements(conn)
        if result in (Outcome.LOST, Outcome.TIMED_OUT, Outcome.NOT_EXECUTED):
            live.close()
        elif self._transaction is None:  # inside a transaction block, its end rolls back
            live.leave_idle(conn)
        current = live.connector.current  # never fetch a secret again just to redact it
        error = error_for(
            result,
            exc,
            during=during,
            secret=current.url.password if current else None,
            query_timeout=live.connector.settings.query_timeout,
        )
        return result, error

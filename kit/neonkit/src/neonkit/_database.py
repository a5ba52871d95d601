"""`db`: one lazy connection per process, the round-trip budget, and recovery from stale sockets.

- Importing this module opens nothing; the first statement connects.
- Autocommit: a single statement is one round trip, with no BEGIN/COMMIT and no ping.
- `transaction()` queues BEGIN, SET LOCAL and the statements in one pipeline flight.
- A connection the server or pooler closed while the sandbox was frozen is noticed without
  a round trip (its socket is readable) and replaced. A read that still meets a dead
  connection is retried once on a new one. After `idle_ping_after` seconds of idleness, a
  ping precedes a write, so that a write is never sent into a dead connection; a write
  whose connection dies in flight is never resent (ConnectionLostError, retryable).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, LiteralString, cast

import psycopg
from psycopg import errors as pg
from psycopg import sql
from psycopg.pq import TransactionStatus

from ._connection import Connector, KitConnection, looks_dead
from ._queries import Params, Query, Row, begin_statement, prepare
from ._settings import Settings
from ._transaction import Transaction
from .errors import (
    ConnectionLostError,
    NeonKitError,
    QueryBuildError,
    QueryTimeoutError,
    translate,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters.base import BaseProvider

    from ._dsn import DatabaseUrl

logger = logging.getLogger("neonkit")


class Database:
    """A lazily connected database: `all`, `one`, `value`, `execute`, `transaction`."""

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
        self._connector: Connector | None = None
        self._conn: KitConnection | None = None
        self._last_used = 0.0
        self._tx_depth = 0
        self._lock = threading.RLock()
        self._pipeline: psycopg.Pipeline | None = None  # set while a transaction is open
        self.reconnects = 0  # connections replaced after going stale, for tests and benchmarks

    # -- configuration -------------------------------------------------------------------

    def configure(
        self,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        secret_provider: BaseProvider | None = None,
    ) -> None:
        """Point at another database (closes the current connection; connects lazily)."""
        with self._lock:
            self.close()
            self._url, self._settings = url, settings
            self._secret_provider = secret_provider
            self._connector = None

    @property
    def connector(self) -> Connector:
        """Settings are read on first use, never at import."""
        if self._connector is None:
            settings = self._settings or Settings.from_env()
            if self._url:
                settings = settings.but(url=self._url, secret=None)
            self._connector = Connector(settings, secret_provider=self._secret_provider)
        return self._connector

    @property
    def url(self) -> DatabaseUrl:
        """The target URL (prints without its password)."""
        return self.connector.target().url

    # -- statements ----------------------------------------------------------------------

    def all(self, query: Query, params: Params = None) -> list[Row]:
        """Every row, as dicts."""
        return self._run(query, params, lambda cur: cur.fetchall())  # type: ignore[no-any-return]

    def one(self, query: Query, params: Params = None) -> Row | None:
        """The first row as a dict, or None."""
        return self._run(query, params, lambda cur: cur.fetchone())  # type: ignore[no-any-return]

    def value(self, query: Query, params: Params = None) -> Any:
        """The first column of the first row, or None."""
        row = self.one(query, params)
        return None if row is None else next(iter(row.values()), None)

    def execute(self, query: Query, params: Params = None) -> int:
        """Run a statement; returns the number of rows it affected."""
        return self._run(query, params, lambda cur: cur.rowcount)  # type: ignore[no-any-return]

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
        """
        with self._lock:
            if self._tx_depth:
                with self._savepoint() as tx:
                    yield tx
                return
            begin = begin_statement(read_only, isolation)
            conn = self._ready(write=True)
            self._tx_depth = 1
            try:
                with conn.pipeline() as pipeline:
                    self._pipeline = pipeline
                    conn.execute(begin)
                    for name, value in (
                        ("statement_timeout", statement_timeout_ms),
                        ("lock_timeout", lock_timeout_ms),
                    ):
                        if value is not None:
                            conn.execute(
                                "SELECT set_config(%s, %s, true)", [name, f"{int(value)}ms"]
                            )
                    try:
                        yield Transaction(self)
                    except BaseException:
                        with contextlib.suppress(psycopg.Error):
                            conn.execute("ROLLBACK")  # in the same flight as the rest
                        raise
                    conn.execute("COMMIT")
            except psycopg.Error as exc:  # from BEGIN, a queued statement or COMMIT
                self._pipeline = None
                raise self._failure(exc, conn, "a transaction") from None
            except BaseException:
                self._pipeline = None
                self._end_failed_transaction(conn)
                raise
            finally:
                self._pipeline = None
                self._tx_depth = 0
                self._last_used = time.monotonic()

    # -- lifecycle -----------------------------------------------------------------------

    def ping(self) -> None:
        """One round trip to prove the connection is alive (connects if needed)."""
        conn = self._ready(write=False)
        conn.execute("")

    def backend_pid(self) -> int:
        """The server process serving this statement (through a pooler, it may change)."""
        return int(self.value("SELECT pg_backend_pid()"))

    def ensure_idle(self) -> bool:
        """Roll back a transaction left open (call after each request); True if one was."""
        conn = self._conn
        if conn is None or conn.closed or self._tx_depth:
            return False
        if conn.info.transaction_status == TransactionStatus.IDLE:
            return False
        logger.warning("a transaction was left open; rolling it back")
        self._end_failed_transaction(conn)
        return True

    def close(self) -> None:
        """Close the connection (the next statement opens a new one)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    # -- internals -----------------------------------------------------------------------

    def _run(self, query: Query, params: Params, fetch: Any) -> Any:
        text, args, reads_only = prepare(query, params)
        with self._lock:
            if self._tx_depth:
                return self._run_in_transaction(text, args, fetch)
            previous = self._conn
            conn = self._ready(write=not reads_only)
            try:
                return self._execute(conn, text, args, fetch)
            except _Retry as lost:
                timed_out = isinstance(lost.error, pg._WaitTimeout)
                if not reads_only or conn is not previous or timed_out:  # budget spent
                    raise self._lost(reads_only, lost.error) from None
                logger.info("connection lost before a read; retrying once on a new one")
                self.close()
                conn = self._ready(write=False)
                try:
                    return self._execute(conn, text, args, fetch)
                except _Retry as again:
                    raise self._lost(reads_only, again.error) from None
            finally:
                self._last_used = time.monotonic()

    def _execute(self, conn: KitConnection, text: str, args: Any, fetch: Any) -> Any:
        try:
            cur = conn.execute(text, args)
            result = fetch(cur)
        except psycopg.Error as exc:
            if _connection_failed(conn, exc):
                raise _Retry(exc) from None
            self._check_idle(conn)
            raise self._translate(exc) from None
        self._check_idle(conn)
        return result

    def _run_in_transaction(self, text: str, args: Any, fetch: Any) -> Any:
        conn = self._conn
        assert conn is not None
        try:
            cur = self._queue(text, args)
            if self._pipeline is not None:  # the result is needed now: one round trip
                self._pipeline.sync()
            return fetch(cur)
        except psycopg.Error as exc:
            if _connection_failed(conn, exc):
                raise self._failure(exc, conn, "a transaction") from None
            raise self._translate(exc) from None  # the transaction's block rolls back

    def _queue(self, text: str, args: Any) -> psycopg.Cursor[Row]:
        conn = self._conn
        if conn is None or not self._tx_depth:
            raise QueryBuildError("this transaction has ended; run statements inside its block")
        cur = conn.cursor()
        cur.execute(text, args)
        return cur

    def _ready(self, *, write: bool) -> KitConnection:
        """A live connection: drop one the server closed, ping one idle too long before a write."""
        conn = self._conn
        if conn is not None and looks_dead(conn):
            logger.info("connection was closed while idle; reconnecting")
            self.close()
            self.reconnects += 1
            conn = None
        if (
            conn is not None
            and write
            and self._idle_for() > self.connector.settings.idle_ping_after
        ):
            try:
                conn.execute("")
            except psycopg.Error:
                logger.info("idle connection failed its ping; reconnecting")
                self.close()
                self.reconnects += 1
                conn = None
        if conn is None:
            conn = self.connector.connect()
            self._conn = conn
            self._last_used = time.monotonic()
        return conn

    def _idle_for(self) -> float:
        return time.monotonic() - self._last_used

    def _check_idle(self, conn: KitConnection) -> None:
        """Outside `transaction()`, a statement must not leave a transaction open."""
        if conn.closed or conn.pgconn.transaction_status == TransactionStatus.IDLE:
            return
        self._end_failed_transaction(conn)
        raise QueryBuildError(
            "a statement opened a transaction (BEGIN) outside db.transaction(); it was "
            "rolled back. Use `with db.transaction():` instead"
        )

    def _end_failed_transaction(self, conn: KitConnection) -> None:
        """Leave the connection idle, or drop it."""
        if conn.closed or conn.broken:
            self.close()
            return
        try:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        except psycopg.Error:
            self.close()

    def _failure(self, exc: psycopg.Error, conn: KitConnection, what: str) -> NeonKitError:
        """Name a failed statement's error; leave the connection idle, or drop it if broken."""
        if not _connection_failed(conn, exc):
            self._end_failed_transaction(conn)
            return self._translate(exc)
        self.close()
        if isinstance(exc, pg._WaitTimeout):
            return QueryTimeoutError(_timeout_message(self.connector.settings.query_timeout))
        return ConnectionLostError(
            f"the connection was lost during {what}: it was not committed, or, if the loss "
            "came after COMMIT was sent, its outcome is unknown. It was not resent; retry "
            "only if it is idempotent"
        )

    def _translate(self, exc: psycopg.Error) -> NeonKitError:
        current = self.connector.current  # never fetch a secret again just to redact it
        return translate(exc, secret=current.url.password if current else None)

    def _lost(self, reads_only: bool, exc: psycopg.Error) -> NeonKitError:
        self.close()
        if isinstance(exc, pg._WaitTimeout):
            return QueryTimeoutError(_timeout_message(self.connector.settings.query_timeout))
        if reads_only:
            return ConnectionLostError("the connection was lost and a new one failed too")
        return ConnectionLostError(
            "the connection was lost while a write was in flight: its outcome is unknown, "
            "so it was not resent. Retry if the write is idempotent"
        )

    @contextlib.contextmanager
    def _savepoint(self) -> Iterator[Transaction]:
        """A nested transaction: a savepoint, synced at its end so a failure stays inside it."""
        conn, pipeline = self._conn, self._pipeline
        assert conn is not None
        assert pipeline is not None
        self._tx_depth += 1
        name = sql.Identifier(f"neonkit_{self._tx_depth}")
        conn.execute(sql.SQL("SAVEPOINT {}").format(name))
        try:
            yield Transaction(self)
            pipeline.sync()  # errors of this block must surface here, not in the outer one
        except psycopg.Error as exc:
            self._rollback_to(conn, pipeline, name)
            if _connection_failed(conn, exc):
                raise self._failure(exc, conn, "a transaction") from None
            raise self._translate(exc) from None
        except BaseException:
            self._rollback_to(conn, pipeline, name)
            raise
        else:
            conn.execute(sql.SQL("RELEASE SAVEPOINT {}").format(name))
        finally:
            self._tx_depth -= 1

    @staticmethod
    def _rollback_to(conn: KitConnection, pipeline: psycopg.Pipeline, name: sql.Identifier) -> None:
        with contextlib.suppress(psycopg.Error):
            pipeline.sync()
        if not (conn.closed or conn.broken):
            conn.execute(sql.SQL("ROLLBACK TO SAVEPOINT {}").format(name))


class _Retry(Exception):
    """Internal: the connection failed under a statement (`error` says how)."""

    def __init__(self, error: psycopg.Error) -> None:
        super().__init__(str(error))
        self.error = error


def _connection_failed(conn: psycopg.Connection[Any], exc: psycopg.Error) -> bool:
    return (
        conn.closed
        or conn.broken
        or isinstance(exc, pg._WaitTimeout | pg.AdminShutdown | pg.CrashShutdown)
    )


def _timeout_message(seconds: float) -> str:
    return (
        f"the database did not answer within {seconds:g}s (a busy pooler, a waking compute "
        "or a slow query)"
    )


# The process-wide database: handlers share it; `using()` swaps it in tests and benchmarks.
_default = Database()
_current: contextvars.ContextVar[Database] = contextvars.ContextVar("neonkit_db")


class _CurrentDatabase:
    """`db`: the process's Database, or the one `using()` installed for this context."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_current.get(_default), name)

    def __repr__(self) -> str:
        return f"<neonkit db -> {_current.get(_default)!r}>"


db: Database = cast(Database, _CurrentDatabase())


@contextlib.contextmanager
def using(database: Database) -> Iterator[Database]:
    """Run a block (a test, a simulated sandbox) against another Database."""
    token = _current.set(database)
    try:
        yield database
    finally:
        _current.reset(token)


def default_database() -> Database:
    return _default

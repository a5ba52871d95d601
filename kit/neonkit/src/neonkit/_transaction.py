"""Transactions in one flight: BEGIN, the caller's identity, the SET LOCALs and queued
statements travel together in psycopg's pipeline mode, and COMMIT goes with the last of them.

`open_transaction()` runs a block on one connection. The `Transaction` it yields owns the
pipeline and the savepoint depth: eager statements (`all`, `one`, ...) cost one round trip
each, `defer()` queues a statement whose result is read after the block, and `savepoint()`
nests. Errors are named by the function the caller passes in (the Database's one error path).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, LiteralString, TypeVar

import psycopg
from psycopg import sql

from ._identity import SET_USER
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
from .errors import NeonKitError, QueryBuildError

T = TypeVar("T")
ErrorNamer = Callable[[psycopg.Error], NeonKitError]
_ISOLATION_LEVELS = ("READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE")


def begin_statement(read_only: bool, isolation: LiteralString | None) -> LiteralString:
    if isolation is not None and isolation.upper() not in _ISOLATION_LEVELS:
        raise QueryBuildError(f"unknown isolation level {isolation!r}")
    parts: list[LiteralString] = ["BEGIN"]
    if isolation:
        parts.append(f"ISOLATION LEVEL {isolation.upper()}")
    if read_only:
        parts.append("READ ONLY")
    return " ".join(parts)


@contextlib.contextmanager
def open_transaction(
    conn: KitConnection,
    *,
    begin: LiteralString,
    user: str | None,
    statement_timeout_ms: int | None,
    lock_timeout_ms: int | None,
    name_error: ErrorNamer,
) -> Iterator[Transaction]:
    """BEGIN ... COMMIT around the block, or ROLLBACK if it raises. A psycopg error from the
    final flight (a deferred statement, COMMIT) is raised as is, for the caller to name."""
    with conn.pipeline() as pipeline:
        conn.execute(begin)
        if user is not None:  # right after BEGIN: every statement sees the caller
            conn.execute(SET_USER, [user])
        for name, value in (
            ("statement_timeout", statement_timeout_ms),
            ("lock_timeout", lock_timeout_ms),
        ):
            if value is not None:  # SET LOCAL: it ends with the transaction
                conn.execute("SELECT set_config(%s, %s, true)", [name, f"{int(value)}ms"])
        transaction = Transaction(conn, pipeline, name_error)
        try:
            yield transaction
        except BaseException:
            with contextlib.suppress(psycopg.Error):
                conn.execute("ROLLBACK")  # in the same flight as the rest
            raise
        finally:
            transaction.ended = True
        conn.execute("COMMIT")


class Transaction:
    """The handle `db.transaction()` yields: eager statements, plus `defer()` for one flight."""

    def __init__(
        self, conn: KitConnection, pipeline: psycopg.Pipeline, name_error: ErrorNamer
    ) -> None:
        self._conn = conn
        self._pipeline = pipeline
        self._name_error = name_error
        self._depth = 0  # open savepoints
        self.ended = False

    def all(self, query: Executable, params: Params = None) -> list[Row]:
        """Every row, as dicts (one round trip)."""
        return self.run(command(query, params), fetch_all)

    def one(self, query: Executable, params: Params = None) -> Row | None:
        """The first row as a dict, or None (one round trip)."""
        return self.run(command(query, params), fetch_one)

    def value(self, query: Executable, params: Params = None) -> Any:
        """The first column of the first row, or None (one round trip)."""
        return self.run(command(query, params), fetch_value)

    def execute(self, query: Executable, params: Params = None) -> int:
        """Run a statement; returns the number of rows it affected (one round trip)."""
        return self.run(command(query, params), fetch_rowcount)

    def defer(self, query: Executable, params: Params = None) -> Deferred:
        """Queue a statement without waiting; read its result after the block ends."""
        return Deferred(self._queue(command(query, params)))

    def run(self, statement: Command, fetch: Callable[[psycopg.Cursor[Row]], T]) -> T:
        """Send what is queued and this statement, and read its result now."""
        try:
            cursor = self._queue(statement)
            self._pipeline.sync()
            return fetch(cursor)
        except psycopg.Error as exc:
            raise self._name_error(exc) from None  # the block's end rolls back

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[Transaction]:
        """A nested transaction: a savepoint, synced at its end so a failure stays inside it."""
        self._depth += 1
        name = sql.Identifier(f"neonkit_{self._depth}")
        self._conn.execute(sql.SQL("SAVEPOINT {}").format(name))
        try:
            yield self
            self._pipeline.sync()  # errors of this block must surface here, not in the outer one
        except psycopg.Error as exc:
            self._rollback_to(name)
            raise self._name_error(exc) from None
        except BaseException:
            self._rollback_to(name)
            raise
        else:
            self._conn.execute(sql.SQL("RELEASE SAVEPOINT {}").format(name))
        finally:
            self._depth -= 1

    def _queue(self, statement: Command) -> psycopg.Cursor[Row]:
        if self.ended:
            raise QueryBuildError("this transaction has ended; run statements inside its block")
        cursor = self._conn.cursor()
        cursor.execute(statement.query, statement.params)
        return cursor

    def _rollback_to(self, name: sql.Identifier) -> None:
        with contextlib.suppress(psycopg.Error):
            self._pipeline.sync()
        if not (self._conn.closed or self._conn.broken):
            self._conn.execute(sql.SQL("ROLLBACK TO SAVEPOINT {}").format(name))


class Deferred:
    """The result of a deferred statement, readable once its transaction has committed."""

    def __init__(self, cursor: psycopg.Cursor[Row]) -> None:
        self._cursor = cursor

    def all(self) -> list[Row]:
        return self._cursor.fetchall()

    def one(self) -> Row | None:
        return self._cursor.fetchone()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

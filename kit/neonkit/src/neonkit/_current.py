"""`db`, the database handlers use, and `using()`, the one way to point it elsewhere.

`db` stands for the current context's Database: the process's own (configured from the
environment), or the one a `with using(database):` block installed. The block is a context
variable, so threads and tasks that simulate separate sandboxes (tests, benchmarks, a load
test) each see their own.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, LiteralString

import psycopg
from psycopg.rows import DictRow

from ._database import Database
from ._queries import Executable, Params, Row
from ._settings import Settings

if TYPE_CHECKING:
    from ._connector import Connector
    from ._dsn import DatabaseUrl
    from ._transaction import Transaction

_process_database = Database()  # configured from the environment on first use
_current: contextvars.ContextVar[Database] = contextvars.ContextVar("neonkit_database")


def current() -> Database:
    """The Database `db` stands for in this context."""
    return _current.get(_process_database)


@contextlib.contextmanager
def using(database: Database) -> Iterator[Database]:
    """Point `db` at `database` for the block (a test, a simulated sandbox)."""
    token = _current.set(database)
    try:
        yield database
    finally:
        _current.reset(token)


class CurrentDatabase:
    """The type of `db`: every method and property of `Database`, on `current()`."""

    @property
    def connector(self) -> Connector:
        return current().connector

    @property
    def settings(self) -> Settings:
        return current().settings

    @property
    def url(self) -> DatabaseUrl:
        return current().url

    @property
    def connected(self) -> bool:
        return current().connected

    @property
    def connection(self) -> psycopg.Connection[DictRow] | None:
        return current().connection

    @property
    def reconnects(self) -> int:
        return current().reconnects

    def all(
        self, query: Executable, params: Params = None, *, idempotent: bool = False
    ) -> list[Row]:
        return current().all(query, params, idempotent=idempotent)

    def one(
        self, query: Executable, params: Params = None, *, idempotent: bool = False
    ) -> Row | None:
        return current().one(query, params, idempotent=idempotent)

    def value(self, query: Executable, params: Params = None, *, idempotent: bool = False) -> Any:
        return current().value(query, params, idempotent=idempotent)

    def execute(self, query: Executable, params: Params = None, *, idempotent: bool = False) -> int:
        return current().execute(query, params, idempotent=idempotent)

    def transaction(
        self,
        *,
        statement_timeout_ms: int | None = None,
        lock_timeout_ms: int | None = None,
        read_only: bool = False,
        isolation: LiteralString | None = None,
    ) -> contextlib.AbstractContextManager[Transaction]:
        return current().transaction(
            statement_timeout_ms=statement_timeout_ms,
            lock_timeout_ms=lock_timeout_ms,
            read_only=read_only,
            isolation=isolation,
        )

    def as_user(self, user_id: str) -> contextlib.AbstractContextManager[None]:
        return current().as_user(user_id)

    def preconnect(self) -> None:
        current().preconnect()

    def ping(self) -> None:
        current().ping()

    def backend_pid(self) -> int:
        return current().backend_pid()

    def ensure_idle(self) -> bool:
        return current().ensure_idle()

    def close(self) -> None:
        current().close()

    def __repr__(self) -> str:
        return f"<neonkit.db -> {current()!r}>"


db = CurrentDatabase()

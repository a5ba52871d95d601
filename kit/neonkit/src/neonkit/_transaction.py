"""The handle a transaction block gets, and the results it reads after the block."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg

from ._queries import Params, Query, Row, prepare

if TYPE_CHECKING:
    from ._database import Database


class Transaction:
    """The handle `db.transaction()` yields: eager statements, plus `defer()` for one flight."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def all(self, query: Query, params: Params = None) -> list[Row]:
        return self._db.all(query, params)

    def one(self, query: Query, params: Params = None) -> Row | None:
        return self._db.one(query, params)

    def value(self, query: Query, params: Params = None) -> Any:
        return self._db.value(query, params)

    def execute(self, query: Query, params: Params = None) -> int:
        return self._db.execute(query, params)

    def defer(self, query: Query, params: Params = None) -> Deferred:
        """Queue a statement without waiting; read its result after the block ends."""
        text, args, _ = prepare(query, params)
        return Deferred(self._db._queue(text, args))


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

"""What callers hand the database: SQL text, a psycopg.sql object, or a built query; and
whether it only reads (a read may be resent on a new connection, a write only if the caller
says it is idempotent)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, LiteralString, NamedTuple, Protocol

import psycopg
from psycopg import sql

from .errors import QueryBuildError

Row = dict[str, Any]
Params = Sequence[Any] | Mapping[str, Any] | None

_READ_KEYWORDS = ("select", "show", "values", "table", "explain")


class CompiledSql(Protocol):
    """What a built query compiles to (`neonkit.query`'s `Compiled` is one)."""

    @property
    def text(self) -> str: ...
    @property
    def params(self) -> Sequence[Any]: ...
    @property
    def reads_only(self) -> bool: ...


class BuiltQuery(Protocol):
    """A query builder's statement (`neonkit.query`'s `Query` is one)."""

    def compile(self) -> CompiledSql: ...


# What `db.all()`, `db.one()`, `db.value()` and `db.execute()` take.
Executable = LiteralString | sql.SQL | sql.Composed | BuiltQuery


class Command(NamedTuple):
    """A statement ready for psycopg, and whether it only reads."""

    query: str | sql.SQL | sql.Composed
    params: Any
    reads_only: bool


def command(query: Executable, params: Params) -> Command:
    if isinstance(query, str):
        return Command(query, params, reads_only(query))
    if isinstance(query, sql.SQL | sql.Composed):
        return Command(query, params, False)
    compile_ = getattr(query, "compile", None)
    if compile_ is None:
        raise QueryBuildError(
            f"expected SQL text, a psycopg.sql object or a query builder, got {query!r}"
        )
    if params is not None:
        raise QueryBuildError("a built query carries its own parameters; do not pass params")
    compiled = compile_()
    return Command(compiled.text, compiled.params, compiled.reads_only)


def reads_only(text: str) -> bool:
    """Plain SQL is treated as a read (safe to resend) only if it starts like one."""
    head = text.lstrip().lstrip("(").lstrip()[:8].lower()
    return head.startswith(_READ_KEYWORDS)


# How each method reads its result from psycopg's cursor.


def fetch_all(cursor: psycopg.Cursor[Row]) -> list[Row]:
    return cursor.fetchall()


def fetch_one(cursor: psycopg.Cursor[Row]) -> Row | None:
    return cursor.fetchone()


def fetch_value(cursor: psycopg.Cursor[Row]) -> Any:
    row = cursor.fetchone()
    return None if row is None else next(iter(row.values()), None)


def fetch_rowcount(cursor: psycopg.Cursor[Row]) -> int:
    return cursor.rowcount

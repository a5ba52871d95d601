"""Statements to `Compiled`: shape, render (cached by shape), check.

`compile()` takes a statement's values out into the parameters (`_shapes`) and renders what
is left (`_sql`) once per shape: the cache maps shape -> SQL, so a query run with new values
reuses the SQL text (and psycopg's and the server's prepared statements, keyed by the text).
The cache pays (bench/builder.py): composing a select's text with `psycopg.sql` takes about
three times as long as taking its values out and finding the text by shape.
"""

from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple

from psycopg import sql

from ..errors import QueryBuildError
from ._names import dotted
from ._shapes import shape
from ._sql import statement_sql
from ._statements import Delete, Raw, Select, Statement, Union, Update

CACHE_SIZE = 1024  # shapes; an application has a few dozen

_PLACEHOLDER = re.compile(r"%%|%[sbt]")


class Compiled(NamedTuple):
    """A compiled query: what `neonkit.Database` runs."""

    text: str  # SQL with %s placeholders (and %% for a literal %): run it with `params`
    params: tuple[Any, ...]
    reads_only: bool  # a SELECT without FOR UPDATE: safe to resend after a lost connection
    sql: sql.Composed  # the same SQL as a psycopg object

    def compile(self) -> Compiled:
        """Itself: a compiled query runs as it is, `db.all(compiled)`."""
        return self

    def __repr__(self) -> str:
        return f"Compiled(text={self.text!r}, params={self.params!r}, reads_only={self.reads_only})"


def compile(statement: Statement) -> Compiled:
    """SQL text and parameters for a statement; the text comes from the cache when it can."""
    _refuse_every_row(statement)
    params: list[Any] = []
    composed, text, reads_only, placeholders = _render(shape(statement, params))
    if placeholders != len(params):  # a compiler bug, never a user error: refuse loudly
        raise AssertionError(f"{placeholders} placeholders for {len(params)} parameters: {text}")
    return Compiled(text, tuple(params), reads_only, composed)


def cache_info() -> Any:
    """Hits, misses and size of the shape cache."""
    return _render.cache_info()


def cache_clear() -> None:
    _render.cache_clear()


@functools.lru_cache(maxsize=CACHE_SIZE, typed=True)  # typed: lookalike tuples stay apart
def _render(shape: Statement) -> tuple[sql.Composed, str, bool, int]:
    composed = statement_sql(shape)
    text = composed.as_string(None)
    placeholders = sum(1 for m in _PLACEHOLDER.finditer(text) if m.group() != "%%")
    return composed, text, _reads_only(shape), placeholders


def _reads_only(statement: Statement | Raw) -> bool:
    """A SELECT that locks nothing and writes in no WITH: safe to resend."""
    match statement:
        case Select():
            return statement.lock is None and all(_reads_only(c.query) for c in statement.ctes)
        case Union():
            return True  # PostgreSQL refuses FOR UPDATE in a UNION
        case _:
            return False  # a write, or raw SQL in a WITH


def _refuse_every_row(statement: Statement | Raw) -> None:
    match statement:
        case Select():
            for cte in statement.ctes:
                _refuse_every_row(cte.query)
        case Update(where=(), all_rows=False):
            raise QueryBuildError(
                f"refusing to UPDATE every row of {dotted(statement.table)!r}: add a where(...) "
                "or, if every row is meant, say so with update(values, all_rows=True)"
            )
        case Delete(where=(), all_rows=False):
            raise QueryBuildError(
                f"refusing to DELETE every row of {dotted(statement.table)!r}: add a where(...) "
                "or, if every row is meant, say so with delete(all_rows=True)"
            )

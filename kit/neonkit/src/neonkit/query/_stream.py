"""Streaming a large result through a server-side cursor, inside a transaction.

    with db.transaction() as tx:
        for row in stream(tx, table("events").where("day", day).order_by("id"), batch=1000):
            ...

`DECLARE` opens a cursor on the query; each `FETCH FORWARD batch` is one round trip and
brings the next rows, so memory holds one batch, not the result. A cursor lives in its
transaction (which, through a pooler in transaction mode, also keeps it on one server
connection) and is closed when the rows run out, or at the latest when the transaction ends.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from psycopg import sql

from ..errors import QueryBuildError
from ._builder import Query
from ._compiler import Compiled
from ._names import Ident, show
from ._statements import Select, Union

MAX_BATCH = 1_000_000

_names = itertools.count(1)  # one name per cursor: two streams can be open in a transaction


def stream(tx: Any, query: Query[Any], batch: int = 1000) -> Iterator[dict[str, Any]]:
    """The rows of a select query, fetched `batch` at a time; `tx` is db.transaction()'s."""
    if not callable(getattr(tx, "all", None)) or not callable(getattr(tx, "defer", None)):
        raise QueryBuildError(
            "stream() reads through a cursor, which lives in a transaction: pass the handle "
            f"of `with db.transaction() as tx`, got {show(tx)}"
        )
    name = f"neonkit_stream_{next(_names)}"
    opening = declare(query, name)
    fetching = fetch(name, batch)
    return _rows(tx, opening, fetching, close(name), batch)


def _rows(
    tx: Any, opening: Compiled, fetching: Compiled, closing: Compiled, batch: int
) -> Iterator[dict[str, Any]]:
    tx.defer(opening)  # sent with the first FETCH: one round trip for both
    while True:
        rows = tx.all(fetching)
        yield from rows
        if len(rows) < batch:
            break
    tx.defer(closing)  # sent with the transaction's next statement or its COMMIT


def declare(query: Query[Any], name: str) -> Compiled:
    """DECLARE "name" NO SCROLL CURSOR FOR (the select), with the select's parameters."""
    if not isinstance(query, Query) or not isinstance(query.statement, Select | Union):
        raise QueryBuildError(f"stream() takes a select query, got {show(query)}")
    compiled = query.compile()
    text = sql.SQL("DECLARE {} NO SCROLL CURSOR FOR ").format(Ident(name)) + compiled.sql
    return _compiled(text, compiled.params)


def fetch(name: str, batch: Any) -> Compiled:
    """FETCH FORWARD batch FROM "name"; PostgreSQL takes the count as a constant only."""
    if type(batch) is not int or not 0 < batch <= MAX_BATCH:
        raise QueryBuildError(
            f"stream() batch must be an int from 1 to {MAX_BATCH:,}, got {show(batch)}"
        )
    text = sql.SQL("FETCH FORWARD {} FROM {}").format(sql.Literal(batch), Ident(name))
    return _compiled(text, ())


def close(name: str) -> Compiled:
    return _compiled(sql.SQL("CLOSE {}").format(Ident(name)), ())


def _compiled(text: sql.Composed, params: tuple[Any, ...]) -> Compiled:
    # Cursors belong to their transaction: never resent on a new connection.
    return Compiled(text.as_string(None), params, False, text)

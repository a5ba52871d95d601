"""Identifiers: checked once when recorded, always rendered through `psycopg.sql.Identifier`.

PostgreSQL silently truncates a name longer than 63 bytes, so a longer one would address
another column than the one written; a NUL byte cannot be sent at all. Both are refused here,
with the bad name in the message.
"""

from __future__ import annotations

import functools
from typing import Any

from psycopg import sql
from psycopg.abc import AdaptContext

from ..errors import QueryBuildError

MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1

ColumnRef = tuple[str, ...]
"""A column as recorded: ("id",), ("todos", "id"); a last part "*" means every column."""

STAR = "*"


class Ident(sql.Identifier):
    """A `sql.Identifier` whose `%` is doubled.

    psycopg looks for placeholders in the whole query text, quoted names included, so a
    column named `a%sb` would become a parameter; doubled, it reaches the server as written.
    """

    def as_bytes(self, context: AdaptContext | None = None) -> bytes:
        text = super().as_bytes(context)
        return text.replace(b"%", b"%%") if b"%" in text else text


class Lit(sql.Literal):
    """A `sql.Literal` whose `%` is doubled, for the same reason as `Ident`'s."""

    def as_bytes(self, context: AdaptContext | None = None) -> bytes:
        text = super().as_bytes(context)
        return text.replace(b"%", b"%%") if b"%" in text else text


def identifier(name: Any, what: str = "identifier") -> str:
    """`name` if PostgreSQL will take it as written, else QueryBuildError naming it."""
    if not isinstance(name, str):
        raise QueryBuildError(f"{what} must be a string, got {show(name)}")
    if not name:
        raise QueryBuildError(f"{what} must not be empty, got {show(name)}")
    if "\x00" in name:
        raise QueryBuildError(f"{what} must not contain a NUL character, got {show(name)}")
    size = len(name.encode())
    if size > MAX_IDENTIFIER_BYTES:
        raise QueryBuildError(
            f"{what} is {size} bytes long; PostgreSQL would truncate it to "
            f"{MAX_IDENTIFIER_BYTES} bytes and address another name, got {show(name)}"
        )
    return name


def column(name: Any, *, star: bool = False, what: str = "column") -> ColumnRef:
    """'id' -> ("id",); 'todos.id' -> ("todos", "id"); '*' and 'todos.*' only if `star`."""
    if not isinstance(name, str):
        raise QueryBuildError(f"{what} must be a column name (a str), got {show(name)}")
    return _column(name, star, what)


@functools.lru_cache(maxsize=4096)  # code names the same columns on every invocation
def _column(name: str, star: bool, what: str) -> ColumnRef:
    parts = name.split(".")
    if len(parts) > 2:
        raise QueryBuildError(f"{what} must be 'name' or 'table.name', got {show(name)}")
    if parts[-1] == STAR:
        if not star:
            raise QueryBuildError(f"{what} cannot be '*' here, got {show(name)}")
        return (STAR,) if len(parts) == 1 else (identifier(parts[0], what), STAR)
    return tuple([identifier(part, what) for part in parts])


def table_name(name: Any) -> ColumnRef:
    """'todos' -> ("todos",); 'public.todos' -> ("public", "todos")."""
    if isinstance(name, str) and "." not in name:
        return (identifier(name, "table name"),)
    if not isinstance(name, str) or name.count(".") != 1:
        raise QueryBuildError(f"table name must be 'name' or 'schema.name', got {show(name)}")
    schema, last = name.split(".")
    return (identifier(schema, "table name"), identifier(last, "table name"))


def render(ref: ColumnRef) -> sql.Composable:
    """A recorded column or table as SQL."""
    if ref[-1] == STAR:
        return sql.SQL("*") if len(ref) == 1 else Ident(ref[0]) + sql.SQL(".*")
    return Ident(*ref)


def dotted(ref: ColumnRef) -> str:
    """A recorded column as the user wrote it."""
    return ".".join(ref)


def show(value: Any, limit: int = 40) -> str:
    """`repr(value)`, cut with an ellipsis when long (a 10,000-character name stays readable)."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= limit * 2 else f"{text[: limit * 2]}..."

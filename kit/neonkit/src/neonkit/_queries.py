"""What callers hand the database: SQL text, a psycopg.sql object, or a built query; and
whether it only reads (a read may be retried on a new connection, a write never is)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString, Protocol

from psycopg import sql

from .errors import QueryBuildError

Row = dict[str, Any]
Params = Sequence[Any] | dict[str, Any] | None

READ_KEYWORDS = ("select", "show", "values", "table", "explain")


class Compiled(Protocol):
    """What a built query hands to the database (see `neonkit.query`)."""

    @property
    def text(self) -> str: ...
    @property
    def params(self) -> Sequence[Any]: ...
    @property
    def reads_only(self) -> bool: ...


class Compilable(Protocol):
    def compile(self) -> Compiled: ...


Query = LiteralString | sql.Composable | Compilable


def prepare(query: Query, params: Params) -> tuple[Any, Any, bool]:
    """(query for psycopg, parameters, whether it only reads)."""
    if isinstance(query, str):
        return query, params, reads_only(query)
    if isinstance(query, sql.Composable):
        return query, params, False
    compile_ = getattr(query, "compile", None)
    if compile_ is None:
        raise QueryBuildError(
            f"expected SQL text, a psycopg.sql object or a query builder, got {query!r}"
        )
    if params is not None:
        raise QueryBuildError("a built query carries its own parameters; do not pass params")
    compiled = compile_()
    return compiled.text, compiled.params, compiled.reads_only


def reads_only(text: str) -> bool:
    """Plain SQL is treated as a read (safe to retry) only if it starts like one."""
    head = text.lstrip().lstrip("(").lstrip()[:8].lower()
    return head.startswith(READ_KEYWORDS)


def begin_statement(read_only: bool, isolation: LiteralString | None) -> LiteralString:
    if isolation is not None and isolation.upper() not in (
        "READ COMMITTED",
        "REPEATABLE READ",
        "SERIALIZABLE",
    ):
        raise QueryBuildError(f"unknown isolation level {isolation!r}")
    parts: list[LiteralString] = ["BEGIN"]
    if isolation:
        parts.append(f"ISOLATION LEVEL {isolation.upper()}")
    if read_only:
        parts.append("READ ONLY")
    return " ".join(parts)

"""The base of every builder: an immutable holder of one recorded statement.

Each method returns a new builder around a new statement (`NamedTuple._replace`); the
original never changes, so a query kept at module level can be extended by every invocation
of a Lambda sandbox.
"""

from __future__ import annotations

from typing import Any, Generic, NoReturn, Self, TypeVar

from psycopg import sql

from ..errors import QueryBuildError
from . import _compiler as compiler
from ._compiler import Compiled
from ._statements import Statement

S = TypeVar("S")
Q = TypeVar("Q", bound=Statement)


class Recorder(Generic[S]):
    """Holds the recorded `statement`; every change makes a new recorder."""

    __slots__ = ("_statement",)
    _statement: S

    def __init__(self, statement: S) -> None:
        object.__setattr__(self, "_statement", statement)  # the one write: see __setattr__

    @property
    def statement(self) -> S:
        """What was recorded: a named tuple from `neonkit.query._statements`."""
        return self._statement

    def _with(self, statement: S) -> Self:
        return type(self)(statement)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise QueryBuildError(
            f"query builders are immutable: every method returns a new one (setting {name!r})"
        )

    def __delattr__(self, name: str) -> NoReturn:
        raise QueryBuildError(f"query builders are immutable (deleting {name!r})")


class Query(Recorder[Q]):
    """A statement ready to run: `db.all(query)`, `.compile()`, `.build()`, `str(query)`."""

    __slots__ = ()

    def compile(self) -> Compiled:
        """SQL text with %s placeholders, the parameters, and whether it only reads."""
        return compiler.compile(self._statement)

    def build(self) -> tuple[sql.Composed, list[Any]]:
        """(psycopg.sql.Composed, parameters), for `cursor.execute(*query.build())`."""
        compiled = self.compile()
        return compiled.sql, list(compiled.params)

    def __str__(self) -> str:
        return self.compile().text

    def __repr__(self) -> str:
        try:
            text = str(self)
        except QueryBuildError as exc:
            text = f"<not compilable: {exc}>"
        return f"{type(self).__name__}({text!r})"

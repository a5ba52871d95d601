"""The base of every builder: an immutable holder of one recorded statement.

Each method returns a new builder around a new statement; the original never changes, so a
query kept at module level can be extended by every invocation of a Lambda sandbox.
"""

from __future__ import annotations

from typing import Any, NoReturn, Self

from psycopg import sql

from ..errors import QueryBuildError
from . import _compiler as compiler
from ._compiler import Compiled
from ._statements import Statement

_new_tuple = tuple.__new__


class Recorder:
    """Holds `_statement` (a named tuple); `_derive` copies it with one field changed."""

    __slots__ = ("_statement",)
    _statement: Any

    def __init__(self, statement: Any) -> None:
        _set_statement(self, statement)

    def _derive(self, index: int, value: Any) -> Self:
        fields = list(self._statement)
        fields[index] = value
        new = object.__new__(type(self))
        _set_statement(new, _new_tuple(type(self._statement), fields))
        return new

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise QueryBuildError(
            f"query builders are immutable: every method returns a new one (setting {name!r})"
        )

    def __delattr__(self, name: str) -> NoReturn:
        raise QueryBuildError(f"query builders are immutable (deleting {name!r})")


_set_statement = Recorder.__dict__["_statement"].__set__


class Query(Recorder):
    """A statement ready to run: `db.all(query)`, `.compile()`, `.build()`, `str(query)`."""

    __slots__ = ()
    _statement: Statement

    @property
    def statement(self) -> Statement:
        """What was recorded (a named tuple from `neonkit.query.statements`)."""
        return self._statement

    def compile(self) -> Compiled:
        """SQL text with %s placeholders, the parameters, and whether it only reads."""
        return compiler.compile(self._statement)

    def build(self) -> tuple[sql.Composed, list[Any]]:
        """(psycopg.sql.Composed, parameters), for `cursor.execute(*query.build())`."""
        compiled = compiler.compile(self._statement)
        return compiled.sql, list(compiled.params)

    def __str__(self) -> str:
        return compiler.compile(self._statement).text

    def __repr__(self) -> str:
        try:
            text = str(self)
        except QueryBuildError as exc:
            text = f"<not compilable: {exc}>"
        return f"{type(self).__name__}({text!r})"

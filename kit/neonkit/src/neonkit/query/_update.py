"""UPDATE: `table("todos").where("id", 7).update({"done": True})`.

An UPDATE without a where() is refused when compiled, unless asked for with all_rows=True.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import QueryBuildError
from ._builder import Query
from ._conditions import Filtered
from ._names import ColumnRef, identifier, show
from ._statements import Clause, Marker, Param, Raw, Term, Update
from ._terms import Returning
from ._values import param


class UpdateQuery(Filtered, Returning, Query[Update]):
    """An UPDATE; where() and returning() work before or after update()."""

    __slots__ = ()

    def _add_where(self, added: tuple[Clause, ...]) -> UpdateQuery:
        return UpdateQuery(self._statement._replace(where=self._statement.where + added))

    def _add_returning(self, added: tuple[Term, ...]) -> UpdateQuery:
        s = self._statement
        return UpdateQuery(s._replace(returning=s.returning + added))


def update_statement(
    table: ColumnRef, alias: str | None, values: Any, where: tuple[Clause, ...], all_rows: Any
) -> Update:
    if type(all_rows) is not bool:
        raise QueryBuildError(f"update(all_rows=...) takes True or False, got {all_rows!r}")
    return Update(table, alias, assignments(values, "update"), where, (), all_rows)


def assignments(values: Any, method: str) -> tuple[tuple[str, Param | Raw | Marker], ...]:
    """{"title": "x", "seen": raw("now()")} -> (("title", Param("x")), ("seen", Raw(...)))."""
    if not isinstance(values, Mapping) or not values:
        raise QueryBuildError(
            f"{method}() takes a non-empty dict of column -> value, got {show(values)}"
        )
    pairs: list[tuple[str, Param | Raw | Marker]] = []
    for name, v in values.items():
        identifier(name, f"{method}() column")
        pairs.append((name, v if isinstance(v, Raw) else param(v, name)))
    return tuple(pairs)

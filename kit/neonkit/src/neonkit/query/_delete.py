"""DELETE: `table("todos").where("id", 7).delete()`; every row only with `all_rows=True`."""

from __future__ import annotations

from typing import Any

from ..errors import QueryBuildError
from ._builder import Query
from ._conditions import Filtered
from ._names import ColumnRef
from ._statements import Clause, Delete, Term
from ._terms import Returning


class DeleteQuery(Filtered, Returning, Query[Delete]):
    """A DELETE; where(), returning(); without a where() it is refused unless all_rows=True."""

    __slots__ = ()

    def _add_where(self, added: tuple[Clause, ...]) -> DeleteQuery:
        return DeleteQuery(self._statement._replace(where=self._statement.where + added))

    def _add_returning(self, added: tuple[Term, ...]) -> DeleteQuery:
        s = self._statement
        return DeleteQuery(s._replace(returning=s.returning + added))


def delete_statement(
    table: ColumnRef, alias: str | None, where: tuple[Clause, ...], all_rows: Any
) -> Delete:
    if type(all_rows) is not bool:
        raise QueryBuildError(f"delete(all_rows=...) takes True or False, got {all_rows!r}")
    return Delete(table, alias, where, (), all_rows)

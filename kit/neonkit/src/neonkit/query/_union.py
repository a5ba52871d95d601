"""UNION: `table("a").select("id").union(table("b").select("id"), all=True)`.

Each select is parenthesised, so its own order_by() and limit() stay its own; order_by(),
limit() and offset() of the union apply to the combined rows, by output column name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import QueryBuildError
from ._builder import Query
from ._names import show
from ._statements import Raw, Select, Union
from ._terms import order
from ._values import row_count

if TYPE_CHECKING:
    from ._select import SelectQuery


def union(first: Select | Union, queries: tuple[Any, ...], all: Any) -> Union:
    """`first` UNION [ALL] each of `queries` (select queries)."""
    if type(all) is not bool:
        raise QueryBuildError(f"union(all=...) takes True or False, got {show(all)}")
    if not queries:
        raise QueryBuildError("union() needs at least one query to add")
    others: list[tuple[bool, Select]] = []
    for query in queries:
        statement = query.statement if isinstance(query, Query) else None
        if not isinstance(statement, Select):
            raise QueryBuildError(f"union() takes select queries, got {show(query)}")
        others.append((all, statement))
    if isinstance(first, Union):
        if first.order_by or first.limit is not None or first.offset is not None:
            raise QueryBuildError("union() cannot follow order_by(), limit() or offset()")
        return first._replace(others=first.others + tuple(others))
    return Union(first, tuple(others), (), None, None)


class UnionQuery(Query[Union]):
    """Selects combined by UNION [ALL]: union(), then order_by(), limit(), offset(), count()."""

    __slots__ = ()

    def union(self, *queries: SelectQuery, all: bool = False) -> UnionQuery:
        return UnionQuery(union(self._statement, queries, all))

    def order_by(
        self, column: str | Raw, direction: str = "asc", nulls: str | None = None
    ) -> UnionQuery:
        """ORDER BY an output column of the union (by its name or alias)."""
        s = self._statement
        return UnionQuery(s._replace(order_by=(*s.order_by, order(column, direction, nulls))))

    def limit(self, n: int) -> UnionQuery:
        return UnionQuery(self._statement._replace(limit=row_count(n, "limit")))

    def offset(self, n: int) -> UnionQuery:
        return UnionQuery(self._statement._replace(offset=row_count(n, "offset")))

    def count(self) -> SelectQuery:
        """SELECT count(*) AS "count" of the union's rows."""
        from ._select import SelectQuery, count_statement  # a count is a select

        return SelectQuery(count_statement(self._statement, "*"))

"""The UNION statement: `table("a").select("id").union(table("b").select("id"), all=True)`.

Each select is parenthesised, so its own order_by() and limit() stay its own; order_by(),
limit() and offset() of the union apply to the combined rows, by output column name. The
builder, `UnionQuery`, lives with `SelectQuery` in `_select`: each returns the other.
"""

from __future__ import annotations

from typing import Any

from ..errors import QueryBuildError
from ._builder import Query
from ._names import show
from ._statements import Select, Union


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

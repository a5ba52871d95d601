"""DELETE: `table("todos").where("id", 7).delete()`; every row only with `all_rows=True`."""

from __future__ import annotations

from typing import Any

from ..errors import QueryBuildError
from ._builder import Query
from ._conditions import Filtered
from ._statements import Clause, Delete
from ._terms import Returning


class DeleteQuery(Filtered, Returning, Query):
    """A DELETE; where(), returning(); without a where() it is refused unless all_rows=True."""

    __slots__ = ()
    _statement: Delete
    _WHERE = Delete._fields.index("where")
    _RETURNING = Delete._fields.index("returning")


def delete_statement(
    table: tuple[str, ...], alias: str | None, where: tuple[Clause, ...], all_rows: Any
) -> Delete:
    if type(all_rows) is not bool:
        raise QueryBuildError(f"delete(all_rows=...) takes True or False, got {all_rows!r}")
    return Delete(table, alias, where, (), all_rows)

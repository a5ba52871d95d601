"""UPDATE: `table("todos").where("id", 7).update({"done": True})`.

An UPDATE without a where() is refused when compiled, unless asked for with all_rows=True.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import QueryBuildError
from ._builder import Query
from ._conditions import Filtered
from ._names import identifier, show
from ._raw import Raw
from ._statements import Clause, Update
from ._terms import Returning
from ._values import value


class UpdateQuery(Filtered, Returning, Query):
    """An UPDATE; where() and returning() work before or after update()."""

    __slots__ = ()
    _statement: Update
    _WHERE = Update._fields.index("where")
    _RETURNING = Update._fields.index("returning")


def update_statement(
    table: tuple[str, ...],
    alias: str | None,
    values: Any,
    where: tuple[Clause, ...],
    all_rows: Any,
) -> Update:
    return Update(table, alias, assignments(values, "update"), where, (), _flag(all_rows))


def assignments(values: Any, method: str) -> tuple[tuple[str, Any], ...]:
    """{"title": "x", "seen": raw("now()")} -> (("title", "x"), ("seen", Raw(...)))."""
    if not isinstance(values, Mapping) or not values:
        raise QueryBuildError(
            f"{method}() takes a non-empty dict of column -> value, got {show(values)}"
        )
    pairs: list[tuple[str, Any]] = []
    for name, v in values.items():
        identifier(name, f"{method}() column")
        pairs.append((name, v if type(v) is Raw else value(v, name)))
    return tuple(pairs)


def _flag(all_rows: Any) -> bool:
    if type(all_rows) is not bool:
        raise QueryBuildError(f"update(all_rows=...) takes True or False, got {all_rows!r}")
    return all_rows

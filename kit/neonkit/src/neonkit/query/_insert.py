"""INSERT, with RETURNING and upserts.

table("todos").insert({"title": "a"}).returning("id")
table("todos").insert(rows).on_conflict("id").ignore()          ON CONFLICT ("id") DO NOTHING
table("todos").insert(rows).on_conflict("id").merge()           DO UPDATE SET every other
                                                                inserted column = EXCLUDED.col
....on_conflict("id").merge("title")                            only "title"
....on_conflict("id").merge({"title": "x", "seen": raw("now()")})   these values
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import QueryBuildError
from ._builder import Query, Recorder
from ._names import ColumnRef, identifier, show
from ._raw import Raw
from ._statements import EXCLUDED, Conflict, Insert
from ._terms import Returning
from ._update import assignments
from ._values import items, nul_error


class InsertQuery(Returning, Query):
    """An INSERT of one or more rows; returning(), on_conflict()."""

    __slots__ = ()
    _statement: Insert
    _RETURNING = Insert._fields.index("returning")

    def on_conflict(self, *columns: str) -> OnConflict:
        """The conflict target (a unique index's columns); then .ignore() or .merge(...)."""
        return OnConflict(
            (self._statement, tuple(identifier(c, "on_conflict() column") for c in columns))
        )


class OnConflict(Recorder):
    """What to do when an inserted row conflicts: ignore() or merge(...)."""

    __slots__ = ()
    _statement: tuple[Insert, tuple[str, ...]]

    def ignore(self) -> InsertQuery:
        """ON CONFLICT ... DO NOTHING: keep the existing row."""
        insert, columns = self._statement
        return InsertQuery(insert._replace(conflict=Conflict(columns, ())))

    def merge(self, *columns: str | Mapping[str, Any]) -> InsertQuery:
        """ON CONFLICT (...) DO UPDATE SET: every other inserted column, these, or these values."""
        insert, target = self._statement
        if not target:
            raise QueryBuildError(
                "merge() needs the conflict columns, e.g. on_conflict('id').merge(); "
                "PostgreSQL requires them for DO UPDATE"
            )
        if len(columns) == 1 and isinstance(columns[0], Mapping):
            updates = assignments(columns[0], "merge")
        else:
            names = columns or tuple(c for c in insert.columns if c not in target)
            if not names:
                raise QueryBuildError(
                    f"merge() has no column to update: every inserted column is in the conflict "
                    f"target {list(target)!r}; use ignore() instead"
                )
            for name in names:
                if name not in insert.columns:
                    raise QueryBuildError(
                        f"merge() column {show(name)} is not an inserted column "
                        f"{list(insert.columns)!r}; pass a dict to set other columns"
                    )
            updates = tuple((name, EXCLUDED) for name in names)  # type: ignore[misc]
        return InsertQuery(insert._replace(conflict=Conflict(target, updates)))


def insert_statement(table: ColumnRef, alias: str | None, rows: Any) -> Insert:
    """One dict, or a non-empty list of dicts with the same keys."""
    if isinstance(rows, Mapping):
        rows = (rows,)
    elif not isinstance(rows, Sequence) or isinstance(rows, str | bytes) or not rows:
        raise QueryBuildError(
            f"insert() takes a dict or a non-empty list of dicts, got {show(rows)}"
        )
    first = rows[0]
    if not isinstance(first, Mapping):
        raise QueryBuildError(f"insert() row 0 must be a dict, got {show(first)}")
    columns = tuple(first)
    for name in columns:
        identifier(name, "insert() column")
    if not columns:
        if len(rows) > 1:
            raise QueryBuildError(
                "insert() rows without columns: only one row can use DEFAULT VALUES"
            )
        return Insert(table, alias, (), ((),), True, None, ())
    keys = first.keys()
    as_is = True
    recorded: list[tuple[Any, ...]] = []
    for index, row in enumerate(rows):
        if index and type(row) is not dict and not isinstance(row, Mapping):
            raise QueryBuildError(f"insert() row {index} must be a dict, got {show(row)}")
        if not index or tuple(row) == columns:
            values = tuple(row.values())
        elif row.keys() == keys:
            values = tuple([row[c] for c in columns])
        else:
            raise _mismatch(index, columns, row)
        for v in values:
            kind = type(v)
            if kind is str:
                if "\x00" in v:
                    raise nul_error(v, columns[values.index(v)])
            elif kind in _CONVERTED:
                as_is = False
        recorded.append(values if as_is else _converted(values, columns))
    return Insert(table, alias, columns, tuple(recorded), as_is, None, ())


# Values recorded differently from how they are bound (lists frozen) or not bound (raw).
_CONVERTED = frozenset({list, tuple, set, frozenset, Raw})


def _converted(values: tuple[Any, ...], columns: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(
        items(v, name) if type(v) in _CONVERTED and type(v) is not Raw else v
        for name, v in zip(columns, values, strict=True)
    )


def _mismatch(index: int, columns: tuple[str, ...], row: Mapping[str, Any]) -> QueryBuildError:
    missing = [c for c in columns if c not in row]
    extra = [k for k in row if k not in columns]
    return QueryBuildError(
        f"insert() row {index} has other keys than row 0: missing {missing!r}, "
        f"extra {[show(k) for k in extra]!r}; every row must have the same keys"
    )

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
from ._statements import EXCLUDED, Conflict, Insert, Marker, Param, Raw, Term
from ._terms import Returning
from ._update import assignments
from ._values import frozen


class InsertQuery(Returning, Query[Insert]):
    """An INSERT of one or more rows; returning(), on_conflict()."""

    __slots__ = ()

    def on_conflict(self, *columns: str) -> OnConflict:
        """The conflict target (a unique index's columns); then .ignore() or .merge(...)."""
        target = tuple(identifier(c, "on_conflict() column") for c in columns)
        return OnConflict((self._statement, target))

    def _add_returning(self, added: tuple[Term, ...]) -> InsertQuery:
        s = self._statement
        return InsertQuery(s._replace(returning=s.returning + added))


class OnConflict(Recorder[tuple[Insert, tuple[str, ...]]]):
    """What to do when an inserted row conflicts: ignore() or merge(...)."""

    __slots__ = ()

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
        updates: tuple[tuple[str, Param | Raw | Marker], ...]
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
            updates = tuple((str(name), EXCLUDED) for name in names)
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
        return Insert(table, alias, (), ((),), False, None, ())
    recorded: list[tuple[Any, ...]] = []
    raw_values = False
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise QueryBuildError(f"insert() row {index} must be a dict, got {show(row)}")
        if row.keys() != first.keys():
            raise _mismatch(index, columns, row)
        values: list[Any] = []
        for name in columns:
            v = row[name]
            if isinstance(v, Raw):
                raw_values = True
                values.append(v)
            else:
                values.append(frozen(v, name))
        recorded.append(tuple(values))
    return Insert(table, alias, columns, tuple(recorded), raw_values, None, ())


def _mismatch(index: int, columns: tuple[str, ...], row: Mapping[str, Any]) -> QueryBuildError:
    missing = [c for c in columns if c not in row]
    extra = [k for k in row if k not in columns]
    return QueryBuildError(
        f"insert() row {index} has other keys than row 0: missing {missing!r}, "
        f"extra {[show(k) for k in extra]!r}; every row must have the same keys"
    )

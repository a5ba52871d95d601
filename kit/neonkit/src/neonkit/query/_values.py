"""Values: always bound as parameters, checked and frozen when recorded.

A recorded query lives at module level across invocations, so a list given to it is copied
into a tuple (a later change to the caller's list cannot change the query) and turned back
into a list when bound, because psycopg adapts lists as arrays and cannot adapt tuples.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from ..errors import QueryBuildError
from ._names import show
from ._statements import Param

# Immutable types psycopg adapts: recorded as they are.
_PLAIN = frozenset(
    {int, float, bool, type(None), bytes, Decimal, UUID, date, datetime, time, timedelta}
)


def param(obj: Any, name: Any, what: str = "column") -> Param:
    """`obj` frozen into a Param; errors name where it goes: f"{what} {name!r}"."""
    return Param(frozen(obj, name, what))


def frozen(obj: Any, name: Any, what: str = "column") -> Any:
    """`obj` as recorded: a list, tuple or set as a tuple; a NUL in text refused."""
    if type(obj) in _PLAIN:
        return obj
    match obj:
        case str():
            if "\x00" in obj:
                raise _nul_error(obj, name, what)
            return obj
        case list() | tuple() | set() | frozenset():
            return _items(obj, name, what)
    return obj


def bound(value: Any) -> Any:
    """A recorded value as psycopg receives it."""
    return list(value) if type(value) is tuple else value


def array_text(value: tuple[Any, ...] | list[Any]) -> str | None:
    """'{1,2}' for a (nested) tuple of ints, else None.

    psycopg sends a list of small ints as smallint[], which PostgreSQL will not compare with
    an integer[] or bigint[] column (`integer[] @> smallint[]` does not exist); as text of
    unknown type, it takes the type of the column it is compared with.
    """
    if not value or not _ints(value):
        return None
    return _text(value)


def _ints(value: tuple[Any, ...] | list[Any]) -> bool:
    found = False
    for item in value:
        if type(item) is tuple or type(item) is list:
            if not _ints(item):
                return False
            found = True
        elif type(item) is int:
            found = True
        elif item is not None:
            return False
    return found


def _text(value: Any) -> str:
    if type(value) is tuple or type(value) is list:
        return "{" + ",".join(_text(item) for item in value) + "}"
    return "NULL" if value is None else str(value)


def row_count(n: Any, method: str) -> Param:
    """limit(n) / offset(n): a non-negative bigint, bound as a parameter."""
    if type(n) is not int or not 0 <= n <= 2**63 - 1:
        raise QueryBuildError(f"{method}() takes a non-negative int (a bigint), got {show(n)}")
    return Param(n)


def _items(obj: Any, name: Any, what: str) -> tuple[Any, ...]:
    """A list, tuple or set as a tuple, every string in it (and in nested lists) checked."""
    items = tuple(obj)
    for item in items:
        if type(item) is str:
            if "\x00" in item:
                raise _nul_error(item, name, what)
        elif isinstance(item, list | tuple):
            _items(item, name, what)
    return items


def _nul_error(obj: str, name: Any, what: str) -> QueryBuildError:
    return QueryBuildError(
        f"{what} {show(name)}: PostgreSQL text cannot contain a NUL character (\\x00), "
        f"got {show(obj)}"
    )

"""Values: always bound as parameters, checked and frozen when recorded.

A recorded query lives at module level across invocations, so nothing the caller keeps may
change it later: a list (nested ones too) is copied into a tuple and turned back into a list
when bound (psycopg adapts lists as arrays, not tuples); a `Json`/`Jsonb` is deep-copied when
recorded and again when bound; a bytearray becomes bytes.

A value psycopg cannot adapt is refused here, naming the column and the type, rather than
failing when the query runs. A dict is not adapted implicitly: wrap it in
`psycopg.types.json.Jsonb` (or `Json`) to say which JSON type it is.
"""

from __future__ import annotations

import copy
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg.adapt import PyFormat
from psycopg.types.json import Json, Jsonb

from ..errors import QueryBuildError
from ._names import show
from ._statements import Param, Raw

# Immutable types psycopg adapts: recorded as they are.
_PLAIN = frozenset(
    {int, float, bool, type(None), bytes, Decimal, UUID, date, datetime, time, timedelta}
)


def param(obj: Any, name: Any, what: str = "column") -> Param:
    """`obj` frozen into a Param; errors name where it goes: f"{what} {name!r}"."""
    return Param(frozen(obj, name, what))


def frozen(obj: Any, name: Any, what: str = "column") -> Any:
    """`obj` as recorded, if psycopg can adapt it, else QueryBuildError naming `name`."""
    if type(obj) in _PLAIN:
        return obj
    match obj:
        case str():
            if "\x00" in obj:
                raise QueryBuildError(
                    f"{what} {show(name)}: PostgreSQL text cannot contain a NUL character "
                    f"(\\x00), got {show(obj)}"
                )
            return obj
        case Raw():
            raise QueryBuildError(
                f"{what} {show(name)}: raw() is SQL text, not a value; it goes where a whole "
                f"value goes, got {show(obj)}"
            )
        case list() | tuple():
            return _array(obj, name, what)
        case Json() | Jsonb():
            return _json(obj, name, what)
        case bytearray() | memoryview():
            return bytes(obj)
        case dict():
            raise QueryBuildError(
                f"{what} {show(name)}: a dict is not adapted implicitly; wrap it as "
                f"Jsonb(value) (from psycopg.types.json) for a json/jsonb column, got {show(obj)}"
            )
        case set() | frozenset():
            raise QueryBuildError(
                f"{what} {show(name)}: a set has no order, so it cannot be an array; pass a "
                f"list ('in' and 'not in' take a set), got {show(obj)}"
            )
    try:
        psycopg.adapters.get_dumper(type(obj), PyFormat.AUTO)
    except psycopg.ProgrammingError:
        raise QueryBuildError(
            f"{what} {show(name)}: psycopg cannot adapt a value of type "
            f"{type(obj).__qualname__!r}, got {show(obj)}"
        ) from None
    return obj


def bound(value: Any) -> Any:
    """A recorded value as psycopg receives it: tuples as lists, JSON as a fresh copy."""
    if type(value) in _PLAIN or type(value) is str:  # most values: nothing to copy
        return value
    match value:
        case tuple():
            return [bound(item) for item in value]
        case Json() | Jsonb():
            return type(value)(copy.deepcopy(value.obj), value.dumps)
        case _:
            return value


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


def _array(obj: list[Any] | tuple[Any, ...], name: Any, what: str) -> tuple[Any, ...]:
    """A list as a tuple of checked items: one type of item, sub-lists of one length."""
    items = tuple([frozen(item, name, what) for item in obj])
    kinds = {type(item) for item in items if item is not None}
    if len(kinds) > 1:
        names = ", ".join(sorted("list" if k is tuple else k.__qualname__ for k in kinds))
        raise QueryBuildError(
            f"{what} {show(name)}: a list becomes a PostgreSQL array, whose items share one "
            f"type, got a list mixing {names}: {show(obj)}"
        )
    if kinds == {tuple} and len({len(item) for item in items if item is not None}) > 1:
        raise QueryBuildError(
            f"{what} {show(name)}: nested lists become a multidimensional array, whose "
            f"sub-arrays have one length, got {show(obj)}"
        )
    return items


def _json(obj: Json | Jsonb, name: Any, what: str) -> Json | Jsonb:
    try:
        return type(obj)(copy.deepcopy(obj.obj), obj.dumps)
    except Exception as exc:  # what deepcopy cannot copy (a lock, a socket) cannot be JSON
        raise QueryBuildError(
            f"{what} {show(name)}: the {type(obj).__name__} value cannot be copied ({exc}), "
            f"got {show(obj.obj)}"
        ) from exc

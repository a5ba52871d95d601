"""Values: always bound as parameters, checked and frozen when recorded.

A recorded query lives at module level across invocations, so a list given to it is copied
into a tuple (a later change to the caller's list cannot change the query) and turned back
into a list when bound, because psycopg adapts lists as arrays and cannot adapt tuples.
"""

from __future__ import annotations

from typing import Any

from ..errors import QueryBuildError
from ._names import show


def value(obj: Any, name: Any, what: str = "column") -> Any:
    """`obj` ready to record; errors name where it goes: f"{what} {name!r}"."""
    kind = type(obj)
    if kind is str:
        if "\x00" in obj:
            raise nul_error(obj, name, what)
        return obj
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        return items(obj, name, what)
    return obj


def items(obj: Any, name: Any, what: str = "column") -> tuple[Any, ...]:
    """A list, tuple or set as a tuple, every string in it (and in nested lists) checked."""
    frozen = tuple(obj)
    for item in frozen:
        if type(item) is str:
            if "\x00" in item:
                raise nul_error(item, name, what)
        elif isinstance(item, list | tuple):
            items(item, name, what)
    return frozen


def bindable(obj: Any) -> Any:
    """A recorded value as psycopg should receive it."""
    return list(obj) if type(obj) is tuple else obj


def nul_error(obj: str, name: Any, what: str = "column") -> QueryBuildError:
    return QueryBuildError(
        f"{what} {show(name)}: PostgreSQL text cannot contain a NUL character (\\x00), "
        f"got {show(obj)}"
    )

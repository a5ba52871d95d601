"""Keyset pagination: after(), the rows that follow the last one seen, in order_by() order.

    .order_by("due").order_by("id").after({"due": d, "id": 41})  ->  ("due", "id") > (%s, %s)

The keyset is recorded with its columns, so it stays a filter of its own: it is ANDed to
every where() condition, and count() keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import QueryBuildError
from ._names import ColumnRef, dotted, show
from ._statements import JsonPath, Keyset, Order, Raw
from ._values import param


def keyset(orders: tuple[Order, ...], keys: Any) -> Keyset:
    """The Keyset of after(keys), for a query ordered by `orders`."""
    if not orders:
        raise QueryBuildError("after() needs order_by(...) first: it continues in that order")
    columns: list[ColumnRef] = []
    for order in orders:
        match order.term:
            case Raw() | JsonPath():
                raise QueryBuildError(
                    "after() cannot follow an order_by(raw(...)) or order_by(json_path(...)); "
                    "order by columns"
                )
            case term:
                columns.append(term)
        if order.descending is not orders[0].descending:
            raise _mixed_directions(orders)
    names = [dotted(c) for c in columns]
    values = []
    for name, v in zip(names, _values(keys, names), strict=True):
        if v is None:
            raise QueryBuildError(
                f"after() value for {name!r} is None; keyset columns must not be NULL"
            )
        values.append(param(v, name))
    return Keyset(tuple(columns), orders[0].descending, tuple(values))


def _values(keys: Any, names: list[str]) -> list[Any]:
    """The after() values in order_by order, from a mapping or a sequence."""
    if isinstance(keys, Mapping):
        values: list[Any] = []
        for name in names:
            if name in keys:
                values.append(keys[name])
                continue
            bare = name.rpartition(".")[2]
            if bare == name or bare not in keys:
                raise QueryBuildError(
                    f"after() is missing the order_by() column {name!r}; expected the keys "
                    f"{names!r}, got {show(list(keys))}"
                )
            values.append(keys[bare])
        if len(keys) != len(names):
            known = set(names) | {n.rpartition(".")[2] for n in names}
            extra = [k for k in keys if k not in known] or list(keys)
            raise QueryBuildError(
                f"after() keys {show(extra)} are not order_by() columns (or a column is given "
                f"twice); expected the keys {names!r}"
            )
        return values
    if isinstance(keys, Sequence) and not isinstance(keys, str | bytes):
        if len(keys) != len(names):
            raise QueryBuildError(
                f"after() needs {len(names)} values, one per order_by() column {names!r}, "
                f"got {show(keys)}"
            )
        return list(keys)
    raise QueryBuildError(
        f"after() takes a dict or a list of the last row's keys, got {show(keys)}"
    )


def _mixed_directions(orders: tuple[Order, ...]) -> QueryBuildError:
    directions = [(_name(o), "desc" if o.descending else "asc") for o in orders]
    return QueryBuildError(
        "after() needs every order_by() column in the same direction (all asc or all desc), "
        f"got {directions!r}"
    )


def _name(order: Order) -> str:
    match order.term:
        case Raw() | JsonPath():
            return repr(order.term)
        case term:
            return dotted(term)

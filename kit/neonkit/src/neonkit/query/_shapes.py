"""Shapes: a statement with every value taken out (into the parameters) and `SLOT` put in.

A shape holds what decides the SQL text and nothing else, so it is the compiler's cache key:
two queries that differ only in their values have equal shapes. Values are collected in the
order their placeholders appear in the SQL.
"""

from __future__ import annotations

from typing import Any

from ..errors import QueryBuildError
from ._raw import Raw
from ._statements import (
    EXCLUDED,
    NO_VALUE,
    SLOT,
    Alias,
    Clause,
    Condition,
    Conflict,
    Delete,
    Group,
    Insert,
    Order,
    RawCondition,
    Select,
    Statement,
    Update,
)

_new = tuple.__new__


def shape(statement: Statement, params: list[Any]) -> Statement:
    """The statement's shape; its values are appended to `params`."""
    kind = type(statement)
    if kind is Select:
        return _select_shape(statement, params)  # type: ignore[arg-type]
    if kind is Insert:
        return _insert_shape(statement, params)  # type: ignore[arg-type]
    if kind is Update:
        return _update_shape(statement, params)  # type: ignore[arg-type]
    if kind is Delete:
        return _delete_shape(statement, params)  # type: ignore[arg-type]
    raise QueryBuildError(f"not a statement the compiler knows, got {statement!r}")


def _select_shape(s: Select, params: list[Any]) -> Select:
    (table, alias, columns, distinct, joins, where, after, group_by, having, order_by,
     limit, offset, lock) = s  # fmt: skip
    if columns:
        columns = _terms(columns, params)
    if where:
        where = _clauses(where, params)
    if after is not None:
        params.extend([list(v) if type(v) is tuple else v for v in after])
        after = (SLOT,) * len(after)
    if group_by:
        group_by = _terms(group_by, params)
    if having:
        having = _clauses(having, params)
    if order_by:
        order_by = _orders(order_by, params)
    if limit is not None:
        params.append(limit)
        limit = SLOT
    if offset is not None:
        params.append(offset)
        offset = SLOT
    return _new(
        Select,
        (table, alias, columns, distinct, joins, where, after, group_by, having, order_by,
         limit, offset, lock),
    )  # fmt: skip


def _insert_shape(s: Insert, params: list[Any]) -> Insert:
    rows: Any = s.rows
    if s.bound_as_is:
        for row in rows:
            params.extend(row)
        rows = len(rows)
    else:
        shaped = tuple(tuple(_value(v, params) for v in row) for row in rows)
        raw_values = any(type(v) is Raw for row in shaped for v in row)
        rows = shaped if raw_values else len(rows)
    conflict = s.conflict
    if conflict is not None and conflict.updates:
        conflict = Conflict(conflict.columns, _assignments(conflict.updates, params))
    returning = _terms(s.returning, params) if s.returning else s.returning
    return _new(Insert, (s.table, s.alias, s.columns, rows, True, conflict, returning))


def _update_shape(s: Update, params: list[Any]) -> Update:
    if not s.where and not s.all_rows:
        raise QueryBuildError(
            f"refusing to UPDATE every row of {'.'.join(s.table)!r}: add a where(...) or, if "
            "every row is meant, say so with update(values, all_rows=True)"
        )
    values = _assignments(s.values, params)
    where = _clauses(s.where, params) if s.where else s.where
    returning = _terms(s.returning, params) if s.returning else s.returning
    return _new(Update, (s.table, s.alias, values, where, returning, s.all_rows))


def _delete_shape(s: Delete, params: list[Any]) -> Delete:
    if not s.where and not s.all_rows:
        raise QueryBuildError(
            f"refusing to DELETE every row of {'.'.join(s.table)!r}: add a where(...) or, if "
            "every row is meant, say so with delete(all_rows=True)"
        )
    where = _clauses(s.where, params) if s.where else s.where
    returning = _terms(s.returning, params) if s.returning else s.returning
    return _new(Delete, (s.table, s.alias, where, returning, s.all_rows))


def _value(value: Any, params: list[Any]) -> Any:
    if type(value) is Raw:
        return _raw(value, params)
    params.append(list(value) if type(value) is tuple else value)
    return SLOT


def _raw(raw: Raw, params: list[Any]) -> Raw:
    if not raw.params:
        return raw
    params.extend([list(p) if type(p) is tuple else p for p in raw.params])
    return _new(Raw, (raw.text, (SLOT,) * len(raw.params)))


def _terms(terms: tuple[Any, ...], params: list[Any]) -> tuple[Any, ...]:
    for term in terms:
        if type(term) is not tuple:
            break
    else:
        return terms  # only column names: nothing to bind
    return tuple([_term(t, params) for t in terms])


def _term(term: Any, params: list[Any]) -> Any:
    kind = type(term)
    if kind is Raw:
        return _raw(term, params)
    if kind is Alias:
        return Alias(_term(term.term, params), term.name)
    return term


def _orders(orders: tuple[Order, ...], params: list[Any]) -> tuple[Order, ...]:
    for order in orders:
        if type(order.term) is not tuple:
            break
    else:
        return orders
    return tuple([Order(_term(o.term, params), o.descending, o.nulls) for o in orders])


def _clauses(clauses: tuple[Clause, ...], params: list[Any]) -> tuple[Clause, ...]:
    shaped: list[Clause] = []
    c: Any
    for c in clauses:
        kind = type(c)
        if kind is Condition:
            value = c[4]
            if value is NO_VALUE:
                shaped.append(c)
                continue
            if type(value) is Raw:
                value = _raw(value, params)
            else:
                params.append(list(value) if type(value) is tuple else value)
                value = SLOT
            shaped.append(_new(Condition, (c[0], c[1], c[2], c[3], value)))
        elif kind is Group:
            shaped.append(Group(c[0], c[1], _clauses(c[2], params)))
        else:
            shaped.append(RawCondition(c[0], c[1], _raw(c[2], params)))
    return tuple(shaped)


def _assignments(
    pairs: tuple[tuple[str, Any], ...], params: list[Any]
) -> tuple[tuple[str, Any], ...]:
    return tuple([(name, v if v is EXCLUDED else _value(v, params)) for name, v in pairs])

"""Shapes: a statement with every value taken out (into the parameters) and `SLOT` put in.

A shape holds what decides the SQL text and nothing else, so it is the compiler's cache key:
two queries that differ only in their values have equal shapes. Values are collected in the
order their placeholders appear in the SQL text.
"""

from __future__ import annotations

from typing import Any

from ..errors import QueryBuildError
from ._statements import (
    SLOT,
    Alias,
    Bounds,
    Clause,
    Condition,
    Conflict,
    Cte,
    Delete,
    Exists,
    Group,
    Insert,
    Marker,
    Operand,
    Order,
    Param,
    Raw,
    RawCondition,
    Select,
    Statement,
    Term,
    Union,
    Update,
)
from ._values import bound

_BINDS = (Raw, Alias)  # the terms that may hold raw(...) with values


def shape(statement: Statement, params: list[Any]) -> Statement:
    """The statement's shape; its values are appended to `params`."""
    match statement:
        case Select():
            return _select(statement, params)
        case Union():
            return _union(statement, params)
        case Insert():
            return _insert(statement, params)
        case Update():
            values = _assignments(statement.values, params)
            where = _clauses(statement.where, params)
            returning = _terms(statement.returning, params)
            return statement._replace(values=values, where=where, returning=returning)
        case Delete():
            where = _clauses(statement.where, params)
            returning = _terms(statement.returning, params)
            return statement._replace(where=where, returning=returning)
    raise QueryBuildError(f"not a statement the compiler knows, got {statement!r}")


def _select(s: Select, params: list[Any]) -> Select:
    # In the order of the SQL text (WITH, DISTINCT ON, columns, FROM, WHERE, GROUP BY...), so
    # that the values land in their placeholders' order; an empty clause holds no value.
    ctes = tuple([_cte(cte, params) for cte in s.ctes]) if s.ctes else ()
    distinct_on = _terms(s.distinct_on, params) if s.distinct_on else ()
    columns = _terms(s.columns, params)
    table = s.table
    if isinstance(table, Select):  # a subquery
        table = _select(table, params)
    elif isinstance(table, Union):
        table = _union(table, params)
    where = _clauses(s.where, params) if s.where else ()
    after = s.after
    if after is not None:
        after = after._replace(values=tuple([_value(v, params) for v in after.values]))
    group_by = _terms(s.group_by, params) if s.group_by else ()
    having = _clauses(s.having, params) if s.having else ()
    order_by = _orders(s.order_by, params)
    limit = None if s.limit is None else _value(s.limit, params)
    offset = None if s.offset is None else _value(s.offset, params)
    return Select(
        ctes, table, s.alias, columns, s.distinct, distinct_on, s.joins, where, after, group_by,
        having, order_by, limit, offset, s.lock,
    )  # fmt: skip


def _union(u: Union, params: list[Any]) -> Union:
    first = _select(u.first, params)
    others = tuple([(all_, _select(s, params)) for all_, s in u.others])
    return u._replace(
        first=first, others=others, order_by=_orders(u.order_by, params),
        limit=_value(u.limit, params), offset=_value(u.offset, params),
    )  # fmt: skip


def _cte(cte: Cte, params: list[Any]) -> Cte:
    match cte.query:
        case Raw():
            return cte._replace(query=_raw(cte.query, params))
        case query:
            return cte._replace(query=shape(query, params))


def _insert(s: Insert, params: list[Any]) -> Insert:
    rows = s.rows
    if isinstance(rows, tuple):
        if s.raw_values:  # a raw value's text is part of the shape
            rows = tuple(tuple(_row_value(v, params) for v in row) for row in rows)
        else:  # only values: the number of rows is the shape
            params.extend([bound(v) for row in rows for v in row])
            rows = len(rows)
    conflict = s.conflict
    if conflict is not None and conflict.updates:
        conflict = Conflict(conflict.columns, _assignments(conflict.updates, params))
    return s._replace(rows=rows, conflict=conflict, returning=_terms(s.returning, params))


def _row_value(value: Any, params: list[Any]) -> Any:
    if isinstance(value, Raw):
        return _raw(value, params)
    params.append(bound(value))
    return SLOT


def _value(value: Any, params: list[Any]) -> Any:
    match value:
        case Param():
            params.append(bound(value.value))
            return SLOT
        case Raw():
            return _raw(value, params)
        case Bounds():
            return Bounds(_value(value.low, params), _value(value.high, params))
        case Select() | Union():
            return shape(value, params)
        case _:  # None, a Ref, EXCLUDED: nothing to bind
            return value


def _raw(raw: Raw, params: list[Any]) -> Raw:
    if not raw.params:
        return raw
    params.extend([bound(p) for p in raw.params])
    return raw._replace(params=(SLOT,) * len(raw.params))


def _terms(terms: tuple[Any, ...], params: list[Any]) -> tuple[Any, ...]:
    for term in terms:
        if isinstance(term, _BINDS):  # only raw(...) fragments bind values
            return tuple([_term(t, params) for t in terms])
    return terms


def _term(term: Term, params: list[Any]) -> Term:
    match term:
        case Raw():
            return _raw(term, params)
        case Alias(term=Raw() as inner):
            return term._replace(term=_raw(inner, params))
        case _:
            return term


def _orders(orders: tuple[Order, ...], params: list[Any]) -> tuple[Order, ...]:
    for order in orders:
        if isinstance(order.term, Raw):  # only raw(...) fragments bind values
            return tuple([_order(o, params) for o in orders])
    return orders


def _order(order: Order, params: list[Any]) -> Order:
    match order.term:
        case Raw():
            return order._replace(term=_raw(order.term, params))
        case _:
            return order


def _clauses(clauses: tuple[Clause, ...], params: list[Any]) -> tuple[Clause, ...]:
    return tuple([_clause(c, params) for c in clauses])


def _clause(clause: Clause, params: list[Any]) -> Clause:
    match clause:
        case Condition():
            if clause.value is None:  # IS NULL, IS TRUE...: nothing to bind
                return clause
            operand: Operand | None = _value(clause.value, params)
            return Condition(
                clause.conjunction, clause.negated, clause.left, clause.operator, operand
            )
        case Group():
            return clause._replace(clauses=_clauses(clause.clauses, params))
        case RawCondition():
            return clause._replace(raw=_raw(clause.raw, params))
        case Exists():
            return clause._replace(query=_select(clause.query, params))


def _assignments(
    pairs: tuple[tuple[str, Param | Raw | Marker], ...], params: list[Any]
) -> tuple[tuple[str, Param | Raw | Marker], ...]:
    return tuple([(name, _value(v, params)) for name, v in pairs])

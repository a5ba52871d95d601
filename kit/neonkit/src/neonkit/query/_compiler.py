"""Statements to SQL: the one place that builds SQL text.

`compile()` takes a statement's shape (`shapes`: its values out as parameters, `SLOT` in)
and renders it, once per shape: the cache maps shape -> SQL, so a query run with new values
reuses the SQL text (and psycopg's and the server's prepared statements, keyed by the text).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any, LiteralString, NamedTuple, cast

from psycopg import sql

from ._names import ColumnRef, Ident, render
from ._raw import Raw
from ._shapes import shape
from ._statements import (
    EXCLUDED,
    NO_VALUE,
    Alias,
    Clause,
    Condition,
    Count,
    Delete,
    Group,
    Insert,
    Join,
    Order,
    Select,
    Statement,
    Term,
    Update,
)

CACHE_SIZE = 1024  # shapes; an application has a few dozen

_new = tuple.__new__
_PLACEHOLDER = re.compile(r"%%|%[sbt]")


class Compiled(NamedTuple):
    """A compiled query: what `neonkit.Database` runs."""

    text: str  # SQL with %s placeholders (and %% for a literal %): run it with `params`
    params: tuple[Any, ...]
    reads_only: bool  # a SELECT without FOR UPDATE: safe to resend after a lost connection
    sql: sql.Composed  # the same SQL as a psycopg object

    def __repr__(self) -> str:
        return f"Compiled(text={self.text!r}, params={self.params!r}, reads_only={self.reads_only})"


def compile(statement: Statement) -> Compiled:
    """SQL text and parameters for a statement; the text comes from the cache when it can."""
    params: list[Any] = []
    composed, text, reads_only, placeholders = _render(shape(statement, params))
    if placeholders != len(params):  # a compiler bug, never a user error: refuse loudly
        raise AssertionError(f"{placeholders} placeholders for {len(params)} parameters: {text}")
    return _new(Compiled, (text, tuple(params), reads_only, composed))


def cache_info() -> Any:
    """Hits, misses and size of the shape cache."""
    return _render.cache_info()


def cache_clear() -> None:
    _render.cache_clear()


# -- rendering shapes (cached) -----------------------------------------------------------


@functools.lru_cache(maxsize=CACHE_SIZE)
def _render(shape: Statement) -> tuple[sql.Composed, str, bool, int]:
    kind = type(shape)
    if kind is Select:
        composed = _render_select(shape)  # type: ignore[arg-type]
        reads_only = shape.lock is None  # type: ignore[union-attr]
    elif kind is Insert:
        composed, reads_only = _render_insert(shape), False  # type: ignore[arg-type]
    elif kind is Update:
        composed, reads_only = _render_update(shape), False  # type: ignore[arg-type]
    else:
        composed, reads_only = _render_delete(shape), False  # type: ignore[arg-type]
    text = composed.as_string(None)
    placeholders = sum(1 for m in _PLACEHOLDER.finditer(text) if m.group() != "%%")
    return composed, text, reads_only, placeholders


_PARAM = sql.SQL("%s")
_COMMA = sql.SQL(", ")


def _render_select(s: Select) -> sql.Composed:
    parts: list[sql.Composable] = [sql.SQL("SELECT DISTINCT " if s.distinct else "SELECT ")]
    parts.append(_COMMA.join(map(_term_sql, s.columns)) if s.columns else sql.SQL("*"))
    parts += [sql.SQL(" FROM "), _table_sql(s.table, s.alias)]
    for join in s.joins:
        parts.append(_join_sql(join))
    if s.where or s.after is not None:
        parts += [sql.SQL(" WHERE "), _filter_sql(s)]
    if s.group_by:
        parts += [sql.SQL(" GROUP BY "), _COMMA.join(map(_term_sql, s.group_by))]
    if s.having:
        parts += [sql.SQL(" HAVING "), _where_sql(s.having)]
    if s.order_by:
        parts += [sql.SQL(" ORDER BY "), _COMMA.join(map(_order_sql, s.order_by))]
    if s.limit is not None:
        parts.append(sql.SQL(" LIMIT %s"))
    if s.offset is not None:
        parts.append(sql.SQL(" OFFSET %s"))
    if s.lock is not None:
        parts.append(sql.SQL(" ") + sql.SQL(s.lock))
    return sql.Composed(parts)


def _render_insert(s: Insert) -> sql.Composed:
    parts: list[sql.Composable] = [sql.SQL("INSERT INTO "), _table_sql(s.table, s.alias)]
    if not s.columns:
        parts.append(sql.SQL(" DEFAULT VALUES"))
    else:
        columns = _COMMA.join([Ident(c) for c in s.columns])
        if isinstance(s.rows, int):
            row = sql.SQL("(") + _COMMA.join([_PARAM] * len(s.columns)) + sql.SQL(")")
            values = _COMMA.join([row] * s.rows)
        else:
            values = _COMMA.join(
                [sql.SQL("(") + _COMMA.join(map(_value_sql, r)) + sql.SQL(")") for r in s.rows]
            )
        parts += [sql.SQL(" ("), columns, sql.SQL(") VALUES "), values]
    conflict = s.conflict
    if conflict is not None:
        parts.append(sql.SQL(" ON CONFLICT "))
        if conflict.columns:
            targets = _COMMA.join([Ident(c) for c in conflict.columns])
            parts += [sql.SQL("("), targets, sql.SQL(") ")]
        if conflict.updates:
            parts += [sql.SQL("DO UPDATE SET "), _set_sql(conflict.updates)]
        else:
            parts.append(sql.SQL("DO NOTHING"))
    parts += _returning_sql(s.returning)
    return sql.Composed(parts)


def _render_update(s: Update) -> sql.Composed:
    parts: list[sql.Composable] = [sql.SQL("UPDATE "), _table_sql(s.table, s.alias)]
    parts += [sql.SQL(" SET "), _set_sql(s.values)]
    if s.where:
        parts += [sql.SQL(" WHERE "), _where_sql(s.where)]
    parts += _returning_sql(s.returning)
    return sql.Composed(parts)


def _render_delete(s: Delete) -> sql.Composed:
    parts: list[sql.Composable] = [sql.SQL("DELETE FROM "), _table_sql(s.table, s.alias)]
    if s.where:
        parts += [sql.SQL(" WHERE "), _where_sql(s.where)]
    parts += _returning_sql(s.returning)
    return sql.Composed(parts)


def _table_sql(table: ColumnRef, alias: str | None) -> sql.Composable:
    name = Ident(*table)
    return name if alias is None else name + sql.SQL(" AS ") + Ident(alias)


def _join_sql(join: Join) -> sql.Composable:
    return sql.Composed(
        [
            sql.SQL(" " + join.kind + " "),
            _table_sql(join.table, join.alias),
            sql.SQL(" ON "),
            render(join.left),
            sql.SQL(" " + join.operator + " "),
            render(join.right),
        ]
    )


def _term_sql(term: Term) -> sql.Composable:
    kind = type(term)
    if kind is Raw:
        return sql.SQL(term.text)  # type: ignore[union-attr]
    if kind is Alias:
        return _term_sql(term.term) + sql.SQL(" AS ") + Ident(term.name)  # type: ignore[union-attr]
    if kind is Count:
        return sql.SQL("count(") + render(term.column) + sql.SQL(")")  # type: ignore[union-attr]
    return render(term)  # type: ignore[arg-type]


def _order_sql(order: Order) -> sql.Composable:
    text: LiteralString = " DESC" if order.descending else " ASC"
    if order.nulls is not None:
        text = text + " " + order.nulls
    return _term_sql(order.term) + sql.SQL(text)


def _returning_sql(terms: tuple[Term, ...]) -> list[sql.Composable]:
    if not terms:
        return []
    return [sql.SQL(" RETURNING "), _COMMA.join(map(_term_sql, terms))]


def _set_sql(pairs: Iterable[tuple[str, Any]]) -> sql.Composable:
    return _COMMA.join(
        [
            Ident(name)
            + sql.SQL(" = ")
            + (sql.SQL("EXCLUDED.") + Ident(name) if v is EXCLUDED else _value_sql(v))
            for name, v in pairs
        ]
    )


def _value_sql(value: Any) -> sql.Composable:
    return sql.SQL(value.text) if type(value) is Raw else _PARAM


def _filter_sql(s: Select) -> sql.Composable:
    """WHERE's conditions, with the keyset condition of `after()` ANDed to them."""
    if s.after is None:
        return _where_sql(s.where)
    columns = _COMMA.join([render(cast(ColumnRef, o.term)) for o in s.order_by])
    operator = " < " if s.order_by[0].descending else " > "
    keyset = sql.Composed(
        [
            sql.SQL("("),
            columns,
            sql.SQL(")" + operator + "("),
            _COMMA.join([_PARAM] * len(s.after)),
            sql.SQL(")"),
        ]
    )
    if not s.where:
        return keyset
    where = _where_sql(s.where)
    if any(c.conjunction == "OR" for c in s.where[1:]):
        where = sql.SQL("(") + where + sql.SQL(")")
    return where + sql.SQL(" AND ") + keyset


def _where_sql(clauses: tuple[Clause, ...]) -> sql.Composable:
    """Left to right, as chained: where(a).or_where(b).where(c) is (a OR b) AND c."""
    expr: sql.Composable = _clause_sql(clauses[0])
    joined_by: str | None = None
    for clause in clauses[1:]:
        conjunction = clause.conjunction
        if joined_by is not None and joined_by != conjunction:
            expr = sql.SQL("(") + expr + sql.SQL(")")
        expr = expr + sql.SQL(" " + conjunction + " ") + _clause_sql(clause)
        joined_by = conjunction
    return expr


def _clause_sql(clause: Clause) -> sql.Composable:
    kind = type(clause)
    if kind is Condition:
        c: Condition = clause  # type: ignore[assignment]
        column = render(c.column)
        if c.value is NO_VALUE:
            body: sql.Composable = column + sql.SQL(" " + c.operator)
        elif c.operator in ("= ANY", "<> ALL"):
            body = column + sql.SQL(" " + c.operator + "(") + _value_sql(c.value) + sql.SQL(")")
        elif type(c.value) is Raw:
            body = column + sql.SQL(" " + c.operator + " (") + sql.SQL(c.value.text) + sql.SQL(")")
        else:
            body = column + sql.SQL(" " + c.operator + " %s")
        return sql.SQL("NOT (") + body + sql.SQL(")") if c.negated else body
    inner = (
        _where_sql(clause.clauses)  # type: ignore[union-attr]
        if kind is Group
        else sql.SQL(clause.raw.text)  # type: ignore[union-attr]
    )
    return sql.SQL("NOT (" if clause.negated else "(") + inner + sql.SQL(")")

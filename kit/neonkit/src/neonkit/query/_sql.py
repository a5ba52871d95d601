"""Shapes to SQL: the one place that writes SQL text, as `psycopg.sql` objects.

Names go through `sql.Identifier` (`Ident`), values are `%s` placeholders, raw fragments are
literal strings; a JSON key is quoted by `sql.Literal` (`Lit`).
"""

from __future__ import annotations

from typing import Any, LiteralString

from psycopg import sql

from ._names import ColumnRef, Ident, Lit, render
from ._statements import (
    EXCLUDED,
    Alias,
    Bounds,
    Clause,
    Condition,
    Count,
    Cte,
    Delete,
    Exists,
    Group,
    Insert,
    Join,
    JsonPath,
    Keyset,
    Order,
    Raw,
    RawCondition,
    Ref,
    Select,
    Statement,
    Term,
    Union,
    Update,
)

PARAM = sql.SQL("%s")
_COMMA = sql.SQL(", ")


def statement_sql(s: Statement) -> sql.Composed:
    match s:
        case Select():
            return _select(s)
        case Union():
            return _union(s)
        case Insert():
            return _insert(s)
        case Update():
            parts = [sql.SQL("UPDATE "), _table(s.table, s.alias), sql.SQL(" SET "),
                     _assignments(s.values)]  # fmt: skip
            if s.where:
                parts += [sql.SQL(" WHERE "), where_sql(s.where)]
            return sql.Composed(parts + _returning(s.returning))
        case Delete():
            parts = [sql.SQL("DELETE FROM "), _table(s.table, s.alias)]
            if s.where:
                parts += [sql.SQL(" WHERE "), where_sql(s.where)]
            return sql.Composed(parts + _returning(s.returning))


def _select(s: Select) -> sql.Composed:
    parts: list[sql.Composable] = []
    if s.ctes:
        parts += [sql.SQL("WITH "), _COMMA.join(map(_cte, s.ctes)), sql.SQL(" ")]
    parts.append(sql.SQL("SELECT DISTINCT " if s.distinct else "SELECT "))
    if s.distinct_on:
        on = _COMMA.join(map(term_sql, s.distinct_on))
        parts += [sql.SQL("DISTINCT ON ("), on, sql.SQL(") ")]
    parts += [_COMMA.join(map(term_sql, s.columns)) if s.columns else sql.SQL("*")]
    match s.table:
        case Select() | Union():
            source = sql.SQL("(") + statement_sql(s.table) + sql.SQL(")")
            parts += [sql.SQL(" FROM "), _aliased(source, s.alias)]
        case table:
            parts += [sql.SQL(" FROM "), _table(table, s.alias)]
    parts += [_join(join) for join in s.joins]
    if s.where or s.after is not None:
        parts += [sql.SQL(" WHERE "), _filter(s.where, s.after)]
    if s.group_by:
        parts += [sql.SQL(" GROUP BY "), _COMMA.join(map(term_sql, s.group_by))]
    if s.having:
        parts += [sql.SQL(" HAVING "), where_sql(s.having)]
    parts += _ordered(s.order_by, s.limit, s.offset)
    if s.lock is not None:
        parts.append(sql.SQL(" " + s.lock))
    return sql.Composed(parts)


def _union(u: Union) -> sql.Composed:
    parts: list[sql.Composable] = [sql.SQL("("), _select(u.first), sql.SQL(")")]
    for all_, select in u.others:
        parts += [sql.SQL(" UNION ALL (" if all_ else " UNION ("), _select(select), sql.SQL(")")]
    return sql.Composed(parts + _ordered(u.order_by, u.limit, u.offset))


def _ordered(orders: tuple[Order, ...], limit: Any, offset: Any) -> list[sql.Composable]:
    parts: list[sql.Composable] = []
    if orders:
        parts += [sql.SQL(" ORDER BY "), _COMMA.join(map(_order, orders))]
    if limit is not None:
        parts.append(sql.SQL(" LIMIT %s"))
    if offset is not None:
        parts.append(sql.SQL(" OFFSET %s"))
    return parts


def _insert(s: Insert) -> sql.Composed:
    parts: list[sql.Composable] = [sql.SQL("INSERT INTO "), _table(s.table, s.alias)]
    if not s.columns:
        parts.append(sql.SQL(" DEFAULT VALUES"))
    else:
        columns = _COMMA.join([Ident(c) for c in s.columns])
        if isinstance(s.rows, int):
            row = sql.SQL("(") + _COMMA.join([PARAM] * len(s.columns)) + sql.SQL(")")
            values = _COMMA.join([row] * s.rows)
        else:
            values = _COMMA.join(
                [sql.SQL("(") + _COMMA.join(map(_value, r)) + sql.SQL(")") for r in s.rows]
            )
        parts += [sql.SQL(" ("), columns, sql.SQL(") VALUES "), values]
    if s.conflict is not None:
        parts.append(sql.SQL(" ON CONFLICT "))
        if s.conflict.columns:
            targets = _COMMA.join([Ident(c) for c in s.conflict.columns])
            parts += [sql.SQL("("), targets, sql.SQL(") ")]
        if s.conflict.updates:
            parts += [sql.SQL("DO UPDATE SET "), _assignments(s.conflict.updates)]
        else:
            parts.append(sql.SQL("DO NOTHING"))
    return sql.Composed(parts + _returning(s.returning))


def _cte(cte: Cte) -> sql.Composable:
    body = sql.SQL(cte.query.text) if isinstance(cte.query, Raw) else statement_sql(cte.query)
    return Ident(cte.name) + sql.SQL(" AS (") + body + sql.SQL(")")


def _table(table: ColumnRef, alias: str | None) -> sql.Composable:
    return _aliased(Ident(*table), alias)


def _aliased(source: sql.Composable, alias: str | None) -> sql.Composable:
    return source if alias is None else source + sql.SQL(" AS ") + Ident(alias)


def _join(join: Join) -> sql.Composable:
    return sql.Composed([
        sql.SQL(" " + join.kind + " "), _table(join.table, join.alias), sql.SQL(" ON "),
        render(join.left), sql.SQL(" " + join.operator + " "), render(join.right),
    ])  # fmt: skip


def term_sql(term: Term) -> sql.Composable:
    match term:
        case Raw():
            return sql.SQL(term.text)
        case Alias():
            return term_sql(term.term) + sql.SQL(" AS ") + Ident(term.name)
        case Count():
            return sql.SQL("count(") + render(term.column) + sql.SQL(")")
        case JsonPath():
            key = Lit(list(term.key) if isinstance(term.key, tuple) else term.key)
            operator = sql.SQL(" " + term.operator + " ")
            return sql.SQL("(") + render(term.column) + operator + key + sql.SQL(")")
        case column:
            return render(column)


def _order(order: Order) -> sql.Composable:
    text: LiteralString = " DESC" if order.descending else " ASC"
    if order.nulls is not None:
        text = text + " " + order.nulls
    return term_sql(order.term) + sql.SQL(text)


def _returning(terms: tuple[Term, ...]) -> list[sql.Composable]:
    if not terms:
        return []
    return [sql.SQL(" RETURNING "), _COMMA.join(map(term_sql, terms))]


def _assignments(pairs: tuple[tuple[str, Any], ...]) -> sql.Composable:
    return _COMMA.join([Ident(name) + sql.SQL(" = ") + _value(v, name) for name, v in pairs])


def _value(value: Any, name: str = "") -> sql.Composable:
    match value:
        case Raw():
            return sql.SQL(value.text)
        case Ref():
            return render(value.column)
        case Select() | Union():
            return sql.SQL("(") + statement_sql(value) + sql.SQL(")")
        case _ if value is EXCLUDED:
            return sql.SQL("EXCLUDED.") + Ident(name)
        case _:
            return PARAM


def _filter(where: tuple[Clause, ...], after: Keyset | None) -> sql.Composable:
    """WHERE's conditions, with the keyset condition of after() ANDed to them."""
    if after is None:
        return where_sql(where)
    operator: LiteralString = ") < (" if after.descending else ") > ("
    keyset = sql.Composed([
        sql.SQL("("), _COMMA.join(map(render, after.columns)), sql.SQL(operator),
        _COMMA.join([PARAM] * len(after.values)), sql.SQL(")"),
    ])  # fmt: skip
    if not where:
        return keyset
    conditions = where_sql(where)
    if any(c.conjunction == "OR" for c in where[1:]):
        conditions = sql.SQL("(") + conditions + sql.SQL(")")
    return conditions + sql.SQL(" AND ") + keyset


def where_sql(clauses: tuple[Clause, ...]) -> sql.Composable:
    """Left to right, as chained: where(a).or_where(b).where(c) is (a OR b) AND c."""
    expr = _clause(clauses[0])
    joined_by: str | None = None
    for clause in clauses[1:]:
        if joined_by is not None and joined_by != clause.conjunction:
            expr = sql.SQL("(") + expr + sql.SQL(")")
        expr = expr + sql.SQL(" " + clause.conjunction + " ") + _clause(clause)
        joined_by = clause.conjunction
    return expr


def _clause(clause: Clause) -> sql.Composable:
    match clause:
        case Condition():
            body = _condition(clause)
            return sql.SQL("NOT (") + body + sql.SQL(")") if clause.negated else body
        case Group():
            inner = where_sql(clause.clauses)
        case RawCondition():
            inner = sql.SQL(clause.raw.text)
        case Exists():
            prefix: LiteralString = "NOT EXISTS (" if clause.negated else "EXISTS ("
            return sql.SQL(prefix) + _select(clause.query) + sql.SQL(")")
    return sql.SQL("NOT (" if clause.negated else "(") + inner + sql.SQL(")")


def _condition(c: Condition) -> sql.Composable:
    left = term_sql(c.left)
    match c.value:
        case None:
            return left + sql.SQL(" " + c.operator)
        case Bounds():
            low, high = _bound(c.value.low), _bound(c.value.high)
            return left + sql.SQL(" " + c.operator + " ") + low + sql.SQL(" AND ") + high
        case Select() | Union() if c.operator in ("= ANY", "<> ALL"):
            subquery = statement_sql(c.value)
            return left + sql.SQL(" " + c.operator + " (") + subquery + sql.SQL(")")
        case Raw() if c.operator not in ("= ANY", "<> ALL"):
            return left + sql.SQL(" " + c.operator + " (") + _value(c.value) + sql.SQL(")")
        case _ if c.operator in ("= ANY", "<> ALL"):
            return left + sql.SQL(" " + c.operator + "(") + _value(c.value) + sql.SQL(")")
        case _:
            return left + sql.SQL(" " + c.operator + " ") + _value(c.value)


def _bound(value: Any) -> sql.Composable:
    """A BETWEEN bound: a raw one in parentheses, so an AND in it stays its own."""
    return sql.SQL("(" + value.text + ")") if isinstance(value, Raw) else PARAM

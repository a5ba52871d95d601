"""SELECT, and `table()`, where every query starts.

table("todos").select("id", "title").where("done", False).order_by("id").limit(20)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, LiteralString

from ..errors import QueryBuildError
from ._builder import Query
from ._conditions import MISSING, Filtered, clauses, operator
from ._delete import DeleteQuery, delete_statement
from ._insert import InsertQuery, insert_statement
from ._names import ColumnRef, column, dotted, identifier, show, table_name
from ._raw import Raw
from ._statements import Alias, Clause, Count, Join, Order, Select, Term
from ._terms import terms
from ._update import UpdateQuery, update_statement
from ._values import value

_F = {name: index for index, name in enumerate(Select._fields)}
_COLUMNS, _AFTER, _ORDER_BY = _F["columns"], _F["after"], _F["order_by"]
_new = tuple.__new__
_DIRECTIONS: dict[str, bool] = {"asc": False, "desc": True}
_NULLS: dict[Any, LiteralString | None] = {
    None: None,
    "first": "NULLS FIRST",
    "last": "NULLS LAST",
}
_JOIN_OPERATORS = ("=", "<>", "<", "<=", ">", ">=")
# Clauses a SELECT may carry, with the method that sets them, for "cannot follow" errors.
_CLAUSES = {
    "columns": "select",
    "distinct": "distinct",
    "joins": "join",
    "where": "where",
    "after": "after",
    "group_by": "group_by",
    "having": "having",
    "order_by": "order_by",
    "limit": "limit",
    "offset": "offset",
    "lock": "for_update",
}
_EMPTY = {"columns": (), "distinct": False, "joins": (), "where": (), "after": None,
          "group_by": (), "having": (), "order_by": (), "limit": None, "offset": None,
          "lock": None}  # fmt: skip


def table(name: str, alias: str | None = None) -> SelectQuery:
    """A query on a table ('todos' or 'schema.todos'): SELECT * until told otherwise."""
    if type(name) is str and alias is None:
        query = _tables.get(name)
        if query is not None:
            return query  # builders are immutable: one per table can be shared
    if alias is not None:
        identifier(alias, "table alias")
    query = SelectQuery(_select(table_name(name), alias))
    if alias is None:
        if len(_tables) >= _TABLES_SIZE:
            _tables.clear()
        _tables[name] = query
    return query


_TABLES_SIZE = 256
_tables: dict[str, SelectQuery] = {}


def _select(
    table: ColumnRef,
    alias: str | None,
    columns: tuple[Term, ...] = (),
    joins: tuple[Join, ...] = (),
    where: tuple[Clause, ...] = (),
) -> Select:
    return Select(table, alias, columns, False, joins, where, None, (), (), (), None, None, None)


class SelectQuery(Filtered, Query):
    """A SELECT; also where insert(), update(), delete() and count() start."""

    __slots__ = ()
    _statement: Select
    _WHERE = _F["where"]

    def select(self, *columns: str | Raw, **aliases: str | Raw) -> SelectQuery:
        """Add columns: "id", "todos.id", "*", "todos.*", raw(...); keywords give aliases."""
        added = terms(columns, aliases, "select")
        return self._derive(_COLUMNS, self._statement.columns + added)

    def distinct(self) -> SelectQuery:
        return self._derive(_F["distinct"], True)

    def join(
        self,
        table: str,
        left: str,
        op_or_right: str,
        right: Any = MISSING,
        *,
        alias: str | None = None,
    ) -> SelectQuery:
        """JOIN table ON left = right (or left op right); columns as "table.column"."""
        return self._join("JOIN", table, left, op_or_right, right, alias)

    def left_join(
        self,
        table: str,
        left: str,
        op_or_right: str,
        right: Any = MISSING,
        *,
        alias: str | None = None,
    ) -> SelectQuery:
        """LEFT JOIN table ON left = right (or left op right)."""
        return self._join("LEFT JOIN", table, left, op_or_right, right, alias)

    def _join(
        self, kind: LiteralString, name: str, left: str, op: str, right: Any, alias: str | None
    ) -> SelectQuery:
        if right is MISSING:
            op, right = "=", op
        sql_op = operator(op)
        if sql_op not in _JOIN_OPERATORS:
            raise QueryBuildError(f"join operator must be one of {_JOIN_OPERATORS}, got {show(op)}")
        if alias is not None:
            identifier(alias, "join alias")
        join = Join(kind, table_name(name), alias, column(left, what="join column"),
                    sql_op, column(right, what="join column"))  # fmt: skip
        return self._derive(_F["joins"], (*self._statement.joins, join))

    def group_by(self, *columns: str | Raw) -> SelectQuery:
        added = tuple(c if type(c) is Raw else column(c, what="group_by() column") for c in columns)
        return self._derive(_F["group_by"], self._statement.group_by + added)

    def having(self, first: Any, second: Any = MISSING, third: Any = MISSING, /) -> SelectQuery:
        """Like where(), on the groups: having(raw("count(*) > %s", [1]))."""
        added = clauses("AND", False, first, second, third, "having")
        return self._derive(_F["having"], self._statement.having + added)

    def or_having(self, first: Any, second: Any = MISSING, third: Any = MISSING, /) -> SelectQuery:
        added = clauses("OR", False, first, second, third, "or_having")
        return self._derive(_F["having"], self._statement.having + added)

    def order_by(
        self, column_: str | Raw, direction: str = "asc", nulls: str | None = None
    ) -> SelectQuery:
        """ORDER BY column ASC|DESC [NULLS FIRST|LAST]; call once per column."""
        s = self._statement
        if s.after is not None:
            raise QueryBuildError("order_by() must come before after(), which follows its columns")
        descending = _DIRECTIONS.get(direction) if type(direction) is str else None
        if descending is None:
            descending = _DIRECTIONS.get(direction.lower()) if isinstance(direction, str) else None
            if descending is None:
                raise QueryBuildError(
                    f"order_by() direction must be 'asc' or 'desc', got {show(direction)}"
                )
        if nulls is None:
            nulls_sql = None
        else:
            nulls_sql = _NULLS.get(nulls.lower()) if isinstance(nulls, str) else None
            if nulls_sql is None:
                raise QueryBuildError(
                    f"order_by() nulls must be 'first' or 'last', got {show(nulls)}"
                )
        term = column_ if type(column_) is Raw else column(column_, what="order_by() column")
        return self._derive(_ORDER_BY, (*s.order_by, _new(Order, (term, descending, nulls_sql))))

    def limit(self, n: int) -> SelectQuery:
        """LIMIT n, bound as a parameter."""
        return self._derive(_F["limit"], _count(n, "limit"))

    def offset(self, n: int) -> SelectQuery:
        """OFFSET n, bound as a parameter."""
        return self._derive(_F["offset"], _count(n, "offset"))

    def after(self, keys: Mapping[str, Any] | Sequence[Any]) -> SelectQuery:
        """Keyset pagination: the rows after `keys` (the last row seen) in order_by order.

        .order_by("due").order_by("id").after({"due": d, "id": 41})  ->  ("due", "id") > (%s, %s)
        """
        orders = self._statement.order_by
        if not orders:
            raise QueryBuildError("after() needs order_by(...) first: it continues in that order")
        descending = orders[0].descending
        names: list[str] = []
        for order in orders:
            if type(order.term) is not tuple:
                raise QueryBuildError(
                    "after() cannot follow an order_by(raw(...)); order by columns"
                )
            if order.descending is not descending:
                raise _mixed_directions(orders)
            names.append(".".join(order.term))  # type: ignore[arg-type]
        frozen: list[Any] = []
        for name, v in zip(names, _keyset(keys, names), strict=True):
            if v is None:
                raise QueryBuildError(
                    f"after() value for {name!r} is None; keyset columns must not be NULL"
                )
            frozen.append(value(v, name))
        return self._derive(_AFTER, tuple(frozen))

    def for_update(self, skip_locked: bool = False) -> SelectQuery:
        """FOR UPDATE [SKIP LOCKED]: lock the rows (inside db.transaction())."""
        if type(skip_locked) is not bool:
            raise QueryBuildError(
                f"for_update(skip_locked=...) takes True or False, got {skip_locked!r}"
            )
        return self._derive(_F["lock"], "FOR UPDATE SKIP LOCKED" if skip_locked else "FOR UPDATE")

    def count(self, column_: str = "*") -> SelectQuery:
        """SELECT count(column) AS "count" with the same FROM, joins and conditions."""
        s = self._statement
        if s.distinct or s.group_by or s.having:
            raise QueryBuildError(
                "count() of a distinct or grouped query is ambiguous; select the count you "
                "mean, e.g. select(n=raw('count(DISTINCT title)'))"
            )
        counted = Count(column(column_, star=True, what="count() column"))
        columns = (Alias(counted, "count"),)
        return SelectQuery(_select(s.table, s.alias, columns, s.joins, s.where))

    def insert(self, rows: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> InsertQuery:
        """INSERT one dict, or a list of dicts with the same keys."""
        s = self._only("insert")
        return InsertQuery(insert_statement(s.table, s.alias, rows))

    def update(self, values: Mapping[str, Any], *, all_rows: bool = False) -> UpdateQuery:
        """UPDATE ... SET values WHERE (this query's conditions); all_rows=True for none."""
        s = self._only("update", "where")
        return UpdateQuery(update_statement(s.table, s.alias, values, s.where, all_rows))

    def delete(self, *, all_rows: bool = False) -> DeleteQuery:
        """DELETE FROM ... WHERE (this query's conditions); all_rows=True for none."""
        s = self._only("delete", "where")
        return DeleteQuery(delete_statement(s.table, s.alias, s.where, all_rows))

    def _only(self, method: str, *allowed: str) -> Select:
        s = self._statement
        for field, setter in _CLAUSES.items():
            if field not in allowed and s[_F[field]] != _EMPTY[field]:
                raise QueryBuildError(
                    f"{method}() cannot follow {setter}(): an {method.upper()} takes "
                    + ("where() conditions only" if allowed else "no clauses of a SELECT")
                )
        return s


def _count(n: Any, method: str) -> int:
    if type(n) is not int or not 0 <= n <= _BIGINT_MAX:
        raise QueryBuildError(f"{method}() takes a non-negative int (a bigint), got {show(n)}")
    return n


_BIGINT_MAX = 2**63 - 1


def _keyset(keys: Any, names: list[str]) -> list[Any]:
    """The after() values in order_by order, from a mapping or a sequence."""
    if type(keys) is dict or isinstance(keys, Mapping):
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
    directions = [(dotted(o.term), "desc" if o.descending else "asc") for o in orders]  # type: ignore[arg-type]
    return QueryBuildError(
        "after() needs every order_by() column in the same direction (all asc or all desc), "
        f"got {directions!r}"
    )

"""SELECT, and `table()`, where every query starts; UNION of selects.

table("todos").select("id", "title").where("done", False).order_by("id").limit(20)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, LiteralString

from ..errors import QueryBuildError
from ._builder import Query
from ._conditions import MISSING, Filtered, clauses, operator
from ._delete import DeleteQuery, delete_statement
from ._insert import InsertQuery, insert_statement
from ._keyset import keyset
from ._names import ColumnRef, column, identifier, show, table_name
from ._statements import (
    Alias,
    Clause,
    Cte,
    Expression,
    Join,
    JsonPath,
    Raw,
    Select,
    Statement,
    Union,
    empty_select,
)
from ._terms import count_term, expression, order, terms
from ._union import union
from ._update import UpdateQuery, update_statement
from ._values import row_count

_JOIN_OPERATORS = ("=", "<>", "<", "<=", ">", ">=")
# The clauses of a SELECT, with the method that sets them, for "cannot follow" errors.
_SETTERS = {"ctes": "with_", "columns": "select", "distinct": "distinct",
            "distinct_on": "distinct_on", "joins": "join", "where": "where", "after": "after",
            "group_by": "group_by", "having": "having", "order_by": "order_by",
            "limit": "limit", "offset": "offset", "lock": "for_update"}  # fmt: skip
_EMPTY = empty_select(("t",), None)


def table(name: str, alias: str | None = None) -> SelectQuery:
    """A query on a table ('todos' or 'schema.todos'): SELECT * until told otherwise."""
    if not isinstance(name, str) or not isinstance(alias, str | None):
        table_name(name)  # raises, naming what is wrong
        identifier(alias, "table alias")
    return _table(name, alias)


@functools.lru_cache(maxsize=256)  # builders are immutable: one per table can be shared
def _table(name: str, alias: str | None) -> SelectQuery:
    if alias is not None:
        identifier(alias, "table alias")
    return SelectQuery(empty_select(table_name(name), alias))


class SelectQuery(Filtered, Query[Select]):
    """A SELECT; also where insert(), update(), delete(), count() and union() start."""

    __slots__ = ()

    def select(
        self, *columns: str | Raw | Alias | JsonPath, **aliases: str | Raw | JsonPath
    ) -> SelectQuery:
        """Add columns: "id", "todos.id", "*", "todos.*", raw(...), alias(column, name)."""
        s = self._statement
        return SelectQuery(s._replace(columns=s.columns + terms(columns, aliases, "select")))

    def distinct(self) -> SelectQuery:
        """SELECT DISTINCT."""
        if self._statement.distinct_on:
            raise QueryBuildError("distinct() cannot follow distinct_on(): choose one")
        return SelectQuery(self._statement._replace(distinct=True))

    def distinct_on(self, *columns: str | JsonPath | Raw) -> SelectQuery:
        """SELECT DISTINCT ON (columns): the first row of each group, in order_by() order."""
        s = self._statement
        if not columns:
            raise QueryBuildError("distinct_on() needs at least one column")
        if s.distinct:
            raise QueryBuildError("distinct_on() cannot follow distinct(): choose one")
        added = tuple(_group_term(c, "distinct_on") for c in columns)
        return SelectQuery(s._replace(distinct_on=s.distinct_on + added))

    def join(
        self, table: str, left: str, op_or_right: str, right: Any = MISSING, *,
        alias: str | None = None,
    ) -> SelectQuery:  # fmt: skip
        """JOIN table ON left = right (or left op right); columns as "table.column"."""
        return self._join("JOIN", table, left, op_or_right, right, alias)

    def left_join(
        self, table: str, left: str, op_or_right: str, right: Any = MISSING, *,
        alias: str | None = None,
    ) -> SelectQuery:  # fmt: skip
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
        return SelectQuery(self._statement._replace(joins=(*self._statement.joins, join)))

    def _add_where(self, added: tuple[Clause, ...]) -> SelectQuery:
        return SelectQuery(self._statement._replace(where=self._statement.where + added))

    def group_by(self, *columns: str | JsonPath | Raw) -> SelectQuery:
        added = tuple(_group_term(c, "group_by") for c in columns)
        return SelectQuery(self._statement._replace(group_by=self._statement.group_by + added))

    def having(self, first: Any, second: Any = MISSING, third: Any = MISSING, /) -> SelectQuery:
        """Like where(), on the groups: having(raw("count(*) > %s", [1]))."""
        added = clauses("AND", False, first, second, third, "having")
        return SelectQuery(self._statement._replace(having=self._statement.having + added))

    def or_having(self, first: Any, second: Any = MISSING, third: Any = MISSING, /) -> SelectQuery:
        added = clauses("OR", False, first, second, third, "or_having")
        return SelectQuery(self._statement._replace(having=self._statement.having + added))

    def order_by(
        self, column_: str | JsonPath | Raw, direction: str = "asc", nulls: str | None = None
    ) -> SelectQuery:
        """ORDER BY column ASC|DESC [NULLS FIRST|LAST]; call once per column."""
        s = self._statement
        if s.after is not None:
            raise QueryBuildError("order_by() must come before after(), which follows its columns")
        return SelectQuery(s._replace(order_by=(*s.order_by, order(column_, direction, nulls))))

    def limit(self, n: int) -> SelectQuery:
        """LIMIT n, bound as a parameter."""
        return SelectQuery(self._statement._replace(limit=row_count(n, "limit")))

    def offset(self, n: int) -> SelectQuery:
        """OFFSET n, bound as a parameter."""
        return SelectQuery(self._statement._replace(offset=row_count(n, "offset")))

    def after(self, keys: Mapping[str, Any] | Sequence[Any]) -> SelectQuery:
        """Keyset pagination: the rows after `keys` (the last row seen) in order_by order.

        .order_by("due").order_by("id").after({"due": d, "id": 41})  ->  ("due", "id") > (%s, %s)
        """
        return SelectQuery(self._statement._replace(after=keyset(self._statement.order_by, keys)))

    def for_update(self, skip_locked: bool = False) -> SelectQuery:
        """FOR UPDATE [SKIP LOCKED]: lock the rows (inside db.transaction())."""
        if type(skip_locked) is not bool:
            raise QueryBuildError(
                f"for_update(skip_locked=...) takes True or False, got {skip_locked!r}"
            )
        lock: LiteralString = "FOR UPDATE SKIP LOCKED" if skip_locked else "FOR UPDATE"
        return SelectQuery(self._statement._replace(lock=lock))

    def with_(self, name: str, query: Query[Any] | Raw) -> SelectQuery:
        """WITH name AS (query) before this SELECT, which reads it as table(name).

        The query may be a write with returning(): WITH moved AS (DELETE ... RETURNING *).
        """
        identifier(name, "with_() name")
        match query:
            case Raw():
                body: Statement | Raw = query
            case Query():
                body = query.statement
            case _:
                raise QueryBuildError(f"with_() takes a query or raw(...), got {show(query)}")
        s = self._statement
        if any(cte.name == name for cte in s.ctes):
            raise QueryBuildError(f"with_() name {name!r} is given twice")
        return SelectQuery(s._replace(ctes=(*s.ctes, Cte(name, body))))

    def union(self, *queries: SelectQuery, all: bool = False) -> UnionQuery:
        """(this) UNION [ALL] (each query); order_by(), limit(), offset() apply to the whole."""
        return UnionQuery(union(self._statement, queries, all))

    def count(self, column_: str = "*") -> SelectQuery:
        """SELECT count(column) AS "count": the rows this query matches, without its limit,
        offset and order (the total of a paginated listing).

        Joins, conditions and after() are kept; a distinct or grouped query is counted as a
        subquery, one row per row it returns: count(*) FROM (query) AS "counted".
        """
        return SelectQuery(count_statement(self._statement, column_))

    def insert(self, rows: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> InsertQuery:
        """INSERT one dict, or a list of dicts with the same keys."""
        name, s = self._target("insert")
        return InsertQuery(insert_statement(name, s.alias, rows))

    def update(self, values: Mapping[str, Any], *, all_rows: bool = False) -> UpdateQuery:
        """UPDATE ... SET values WHERE (this query's conditions); all_rows=True for none."""
        name, s = self._target("update", "where")
        return UpdateQuery(update_statement(name, s.alias, values, s.where, all_rows))

    def delete(self, *, all_rows: bool = False) -> DeleteQuery:
        """DELETE FROM ... WHERE (this query's conditions); all_rows=True for none."""
        name, s = self._target("delete", "where")
        return DeleteQuery(delete_statement(name, s.alias, s.where, all_rows))

    def _target(self, method: str, *allowed: str) -> tuple[ColumnRef, Select]:
        """The table to write, if this query sets no clause a write cannot take."""
        s = self._statement
        if isinstance(s.table, Select | Union):
            raise QueryBuildError(f"{method}() needs a table, not a subquery")
        for field, setter in _SETTERS.items():
            if field not in allowed and getattr(s, field) != getattr(_EMPTY, field):
                raise QueryBuildError(
                    f"{method}() cannot follow {setter}(): an {method.upper()} takes "
                    + ("where() conditions only" if allowed else "no clauses of a SELECT")
                )
        return s.table, s


# Beside SelectQuery, not in _union: its union() returns one, and a union's count() is a select.
class UnionQuery(Query[Union]):
    """Selects combined by UNION [ALL]: union(), then order_by(), limit(), offset(), count()."""

    __slots__ = ()

    def union(self, *queries: SelectQuery, all: bool = False) -> UnionQuery:
        return UnionQuery(union(self._statement, queries, all))

    def order_by(
        self, column: str | Raw, direction: str = "asc", nulls: str | None = None
    ) -> UnionQuery:
        """ORDER BY an output column of the union (by its name or alias)."""
        s = self._statement
        return UnionQuery(s._replace(order_by=(*s.order_by, order(column, direction, nulls))))

    def limit(self, n: int) -> UnionQuery:
        return UnionQuery(self._statement._replace(limit=row_count(n, "limit")))

    def offset(self, n: int) -> UnionQuery:
        return UnionQuery(self._statement._replace(offset=row_count(n, "offset")))

    def count(self) -> SelectQuery:
        """SELECT count(*) AS "count" of the union's rows."""
        return SelectQuery(count_statement(self._statement, "*"))


def count_statement(s: Select | Union, column_: str) -> Select:
    """The Select of count(): the same rows, without paging, counted."""
    counted = (count_term(column_),)
    if isinstance(s, Union):
        inner_union = s._replace(order_by=(), limit=None, offset=None)
        return empty_select(inner_union, "counted")._replace(columns=counted)
    if not (s.distinct or s.distinct_on or s.group_by or s.having):
        return empty_select(s.table, s.alias)._replace(
            ctes=s.ctes, columns=counted, joins=s.joins, where=s.where, after=s.after
        )
    if column_ != "*":
        raise QueryBuildError(
            f"count({column_!r}) of a distinct or grouped query: count() counts the rows it "
            "returns; to count values, select(n=raw('count(DISTINCT ...)'))"
        )
    # DISTINCT ON keeps the first row of each group in the order: the order stays with it.
    order_by = s.order_by if s.distinct_on else ()
    inner = s._replace(order_by=order_by, limit=None, offset=None, lock=None)
    return empty_select(inner, "counted")._replace(columns=counted)


def _group_term(term: Any, method: str) -> Expression | Raw:
    return term if isinstance(term, Raw) else expression(term, f"{method}() column")

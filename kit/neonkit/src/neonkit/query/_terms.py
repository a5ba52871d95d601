"""Terms: what select(), returning(), order_by(), group_by() and a condition's left side take.

    select("id", "todos.*", raw("now()"), alias("title", "name"), n=raw("count(*)"))

    json_path("payload", "->>", "kind")         ("payload" ->> 'kind')
    json_path("payload", "#>>", ["user", "id"]) ("payload" #>> '{user,id}')

A column on the right of a condition is ref("table.column"): a plain string is a value.

A JSON key is part of the query's text, like a column name, not a bound parameter: an
expression index on `(payload ->> 'kind')`, and a GROUP BY of the same expression, only
match a constant key. It is quoted by `psycopg.sql.Literal`.

An alias given as alias(term, name) stays where it is written among the columns; one given
as a keyword comes after the positional ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, LiteralString, Self

from ..errors import QueryBuildError
from ._names import ColumnRef, column, identifier, show
from ._statements import Alias, Count, Expression, JsonPath, Order, Raw, Ref, Term

_JSON_OPERATORS: dict[str, LiteralString] = {"->": "->", "->>": "->>", "#>": "#>", "#>>": "#>>"}
_DIRECTIONS: dict[str, bool] = {"asc": False, "desc": True}
_NULLS: dict[str, LiteralString] = {"first": "NULLS FIRST", "last": "NULLS LAST"}


def alias(term: str | Raw | JsonPath, name: str) -> Alias:
    """`term AS "name"`, in its place among select()'s or returning()'s columns."""
    return _alias(term, name, "alias", "alias() name")


def json_path(column_: str, operator: str, key: str | int | list[str | int]) -> JsonPath:
    """A field of a json/jsonb column: -> (as json) and ->> (as text) take a key or an index,
    #> and #>> a path (a list of keys and indexes)."""
    ref_ = column(column_, what="json_path() column")
    op = _JSON_OPERATORS.get(operator) if isinstance(operator, str) else None
    if op is None:
        raise QueryBuildError(
            f"json_path() operator must be one of {' '.join(_JSON_OPERATORS)}, got {show(operator)}"
        )
    if op in ("#>", "#>>"):
        if not isinstance(key, list | tuple) or not key:
            raise QueryBuildError(
                f"json_path() with {op} takes a non-empty list of keys (a path), got {show(key)}"
            )
        return JsonPath(ref_, op, tuple(str(_key(k)) for k in key))
    return JsonPath(ref_, op, _key(key))


def ref(name: str) -> Ref:
    """A column, to compare with: where("tags.todo_id", ref("todos.id"))."""
    return Ref(column(name, what="ref() column"))


def terms(columns: tuple[Any, ...], aliases: Mapping[str, Any], method: str) -> tuple[Term, ...]:
    """select("id", "todos.*", raw("now()"), alias("b", "bb"), n=raw("count(*)"))."""
    what = f"{method}() column"
    recorded = tuple([_term(c, what) for c in columns])
    if aliases:
        alias_what = f"{method}() alias"
        recorded += tuple([_alias(t, name, method, alias_what) for name, t in aliases.items()])
    return recorded


def expression(term: Any, what: str) -> Expression:
    """A column name or a json_path(): what conditions, orders and groups compare."""
    return term if isinstance(term, JsonPath) else column(term, what=what)


def order(term: Any, direction: Any, nulls: Any, method: str = "order_by") -> Order:
    """ORDER BY term ASC|DESC [NULLS FIRST|LAST]."""
    descending = _DIRECTIONS.get(direction.lower()) if isinstance(direction, str) else None
    if descending is None:
        raise QueryBuildError(
            f"{method}() direction must be 'asc' or 'desc', got {show(direction)}"
        )
    nulls_sql = None
    if nulls is not None:
        nulls_sql = _NULLS.get(nulls.lower()) if isinstance(nulls, str) else None
        if nulls_sql is None:
            raise QueryBuildError(f"{method}() nulls must be 'first' or 'last', got {show(nulls)}")
    recorded = term if isinstance(term, Raw) else expression(term, f"{method}() column")
    return Order(recorded, descending, nulls_sql)


def _term(term: Any, what: str) -> Term:
    match term:
        case str():  # the usual case first
            return column(term, star=True, what=what)
        case Raw() | Alias() | JsonPath():
            return term
        case _:
            return column(term, star=True, what=what)


def _alias(term: Any, name: Any, method: str, what: str) -> Alias:
    identifier(name, what)
    match term:
        case Raw() | JsonPath():
            return Alias(term, name)
        case str() if term.rsplit(".", 1)[-1] == "*":
            raise QueryBuildError(f"{method}() cannot alias '*' (as {name!r}), got {term!r}")
        case _:
            return Alias(column(term, what=f"{method}() column"), name)


def _key(key: Any) -> str | int:
    if type(key) is int or (isinstance(key, str) and "\x00" not in key):
        return key
    raise QueryBuildError(f"json_path() key must be a str or an int, got {show(key)}")


def count_term(name: Any) -> Alias:
    """count(column) AS "count"."""
    counted: ColumnRef = column(name, star=True, what="count() column")
    return Alias(Count(counted), "count")


class Returning:
    """returning(...), for a builder that implements `_add_returning`."""

    __slots__ = ()

    def returning(self, *columns: str | Raw | Alias | JsonPath, **aliases: str | Raw) -> Self:
        """RETURNING these columns ("*" for all); `db.all` / `db.one` then give the rows."""
        if not columns and not aliases:
            raise QueryBuildError(f"returning() needs at least one column, got {show(columns)}")
        return self._add_returning(terms(columns, aliases, "returning"))

    def _add_returning(self, added: tuple[Term, ...]) -> Self:
        raise NotImplementedError

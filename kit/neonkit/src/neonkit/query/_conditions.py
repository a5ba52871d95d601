"""Conditions: where / or_where / where_not / or_where_not / where_exists, and the operators.

    .where("id", 7)                        "id" = %s
    .where("id", ">", 5)                   "id" > %s
    .where("tag", "in", ["a", "b"])        "tag" = ANY(%s)   (one parameter: the shape is stable)
    .where("tag", "in", [])                (FALSE)           (nothing is in an empty list)
    .where("n", "between", (1, 9))         "n" BETWEEN %s AND %s
    .where("due", None)                    "due" IS NULL
    .where({"done": False, "user": 3})     "done" = %s AND "user" = %s
    .where(lambda w: w.where("a", 1).or_where("b", 2))       ("a" = %s OR "b" = %s)
    .where(raw("lower(title) = %s", ["x"]))                  (lower(title) = %s)
    .where("id", "in", table("tags").select("todo_id"))      "id" = ANY (SELECT ...)
    .where_exists(table("tags").where("tags.todo_id", ref("todos.id")))   EXISTS (SELECT ...)

Chained conditions combine left to right: where(a).or_where(b).where(c) is (a OR b) AND c,
so extending a query with where() always narrows what it matched before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, LiteralString, Self, overload

from ..errors import QueryBuildError
from ._builder import Query, Recorder
from ._names import dotted, show
from ._statements import (
    Bounds,
    Clause,
    Condition,
    Exists,
    Group,
    JsonPath,
    Operand,
    Raw,
    RawCondition,
    Ref,
    Select,
    Union,
)
from ._terms import expression
from ._values import array_text, frozen, param

MISSING: Any = object()

# What a user may write (lower case, single spaces) -> the SQL operator.
OPERATORS: dict[str, LiteralString] = {
    "=": "=",
    "!=": "<>",
    "<>": "<>",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "like": "LIKE",
    "ilike": "ILIKE",
    "not like": "NOT LIKE",
    "not ilike": "NOT ILIKE",
    "in": "= ANY",
    "not in": "<> ALL",
    "between": "BETWEEN",
    "not between": "NOT BETWEEN",
    "is": "IS",
    "is not": "IS NOT",
    "@>": "@>",
    "<@": "<@",
    "&&": "&&",
}
_LISTS = (list, tuple, set, frozenset)
# With None (or True/False for `is`), an operator needs no parameter.
_WITHOUT_VALUE: dict[tuple[str, Any], LiteralString] = {
    ("=", None): "IS NULL",
    ("IS", None): "IS NULL",
    ("<>", None): "IS NOT NULL",
    ("IS NOT", None): "IS NOT NULL",
    ("IS", True): "IS TRUE",
    ("IS", False): "IS FALSE",
    ("IS NOT", True): "IS NOT TRUE",
    ("IS NOT", False): "IS NOT FALSE",
}


def operator(op: Any) -> LiteralString:
    """The SQL for an allowed operator (any case), else QueryBuildError naming it."""
    found = OPERATORS.get(" ".join(op.lower().split())) if isinstance(op, str) else None
    if found is None:
        raise QueryBuildError(f"unknown operator {show(op)}; allowed: {' '.join(OPERATORS)}")
    return found


def condition(conjunction: LiteralString, negated: bool, left: Any, op: str, value: Any) -> Clause:
    """One recorded condition; `op` is already SQL (from `operator()`)."""
    target = expression(left, "column")
    name = dotted(target.column if isinstance(target, JsonPath) else target)
    if value is None or type(value) is bool:
        without = _WITHOUT_VALUE.get((op, value))
        if without is not None:
            return Condition(conjunction, negated, target, without, None)
        if value is None:
            raise QueryBuildError(
                f"column {show(name)}: operator {op!r} cannot compare with None; write "
                f"where(column, None) for IS NULL or where(column, '!=', None) for IS NOT NULL"
            )
    match op:
        case "IS" | "IS NOT":
            raise QueryBuildError(
                f"column {show(name)}: 'is' and 'is not' compare with None, True or False, "
                f"got {show(value)}"
            )
        case "= ANY" | "<> ALL":
            if isinstance(value, _LISTS) and not value:
                # Nothing is in an empty list. (ANY('{}') fails on an array column: no text[][].)
                empty = Raw("TRUE" if op == "<> ALL" else "FALSE", ())
                return RawCondition(conjunction, negated, empty)
            operand = _listed(value, name)
        case "BETWEEN" | "NOT BETWEEN":
            operand = _bounds(value, name)
        case _:
            operand = _operand(value, name)
    return Condition(conjunction, negated, target, op, operand)


def _operand(value: Any, name: str) -> Operand:
    match value:
        case Raw() | Ref():
            return value
        case Query():
            return subquery(value, f"column {name!r}")
        case list() | tuple():  # an array: compared with an array column
            items = frozen(value, name)
            text = array_text(items)
            return param(items, name) if text is None else param(text, name)
        case _:
            return param(value, name)


def _listed(value: Any, name: str) -> Operand:
    """The right side of 'in': one array parameter (ANY compares its items one by one)."""
    match value:
        case Raw():
            return value
        case Query():
            return subquery(value, f"column {name!r}")
        case list() | tuple() | set() | frozenset():
            return param(list(value), name)
        case _:
            raise QueryBuildError(
                f"column {show(name)}: 'in' and 'not in' take a list, tuple or set, or a "
                f"select query, got {show(value)}"
            )


def _bounds(value: Any, name: str) -> Bounds:
    if not isinstance(value, list | tuple) or isinstance(value, Raw | Ref) or len(value) != 2:
        raise QueryBuildError(
            f"column {show(name)}: 'between' takes two values (low, high), got {show(value)}"
        )
    if value[0] is None or value[1] is None:
        raise QueryBuildError(
            f"column {show(name)}: 'between' cannot compare with None, got {show(value)}"
        )
    low, high = (v if isinstance(v, Raw) else param(v, name) for v in value)
    return Bounds(low, high)


def subquery(query: Query[Any], where: str) -> Select | Union:
    """A select query's statement, to nest; PostgreSQL nests no INSERT, UPDATE or DELETE."""
    if not isinstance(query.statement, Select | Union):
        kind = type(query.statement).__name__.upper()
        raise QueryBuildError(f"{where}: a subquery must be a select query, got an {kind}")
    return query.statement


def clauses(
    conjunction: LiteralString, negated: bool, first: Any, second: Any, third: Any, method: str
) -> tuple[Clause, ...]:
    """What one call of where(...) and friends adds, from its one, two or three arguments."""
    if third is not MISSING:
        return (condition(conjunction, negated, first, operator(second), third),)
    if second is not MISSING:
        return (condition(conjunction, negated, first, "=", second),)
    match first:
        case Raw():
            return (RawCondition(conjunction, negated, first),)
        case Mapping():
            if not first:
                raise QueryBuildError(f"{method}() was given an empty mapping")
            added = tuple(condition("AND", False, k, "=", v) for k, v in first.items())
            if len(added) == 1:
                return (added[0]._replace(conjunction=conjunction, negated=negated),)
            if conjunction == "AND" and not negated:
                return added  # spliced: a AND b AND c needs no parentheses
            return (Group(conjunction, negated, added),)
        case _ if callable(first):
            built = first(Conditions(()))
            if not isinstance(built, Conditions):
                raise QueryBuildError(
                    f"the function given to {method}() must return the condition builder it "
                    f"received, with conditions added, got {show(built)}"
                )
            return (Group(conjunction, negated, built.statement),) if built.statement else ()
    raise QueryBuildError(
        f"{method}() takes (column, value), (column, operator, value), a mapping, a function "
        f"or raw(...), got {show(first)}"
    )


Where = Mapping[str, Any] | Callable[["Conditions"], "Conditions"] | Raw


class Filtered:
    """where() and friends, for a builder that implements `_add_where`."""

    __slots__ = ()

    @overload
    def where(self, column: str | JsonPath, value: Any, /) -> Self: ...
    @overload
    def where(self, column: str | JsonPath, op: str, value: Any, /) -> Self: ...
    @overload
    def where(self, conditions: Where, /) -> Self: ...
    def where(self, first: Any, second: Any = MISSING, third: Any = MISSING, /) -> Self:
        """AND a condition: (column, value), (column, op, value), mapping, function or raw."""
        return self._add_where(clauses("AND", False, first, second, third, "where"))

    @overload
    def or_where(self, column: str | JsonPath, value: Any, /) -> Self: ...
    @overload
    def or_where(self, column: str | JsonPath, op: str, value: Any, /) -> Self: ...
    @overload
    def or_where(self, conditions: Where, /) -> Self: ...
    def or_where(self, first: Any, second: Any = MISSING, third: Any = MISSING, /) -> Self:
        """(everything before) OR (this condition)."""
        return self._add_where(clauses("OR", False, first, second, third, "or_where"))

    @overload
    def where_not(self, column: str | JsonPath, value: Any, /) -> Self: ...
    @overload
    def where_not(self, column: str | JsonPath, op: str, value: Any, /) -> Self: ...
    @overload
    def where_not(self, conditions: Where, /) -> Self: ...
    def where_not(self, first: Any, second: Any = MISSING, third: Any = MISSING, /) -> Self:
        """AND NOT (condition)."""
        return self._add_where(clauses("AND", True, first, second, third, "where_not"))

    @overload
    def or_where_not(self, column: str | JsonPath, value: Any, /) -> Self: ...
    @overload
    def or_where_not(self, column: str | JsonPath, op: str, value: Any, /) -> Self: ...
    @overload
    def or_where_not(self, conditions: Where, /) -> Self: ...
    def or_where_not(self, first: Any, second: Any = MISSING, third: Any = MISSING, /) -> Self:
        """(everything before) OR NOT (condition)."""
        return self._add_where(clauses("OR", True, first, second, third, "or_where_not"))

    def where_exists(self, query: Query[Any]) -> Self:
        """AND EXISTS (query); correlate it with ref("table.column")."""
        return self._add_where((Exists("AND", False, _exists(query, "where_exists")),))

    def where_not_exists(self, query: Query[Any]) -> Self:
        """AND NOT EXISTS (query)."""
        return self._add_where((Exists("AND", True, _exists(query, "where_not_exists")),))

    def _add_where(self, added: tuple[Clause, ...]) -> Self:
        raise NotImplementedError


def _exists(query: Any, method: str) -> Select:
    if not isinstance(query, Query) or not isinstance(query.statement, Select):
        raise QueryBuildError(f"{method}() takes a select query, got {show(query)}")
    return query.statement


class Conditions(Filtered, Recorder[tuple[Clause, ...]]):
    """The empty builder a function given to where() receives; it returns it with conditions."""

    __slots__ = ()

    def _add_where(self, added: tuple[Clause, ...]) -> Conditions:
        return Conditions(self._statement + added)

    def __repr__(self) -> str:
        return f"Conditions({self._statement!r})"

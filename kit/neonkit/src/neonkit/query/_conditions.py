"""Conditions: where / or_where / where_not / or_where_not, and the operator allow-list.

    .where("id", 7)                        "id" = %s
    .where("id", ">", 5)                   "id" > %s
    .where("tag", "in", ["a", "b"])        "tag" = ANY(%s)   (one parameter: the shape is stable)
    .where("due", None)                    "due" IS NULL
    .where({"done": False, "user": 3})     "done" = %s AND "user" = %s
    .where(lambda w: w.where("a", 1).or_where("b", 2))       ("a" = %s OR "b" = %s)
    .where(raw("lower(title) = %s", ["x"]))                  (lower(title) = %s)

Chained conditions combine left to right: where(a).or_where(b).where(c) is (a OR b) AND c.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, LiteralString, Self, overload

from ..errors import QueryBuildError
from ._builder import Recorder
from ._names import column, show
from ._raw import Raw
from ._statements import NO_VALUE, Clause, Condition, Group, RawCondition
from ._values import items, nul_error

MISSING: Any = object()
_new = tuple.__new__

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
    "is": "IS",
    "is not": "IS NOT",
    "@>": "@>",
    "<@": "<@",
    "&&": "&&",
}
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
    found = OPERATORS.get(op) if type(op) is str else None
    if found is None and isinstance(op, str):
        found = OPERATORS.get(" ".join(op.lower().split()))
    if found is None:
        allowed = " ".join(OPERATORS)
        raise QueryBuildError(f"unknown operator {show(op)}; allowed: {allowed}")
    return found


def condition(
    conjunction: LiteralString, negated: bool, name: Any, op: LiteralString, value: Any
) -> Condition:
    """One recorded condition; `op` is already SQL (from `operator()`)."""
    ref = column(name)
    kind = type(value)
    if kind is str:
        if "\x00" in value:
            raise nul_error(value, name)
    elif value is None or kind is bool:
        without = _WITHOUT_VALUE.get((op, value))
        if without is not None:
            return Condition(conjunction, negated, ref, without, NO_VALUE)
        if value is None:
            raise QueryBuildError(
                f"column {show(name)}: operator {op!r} cannot compare with None; write "
                f"where(column, None) for IS NULL or where(column, '!=', None) for IS NOT NULL"
            )
    elif kind is list or kind is tuple or kind is set or kind is frozenset:
        value = items(value, name)
    if op == "= ANY" or op == "<> ALL":
        if type(value) is not tuple and kind is not Raw:
            raise QueryBuildError(
                f"column {show(name)}: 'in' and 'not in' take a list, tuple or set, got "
                f"{show(value)}"
            )
    elif op == "IS" or op == "IS NOT":
        raise QueryBuildError(
            f"column {show(name)}: 'is' and 'is not' compare with None, True or False, got "
            f"{show(value)}"
        )
    return _new(Condition, (conjunction, negated, ref, op, value))


def clauses(
    conjunction: LiteralString, negated: bool, first: Any, second: Any, third: Any, method: str
) -> tuple[Clause, ...]:
    """What one call of where(...) and friends adds, from its one, two or three arguments."""
    if third is not MISSING:
        return (condition(conjunction, negated, first, operator(second), third),)
    if second is not MISSING:
        return (condition(conjunction, negated, first, "=", second),)
    if type(first) is Raw:
        return (RawCondition(conjunction, negated, first),)
    if isinstance(first, Mapping):
        if not first:
            raise QueryBuildError(f"{method}() was given an empty mapping")
        conditions = tuple(condition("AND", False, k, "=", v) for k, v in first.items())
        if len(conditions) == 1:
            return (conditions[0]._replace(conjunction=conjunction, negated=negated),)
        if conjunction == "AND" and not negated:
            return conditions  # spliced: a AND b AND c needs no parentheses
        return (Group(conjunction, negated, conditions),)
    if callable(first):
        built = first(Conditions(((),)))
        if not isinstance(built, Conditions):
            raise QueryBuildError(
                f"the function given to {method}() must return the condition builder it "
                f"received, with conditions added, got {show(built)}"
            )
        inner = built._statement[0]
        return (Group(conjunction, negated, inner),) if inner else ()
    raise QueryBuildError(
        f"{method}() takes (column, value), (column, operator, value), a mapping, a function "
        f"or raw(...), got {show(first)}"
    )


class Filtered(Recorder):
    """where() and friends, for a builder whose statement keeps its conditions at `_WHERE`."""

    __slots__ = ()
    _WHERE: ClassVar[int]

    @overload
    def where(self, column: str, value: Any, /) -> Self: ...
    @overload
    def where(self, column: str, op: str, value: Any, /) -> Self: ...
    @overload
    def where(
        self, conditions: Mapping[str, Any] | Callable[[Conditions], Conditions] | Raw, /
    ) -> Self: ...
    def where(self, first: Any, second: Any = MISSING, third: Any = MISSING, /) -> Self:
        """AND a condition: (column, value), (column, op, value), mapping, function or raw."""
        index = self._WHERE
        added = clauses("AND", False, first, second, third, "where")
        return self._derive(index, self._statement[index] + added)

    @overload
    def or_where(self, column: str, value: Any, /) -> Self: ...
    @overload
    def or_where(self, column: str, op: str, value: Any, /) -> Self: ...
    @overload
    def or_where(
        self, conditions: Mapping[str, Any] | Callable[[Conditions], Conditions] | Raw, /
    ) -> Self: ...
    def or_where(self, first: Any, second: Any = MISSING, third: Any = MISSING, /) -> Self:
        """(everything before) OR (this condition)."""
        index = self._WHERE
        added = clauses("OR", False, first, second, third, "or_where")
        return self._derive(index, self._statement[index] + added)

    @overload
    def where_not(self, column: str, value: Any, /) -> Self: ...
    @overload
    def where_not(self, column: str, op: str, value: Any, /) -> Self: ...
    @overload
    def where_not(
        self, conditions: Mapping[str, Any] | Callable[[Conditions], Conditions] | Raw, /
    ) -> Self: ...
    def where_not(self, first: Any, second: Any = MISSING, third: Any = MISSING, /) -> Self:
        """AND NOT (condition)."""
        index = self._WHERE
        added = clauses("AND", True, first, second, third, "where_not")
        return self._derive(index, self._statement[index] + added)

    @overload
    def or_where_not(self, column: str, value: Any, /) -> Self: ...
    @overload
    def or_where_not(self, column: str, op: str, value: Any, /) -> Self: ...
    @overload
    def or_where_not(
        self, conditions: Mapping[str, Any] | Callable[[Conditions], Conditions] | Raw, /
    ) -> Self: ...
    def or_where_not(self, first: Any, second: Any = MISSING, third: Any = MISSING, /) -> Self:
        """(everything before) OR NOT (condition)."""
        index = self._WHERE
        added = clauses("OR", True, first, second, third, "or_where_not")
        return self._derive(index, self._statement[index] + added)


class Conditions(Filtered):
    """The empty builder a function given to where() receives; it returns it with conditions."""

    __slots__ = ()
    _WHERE = 0
    _statement: tuple[tuple[Clause, ...]]

    def __repr__(self) -> str:
        return f"Conditions({self._statement[0]!r})"

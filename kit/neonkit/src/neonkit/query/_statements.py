"""What the builders record: plain immutable statements, turned into SQL by `_compiler`.

A statement is a tree of named tuples holding names, SQL keywords from allow-lists, raw
fragments and values; every value sits in a `Param`. The compiler takes the values out (into
the parameters) and puts `SLOT` in their place: what is left, the statement's *shape*,
decides the SQL text alone and is the key of the compiler's cache.

Two node types never compare equal because their fields hold different kinds of things
(a table name is a tuple of str, a subquery a `Select`...); the cache also keys on the
statement's type.
"""

from __future__ import annotations

from typing import Any, LiteralString, NamedTuple

from ._names import ColumnRef


class Marker:
    """A placeholder in a statement that is not a value; each prints as its own name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


SLOT = Marker("SLOT")  # where a value was, in a shape: rendered as a %s placeholder
EXCLUDED = Marker("EXCLUDED")  # an upsert sets the column to the value it tried to insert


class Raw(NamedTuple):
    """A fragment of SQL text with its bound parameters: `raw()` makes one."""

    text: LiteralString
    params: tuple[Any, ...]  # frozen values; SLOTs in a shape


class Param(NamedTuple):
    """A value, bound as a parameter; frozen when recorded (lists become tuples)."""

    value: Any


class Ref(NamedTuple):
    """A column on the right of a condition: `ref("todos.id")` in a correlated subquery."""

    column: ColumnRef


class JsonPath(NamedTuple):
    """`("column" ->> 'key')`: a field of a json/jsonb column."""

    column: ColumnRef
    operator: LiteralString  # "->" | "->>" | "#>" | "#>>"
    key: str | int | tuple[str, ...]  # a tuple (a path) for "#>" and "#>>"


class Count(NamedTuple):
    """count(column) or count(*)."""

    column: ColumnRef


class Alias(NamedTuple):
    """`term AS "name"` in a select list or RETURNING."""

    term: ColumnRef | Raw | Count | JsonPath
    name: str


Term = ColumnRef | Raw | Alias | Count | JsonPath
Expression = ColumnRef | JsonPath  # what a condition, an order or a group compares


class Bounds(NamedTuple):
    """The two values of BETWEEN."""

    low: Param | Raw | Marker
    high: Param | Raw | Marker


class Condition(NamedTuple):
    """`left operator value`, joined to the conditions before it by `conjunction`."""

    conjunction: LiteralString  # "AND" | "OR"; ignored for the first condition
    negated: bool
    left: Expression
    operator: LiteralString  # SQL, from the allow-list in `_conditions`
    value: Operand | None  # None: the operator takes no value (IS NULL, IS TRUE...)


class Group(NamedTuple):
    """Parenthesised conditions: `where(lambda w: ...)`."""

    conjunction: LiteralString
    negated: bool
    clauses: tuple[Clause, ...]


class RawCondition(NamedTuple):
    """`where(raw("..."))`."""

    conjunction: LiteralString
    negated: bool
    raw: Raw


class Exists(NamedTuple):
    """`EXISTS (SELECT ...)`: where_exists(query)."""

    conjunction: LiteralString
    negated: bool
    query: Select


Clause = Condition | Group | RawCondition | Exists


class Order(NamedTuple):
    term: Expression | Raw
    descending: bool
    nulls: LiteralString | None  # "NULLS FIRST" | "NULLS LAST"


class Keyset(NamedTuple):
    """after(): the rows after `values` in the order of `columns` (all one direction)."""

    columns: tuple[ColumnRef, ...]
    descending: bool
    values: tuple[Param | Marker, ...]


class Join(NamedTuple):
    kind: LiteralString  # "JOIN" | "LEFT JOIN"
    table: ColumnRef
    alias: str | None
    left: ColumnRef
    operator: LiteralString
    right: ColumnRef


class Cte(NamedTuple):
    """`WITH name AS (query)`."""

    name: str
    query: Statement | Raw


class Select(NamedTuple):
    ctes: tuple[Cte, ...]
    table: ColumnRef | Select | Union  # a subquery (with an alias): count() of a distinct one
    alias: str | None
    columns: tuple[Term, ...]  # empty: *
    distinct: bool
    distinct_on: tuple[Expression | Raw, ...]
    joins: tuple[Join, ...]
    where: tuple[Clause, ...]
    after: Keyset | None
    group_by: tuple[Expression | Raw, ...]
    having: tuple[Clause, ...]
    order_by: tuple[Order, ...]
    limit: Param | Marker | None
    offset: Param | Marker | None
    lock: LiteralString | None  # "FOR UPDATE" | "FOR UPDATE SKIP LOCKED"


class Union(NamedTuple):
    """(SELECT ...) UNION [ALL] (SELECT ...) ..., ordered and limited as a whole."""

    first: Select
    others: tuple[tuple[bool, Select], ...]  # (all, select): UNION ALL if all
    order_by: tuple[Order, ...]
    limit: Param | Marker | None
    offset: Param | Marker | None


class Conflict(NamedTuple):
    """ON CONFLICT (columns) DO NOTHING, or DO UPDATE SET column = value or EXCLUDED."""

    columns: tuple[str, ...]
    updates: tuple[tuple[str, Param | Raw | Marker], ...]  # empty: DO NOTHING


class Insert(NamedTuple):
    table: ColumnRef
    alias: str | None
    columns: tuple[str, ...]  # empty: DEFAULT VALUES
    # Each row's items are frozen values (no Param: every item is a value) or raw(...); in a
    # shape, the rows' number, or, if some value is raw, each row with SLOTs.
    rows: tuple[tuple[Any, ...], ...] | int
    raw_values: bool  # some value is raw(...): its text is part of the shape
    conflict: Conflict | None
    returning: tuple[Term, ...]


class Update(NamedTuple):
    table: ColumnRef
    alias: str | None
    values: tuple[tuple[str, Param | Raw | Marker], ...]
    where: tuple[Clause, ...]
    returning: tuple[Term, ...]
    all_rows: bool


class Delete(NamedTuple):
    table: ColumnRef
    alias: str | None
    where: tuple[Clause, ...]
    returning: tuple[Term, ...]
    all_rows: bool


Operand = Param | Marker | Raw | Ref | Bounds | Select | Union  # a Select or Union: a subquery
Statement = Select | Union | Insert | Update | Delete


def empty_select(table: ColumnRef | Select | Union, alias: str | None) -> Select:
    """SELECT * FROM table: what table() records."""
    return Select((), table, alias, (), False, (), (), (), None, (), (), (), None, None, None)

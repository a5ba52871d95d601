"""What the builders record: plain immutable statements, turned into SQL by `compiler`.

Every statement is a tree of named tuples holding names, operators and values. The compiler
derives its *shape* (the same tree with each value replaced by `SLOT`), renders the shape
once and caches the SQL; the values travel separately as parameters.
"""

from __future__ import annotations

from typing import Any, LiteralString, NamedTuple

from ._names import ColumnRef
from ._raw import Raw


class Slot:
    """Where a value goes in a statement's shape (rendered as a %s placeholder)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "SLOT"


SLOT = Slot()
NO_VALUE = Slot()  # a condition without a value: IS NULL, IS TRUE...
EXCLUDED = Slot()  # an upsert that sets a column to the value it tried to insert


class Alias(NamedTuple):
    """`term AS "name"` in a select list or RETURNING."""

    term: ColumnRef | Raw | Count
    name: str


class Count(NamedTuple):
    """count(column) or count(*)."""

    column: ColumnRef


Term = ColumnRef | Raw | Alias | Count


class Condition(NamedTuple):
    """`column operator value`, joined to the conditions before it by `conjunction`."""

    conjunction: LiteralString  # "AND" | "OR"; ignored for the first condition
    negated: bool
    column: ColumnRef
    operator: LiteralString  # SQL, from the allow-list in `conditions`
    value: Any  # a value, a Raw, or NO_VALUE


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


Clause = Condition | Group | RawCondition


class Order(NamedTuple):
    term: ColumnRef | Raw
    descending: bool
    nulls: LiteralString | None  # "NULLS FIRST" | "NULLS LAST"


class Join(NamedTuple):
    kind: LiteralString  # "JOIN" | "LEFT JOIN"
    table: ColumnRef
    alias: str | None
    left: ColumnRef
    operator: LiteralString
    right: ColumnRef


class Select(NamedTuple):
    table: ColumnRef
    alias: str | None
    columns: tuple[Term, ...]  # empty: *
    distinct: bool
    joins: tuple[Join, ...]
    where: tuple[Clause, ...]
    after: tuple[Any, ...] | None  # keyset: values in order_by order
    group_by: tuple[ColumnRef | Raw, ...]
    having: tuple[Clause, ...]
    order_by: tuple[Order, ...]
    limit: Any  # int, SLOT or None
    offset: Any
    lock: LiteralString | None  # "FOR UPDATE" | "FOR UPDATE SKIP LOCKED"


class Conflict(NamedTuple):
    """ON CONFLICT (columns) DO NOTHING, or DO UPDATE SET column = value or EXCLUDED."""

    columns: tuple[str, ...]
    updates: tuple[tuple[str, Any], ...]  # empty: DO NOTHING


class Insert(NamedTuple):
    table: ColumnRef
    alias: str | None
    columns: tuple[str, ...]  # empty: DEFAULT VALUES
    rows: Any  # tuple of value tuples; in a shape, their number or (with raw values) slot rows
    bound_as_is: bool  # no value needs converting when bound (no tuples, no raw)
    conflict: Conflict | None
    returning: tuple[Term, ...]


class Update(NamedTuple):
    table: ColumnRef
    alias: str | None
    values: tuple[tuple[str, Any], ...]
    where: tuple[Clause, ...]
    returning: tuple[Term, ...]
    all_rows: bool


class Delete(NamedTuple):
    table: ColumnRef
    alias: str | None
    where: tuple[Clause, ...]
    returning: tuple[Term, ...]
    all_rows: bool


Statement = Select | Insert | Update | Delete

"""The builders' base: immutability, and what every query offers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import DeleteQuery, InsertQuery, SelectQuery, UpdateQuery, raw, table
from neonkit.query._builder import Query, Recorder


def test_every_query_kind_is_a_query() -> None:
    t = table("t")
    for query, kind in [
        (t, SelectQuery),
        (t.insert({"a": 1}), InsertQuery),
        (t.update({"a": 1}, all_rows=True), UpdateQuery),
        (t.delete(all_rows=True), DeleteQuery),
    ]:
        assert isinstance(query, kind)
        assert isinstance(query, Query)
        assert str(query) == query.compile().text


def test_derive_copies_the_statement_with_one_field_changed() -> None:
    base = table("t")
    changed = base._derive(base._WHERE, ("marker",))
    assert changed.statement.where == ("marker",)
    assert changed.statement[:5] == base.statement[:5]
    assert type(changed) is SelectQuery
    assert base.statement.where == ()


def test_recorders_have_no_instance_dict() -> None:
    with pytest.raises(QueryBuildError, match="immutable"):
        Recorder(()).x = 1  # type: ignore[attr-defined]
    assert not hasattr(table("t"), "__dict__")


WEIRD: list[object] = [
    None,
    0,
    -1,
    2**64,
    1.5,
    float("nan"),
    True,
    "",
    "x" * 100,
    "a\x00",
    "a.b.c",
    "*",
    [],
    ["a"],
    [["a"]],
    {},
    {"a": 1},
    {1: 2},
    set(),
    b"x",
    object(),
    ("a",),
    raw("x"),
    lambda w: w,
    lambda w: None,
]


def attempt(call: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """Misuse may only raise QueryBuildError; what builds must compile or say why it cannot."""
    try:
        built = call(*args, **kwargs)
        compile_ = getattr(built, "compile", None)
        if compile_ is not None:
            compile_()
    except QueryBuildError:
        pass


def test_misuse_raises_query_build_error_and_nothing_else() -> None:
    # GIVEN every builder method, WHEN called with odd values in every position,
    # THEN the only exception is QueryBuildError (no TypeError, AttributeError, psycopg error)
    t = table("t")
    two = t.order_by("a").order_by("b")
    insert = t.insert({"a": 1})
    conflict = insert.on_conflict("a")
    conditions = [t.where, t.or_where, t.where_not, t.or_where_not, t.having, t.or_having]
    singles = [t.select, t.group_by, t.order_by, t.limit, t.offset, t.after, t.count]
    for a in WEIRD:
        for call in [table, raw, t.insert, t.update, insert.returning, insert.on_conflict]:
            attempt(call, a)
        attempt(table, "t", a)
        attempt(raw, "%s", a)
        for call in conditions + singles + [conflict.merge, t.order_by("id").after]:
            attempt(call, a)
        attempt(t.select, x=a)
        attempt(t.for_update, skip_locked=a)
        attempt(t.insert, [{"a": 1}, a])
        attempt(t.update, {"a": 1}, all_rows=a)
        attempt(t.delete, all_rows=a)
        for b in WEIRD:
            for call in conditions:
                attempt(call, a, b)
                attempt(call, "c", a, b)
                attempt(call, a, "=", b)
            attempt(t.order_by, a, b)
            attempt(t.order_by, "id", "asc", a)
            attempt(t.join, a, b, "t.id")
            attempt(t.left_join, "u", a, b, "t.id")
            attempt(t.join, "u", "u.id", "t.id", alias=a)
            attempt(two.after, {"a": a, "b": b})
            attempt(t.insert, {"a": a, "b": b})

"""The builders' base: immutability, and what every query offers."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import (
    DeleteQuery,
    InsertQuery,
    SelectQuery,
    UpdateQuery,
    alias,
    json_path,
    raw,
    ref,
    table,
)
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


def test_every_method_returns_a_new_query_and_leaves_the_old_one_as_it_was() -> None:
    # GIVEN a query kept at module level, as a Lambda sandbox keeps it across invocations
    base = table("t").where("a", 1)
    before = (base.statement, base.compile())
    # WHEN every invocation extends it
    extended = [
        base.where("b", 2),
        base.or_where("b", 2),
        base.select("id"),
        base.order_by("id").after([1]).limit(5).offset(1),
        base.group_by("a").having("a", 1),
        base.for_update(),
        base.count(),
        base.update({"a": 2}),
        base.delete().returning("id"),
    ]
    # THEN each extension is a new query, and the base compiles as it did
    assert all(query is not base for query in extended)
    assert len({str(query) for query in extended}) == len(extended)
    assert (base.statement, base.compile()) == before


def test_recorders_have_no_instance_dict() -> None:
    with pytest.raises(QueryBuildError, match="immutable"):
        Recorder(()).x = 1
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


def attempt(call: Callable[..., object], *args: Any, **kwargs: Any) -> str:
    """Misuse may only raise QueryBuildError; what builds must compile or say why it cannot."""
    try:
        built = call(*args, **kwargs)
        compile_ = getattr(built, "compile", None)
        if compile_ is None:
            return "built"  # raw(), on_conflict(): parts of a query
        compiled = compile_()
    except QueryBuildError:
        return "refused"
    assert placeholders(compiled.text) == len(compiled.params), compiled
    return "compiled"


def placeholders(text: str) -> int:
    return len(re.findall(r"%[sbt]", text.replace("%%", "")))


def test_misuse_raises_query_build_error_and_nothing_else() -> None:
    # GIVEN every builder method, WHEN called with odd values in every position,
    # THEN the only exception is QueryBuildError (no TypeError, AttributeError, psycopg error),
    # and what compiles has as many placeholders as parameters
    outcomes: Counter[str] = Counter()
    t = table("t")
    two = t.order_by("a").order_by("b")
    insert = t.insert({"a": 1})
    conflict = insert.on_conflict("a")
    calls = list[Callable[..., object]]  # builder methods of every signature, called alike
    conditions: calls = [t.where, t.or_where, t.where_not, t.or_where_not, t.having, t.or_having]
    u = t.select("id").union(table("u").select("id"))
    singles: calls = [t.select, t.group_by, t.order_by, t.limit, t.offset, t.after, t.count,
                      t.distinct_on, t.where_exists, t.where_not_exists, t.union, ref,
                      u.union, u.order_by, u.limit, u.offset]  # fmt: skip
    firsts: calls = [table, raw, t.insert, t.update, insert.returning, insert.on_conflict]
    for a in WEIRD:
        for call in firsts:
            outcomes[attempt(call, a)] += 1
        outcomes[attempt(table, "t", a)] += 1
        outcomes[attempt(raw, "%s", a)] += 1
        for call in conditions + singles + [conflict.merge, t.order_by("id").after]:
            outcomes[attempt(call, a)] += 1
        outcomes[attempt(t.select, x=a)] += 1
        outcomes[attempt(t.union, t, all=a)] += 1
        outcomes[attempt(t.with_, "w", a)] += 1
        outcomes[attempt(t.with_, a, t)] += 1
        outcomes[attempt(t.for_update, skip_locked=a)] += 1
        outcomes[attempt(t.insert, [{"a": 1}, a])] += 1
        outcomes[attempt(t.update, {"a": 1}, all_rows=a)] += 1
        outcomes[attempt(t.delete, all_rows=a)] += 1
        for b in WEIRD:
            for call in conditions:
                outcomes[attempt(call, a, b)] += 1
                outcomes[attempt(call, "c", a, b)] += 1
                outcomes[attempt(call, a, "=", b)] += 1
            outcomes[attempt(t.order_by, a, b)] += 1
            outcomes[attempt(alias, a, b)] += 1
            outcomes[attempt(json_path, "c", a, b)] += 1
            outcomes[attempt(json_path, a, "->", b)] += 1
            outcomes[attempt(t.where, "c", "between", (a, b))] += 1
            outcomes[attempt(t.order_by, "id", "asc", a)] += 1
            outcomes[attempt(t.join, a, b, "t.id")] += 1
            outcomes[attempt(t.left_join, "u", a, b, "t.id")] += 1
            outcomes[attempt(t.join, "u", "u.id", "t.id", alias=a)] += 1
            outcomes[attempt(two.after, {"a": a, "b": b})] += 1
            outcomes[attempt(t.insert, {"a": a, "b": b})] += 1
    # Both kinds of outcome happen many times: the calls reach the builders' checks.
    assert outcomes["compiled"] > 500, outcomes
    assert outcomes["refused"] > 5000, outcomes
    assert set(outcomes) <= {"built", "compiled", "refused"}

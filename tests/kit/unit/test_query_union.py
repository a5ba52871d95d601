"""union() and with_(): selects combined, and common table expressions."""

from __future__ import annotations

from typing import Any

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import UnionQuery, raw, table

A = table("a").select("id").where("x", 1)
B = table("b").select("id").where("y", 2)


def test_union_parenthesises_each_select_and_orders_the_whole() -> None:
    query = A.union(B, all=True).union(table("c").select("id").limit(1)).order_by("id").limit(5)
    assert isinstance(query, UnionQuery)
    compiled = query.compile()
    assert compiled.text == (
        '(SELECT "id" FROM "a" WHERE "x" = %s) UNION ALL (SELECT "id" FROM "b" WHERE "y" = %s) '
        'UNION (SELECT "id" FROM "c" LIMIT %s) ORDER BY "id" ASC LIMIT %s'
    )
    assert compiled.params == (1, 2, 1, 5)
    assert compiled.reads_only


def test_a_union_counts_and_nests() -> None:
    both = A.union(B).order_by("id").limit(2)
    assert str(both.count()) == (
        'SELECT count(*) AS "count" FROM ((SELECT "id" FROM "a" WHERE "x" = %s) UNION '
        '(SELECT "id" FROM "b" WHERE "y" = %s)) AS "counted"'
    )
    assert str(table("t").where("id", "in", A.union(B))) == (
        'SELECT * FROM "t" WHERE "id" = ANY ((SELECT "id" FROM "a" WHERE "x" = %s) UNION '
        '(SELECT "id" FROM "b" WHERE "y" = %s))'
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: A.union(), r"union\(\) needs at least one query"),
        # the next three pass wrong types on purpose: union() refuses them at run time
        (lambda: A.union(table("b").delete(all_rows=True)), r"union\(\) takes select queries"),  # type: ignore[arg-type]
        (lambda: A.union("SELECT 1"), r"union\(\) takes select queries"),  # type: ignore[arg-type]
        (lambda: A.union(B, all=1), r"union\(all=...\) takes True or False"),  # type: ignore[arg-type]
        (lambda: A.union(B).order_by("id").union(B), r"cannot follow order_by"),
        (lambda: A.union(B).limit(-1), r"limit\(\) takes a non-negative int"),
        (lambda: A.union(B).order_by("id", "up"), r"direction must be 'asc' or 'desc'"),
    ],
)
def test_union_misuse(call: Any, message: str) -> None:
    with pytest.raises(QueryBuildError, match=message):
        call()


def test_with_names_queries_before_the_select() -> None:
    recent = table("todos").where("done", False).order_by("id", "desc").limit(10)
    query = table("recent").with_("recent", recent).select("id").where("id", ">", 3)
    compiled = query.compile()
    assert compiled.text == (
        'WITH "recent" AS (SELECT * FROM "todos" WHERE "done" = %s ORDER BY "id" DESC LIMIT %s) '
        'SELECT "id" FROM "recent" WHERE "id" > %s'
    )
    assert compiled.params == (False, 10, 3)
    assert compiled.reads_only


def test_a_write_in_with_makes_the_query_a_write() -> None:
    moved = table("todos").where("done", True).delete().returning("*")
    query = table("archive").with_("moved", moved).with_("n", raw("SELECT %s AS n", [1]))
    compiled = query.compile()
    assert compiled.text == (
        'WITH "moved" AS (DELETE FROM "todos" WHERE "done" = %s RETURNING *), '
        '"n" AS (SELECT %s AS n) SELECT * FROM "archive"'
    )
    assert compiled.params == (True, 1)
    assert not compiled.reads_only  # never resent after a lost connection


def test_with_misuse() -> None:
    with pytest.raises(QueryBuildError, match="given twice"):
        table("x").with_("x", A).with_("x", B)
    with pytest.raises(QueryBuildError, match=r"with_\(\) takes a query or raw"):
        table("x").with_("x", "SELECT 1")  # type: ignore[arg-type]
    with pytest.raises(QueryBuildError, match=r"with_\(\) name"):
        table("x").with_("", A)
    with pytest.raises(QueryBuildError, match="refusing to UPDATE every row"):
        table("x").with_("x", table("t").update({"a": 1})).compile()
    with pytest.raises(QueryBuildError, match=r"insert\(\) cannot follow with_\(\)"):
        table("x").with_("x", A).insert({"a": 1})

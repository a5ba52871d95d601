"""The compiler: shapes as cache keys, parameters in placeholder order, Compiled, build()."""

from __future__ import annotations

import re
from typing import Any

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import Compiled, raw, table
from neonkit.query import _compiler as compiler
from psycopg import sql

T = table("todos")


def placeholders(text: str) -> int:
    return sum(1 for m in re.finditer(r"%%|%[sbt]", text) if m.group() != "%%")


def every_feature() -> list[Any]:
    """A query of every kind and clause, with values everywhere a value can go."""
    return [
        T.select("id", raw("%s::int", [1]), n=raw("%s", [2]))
        .distinct()
        .join("u", "u.id", "todos.user_id")
        .where("a", 3)
        .or_where("b", "in", [4, 5])
        .where_not(lambda w: w.where("c", None).or_where(raw("d = %s", [6])))
        .where("e", "<", raw("now() - %s::interval", ["1 day"]))
        .group_by("id", raw("%s", [7]))
        .having(raw("count(*) > %s", [8]))
        .order_by("id")
        .order_by(raw("%s", [9]), "desc")
        .limit(10)
        .offset(11),
        T.order_by("due").order_by("id").after([12, 13]).where("x", 14).limit(15),
        T.insert([{"a": 1, "b": raw("%s", [2])}, {"a": 3, "b": raw("now()")}])
        .on_conflict("a")
        .merge({"b": 4, "c": raw("%s", [5])})
        .returning("a", raw("%s AS x", [6])),
        T.insert({"a": [1, 2], "b": "x"}).returning("*"),
        T.where("id", 1).update({"a": 2, "b": raw("%s", [3])}).returning(raw("%s", [4])),
        T.where("id", "in", [1]).delete().returning("id", r=raw("%s", [2])),
    ]


@pytest.mark.parametrize("query", every_feature())
def test_placeholders_and_params_always_agree(query: Any) -> None:
    compiled = query.compile()
    assert placeholders(compiled.text) == len(compiled.params)
    assert compiled.sql.as_string(None) == compiled.text


def test_params_follow_the_placeholders() -> None:
    # GIVEN a query whose values are numbered in the order their placeholders appear
    compiled = every_feature()[0].compile()
    # THEN its parameters come out in that order
    assert [p for p in compiled.params if isinstance(p, int)] == [1, 2, 3, 6, 7, 8, 9, 10, 11]
    assert compiled.params[3] == [4, 5]


def test_the_same_shape_reuses_the_cached_text() -> None:
    # GIVEN two queries that differ only in their values
    first = T.select("id").where("done", False).order_by("id").limit(20).compile()
    second = T.select("id").where("done", True).order_by("id").limit(5).compile()
    # THEN they share the very same text and Composed objects, with their own params
    assert second.text is first.text
    assert second.sql is first.sql
    assert (first.params, second.params) == ((False, 20), (True, 5))


def test_a_different_shape_gets_different_text() -> None:
    with_null = T.where("done", None).compile()
    with_value = T.where("done", False).compile()
    assert with_null.text != with_value.text
    assert T.where("a", 1).compile().text != T.where("b", 1).compile().text
    assert (
        T.update({"a": 1}, all_rows=True).compile().text != T.delete(all_rows=True).compile().text
    )


def test_the_cache_is_hit_and_bounded() -> None:
    compiler.cache_clear()
    T.where("id", 1).compile()
    T.where("id", 2).compile()
    info = compiler.cache_info()
    assert (info.hits, info.misses, info.maxsize) == (1, 1, compiler.CACHE_SIZE)
    for n in range(compiler.CACHE_SIZE + 10):
        T.where(f"c{n}", 1).compile()
    assert compiler.cache_info().currsize == compiler.CACHE_SIZE


def test_compiled_is_immutable_and_shows_text_and_params() -> None:
    compiled = T.where("id", 7).compile()
    assert isinstance(compiled, Compiled)
    assert repr(compiled) == (
        'Compiled(text=\'SELECT * FROM "todos" WHERE "id" = %s\', params=(7,), reads_only=True)'
    )
    with pytest.raises(AttributeError):
        compiled.text = "x"  # type: ignore[misc]


def test_build_returns_a_composed_and_a_list() -> None:
    composed, params = T.where("id", ">", 5).build()
    assert isinstance(composed, sql.Composed)
    assert composed.as_string(None) == 'SELECT * FROM "todos" WHERE "id" > %s'
    assert params == [5]


def test_str_is_the_sql_text() -> None:
    assert str(T.where("id", 5)) == 'SELECT * FROM "todos" WHERE "id" = %s'
    assert repr(T) == "SelectQuery('SELECT * FROM \"todos\"')"


def test_a_percent_in_a_name_is_doubled_and_a_raw_percent_kept() -> None:
    compiled = table("100%").select("a%sb", raw("'%%'")).where("c%(x)s", 1).compile()
    assert compiled.text == 'SELECT "a%%sb", \'%%\' FROM "100%%" WHERE "c%%(x)s" = %s'
    assert placeholders(compiled.text) == 1


def test_only_statements_compile() -> None:
    with pytest.raises(QueryBuildError, match="not a statement"):
        compiler.compile(("not", "a", "statement"))  # type: ignore[arg-type]

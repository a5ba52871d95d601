"""Select lists and RETURNING terms, alias() and json_path()."""

from __future__ import annotations

from typing import Any

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import alias, json_path, raw, table
from neonkit.query._statements import Alias
from neonkit.query._terms import terms


def test_terms_record_columns_raw_and_aliases() -> None:
    fragment = raw("now()")
    recorded = terms(("id", "t.id", "*", fragment), {"n": fragment, "x": "t.y"}, "select")
    assert recorded == (
        ("id",),
        ("t", "id"),
        ("*",),
        fragment,
        Alias(fragment, "n"),
        Alias(("t", "y"), "x"),
    )


def test_errors_name_the_method() -> None:
    with pytest.raises(QueryBuildError, match=r"returning\(\) column"):
        terms(("a.b.c",), {}, "returning")
    with pytest.raises(QueryBuildError, match=r"select\(\) alias"):
        terms((), {"": "id"}, "select")


def test_alias_keeps_its_place_among_the_columns() -> None:
    # keywords come after the positional columns; alias() stays where it is written
    query = table("t").select("a", alias("b", "bb"), "c", alias(raw("now()"), "at"), n="d")
    assert (
        query.compile().text == 'SELECT "a", "b" AS "bb", "c", now() AS "at", "d" AS "n" FROM "t"'
    )
    returning = table("t").insert({"a": 1}).returning("id", alias("t.a", "x"))
    assert returning.compile().text.endswith(' RETURNING "id", "t"."a" AS "x"')


@pytest.mark.parametrize(
    ("term", "name", "message"),
    [
        ("*", "x", r"alias\(\) cannot alias '\*'"),
        ("t.*", "x", r"alias\(\) cannot alias '\*'"),
        ("a", "", r"alias\(\) name must not be empty"),
        ("a", "x" * 64, r"alias\(\) name is 64 bytes long"),
        (1, "x", r"alias\(\) column must be a column name"),
        ("a.b.c", "x", r"alias\(\) column must be 'name' or 'table.name'"),
    ],
)
def test_alias_refuses_what_is_not_a_column_or_a_name(term: Any, name: Any, message: str) -> None:
    with pytest.raises(QueryBuildError, match=message):
        alias(term, name)


def test_json_path_is_a_field_of_a_json_column_with_its_key_in_the_text() -> None:
    kind = json_path("payload", "->>", "kind")
    query = (
        table("ev")
        .select("id", alias(kind, "kind"), first=json_path("payload", "->", 0))
        .where(json_path("payload", "#>>", ["user", 0, "it's 100%"]), "x")
        .order_by(json_path("payload", "#>", ["n"]), "desc")
        .group_by("id", kind)
    )
    compiled = query.compile()
    assert compiled.text == (
        'SELECT "id", ("payload" ->> \'kind\') AS "kind", ("payload" -> 0) AS "first" '
        'FROM "ev" WHERE ("payload" #>> \'{user,0,"it\'\'s 100%%"}\') = %s '
        'GROUP BY "id", ("payload" ->> \'kind\') ORDER BY ("payload" #> \'{n}\') DESC'
    )
    assert compiled.params == ("x",)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("p", "=>", "k"), r"operator must be one of -> ->> #> #>>"),
        (("p", "#>", "k"), r"with #> takes a non-empty list of keys"),
        (("p", "#>>", []), r"with #>> takes a non-empty list of keys"),
        (("p", "->", 1.5), r"key must be a str or an int"),
        (("p", "->", True), r"key must be a str or an int"),
        (("p", "->", "a\x00"), r"key must be a str or an int"),
        (("p", "#>>", ["a", None]), r"key must be a str or an int"),
        ((1, "->", "k"), r"json_path\(\) column must be a column name"),
    ],
)
def test_json_path_refuses_bad_operators_and_keys(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(QueryBuildError, match=message):
        json_path(*args)

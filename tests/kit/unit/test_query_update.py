"""UPDATE: SET values, conditions before or after update(), and the every-row guard."""

from __future__ import annotations

from typing import Any

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import raw, table

T = table("todos")


def test_update_with_where_before_and_after() -> None:
    before = T.where("id", 7).update({"done": True})
    after = T.update({"done": True}).where("id", 7)
    assert before.compile().text == 'UPDATE "todos" SET "done" = %s WHERE "id" = %s'
    assert before.compile().params == (True, 7)
    assert after.compile() == before.compile()


def test_update_values_raw_and_returning() -> None:
    query = T.where("id", 7).update({"title": "x", "seen": raw("now()")}).returning("*")
    compiled = query.compile()
    assert compiled.text == (
        'UPDATE "todos" SET "title" = %s, "seen" = now() WHERE "id" = %s RETURNING *'
    )
    assert compiled.params == ("x", 7)
    assert compiled.reads_only is False


def test_an_update_of_every_row_is_refused_unless_asked_for() -> None:
    # GIVEN an update without conditions
    unguarded = T.update({"done": True})
    # WHEN it is compiled THEN the error says how to ask for every row
    with pytest.raises(QueryBuildError, match=r"every row.*all_rows=True"):
        unguarded.compile()
    with pytest.raises(QueryBuildError, match="all_rows=True"):
        str(unguarded)
    assert "not compilable" in repr(unguarded)
    # AND asked for explicitly, it compiles
    assert T.update({"done": True}, all_rows=True).compile().text == (
        'UPDATE "todos" SET "done" = %s'
    )


def test_an_empty_group_is_not_a_condition() -> None:
    with pytest.raises(QueryBuildError, match="all_rows"):
        T.where(lambda w: w).update({"a": 1}).compile()


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({}, "non-empty dict"),
        ([("a", 1)], "non-empty dict"),
        ({"": 1}, "update\\(\\) column"),
        ({"title": "\x00"}, "column 'title'.*NUL"),
    ],
)
def test_refused_values(values: Any, fragment: str) -> None:
    with pytest.raises(QueryBuildError, match=fragment):
        T.where("id", 1).update(values)


def test_all_rows_must_be_a_bool() -> None:
    with pytest.raises(QueryBuildError, match="all_rows"):
        T.update({"a": 1}, all_rows="yes")  # type: ignore[arg-type]


def test_the_update_builder_is_immutable() -> None:
    base = T.update({"a": 1})
    base.where("id", 1).returning("id")
    assert base.statement.where == ()
    assert base.statement.returning == ()

"""DELETE: conditions, RETURNING, and the every-row guard."""

from __future__ import annotations

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import table

T = table("todos")


def test_delete_with_conditions_before_or_after() -> None:
    compiled = T.where("id", 7).delete().compile()
    assert compiled.text == 'DELETE FROM "todos" WHERE "id" = %s'
    assert compiled.params == (7,)
    assert T.delete().where("id", 7).compile() == compiled


def test_delete_returning_with_an_alias() -> None:
    query = table("todos", "t").delete().where("t.done", True).returning("t.id")
    assert query.compile().text == (
        'DELETE FROM "todos" AS "t" WHERE "t"."done" = %s RETURNING "t"."id"'
    )


def test_a_delete_of_every_row_is_refused_unless_asked_for() -> None:
    with pytest.raises(QueryBuildError, match=r"every row.*delete\(all_rows=True\)"):
        T.delete().compile()
    assert T.delete(all_rows=True).compile().text == 'DELETE FROM "todos"'
    with pytest.raises(QueryBuildError, match="all_rows"):
        T.delete(all_rows=1)  # type: ignore[arg-type]

"""INSERT: one row, many rows, RETURNING, upserts, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import InsertQuery, raw, table

T = table("todos")


def test_one_row_with_returning() -> None:
    compiled = T.insert({"title": "a", "done": False}).returning("id").compile()
    assert compiled.text == 'INSERT INTO "todos" ("title", "done") VALUES (%s, %s) RETURNING "id"'
    assert compiled.params == ("a", False)
    assert compiled.reads_only is False


def test_many_rows_follow_the_first_rows_key_order() -> None:
    compiled = T.insert([{"title": "a", "done": False}, {"done": True, "title": "b"}]).compile()
    assert compiled.text == 'INSERT INTO "todos" ("title", "done") VALUES (%s, %s), (%s, %s)'
    assert compiled.params == ("a", False, "b", True)


def test_the_row_count_is_part_of_the_shape() -> None:
    one, two = T.insert([{"a": 1}]), T.insert([{"a": 1}, {"a": 2}])
    assert one.compile().text != two.compile().text
    assert T.insert({"a": 5}).compile().text is one.compile().text


def test_returning_star_raw_and_aliases() -> None:
    query = T.insert({"a": 1}).returning("*", raw("xmax = 0 AS inserted"), key="id")
    assert query.compile().text.endswith(' RETURNING *, xmax = 0 AS inserted, "id" AS "key"')
    with pytest.raises(QueryBuildError, match="at least one column"):
        T.insert({"a": 1}).returning()


def test_an_empty_row_inserts_defaults() -> None:
    assert T.insert({}).returning("id").compile().text == (
        'INSERT INTO "todos" DEFAULT VALUES RETURNING "id"'
    )
    with pytest.raises(QueryBuildError, match="DEFAULT VALUES"):
        T.insert([{}, {}])


def test_list_values_are_arrays_and_raw_values_are_inlined() -> None:
    query = T.insert([{"tags": ["a", "b"], "at": raw("now()")}, {"tags": [], "at": raw("%s", [1])}])
    compiled = query.compile()
    assert compiled.text == 'INSERT INTO "todos" ("tags", "at") VALUES (%s, now()), (%s, %s)'
    assert compiled.params == (["a", "b"], [], 1)


def test_array_values_do_not_change_the_shape() -> None:
    plain = T.insert([{"tags": "x"}, {"tags": "y"}]).compile()
    arrays = T.insert([{"tags": ["x"]}, {"tags": ["y"]}]).compile()
    assert plain.text is arrays.text


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        ([], "non-empty list of dicts"),
        ("title", "non-empty list of dicts"),
        (None, "non-empty list of dicts"),
        ([("a", 1)], "row 0 must be a dict"),
        ([{"a": 1}, ["a"]], "row 1 must be a dict"),
        ([{"a": 1, "b": 2}, {"a": 1}], r"row 1 has other keys.*missing \['b'\]"),
        ([{"a": 1}, {"a": 1}, {"a": 1, "c": 3}], r"row 2 has other keys.*extra \[\"'c'\"\]"),
        ([{"": 1}], "insert\\(\\) column"),
        ([{"a" * 64: 1}], "64 bytes"),
        ([{5: 1}], "must be a string"),
        ([{"title": "a\x00"}], "column 'title'.*NUL"),
        ([{"a": 1, "tags": ["\x00"]}], "column 'tags'.*NUL"),
        ([{"a": 1}, {"a": "\x00"}], "column 'a'.*NUL"),
    ],
)
def test_refused_rows_name_the_problem(rows: Any, fragment: str) -> None:
    with pytest.raises(QueryBuildError, match=fragment):
        T.insert(rows)


def test_recorded_rows_do_not_follow_the_callers_dicts() -> None:
    row = {"title": "a", "tags": ["x"]}
    query = T.insert(row)
    row["title"] = "changed"
    row["tags"].append("y")  # type: ignore[attr-defined]
    assert query.compile().params == ("a", ["x"])


# -- upserts -------------------------------------------------------------------------------

ROW = {"id": 1, "title": "a", "done": False}


def test_on_conflict_ignore() -> None:
    assert T.insert(ROW).on_conflict("id").ignore().compile().text == (
        'INSERT INTO "todos" ("id", "title", "done") VALUES (%s, %s, %s) '
        'ON CONFLICT ("id") DO NOTHING'
    )
    assert T.insert(ROW).on_conflict().ignore().compile().text.endswith("ON CONFLICT DO NOTHING")


def test_merge_updates_every_other_inserted_column() -> None:
    query = T.insert(ROW).on_conflict("id").merge().returning("id")
    assert query.compile().text.endswith(
        'ON CONFLICT ("id") DO UPDATE SET "title" = EXCLUDED."title", '
        '"done" = EXCLUDED."done" RETURNING "id"'
    )


def test_merge_named_columns() -> None:
    query = T.insert(ROW).on_conflict("id").merge("title")
    assert query.compile().text.endswith('DO UPDATE SET "title" = EXCLUDED."title"')


def test_merge_explicit_values_are_bound() -> None:
    query = T.insert(ROW).on_conflict("id").merge({"title": "z", "seen": raw("now()")})
    compiled = query.compile()
    assert compiled.text.endswith('DO UPDATE SET "title" = %s, "seen" = now()')
    assert compiled.params == (1, "a", False, "z")


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: T.insert(ROW).on_conflict().merge(), "needs the conflict columns"),
        (lambda: T.insert({"id": 1}).on_conflict("id").merge(), "use ignore"),
        (lambda: T.insert(ROW).on_conflict("id").merge("nope"), "'nope' is not an inserted"),
        (lambda: T.insert(ROW).on_conflict("").ignore(), "on_conflict\\(\\) column"),
        (lambda: T.insert(ROW).on_conflict("id").merge({}), "non-empty dict"),
        (lambda: T.insert(ROW).on_conflict("id").merge({"t": "\x00"}), "column 't'.*NUL"),
    ],
)
def test_upsert_misuse(build: Any, fragment: str) -> None:
    with pytest.raises(QueryBuildError, match=fragment):
        build()


def test_upsert_builders_are_immutable() -> None:
    insert = T.insert(ROW)
    conflict = insert.on_conflict("id")
    merged = conflict.merge()
    ignored = conflict.ignore()
    assert isinstance(merged, InsertQuery)
    assert insert.statement.conflict is None
    assert merged.statement.conflict != ignored.statement.conflict
    with pytest.raises(QueryBuildError, match="immutable"):
        conflict.x = 1

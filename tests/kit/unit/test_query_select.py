"""SELECT: columns, joins, ordering, paging, keyset pagination, count, locks, immutability."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import DeleteQuery, SelectQuery, UpdateQuery, raw, table

T = table("todos")


def text(query: Any) -> str:
    return str(query.compile().text)


def test_a_table_alone_selects_everything() -> None:
    assert text(T) == 'SELECT * FROM "todos"'
    assert text(table("public.todos", "t")) == 'SELECT * FROM "public"."todos" AS "t"'


def test_the_first_example() -> None:
    query = table("todos").select("id", "title").where("done", False).order_by("id").limit(20)
    compiled = query.compile()
    assert compiled.text == (
        'SELECT "id", "title" FROM "todos" WHERE "done" = %s ORDER BY "id" ASC LIMIT %s'
    )
    assert compiled.params == (False, 20)
    assert compiled.reads_only is True


def test_select_columns_stars_raw_and_aliases() -> None:
    query = T.select("id", "todos.title", "todos.*", raw("now()"), n=raw("count(*)"), t="title")
    assert text(query) == (
        'SELECT "id", "todos"."title", "todos".*, now(), count(*) AS "n", "title" AS "t" '
        'FROM "todos"'
    )
    assert text(T.select("*")) == 'SELECT * FROM "todos"'


def test_select_calls_add_up() -> None:
    assert text(T.select("id").select("title")) == 'SELECT "id", "title" FROM "todos"'


def test_raw_columns_bind_their_params_in_order() -> None:
    query = T.select(raw("%s::int AS one", [1])).where("id", 2)
    assert query.compile().params == (1, 2)


def test_select_refuses_bad_columns_and_aliases() -> None:
    with pytest.raises(QueryBuildError, match=r"select\(\) column.*got 5"):
        T.select(5)  # type: ignore[arg-type]
    with pytest.raises(QueryBuildError, match=r"cannot alias '\*'"):
        T.select(everything="todos.*")
    with pytest.raises(QueryBuildError, match=r"select\(\) alias"):
        T.select(**{"a" * 64: "id"})


def test_distinct() -> None:
    assert text(T.select("title").distinct()) == 'SELECT DISTINCT "title" FROM "todos"'


def test_joins() -> None:
    query = (
        table("todos", "t")
        .join("users", "users.id", "t.user_id")
        .left_join("tags", "g.todo_id", ">=", "t.id", alias="g")
        .select("t.id", "users.name")
    )
    assert text(query) == (
        'SELECT "t"."id", "users"."name" FROM "todos" AS "t" '
        'JOIN "users" ON "users"."id" = "t"."user_id" '
        'LEFT JOIN "tags" AS "g" ON "g"."todo_id" >= "t"."id"'
    )


def test_join_refuses_non_comparison_operators_and_bad_names() -> None:
    with pytest.raises(QueryBuildError, match=r"join operator.*'like'"):
        T.join("u", "u.id", "like", "todos.id")
    with pytest.raises(QueryBuildError, match="unknown operator"):
        T.join("u", "u.id", "; --", "todos.id")
    with pytest.raises(QueryBuildError, match="join column"):
        T.join("u", "u.id", 5)  # type: ignore[arg-type]
    with pytest.raises(QueryBuildError, match="join alias"):
        T.join("u", "u.id", "todos.id", alias="")


def test_order_by_directions_and_nulls() -> None:
    query = T.order_by("due", "DESC", nulls="last").order_by("id").order_by(raw("random()"))
    assert text(query) == (
        'SELECT * FROM "todos" ORDER BY "due" DESC NULLS LAST, "id" ASC, random() ASC'
    )
    assert text(T.order_by("id", nulls="FIRST")).endswith('"id" ASC NULLS FIRST')


@pytest.mark.parametrize(("direction", "nulls"), [("up", None), (None, None), ("asc", "middle")])
def test_order_by_refuses_unknown_words(direction: Any, nulls: Any) -> None:
    with pytest.raises(QueryBuildError, match="order_by"):
        T.order_by("id", direction, nulls)


def test_limit_and_offset_are_bound() -> None:
    small, large = T.limit(1).offset(0), T.limit(1000).offset(50)
    assert small.compile().text == 'SELECT * FROM "todos" LIMIT %s OFFSET %s'
    assert small.compile().text is large.compile().text
    assert large.compile().params == (1000, 50)


@pytest.mark.parametrize("n", [-1, True, 1.5, "10", None])
def test_limit_and_offset_take_non_negative_ints(n: Any) -> None:
    with pytest.raises(QueryBuildError, match=r"limit\(\) takes a non-negative int"):
        T.limit(n)
    with pytest.raises(QueryBuildError, match=r"offset\(\) takes a non-negative int"):
        T.offset(n)


def test_group_by_and_having() -> None:
    query = (
        T.select("user_id", n=raw("count(*)"))
        .group_by("user_id", raw("date_trunc('day', due)"))
        .having(raw("count(*) > %s", [1]))
        .or_having("user_id", 7)
    )
    compiled = query.compile()
    assert compiled.text == (
        'SELECT "user_id", count(*) AS "n" FROM "todos" '
        "GROUP BY \"user_id\", date_trunc('day', due) "
        'HAVING (count(*) > %s) OR "user_id" = %s'
    )
    assert compiled.params == (1, 7)


def test_for_update_is_not_a_plain_read() -> None:
    locked = T.where("id", 1).for_update()
    assert text(locked) == 'SELECT * FROM "todos" WHERE "id" = %s FOR UPDATE'
    assert locked.compile().reads_only is False
    assert text(T.for_update(skip_locked=True)).endswith("FOR UPDATE SKIP LOCKED")
    with pytest.raises(QueryBuildError, match="skip_locked"):
        T.for_update(skip_locked="yes")  # type: ignore[arg-type]


def test_clauses_come_out_in_sql_order_whatever_the_call_order() -> None:
    query = T.limit(5).order_by("id").where("a", 1).select("id").offset(2).where("b", 2)
    compiled = query.compile()
    assert compiled.text == (
        'SELECT "id" FROM "todos" WHERE "a" = %s AND "b" = %s ORDER BY "id" ASC LIMIT %s OFFSET %s'
    )
    assert compiled.params == (1, 2, 5, 2)


# -- keyset pagination ---------------------------------------------------------------------


def test_after_a_mapping_compares_the_row() -> None:
    due = dt.date(2030, 1, 1)
    query = T.order_by("due").order_by("id").after({"id": 41, "due": due}).limit(20)
    compiled = query.compile()
    assert compiled.text == (
        'SELECT * FROM "todos" WHERE ("due", "id") > (%s, %s) ORDER BY "due" ASC, "id" ASC LIMIT %s'
    )
    assert compiled.params == (due, 41, 20)


def test_after_descending_uses_less_than_and_a_sequence() -> None:
    query = T.order_by("id", "desc").after([41])
    assert text(query) == 'SELECT * FROM "todos" WHERE ("id") < (%s) ORDER BY "id" DESC'


def test_after_is_anded_to_the_conditions() -> None:
    query = T.where("a", 1).or_where("b", 2).order_by("id").after([5])
    assert text(query) == (
        'SELECT * FROM "todos" WHERE ("a" = %s OR "b" = %s) AND ("id") > (%s) ORDER BY "id" ASC'
    )
    anded = T.where("a", 1).where("b", 2).order_by("id").after([5])
    assert 'WHERE "a" = %s AND "b" = %s AND ("id") > (%s)' in text(anded)


def test_after_accepts_qualified_and_bare_keys() -> None:
    query = table("todos", "t").order_by("t.id").after({"id": 3})
    assert text(query) == (
        'SELECT * FROM "todos" AS "t" WHERE ("t"."id") > (%s) ORDER BY "t"."id" ASC'
    )
    assert text(table("todos", "t").order_by("t.id").after({"t.id": 3})) == text(query)


@pytest.mark.parametrize(
    ("query", "keys", "fragment"),
    [
        (T, {"id": 1}, "needs order_by"),
        (T.order_by("a").order_by("id", "desc"), {"a": 1, "id": 1}, "same direction"),
        (T.order_by("a").order_by("id"), {"a": 1}, "missing.*'id'"),
        (T.order_by("id"), {"id": 1, "x": 2}, r"keys \['x'\] are not order_by"),
        (T.order_by("todos.id"), {"todos.id": 1, "id": 1}, "given twice"),
        (T.order_by("id"), {"id": None}, "'id' is None"),
        (T.order_by("id"), [1, 2], "needs 1 values"),
        (T.order_by("id"), "1", "takes a dict or a list"),
        (T.order_by(raw("random()")), [1], "order_by\\(raw"),
        (T.order_by("id"), {"id": "a\x00"}, "column 'id'.*NUL"),
    ],
)
def test_after_refuses_what_cannot_page(query: SelectQuery, keys: Any, fragment: str) -> None:
    with pytest.raises(QueryBuildError, match=fragment):
        query.after(keys)


def test_order_by_cannot_follow_after() -> None:
    with pytest.raises(QueryBuildError, match="before after"):
        T.order_by("id").after([1]).order_by("x")


def test_distinct_on_keeps_the_first_row_of_each_group() -> None:
    query = T.distinct_on("user_id").order_by("user_id").order_by("due", "desc")
    assert text(query) == (
        'SELECT DISTINCT ON ("user_id") * FROM "todos" ORDER BY "user_id" ASC, "due" DESC'
    )
    two = T.select("id").distinct_on("a", raw("lower(b)")).distinct_on("c")
    assert text(two) == 'SELECT DISTINCT ON ("a", lower(b), "c") "id" FROM "todos"'


def test_distinct_on_is_not_distinct() -> None:
    with pytest.raises(QueryBuildError, match="cannot follow distinct_on"):
        T.distinct_on("a").distinct()
    with pytest.raises(QueryBuildError, match=r"cannot follow distinct\(\)"):
        T.distinct().distinct_on("a")
    with pytest.raises(QueryBuildError, match="at least one column"):
        T.distinct_on()
    with pytest.raises(QueryBuildError, match=r"distinct_on\(\) column"):
        T.distinct_on("a.b.c")
    with pytest.raises(QueryBuildError, match=r"insert\(\) cannot follow distinct_on\(\)"):
        T.distinct_on("a").insert({"a": 1})


# -- count ---------------------------------------------------------------------------------


def test_count_keeps_the_conditions_and_drops_paging() -> None:
    page = T.where("done", False).order_by("id").limit(20).offset(40).for_update()
    compiled = page.count().compile()
    assert compiled.text == 'SELECT count(*) AS "count" FROM "todos" WHERE "done" = %s'
    assert compiled.params == (False,)


def test_count_keeps_the_keyset_of_after() -> None:
    # after() filters the rows (those after the last one seen): count() keeps it
    compiled = T.order_by("id").after([7]).count().compile()
    assert compiled.text == 'SELECT count(*) AS "count" FROM "todos" WHERE ("id") > (%s)'
    assert compiled.params == (7,)
    both = T.where("a", 1).or_where("b", 2).order_by("x", "desc").after({"x": 3}).count()
    assert text(both) == (
        'SELECT count(*) AS "count" FROM "todos" WHERE ("a" = %s OR "b" = %s) AND ("x") < (%s)'
    )


def test_count_of_a_column_with_joins() -> None:
    query = T.join("users", "users.id", "todos.user_id").count("todos.id")
    assert text(query) == (
        'SELECT count("todos"."id") AS "count" FROM "todos" '
        'JOIN "users" ON "users"."id" = "todos"."user_id"'
    )


def test_count_of_a_distinct_or_grouped_query_counts_the_rows_it_returns() -> None:
    assert text(T.select("title").distinct().order_by("title").limit(5).count()) == (
        'SELECT count(*) AS "count" FROM (SELECT DISTINCT "title" FROM "todos") AS "counted"'
    )
    grouped = (
        T.select("user_id")
        .where("done", False)
        .group_by("user_id")
        .having(raw("count(*) > %s", [1]))
    )
    compiled = grouped.count().compile()
    assert compiled.text == (
        'SELECT count(*) AS "count" FROM (SELECT "user_id" FROM "todos" WHERE "done" = %s '
        'GROUP BY "user_id" HAVING (count(*) > %s)) AS "counted"'
    )
    assert compiled.params == (False, 1)
    with pytest.raises(QueryBuildError, match=r"count\('id'\) of a distinct or grouped"):
        T.distinct().count("id")


def test_count_of_distinct_on_keeps_its_order() -> None:
    latest = T.distinct_on("user_id").order_by("user_id").order_by("id", "desc").limit(3)
    assert text(latest.count()) == (
        'SELECT count(*) AS "count" FROM (SELECT DISTINCT ON ("user_id") * FROM "todos" '
        'ORDER BY "user_id" ASC, "id" DESC) AS "counted"'
    )


def test_a_count_is_a_query_on_a_subquery_that_cannot_be_written() -> None:
    with pytest.raises(QueryBuildError, match="needs a table, not a subquery"):
        T.distinct().count().delete(all_rows=True)


# -- immutability --------------------------------------------------------------------------


def test_chaining_never_changes_the_original() -> None:
    # GIVEN a module-level query and its SQL
    base = table("todos").where("done", False)
    before = (base.statement, base.compile().text)
    # WHEN every method is called on it
    derived: list[SelectQuery | UpdateQuery | DeleteQuery] = [
        base.select("id"),
        base.distinct(),
        base.join("u", "u.id", "todos.u"),
        base.left_join("u", "u.id", "todos.u"),
        base.where("a", 1),
        base.or_where("a", 1),
        base.where_not("a", 1),
        base.or_where_not("a", 1),
        base.group_by("a"),
        base.having("a", 1),
        base.or_having("a", 1),
        base.order_by("id"),
        base.order_by("id").after([1]),
        base.limit(1),
        base.offset(1),
        base.for_update(),
        base.count(),
        base.update({"a": 1}),
        base.delete(),
    ]
    # THEN the original records and compiles exactly as before
    assert (base.statement, base.compile().text) == before
    assert all(d.statement != base.statement for d in derived)


def test_builders_refuse_attribute_changes() -> None:
    with pytest.raises(QueryBuildError, match="immutable"):
        T._statement = None  # type: ignore[assignment]  # a wrong type: refused all the same
    with pytest.raises(QueryBuildError, match="immutable"):
        T.anything = 1
    with pytest.raises(QueryBuildError, match="immutable"):
        del T._statement
    with pytest.raises(TypeError):  # the recorded statement is a tuple
        T.statement[0] = ("x",)  # type: ignore[index]


def test_table_returns_a_shareable_query() -> None:
    assert table("todos") is table("todos")
    assert table("todos", "t") is not table("todos")


@pytest.mark.parametrize("name", ["", "a.b.c", None, "x" * 64, "a\x00"])
def test_table_refuses_bad_names(name: Any) -> None:
    with pytest.raises(QueryBuildError, match="table name"):
        table(name)


@pytest.mark.parametrize("alias", ["", 5, "x" * 64, "a\x00"])
def test_table_refuses_bad_aliases(alias: Any) -> None:
    with pytest.raises(QueryBuildError, match="table alias"):
        table("todos", alias)


def test_update_and_delete_take_only_conditions_from_a_select() -> None:
    with pytest.raises(QueryBuildError, match=r"update\(\) cannot follow order_by\(\)"):
        T.order_by("id").update({"a": 1})
    with pytest.raises(QueryBuildError, match=r"delete\(\) cannot follow limit\(\)"):
        T.where("a", 1).limit(1).delete()
    with pytest.raises(QueryBuildError, match=r"insert\(\) cannot follow where\(\)"):
        T.where("a", 1).insert({"a": 1})

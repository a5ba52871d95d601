"""where() and friends: every form, the operator allow-list, NULL, lists, groups, precedence."""

from __future__ import annotations

from typing import Any

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import OPERATORS, Conditions, raw, ref, table
from neonkit.query._conditions import operator

T = table("t")


def where_sql(query: Any) -> tuple[str, tuple[Any, ...]]:
    """The WHERE part of a compiled select on "t", and its parameters."""
    compiled = query.compile()
    prefix = 'SELECT * FROM "t" WHERE '
    assert compiled.text.startswith(prefix), compiled.text
    return compiled.text[len(prefix) :], compiled.params


def test_two_arguments_mean_equals() -> None:
    assert where_sql(T.where("id", 7)) == ('"id" = %s', (7,))


def test_qualified_columns_are_split_on_the_dot() -> None:
    assert where_sql(T.where("t.id", 7)) == ('"t"."id" = %s', (7,))


@pytest.mark.parametrize(
    ("op", "rendered"),
    [
        ("=", "="),
        ("!=", "<>"),
        ("<>", "<>"),
        ("<", "<"),
        ("<=", "<="),
        (">", ">"),
        (">=", ">="),
        ("like", "LIKE"),
        ("ILIKE", "ILIKE"),
        ("not like", "NOT LIKE"),
        ("Not  ILike", "NOT ILIKE"),
        ("@>", "@>"),
        ("<@", "<@"),
        ("&&", "&&"),
    ],
)
def test_each_allowed_operator(op: str, rendered: str) -> None:
    assert where_sql(T.where("c", op, "v")) == (f'"c" {rendered} %s', ("v",))


def test_the_allow_list_is_what_the_docs_say() -> None:
    assert set(OPERATORS) == {
        "=", "!=", "<>", "<", "<=", ">", ">=", "like", "ilike", "not like", "not ilike",
        "in", "not in", "between", "not between", "is", "is not", "@>", "<@", "&&",
    }  # fmt: skip


@pytest.mark.parametrize("op", ["==", "; DROP TABLE t", "or", "~", "betwixt", "", None, 1])
def test_other_operators_are_refused_by_name(op: Any) -> None:
    with pytest.raises(QueryBuildError, match=r"unknown operator") as caught:
        T.where("c", op, 1)
    assert repr(op) in str(caught.value)


def test_operator_normalises_case_and_spaces() -> None:
    assert operator("NOT   In") == "<> ALL"


def test_none_becomes_is_null_or_is_not_null() -> None:
    assert where_sql(T.where("due", None)) == ('"due" IS NULL', ())
    assert where_sql(T.where("due", "=", None)) == ('"due" IS NULL', ())
    assert where_sql(T.where("due", "!=", None)) == ('"due" IS NOT NULL', ())
    assert where_sql(T.where("due", "<>", None)) == ('"due" IS NOT NULL', ())
    assert where_sql(T.where("due", "is", None)) == ('"due" IS NULL', ())
    assert where_sql(T.where("due", "is not", None)) == ('"due" IS NOT NULL', ())


def test_is_takes_booleans_as_keywords() -> None:
    assert where_sql(T.where("done", "is", True)) == ('"done" IS TRUE', ())
    assert where_sql(T.where("done", "is not", False)) == ('"done" IS NOT FALSE', ())
    with pytest.raises(QueryBuildError, match="'is' and 'is not'"):
        T.where("done", "is", 1)


@pytest.mark.parametrize("op", ["<", "like", "in", "not in", "@>"])
def test_none_with_other_operators_is_refused(op: str) -> None:
    with pytest.raises(QueryBuildError, match=r"column 'due'.*cannot compare with None"):
        T.where("due", op, None)


def test_booleans_compare_as_values() -> None:
    assert where_sql(T.where("done", False)) == ('"done" = %s', (False,))


def test_in_binds_one_list_whatever_its_length() -> None:
    # GIVEN lists of different lengths
    short, long = T.where("id", "in", [1]), T.where("id", "in", list(range(1000)))
    # THEN the SQL is the same and the list is one parameter
    assert where_sql(short) == ('"id" = ANY(%s)', ([1],))
    assert where_sql(long)[0] == '"id" = ANY(%s)'
    assert where_sql(long)[1] == (list(range(1000)),)
    assert short.compile().text is long.compile().text


def test_not_in_is_all_different() -> None:
    assert where_sql(T.where("id", "not in", (1, 2))) == ('"id" <> ALL(%s)', ([1, 2],))
    text, params = where_sql(T.where("id", "in", {3}))
    assert (text, params) == ('"id" = ANY(%s)', ([3],))


@pytest.mark.parametrize("value", ["abc", 5, {"a": 1}])
def test_in_takes_only_collections(value: Any) -> None:
    with pytest.raises(QueryBuildError, match=r"column 'id'.*list, tuple or set"):
        T.where("id", "in", value)


def test_nothing_is_in_an_empty_list() -> None:
    # ANY('{}') on an array column fails (42704: no type for text[][]), so no parameter is sent
    assert where_sql(T.where("tags", "in", [])) == ("(FALSE)", ())
    assert where_sql(T.where("tags", "not in", set())) == ("(TRUE)", ())
    assert where_sql(T.where_not("tags", "in", ())) == ("NOT (FALSE)", ())
    assert where_sql(T.where("a", 1).or_where("tags", "in", [])) == ('"a" = %s OR (FALSE)', (1,))
    with pytest.raises(QueryBuildError, match="column must not be empty"):
        T.where("", "in", [])


def test_a_list_of_ints_is_array_text_that_takes_the_columns_type() -> None:
    # psycopg sends [1] as smallint[], which an integer[] or bigint[] column cannot compare with
    assert where_sql(T.where("nums", "@>", [1, 2])) == ('"nums" @> %s', ("{1,2}",))
    assert where_sql(T.where("nums", [[1, None], [2, 3]]))[1] == ("{{1,NULL},{2,3}}",)
    assert where_sql(T.where("nums", "&&", (-(2**40), 7)))[1] == ("{-1099511627776,7}",)
    # other lists are bound as psycopg adapts them: text goes untyped, bool is not an int here
    assert where_sql(T.where("tags", "&&", ["a"]))[1] == (["a"],)
    assert where_sql(T.where("flags", "@>", [True]))[1] == ([True],)
    assert where_sql(T.where("nums", "<@", []))[1] == ([],)


def test_in_takes_a_raw_subquery() -> None:
    query = T.where("id", "in", raw("SELECT id FROM u WHERE a = %s", [1]))
    assert where_sql(query) == ('"id" = ANY(SELECT id FROM u WHERE a = %s)', (1,))


def test_a_raw_value_is_inlined_in_parentheses() -> None:
    assert where_sql(T.where("at", "<", raw("now()"))) == ('"at" < (now())', ())


def test_a_mapping_is_anded_equalities() -> None:
    assert where_sql(T.where({"a": 1, "b": None})) == ('"a" = %s AND "b" IS NULL', (1,))


def test_or_where_with_a_mapping_groups_it() -> None:
    query = T.where("x", 0).or_where({"a": 1, "b": 2})
    assert where_sql(query) == ('"x" = %s OR ("a" = %s AND "b" = %s)', (0, 1, 2))


def test_an_empty_mapping_is_refused() -> None:
    with pytest.raises(QueryBuildError, match="empty mapping"):
        T.where({})


def test_a_function_builds_a_parenthesised_group() -> None:
    query = T.where("done", False).where(lambda w: w.where("a", 1).or_where("b", 2))
    assert where_sql(query) == ('"done" = %s AND ("a" = %s OR "b" = %s)', (False, 1, 2))


def test_groups_nest() -> None:
    query = T.where(lambda w: w.where("a", 1).or_where(lambda v: v.where("b", 2).where("c", 3)))
    assert where_sql(query) == ('("a" = %s OR ("b" = %s AND "c" = %s))', (1, 2, 3))


def test_a_function_receives_an_empty_condition_builder() -> None:
    seen: list[Any] = []

    def build(w: Conditions) -> Conditions:
        seen.append(w)
        return w.where("a", 1)

    T.where(build)
    assert isinstance(seen[0], Conditions)
    assert repr(seen[0]) == "Conditions(())"


def test_an_empty_group_adds_nothing() -> None:
    assert T.where(lambda w: w).compile().text == 'SELECT * FROM "t"'


def test_a_function_must_return_the_builder() -> None:
    with pytest.raises(QueryBuildError, match=r"must return the condition builder.*got None"):
        T.where(lambda w: None)  # type: ignore[arg-type, return-value]


def test_raw_conditions_are_parenthesised() -> None:
    query = T.where(raw("lower(title) = %s", ["x"])).or_where(raw("a OR b"))
    assert where_sql(query) == ("(lower(title) = %s) OR (a OR b)", ("x",))


def test_conditions_combine_left_to_right() -> None:
    # GIVEN where(a).where(b).or_where(c).where(d)
    query = T.where("a", 1).where("b", 2).or_where("c", 3).where("d", 4)
    # THEN each call applies to everything before it
    assert where_sql(query) == (
        '(("a" = %s AND "b" = %s) OR "c" = %s) AND "d" = %s',
        (1, 2, 3, 4),
    )


def test_consecutive_ors_need_no_parentheses() -> None:
    query = T.where("a", 1).or_where("b", 2).or_where("c", 3)
    assert where_sql(query)[0] == '"a" = %s OR "b" = %s OR "c" = %s'


def test_negations() -> None:
    query = T.where_not("a", 1).or_where_not("b", "in", [2]).where_not({"c": 3, "d": 4})
    assert where_sql(query) == (
        '(NOT ("a" = %s) OR NOT ("b" = ANY(%s))) AND NOT ("c" = %s AND "d" = %s)',
        (1, [2], 3, 4),
    )
    assert where_sql(T.where_not({"c": 3}))[0] == 'NOT ("c" = %s)'
    assert where_sql(T.where_not(raw("x")))[0] == "NOT (x)"
    assert where_sql(T.where_not(lambda w: w.where("a", 1)))[0] == 'NOT ("a" = %s)'


@pytest.mark.parametrize(
    "args",
    [
        ("only-a-column",),
        (42,),
        (None,),
        (["a", 1],),
    ],
)
def test_single_arguments_must_be_a_mapping_function_or_raw(args: tuple[Any, ...]) -> None:
    with pytest.raises(QueryBuildError, match=r"where\(\) takes"):
        T.where(*args)


def test_star_and_non_strings_are_not_columns() -> None:
    with pytest.raises(QueryBuildError, match="cannot be '\\*'"):
        T.where("*", 1)
    with pytest.raises(QueryBuildError, match="column name"):
        T.where(raw("lower(x)"), 1)  # type: ignore[call-overload]


HOSTILE_VALUES = [
    "'; DROP TABLE t; --",
    "' OR 1=1 --",
    '";--',
    "back\\slash\\",
    "ünïcödé ☃ 🎉",
    "%s",
    "%(x)s",
    "100%",
    "{}",
    "$1",
    "x" * 10_000,
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_values_are_parameters_only(value: str) -> None:
    plain = T.where("a", "plain").or_where("b", "in", ["plain"]).compile()
    hostile = T.where("a", value).or_where("b", "in", [value]).compile()
    assert hostile.text is plain.text
    assert hostile.params == (value, [value])


@pytest.mark.parametrize("method", ["where", "or_where", "where_not", "or_where_not"])
def test_nul_in_values_names_the_column(method: str) -> None:
    with pytest.raises(QueryBuildError, match=r"column 'title'.*NUL"):
        getattr(T, method)("title", "a\x00")
    with pytest.raises(QueryBuildError, match=r"column 'tags'.*NUL"):
        getattr(T, method)("tags", "in", ["ok", "\x00"])
    with pytest.raises(QueryBuildError, match=r"column 'title'.*NUL"):
        getattr(T, method)({"title": "\x00"})


def test_raw_is_not_a_value_inside_a_list() -> None:
    with pytest.raises(QueryBuildError, match=r"column 'a': raw\(\) is SQL text, not a value"):
        T.where("a", "@>", [raw("now()")])


def test_recorded_lists_do_not_follow_the_callers_list() -> None:
    ids = [1, 2]
    query = T.where("id", "in", ids)
    ids.append(3)
    assert query.compile().params == ([1, 2],)


# -- between, subqueries, ref, exists ------------------------------------------------------


def test_between_binds_its_two_values() -> None:
    assert where_sql(T.where("n", "between", (1, 9))) == ('"n" BETWEEN %s AND %s', (1, 9))
    assert where_sql(T.where("d", "not between", ["a", "b"])) == (
        '"d" NOT BETWEEN %s AND %s',
        ("a", "b"),
    )


def test_between_takes_raw_bounds_in_parentheses() -> None:
    query = T.where("at", "between", (raw("now() - %s::interval", ["1 day"]), raw("now()")))
    assert where_sql(query) == ('"at" BETWEEN (now() - %s::interval) AND (now())', ("1 day",))


@pytest.mark.parametrize("value", [1, (1,), (1, 2, 3), (None, 1), "ab", raw("1 AND 2")])
def test_between_takes_two_values(value: Any) -> None:
    with pytest.raises(QueryBuildError, match=r"column 'n': 'between'"):
        T.where("n", "between", value)


def test_in_takes_a_select_query() -> None:
    tagged = table("tags").select("todo_id").where("tag", "a")
    assert where_sql(T.where("id", "in", tagged).where("done", False)) == (
        '"id" = ANY (SELECT "todo_id" FROM "tags" WHERE "tag" = %s) AND "done" = %s',
        ("a", False),
    )
    assert where_sql(T.where("id", "not in", tagged))[0].startswith('"id" <> ALL (SELECT')


def test_a_select_query_is_a_scalar_subquery_elsewhere() -> None:
    latest = table("u").select(raw("max(n)")).where("k", 5)
    assert where_sql(T.where("n", ">=", latest)) == (
        '"n" >= (SELECT max(n) FROM "u" WHERE "k" = %s)',
        (5,),
    )


def test_writes_are_not_subqueries() -> None:
    with pytest.raises(QueryBuildError, match="a subquery must be a select query, got an UPDATE"):
        T.where("id", "in", table("u").where("a", 1).update({"a": 2}))
    with pytest.raises(QueryBuildError, match=r"where_exists\(\) takes a select query"):
        T.where_exists(table("u").delete(all_rows=True))
    with pytest.raises(QueryBuildError, match=r"where_exists\(\) takes a select query"):
        T.where_exists("SELECT 1")  # type: ignore[arg-type]


def test_ref_compares_with_a_column() -> None:
    assert where_sql(T.where("a", ref("t.b"))) == ('"a" = "t"."b"', ())
    assert where_sql(T.where("a", "<", ref("b"))) == ('"a" < "b"', ())
    with pytest.raises(QueryBuildError, match=r"ref\(\) column"):
        ref("a.b.c")


def test_where_exists_correlates_with_ref() -> None:
    tags = table("tags").where("tags.todo_id", ref("t.id")).where("tag", "x")
    query = T.where("done", False).where_exists(tags).where_not_exists(table("u").where("a", 1))
    assert where_sql(query) == (
        '"done" = %s AND EXISTS (SELECT * FROM "tags" WHERE "tags"."todo_id" = "t"."id" AND '
        '"tag" = %s) AND NOT EXISTS (SELECT * FROM "u" WHERE "a" = %s)',
        (False, "x", 1),
    )
    grouped = T.where("a", 1).or_where(lambda w: w.where_exists(tags))
    assert where_sql(grouped)[0].startswith('"a" = %s OR (EXISTS (SELECT')

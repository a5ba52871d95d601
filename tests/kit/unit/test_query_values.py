"""Values: checked (NUL, what psycopg cannot adapt) naming the column, frozen, bound as lists."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import InsertQuery, SelectQuery, UpdateQuery, raw, table
from psycopg.types.json import Json, Jsonb

T = table("t")


class Color(enum.Enum):
    RED = "red"


def test_values_psycopg_adapts_are_bound_as_given() -> None:
    values = [1, 1.5, True, b"\x00bytes", "text", dt.date(2030, 1, 1), Decimal("1.5"),
              uuid.UUID(int=1), dt.timedelta(1), Color.RED]  # fmt: skip
    for v in values:
        assert T.where("c", v).compile().params == (v,)
    (json,) = T.where("c", Jsonb({"a": 1})).compile().params
    assert (type(json), json.obj) == (Jsonb, {"a": 1})
    assert T.where("c", bytearray(b"x")).compile().params == (b"x",)


def test_nested_lists_and_json_do_not_follow_the_callers_objects() -> None:
    # GIVEN a query recorded with a nested list and a JSON document the caller keeps
    grid, doc = [["a"], ["b"]], {"tags": ["x"]}
    queries: list[SelectQuery | InsertQuery | UpdateQuery] = [
        T.where("grid", grid).where("doc", "@>", Jsonb(doc)),
        T.insert({"grid": grid, "doc": Jsonb(doc)}),
        T.where("id", 1).update({"grid": grid, "doc": Json(doc)}),
        T.select(raw("%s, %s", [grid, Jsonb(doc)])),
    ]
    # WHEN the caller changes them, and changes what compile() handed out
    grid[0].append("c")
    doc["tags"].append("y")
    for query in queries:
        for value in query.compile().params:
            if isinstance(value, list):
                value[0].append("d")
            elif isinstance(value, Json | Jsonb):
                value.obj["tags"].append("z")
    # THEN the queries bind what they were given
    for query in queries:
        params = query.compile().params
        assert [p for p in params if isinstance(p, list)] == [[["a"], ["b"]]]
        assert [p.obj for p in params if isinstance(p, Json | Jsonb)] == [{"tags": ["x"]}]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": 1}, r"a dict is not adapted implicitly; wrap it as Jsonb\(value\)"),
        (object(), r"psycopg cannot adapt a value of type 'object'"),
        ({1, 2}, r"a set has no order"),
        (frozenset({1}), r"a set has no order"),
        ([1, "a"], r"a list mixing int, str"),
        ([1, True], r"a list mixing bool, int"),
        ([[1, 2], [3]], r"sub-arrays have one length"),
        ([[1], 2], r"a list mixing int, list"),
        ([{"a": 1}], r"a dict is not adapted implicitly"),
        ([object()], r"cannot adapt a value of type 'object'"),
    ],
)
def test_values_psycopg_cannot_adapt_are_refused_naming_the_column(
    value: Any, message: str
) -> None:
    # GIVEN a value psycopg would refuse when the query runs (a 500, or a 422 blaming the client)
    # THEN it is refused when the query is built, naming where it goes and what it is
    builds: list[Callable[[], object]] = [
        lambda: T.where("data", value),
        lambda: T.where("data", "@>", value),
        lambda: T.insert({"id": 1, "data": value}),
        lambda: T.where("id", 1).update({"data": value}),
        lambda: T.insert({"data": 1}).on_conflict("data").merge({"data": value}),
        lambda: T.order_by("data").after([value]),
    ]
    for build in builds:
        with pytest.raises(QueryBuildError, match=r"column 'data': .*" + message):
            build()
    with pytest.raises(QueryBuildError, match=r"raw\(\) parameter 0: .*" + message):
        raw("%s", [value])


def test_in_takes_a_set_and_checks_its_items() -> None:
    assert sorted(T.where("c", "in", {3, 1}).compile().params[0]) == [1, 3]
    with pytest.raises(QueryBuildError, match=r"column 'c': .*a list mixing int, str"):
        T.where("c", "in", [1, "a"])


def test_lists_are_frozen_when_recorded_and_bound_as_lists() -> None:
    given = ["a", "b"]
    query = T.where("c", "@>", given)
    given.append("c")
    assert query.compile().params == (["a", "b"],)
    assert raw("%s", [("a", "b")]).params == (("a", "b"),)
    assert T.select(raw("%s", [("a", "b")])).compile().params == (["a", "b"],)


def test_nul_in_a_string_names_the_column() -> None:
    with pytest.raises(QueryBuildError, match=r"column 'title'.*NUL.*got 'a\\x00b'"):
        T.where("title", "a\x00b")


def test_nul_inside_lists_and_nested_lists_is_found() -> None:
    with pytest.raises(QueryBuildError, match="column 'tags'"):
        T.where("tags", "@>", ["ok", "bad\x00"])
    with pytest.raises(QueryBuildError, match="column 'grid'"):
        T.insert({"grid": [["a"], ["b\x00"]]})


def test_bytes_may_hold_nul() -> None:
    assert T.where("blob", b"\x00").compile().params == (b"\x00",)

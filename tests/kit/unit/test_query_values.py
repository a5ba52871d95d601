"""Values: NUL refused naming the column, lists frozen when recorded and bound as lists."""

from __future__ import annotations

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import raw, table

T = table("t")


def test_plain_values_are_bound_as_given() -> None:
    marker = object()
    for v in (1, 1.5, True, b"\x00bytes", "text", marker):
        assert T.where("c", v).compile().params == (v,)


def test_lists_are_frozen_when_recorded_and_bound_as_lists() -> None:
    given = ["a", "b"]
    query = T.where("c", "@>", given)
    given.append("c")
    assert query.compile().params == (["a", "b"],)
    assert raw("%s", [("a", "b")]).params == (("a", "b"),)
    assert T.select(raw("%s", [("a", "b")])).compile().params == (["a", "b"],)


def test_sets_are_bound_as_lists() -> None:
    assert sorted(T.where("c", "in", {3, 1}).compile().params[0]) == [1, 3]


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

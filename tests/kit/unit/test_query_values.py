"""Values: NUL refused naming the column, lists frozen when recorded and thawed when bound."""

from __future__ import annotations

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query._values import bindable, items, value


def test_plain_values_are_recorded_as_given() -> None:
    marker = object()
    for v in (1, 1.5, True, None, b"\x00bytes", "text", marker):
        assert value(v, "c") is v


def test_lists_and_sets_are_frozen_into_tuples() -> None:
    given = [1, 2]
    recorded = value(given, "c")
    given.append(3)
    assert recorded == (1, 2)
    assert sorted(value({3, 1}, "c")) == [1, 3]


def test_nul_in_a_string_names_the_column() -> None:
    with pytest.raises(QueryBuildError, match=r"column 'title'.*NUL.*got 'a\\x00b'"):
        value("a\x00b", "title")


def test_nul_inside_lists_and_nested_lists_is_found() -> None:
    with pytest.raises(QueryBuildError, match="column 'tags'"):
        value(["ok", "bad\x00"], "tags")
    with pytest.raises(QueryBuildError, match="column 'grid'"):
        items([["a"], ["b\x00"]], "grid")


def test_bytes_may_hold_nul() -> None:
    assert value(b"\x00", "blob") == b"\x00"


def test_tuples_are_bound_as_lists() -> None:
    assert bindable((1, 2)) == [1, 2]
    assert bindable("x") == "x"

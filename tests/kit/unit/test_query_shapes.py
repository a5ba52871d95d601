"""Shapes: values out (into the parameters, in placeholder order), SLOT in."""

from __future__ import annotations

from typing import Any

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import Raw, raw, table
from neonkit.query._shapes import shape
from neonkit.query._statements import EXCLUDED, SLOT, Insert, Select

T = table("t")


def test_a_select_shape_has_slots_where_values_were() -> None:
    params: list[Any] = []
    shaped = shape(T.where("id", 7).where("due", None).limit(3).offset(1).statement, params)
    assert isinstance(shaped, Select)
    assert [c.value for c in shaped.where] == [SLOT, None]  # type: ignore[union-attr]
    assert (shaped.limit, shaped.offset) == (SLOT, SLOT)
    assert params == [7, 3, 1]


def test_shapes_of_queries_differing_only_in_values_are_equal() -> None:
    def of(query: Any) -> tuple[Any, list[Any]]:
        params: list[Any] = []
        return shape(query.statement, params), params

    first, first_params = of(T.where("a", "in", [1]).order_by("id").after([5]).limit(1))
    second, second_params = of(T.where("a", "in", [2, 3]).order_by("id").after([9]).limit(7))
    assert first == second
    assert hash(first) == hash(second)
    assert (first_params, second_params) == ([[1], 5, 1], [[2, 3], 9, 7])


def test_raw_params_become_slots_and_raw_text_stays() -> None:
    params: list[Any] = []
    shaped = shape(T.select(raw("%s::int + %s", [1, 2])).statement, params)
    assert shaped.columns == (Raw("%s::int + %s", (SLOT, SLOT)),)  # type: ignore[union-attr]
    assert params == [1, 2]


def test_insert_rows_become_their_number_unless_raw() -> None:
    params: list[Any] = []
    shaped = shape(T.insert([{"a": 1}, {"a": [2]}]).statement, params)
    assert isinstance(shaped, Insert)
    assert shaped.rows == 2
    assert params == [1, [2]]
    with_raw = shape(T.insert({"a": raw("now()")}).statement, [])
    assert with_raw.rows == ((Raw("now()", ()),),)  # type: ignore[union-attr]


def test_merge_keeps_excluded_and_slots_values() -> None:
    params: list[Any] = []
    query = T.insert({"a": 1, "b": 2}).on_conflict("a").merge({"b": 3}).statement
    assert shape(query, params).conflict.updates == (("b", SLOT),)  # type: ignore[union-attr]
    merged = T.insert({"a": 1, "b": 2}).on_conflict("a").merge().statement
    assert shape(merged, []).conflict.updates == (("b", EXCLUDED),)  # type: ignore[union-attr]


def test_only_statements_have_shapes() -> None:
    with pytest.raises(QueryBuildError, match="not a statement"):
        shape(("not", "a", "statement"), [])  # type: ignore[arg-type]

"""Statements: plain immutable records, distinct from one another."""

from __future__ import annotations

import pytest
from neonkit.query import table
from neonkit.query._statements import EXCLUDED, SLOT, Condition, Delete, Param, Select


def test_markers_are_distinct_and_print_their_own_names() -> None:
    assert SLOT is not EXCLUDED
    assert SLOT != EXCLUDED
    assert (repr(SLOT), repr(EXCLUDED)) == ("SLOT", "EXCLUDED")


def test_a_recorded_select_is_a_named_tuple_of_tuples() -> None:
    statement = table("t").select("id").where("a", ["x", "y"]).statement
    assert isinstance(statement, Select)
    assert statement.columns == (("id",),)
    condition = statement.where[0]
    assert isinstance(condition, Condition)
    assert condition.value == Param(("x", "y"))
    with pytest.raises(AttributeError):
        statement.where = ()  # type: ignore[misc]


def test_lookalike_statements_do_not_compare_equal() -> None:
    update = table("t").update({"a": 1}, all_rows=True).statement
    delete = table("t").delete(all_rows=True).statement
    assert isinstance(delete, Delete)
    assert update != delete  # type: ignore[comparison-overlap]  # two types on purpose
    assert len({len(Select._fields), len(type(update)._fields), len(Delete._fields)}) == 3

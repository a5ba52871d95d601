"""The builders' base: immutability, and what every query offers."""

from __future__ import annotations

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import DeleteQuery, InsertQuery, SelectQuery, UpdateQuery, table
from neonkit.query.builder import Query, Recorder


def test_every_query_kind_is_a_query() -> None:
    t = table("t")
    for query, kind in [
        (t, SelectQuery),
        (t.insert({"a": 1}), InsertQuery),
        (t.update({"a": 1}, all_rows=True), UpdateQuery),
        (t.delete(all_rows=True), DeleteQuery),
    ]:
        assert isinstance(query, kind)
        assert isinstance(query, Query)
        assert str(query) == query.compile().text


def test_derive_copies_the_statement_with_one_field_changed() -> None:
    base = table("t")
    changed = base._derive(base._WHERE, ("marker",))
    assert changed.statement.where == ("marker",)
    assert changed.statement[:5] == base.statement[:5]
    assert type(changed) is SelectQuery
    assert base.statement.where == ()


def test_recorders_have_no_instance_dict() -> None:
    with pytest.raises(QueryBuildError, match="immutable"):
        Recorder(()).x = 1  # type: ignore[attr-defined]
    assert not hasattr(table("t"), "__dict__")

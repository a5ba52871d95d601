"""stream(): the SQL of a server-side cursor, and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import raw, stream, table
from neonkit.query._stream import close, declare, fetch

T = table("ev")


def test_declare_wraps_the_select_and_keeps_its_parameters() -> None:
    compiled = declare(T.select("id").where("day", 3).order_by("id"), "neonkit_stream_1")
    assert compiled.text == (
        'DECLARE "neonkit_stream_1" NO SCROLL CURSOR FOR '
        'SELECT "id" FROM "ev" WHERE "day" = %s ORDER BY "id" ASC'
    )
    assert compiled.params == (3,)
    assert not compiled.reads_only  # a cursor belongs to its transaction: never resent
    union = declare(T.select("id").union(table("b").select("id")), "c")
    assert (
        union.text
        == 'DECLARE "c" NO SCROLL CURSOR FOR (SELECT "id" FROM "ev") UNION (SELECT "id" FROM "b")'
    )


def test_fetch_and_close() -> None:
    assert fetch("c", 500).text == 'FETCH FORWARD 500 FROM "c"'
    assert close("c").text == 'CLOSE "c"'


@pytest.mark.parametrize("batch", [0, -1, 1.5, "10", True, None, 10**7])
def test_batch_is_a_positive_int(batch: Any) -> None:
    with pytest.raises(QueryBuildError, match="batch must be an int from 1 to 1,000,000"):
        stream(Handle(), T, batch=batch)


@pytest.mark.parametrize(
    "query", [T.insert({"a": 1}), T.where("a", 1).delete(), raw("SELECT 1"), "SELECT 1"]
)
def test_only_select_queries_stream(query: Any) -> None:
    with pytest.raises(QueryBuildError, match=r"stream\(\) takes a select query"):
        stream(Handle(), query)


def test_it_needs_a_transaction_handle() -> None:
    class Database:
        def all(self, query: Any) -> list[Any]:
            return []

    with pytest.raises(QueryBuildError, match=r"pass the handle of `with db.transaction\(\)"):
        stream(Database(), T)


class Handle:
    """A transaction handle for misuse that must be refused before any statement is sent."""

    def all(self, query: Any) -> list[Any]:
        raise AssertionError(f"nothing may run: {query!r}")

    def defer(self, query: Any) -> None:
        raise AssertionError(f"nothing may run: {query!r}")

"""raw(): the only way in for SQL text; placeholders counted, values bound."""

from __future__ import annotations

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import Raw, raw, table
from neonkit.query._raw import placeholders


def test_raw_records_text_and_frozen_params() -> None:
    given = [[1, 2]]
    fragment = raw("tags && %s", given)
    given[0].append(3)
    assert fragment == Raw("tags && %s", ((1, 2),))


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("now()", 0),
        ("a = %s", 1),
        ("a = %s AND b = %s", 2),
        ("title LIKE '100%%'", 0),
        ("x = %b OR y = %t", 2),
        ("%%s", 0),
        ("%%%s", 1),
    ],
)
def test_placeholders_are_counted_like_psycopg(text: str, count: int) -> None:
    assert placeholders(text) == count


@pytest.mark.parametrize("text", ["title LIKE 'a%'", "a = %(name)s", "a = %d", "100%"])
def test_other_uses_of_percent_are_refused(text: str) -> None:
    with pytest.raises(QueryBuildError, match="%%"):
        raw(text)


def test_the_number_of_params_must_match() -> None:
    with pytest.raises(QueryBuildError, match=r"1 %s placeholder.*0 parameter"):
        raw("a = %s")
    with pytest.raises(QueryBuildError, match=r"0 %s placeholder.*1 parameter"):
        raw("now()", [1])


@pytest.mark.parametrize("params", ["x", {"a": 1}, 5, b"ab"])
def test_params_must_be_a_list_or_tuple(params: object) -> None:
    with pytest.raises(QueryBuildError, match="list or tuple"):
        raw("a = %s", params)  # type: ignore[arg-type]


def test_text_must_be_a_str_without_nul() -> None:
    with pytest.raises(QueryBuildError, match="literal str"):
        raw(b"now()")  # type: ignore[arg-type]
    with pytest.raises(QueryBuildError, match="NUL"):
        raw("now()\x00")


def test_a_param_with_nul_is_refused_naming_its_position() -> None:
    with pytest.raises(QueryBuildError, match="raw\\(\\) parameter 1"):
        raw("a = %s OR b = %s", ["ok", "b\x00d"])


def test_raw_text_is_never_formatted() -> None:
    # braces would be psycopg.sql.SQL.format() fields; raw text is used as is
    compiled = table("t").select(raw("'{}'::text AS braces")).compile()
    assert compiled.text == "SELECT '{}'::text AS braces FROM \"t\""

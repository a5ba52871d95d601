"""Select lists and RETURNING terms."""

from __future__ import annotations

import pytest
from neonkit.errors import QueryBuildError
from neonkit.query import raw
from neonkit.query._statements import Alias
from neonkit.query._terms import terms


def test_terms_record_columns_raw_and_aliases() -> None:
    fragment = raw("now()")
    recorded = terms(("id", "t.id", "*", fragment), {"n": fragment, "x": "t.y"}, "select")
    assert recorded == (
        ("id",),
        ("t", "id"),
        ("*",),
        fragment,
        Alias(fragment, "n"),
        Alias(("t", "y"), "x"),
    )


def test_errors_name_the_method() -> None:
    with pytest.raises(QueryBuildError, match=r"returning\(\) column"):
        terms(("a.b.c",), {}, "returning")
    with pytest.raises(QueryBuildError, match=r"select\(\) alias"):
        terms((), {"": "id"}, "select")

"""Identifiers: validated when recorded, quoted by sql.Identifier, `%` doubled."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from neonkit.errors import QueryBuildError
from neonkit.query import table
from neonkit.query._names import Ident, column, identifier, show, table_name
from psycopg import sql

HOSTILE_NAMES = [
    'we"ird',
    '";--',
    "' OR 1=1 --",
    "back\\slash",
    "ünïcödé ☃",
    "a%sb",
    "%(x)s",
    "100%",
    "%%",
    "{}",
    "$1",
    "name with spaces",
    "Upper",
    "tab\there",
    "new\nline",
]


def quoted(name: str) -> str:
    """How a name appears in the compiled text: double quotes doubled, % doubled."""
    return '"' + name.replace('"', '""').replace("%", "%%") + '"'


def placeholders(text: str) -> int:
    return text.replace("%%", "").count("%s")


@pytest.mark.parametrize("name", ["id", "a" * 63, "é" * 31, "ünïcödé ☃", 'we"ird', "a%sb"])
def test_identifier_accepts_what_postgres_keeps_as_written(name: str) -> None:
    assert identifier(name) == name


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "must not be empty"),
        ("a\x00b", "NUL"),
        ("a" * 64, "64 bytes"),
        ("é" * 32, "64 bytes"),
        (None, "must be a string"),
        (7, "must be a string"),
        (b"id", "must be a string"),
    ],
)
def test_identifier_refuses_what_postgres_would_change_or_reject(
    name: object, fragment: str
) -> None:
    with pytest.raises(QueryBuildError, match=fragment):
        identifier(name)


def test_a_long_name_is_cut_in_the_message() -> None:
    # GIVEN a 10,000-character name
    name = "x" * 10_000
    # WHEN it is refused
    with pytest.raises(QueryBuildError) as caught:
        column(name)
    # THEN the message shows its start, an ellipsis and its length, not the whole name
    message = str(caught.value)
    assert "'xxxxxxxx" in message
    assert "..." in message
    assert "10000 characters" in message
    assert len(message) < 300


def test_show_cuts_long_values_and_keeps_short_ones() -> None:
    assert show("id") == "'id'"
    assert show("y" * 100).endswith("... (100 characters)")
    assert len(show(list(range(1000)))) < 100


def test_column_splits_on_one_dot() -> None:
    assert column("id") == ("id",)
    assert column("todos.id") == ("todos", "id")
    assert column("*", star=True) == ("*",)
    assert column("todos.*", star=True) == ("todos", "*")


@pytest.mark.parametrize("name", ["a.b.c", ".id", "todos.", "*", "todos.*"])
def test_column_refuses_bad_shapes(name: str) -> None:
    with pytest.raises(QueryBuildError, match="column"):
        column(name)


def test_column_refuses_non_strings_naming_them() -> None:
    with pytest.raises(QueryBuildError, match=r"got \['id'\]"):
        column(["id"])


def test_table_name_takes_an_optional_schema() -> None:
    assert table_name("todos") == ("todos",)
    assert table_name("public.todos") == ("public", "todos")
    with pytest.raises(QueryBuildError, match=r"schema.name"):
        table_name("a.b.c")
    with pytest.raises(QueryBuildError, match="table name"):
        table_name("")


def test_ident_doubles_percent_so_psycopg_sees_no_placeholder() -> None:
    assert Ident("a%sb").as_string(None) == '"a%%sb"'
    assert Ident("t", "100%").as_string(None) == '"t"."100%%"'
    assert Ident("plain").as_string(None) == '"plain"'
    assert isinstance(Ident("x"), sql.Identifier)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_never_change_the_statement(name: str) -> None:
    # GIVEN the same query with a plain name and with a hostile one, everywhere a name goes
    def query(n: str) -> str:
        q = table(n).select(n).where(n, "value").order_by(n).limit(5)
        compiled = q.compile()
        assert placeholders(compiled.text) == len(compiled.params) == 2
        return compiled.text

    # WHEN both are compiled
    hostile, plain = query(name), query("plain")
    # THEN the hostile text is the plain text with only the quoted name replaced
    assert hostile.replace(quoted(name), '"plain"') == plain
    assert hostile.count(quoted(name)) == 4


names = st.text(min_size=1, max_size=20).filter(
    lambda s: "\x00" not in s and "." not in s and s != "*" and len(s.encode()) <= 63
)


@given(name=names, value=st.text())
def test_any_valid_name_and_value_keep_the_shape(name: str, value: str) -> None:
    if "\x00" in value:
        with pytest.raises(QueryBuildError, match="NUL"):
            table("t").where(name, value)
        return
    compiled = table("t").select(name).where(name, value).compile()
    assert compiled.params == (value,)
    assert placeholders(compiled.text) == 1
    assert compiled.text == f'SELECT {quoted(name)} FROM "t" WHERE {quoted(name)} = %s'

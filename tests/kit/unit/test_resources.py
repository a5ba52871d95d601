"""neonkit.resources without a database: a declaration, its parsers, its problems, its schemas."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import jsonschema
import pytest
from neonkit import BadRequestError, ValidationError
from neonkit.resources import Resource, Schema, field


class Gadget(Resource, table="gadgets", max_batch=3):
    """A field of every type."""

    id: int = field(read_only=True)
    name: str = field(max_length=10, blank=False, filter=True, sort=True)
    count: int = field(ge=0, le=100, filter=True)
    price: float | None = field(default=None, ge=0)
    active: bool = field(default=True, create=False, filter=True)
    released: date | None = None
    seen_at: datetime | None = None
    serial: UUID | None = None
    specs: Any = None
    labels: list[str] = field(default=[], max_items=3, max_length=5, unique=True, filter="label")
    created_at: datetime = field(read_only=True, sort=True)


def body(**values: Any) -> bytes:
    return json.dumps({"name": "n", "count": 1, **values}).encode()


def problems(parse: Any, data: bytes | str) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        parse(data.encode() if isinstance(data, str) else data)
    return {d["field"]: d["problem"] for d in caught.value.details}


# -- the declaration ------------------------------------------------------------------------


def test_a_declaration_reads_like_a_dataclass() -> None:
    assert Gadget.columns == (
        "id",
        "name",
        "count",
        "price",
        "active",
        "released",
        "seen_at",
        "serial",
        "specs",
        "labels",
        "created_at",
    )
    name, price, labels = Gadget.fields["name"], Gadget.fields["price"], Gadget.fields["labels"]
    assert (name.kind, name.required, name.nullable, name.min_length) == ("string", True, False, 1)
    assert (price.kind, price.required, price.nullable) == ("number", False, True)
    assert (labels.kind, labels.array, labels.default) == ("string", True, [])
    assert Gadget.fields["id"].read_only
    assert not Gadget.fields["active"].create
    assert Gadget.fields["count"].le == 100
    assert Gadget.fields["specs"].kind == "json"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("id: int = field(read_only=True)\n    size: complex", "unsupported type"),
        ("id: int = field(read_only=True)\n    size: int | str | None", "only one type or None"),
        ("id: int = field(read_only=True)\n    columns: int", "the name is taken"),
        ("name: str", "needs a key"),
        ("id: int = field(read_only=True)\n    due: date | None = field(sort=True)", "never null"),
        (
            "id: int = field(read_only=True)\n    n: int = field(filter='limit')",
            "taken by the list",
        ),
    ],
)
def test_a_bad_declaration_fails_at_once_and_says_why(source: str, message: str) -> None:
    code = f"class Bad(Resource, table='bad'):\n    {source}\n"
    with pytest.raises(TypeError, match=message):
        exec(code, {"Resource": Resource, "field": field, "__name__": __name__})


# -- create ---------------------------------------------------------------------------------


def test_create_gives_the_row_with_defaults() -> None:
    row = Gadget.New.parse(body(labels=["a", "b", "a"], released="2026-12-24"))
    assert row == {
        "name": "n",
        "count": 1,
        "price": None,
        "released": date(2026, 12, 24),
        "seen_at": None,
        "serial": None,
        "specs": None,
        "labels": ["a", "b"],
    }


def test_every_type_is_read_from_json() -> None:
    row = Gadget.New.parse(
        body(
            price=2.5,
            seen_at="2026-12-24T09:30:00Z",
            serial="12345678-1234-5678-1234-567812345678",
            specs={"a": [1, {"b": None}]},
        )
    )
    assert row["price"] == 2.5
    assert row["seen_at"] == datetime(2026, 12, 24, 9, 30, tzinfo=UTC)
    assert row["serial"] == UUID("12345678-1234-5678-1234-567812345678")
    assert row["specs"].obj == {"a": [1, {"b": None}]}  # jsonb, wrapped for psycopg


def test_every_bad_field_is_named_at_once() -> None:
    found = problems(
        Gadget.New.parse,
        json.dumps(
            {
                "name": "   ",
                "count": 101,
                "price": -1,
                "released": "2026-02-30",
                "seen_at": "2026-12-24T09:30:00",  # no offset
                "serial": "nope",
                "labels": ["ok", 5, "toolong"],
                "active": True,  # not on create
                "colour": "red",
            }
        ),
    )
    assert found == {
        "name": "must not be blank",
        "count": "must be an integer 0 to 100, got a number",
        "price": "must be a number at least 0, or null, got a number",
        "released": "must be a date like 2026-12-31, or null, got '2026-02-30'",
        "seen_at": "must be a date and time with an offset, like 2026-12-31T09:30:00Z, or null,"
        " got '2026-12-24T09:30:00'",
        "serial": "must be a UUID, or null, got 'nope'",
        "labels[1]": "must be a string of 1 to 5 characters, got a number",
        "labels[2]": "must be a string of 1 to 5 characters, got 'toolong'",
        "active": "unknown field",
        "colour": "unknown field",
    }


def test_required_fields_and_types() -> None:
    assert problems(Gadget.New.parse, "{}") == {"name": "is required", "count": "is required"}
    assert problems(Gadget.New.parse, "[]") == {"": "must be an object, got an array of 0"}
    found = problems(Gadget.New.parse, '{"name": true, "count": 1.5}')
    assert found["name"].endswith("got a boolean")
    assert found["count"].endswith("got a number")
    assert "count" in problems(Gadget.New.parse, '{"name": "n", "count": true}')


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ('{"name": "a\\u0000b", "count": 1}', "must not contain NUL characters"),
        ('{"name": "\\ud800", "count": 1}', "must be valid Unicode (no lone surrogates)"),
        ('{"name": "n", "count": 1, "labels": ["\\u0000"]}', "must not contain NUL characters"),
        (
            '{"name": "n", "count": 1, "specs": {"a": [{"\\u0000": 1}]}}',
            "must not contain NUL characters, at any depth",
        ),
    ],
)
def test_what_postgres_cannot_store_is_a_422(data: str, problem: str) -> None:
    assert problem in problems(Gadget.New.parse, data).values()


def test_an_echoed_lone_surrogate_is_escaped() -> None:
    found = problems(Gadget.New.parse, '{"\\ud800": 1, "name": "n", "count": 1}')
    assert found == {"\\ud800": "unknown field"}
    json.dumps(found, ensure_ascii=False).encode("utf-8")  # no surrogate left to choke on


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b'{"name": ',
        b"\xff",
        b'{"name": "n"}{"x": 1}',
        b'{"name": NaN}',
        b'{"count": ' + b"9" * 5000 + b"}",
        b"[" * 33 + b"]" * 33,
        b'{"specs": ' + b"[" * 40 + b"]" * 40 + b', "name": "n", "count": 1}',
        b"\xef\xbb\xbf{}",
    ],
)
def test_what_is_not_json_is_a_400(data: bytes) -> None:
    with pytest.raises(BadRequestError):
        Gadget.New.parse(data)


def test_a_whole_number_written_as_a_float_is_an_integer() -> None:
    assert Gadget.New.parse(b'{"name": "n", "count": 2.0}')["count"] == 2  # as JSON Schema says
    assert "count" in problems(Gadget.New.parse, '{"name": "n", "count": 2.5}')


def test_duplicate_keys_keep_the_last() -> None:
    assert Gadget.New.parse(b'{"name": "a", "name": "b", "count": 1}')["name"] == "b"


# -- batch and changes ----------------------------------------------------------------------


def test_a_batch_names_the_item_of_each_problem() -> None:
    rows = Gadget.Batch.parse(
        json.dumps([{"name": "a", "count": 1}, {"name": "b", "count": 2}]).encode()
    )
    assert [row["name"] for row in rows] == ["a", "b"]
    found = problems(Gadget.Batch.parse, json.dumps([{"name": "a", "count": 1}, {"count": -1}]))
    assert set(found) == {"[1].name", "[1].count"}
    assert problems(Gadget.Batch.parse, "[]") == {"": "has 0 items"}
    assert problems(Gadget.Batch.parse, json.dumps([{"name": "a", "count": 1}] * 4)) == {
        "": "has 4 items"
    }
    assert problems(Gadget.Batch.parse, "{}") == {"": "must be an array, got an object"}


def test_changes_keep_absent_fields_and_take_null_where_allowed() -> None:
    assert Gadget.Changes.parse(b'{"active": false, "price": null}') == {
        "active": False,
        "price": None,
    }
    assert problems(Gadget.Changes.parse, '{"name": null}')["name"].endswith("got null")
    assert problems(Gadget.Changes.parse, '{"id": 5}') == {"id": "unknown field"}
    assert "" in problems(Gadget.Changes.parse, "{}")
    assert problems(Gadget.Changes.parse, "[1]") == {"": "must be an object, got an array of 1"}


# -- ids, lists, cursors ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0", "-1", "abc", "1.5", "+1", "9" * 20, "\u0661", str(2**63)])
def test_a_bad_id_is_a_422(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Gadget.parse_id(text)
    assert caught.value.details[0]["field"] == "id"


def test_an_id_is_a_positive_bigint() -> None:
    assert Gadget.parse_id(str(2**63 - 1)) == 2**63 - 1


def test_list_parameters() -> None:
    query = Gadget.Query.parse(
        {
            "name": "x",
            "label": "a",
            "active": "false",
            "count": "7",
            "sort": "-created_at",
            "limit": "5",
        }
    )
    assert {f.name: value for f, value in query.filters} == {
        "name": "x",
        "count": 7,
        "active": False,
        "labels": "a",
    }
    assert (query.sort.name, query.descending, query.limit) == ("created_at", True, 5)
    assert Gadget.Query.parse({"limit": "1000000000"}).limit == 100  # capped, not refused
    assert Gadget.Query.parse(None).limit == 20


def test_bad_list_parameters_are_each_named() -> None:
    with pytest.raises(ValidationError) as caught:
        Gadget.Query.parse(
            {
                "count": "x",
                "active": "yes",
                "label": "toolong",
                "limit": "0",
                "sort": "price",
                "after": "zz",
                "colour": "red",
            }
        )
    assert {d["field"] for d in caught.value.details} == {
        "count",
        "active",
        "label",
        "limit",
        "sort",
        "after",
        "colour",
    }


def test_a_cursor_round_trips_and_is_bound_to_its_sort() -> None:
    query = Gadget.Query.parse({"sort": "created_at", "limit": "1"})
    at = datetime(2026, 12, 24, 9, 30, tzinfo=UTC)
    page = Gadget.Page.json(
        [{**dict.fromkeys(Gadget.columns), "id": 7, "created_at": at}] * 2, query
    )
    assert len(page["items"]) == 1
    again = Gadget.Query.parse({"sort": "created_at", "after": page["next"]})
    assert again.after == (at, 7)
    with pytest.raises(ValidationError):
        Gadget.Query.parse({"sort": "-created_at", "after": page["next"]})


# -- JSON Schema agrees with the parser -------------------------------------------------------


def validator(shape: Any) -> jsonschema.Draft202012Validator:
    components = {**Gadget.schema_components(), **shape.schema_components()}
    schema = {**shape.schema_ref(), "$defs": components}
    text = json.dumps(schema).replace("#/components/schemas/", "#/$defs/")
    return jsonschema.Draft202012Validator(
        json.loads(text), format_checker=jsonschema.FormatChecker()
    )


GOOD = [
    {"name": "n", "count": 0},
    {"name": "n", "count": 100, "price": 0, "released": None, "labels": ["a", "a"]},
    {
        "name": " x ",
        "count": 5,
        "specs": [1, "x"],
        "serial": "12345678-1234-5678-1234-567812345678",
    },
]
BAD = [
    {"name": "", "count": 0},
    {"name": "   ", "count": 0},
    {"name": "n", "count": 101},
    {"name": "n", "count": 1, "labels": ["a", "b", "c", "d"]},
    {"name": "n", "count": 1, "active": True},
    {"name": "n"},
    {"name": "a\u0000", "count": 1},
]


@pytest.mark.parametrize("value", GOOD)
def test_what_the_schema_allows_the_parser_takes(value: Any) -> None:
    validator(Gadget.New).validate(value)
    Gadget.New.parse(json.dumps(value).encode())


@pytest.mark.parametrize("value", BAD)
def test_what_the_schema_refuses_the_parser_refuses(value: Any) -> None:
    assert not validator(Gadget.New).is_valid(value)
    with pytest.raises(ValidationError):
        Gadget.New.parse(json.dumps(value).encode())


def test_the_output_schema_lists_every_field_as_required() -> None:
    schema = Gadget.schema_components()["Gadget"]
    assert schema["required"] == list(Gadget.columns)
    assert schema["properties"]["id"]["readOnly"] is True
    assert schema["properties"]["price"]["type"] == ["number", "null"]
    assert schema["description"] == "A field of every type."


def test_a_hand_written_schema_documents_itself() -> None:
    health = Schema("Health", {"type": "object", "properties": {"ok": {"type": "boolean"}}})
    assert health.schema_ref() == {"$ref": "#/components/schemas/Health"}
    assert health.schema_components() == {"Health": health.schema}


def test_a_fingerprint_ignores_key_order_and_sees_every_value() -> None:
    a = Gadget.New.parse(body(labels=["x"]))
    b = Gadget.New.parse(json.dumps({"labels": ["x"], "count": 1, "name": "n"}).encode())
    c = Gadget.New.parse(body(labels=["y"]))
    assert Gadget.fingerprint(a) == Gadget.fingerprint(b) != Gadget.fingerprint(c)

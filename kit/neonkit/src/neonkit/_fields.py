"""One field of a resource: its type and limits, as msgspec checks them and as JSON Schema says.

A field's Python type is one of `str int float bool date datetime UUID Any` (Any: any JSON
value, stored as jsonb), or a `list[...]` of one of the scalar ones, optionally `| None`.
The same attributes give the msgspec type that validates a request, the checks msgspec has no
word for (no NUL character, not blank), the problem a client reads, and the JSON Schema.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cached_property
from typing import Annotated, Any
from uuid import UUID

import msgspec
from psycopg.types.json import Jsonb

from ._json import shown

__all__ = [
    "BIGINT",
    "JSON_VALUE",
    "JSON_VALUE_SCHEMA",
    "KINDS",
    "Field",
    "Problem",
    "describe_value",
]

BIGINT = 2**63 - 1
KINDS: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    date: "date",
    datetime: "datetime",
    UUID: "uuid",
    Any: "json",
}
JSON_VALUE = "JsonValue"  # the schema of a `json` field's value, among the components
_SCALAR_SCHEMA: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "uuid": {"type": "string", "format": "uuid"},
    "json": {"$ref": f"#/components/schemas/{JSON_VALUE}"},
}
_NO_NUL = "^[^\\u0000]*$"
_NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"

Problem = dict[str, str]  # {"field": "tags[2]", "problem": "must be ..."}

# A `json` field's value: anything JSON but a NUL character in a string (jsonb refuses it).
JSON_VALUE_SCHEMA: dict[str, Any] = {
    "description": "any JSON value; no string in it holds a NUL character",
    "anyOf": [
        {"type": ["null", "boolean", "number"]},
        {"type": "string", "pattern": _NO_NUL},
        {"type": "array", "items": {"$ref": f"#/components/schemas/{JSON_VALUE}"}},
        {
            "type": "object",
            "propertyNames": {"pattern": _NO_NUL},
            "additionalProperties": {"$ref": f"#/components/schemas/{JSON_VALUE}"},
        },
    ],
}


@dataclass(frozen=True, eq=False)
class Field:
    """A field as declared: `title: str = field(max_length=500)` gives
    `Field("title", "string", required=True, max_length=500, ...)`."""

    name: str
    kind: str  # a value of KINDS
    array: bool = False
    nullable: bool = False
    required: bool = True  # must be in a create body (no default)
    default: Any = None
    read_only: bool = False  # set by the database: never in a request body
    create: bool = True  # may be given on create (False: only changed by an update)
    min_length: int | None = None  # strings, and each item of a list of strings
    max_length: int | None = None
    blank: bool = True  # False: a string must hold more than whitespace
    ge: float | None = None  # numbers
    le: float | None = None
    min_items: int | None = None  # lists
    max_items: int | None = None
    unique: bool = False  # lists: repeated items are dropped, first one kept
    filter: str | None = None  # the list's query parameter that filters on it
    sort: bool = False  # the list may be sorted by it
    description: str | None = None

    @staticmethod
    def parse_type(hint: Any) -> tuple[str, bool, bool]:
        """(kind, array, nullable) of a type hint, or TypeError naming what is not supported."""
        nullable = False
        args = typing.get_args(hint)
        if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
            rest = [arg for arg in args if arg is not type(None)]
            if len(rest) != 1:
                raise TypeError(f"only one type or None is supported, got {hint!r}")
            hint, nullable = rest[0], True
        array = typing.get_origin(hint) is list
        item = typing.get_args(hint)[0] if array and typing.get_args(hint) else hint
        if item not in KINDS or (array and item is Any):
            supported = "str, int, float, bool, date, datetime, UUID, Any, list[...] of those"
            raise TypeError(f"unsupported type {hint!r}: use {supported}, optionally | None")
        return KINDS[item], array, nullable

    @cached_property
    def item(self) -> Field:
        """One item of a list field, never null (a filter's value, a cursor's)."""
        return replace(self, array=False, nullable=False, min_items=None, max_items=None)

    # -- validation ------------------------------------------------------------------------

    @cached_property
    def msgspec_type(self) -> Any:
        """The type msgspec decodes and checks this field with (made on first use)."""
        python = next(t for t, kind in KINDS.items() if kind == self.kind)
        meta: dict[str, Any] = {}
        if self.kind == "string":
            meta = _drop_none(min_length=self.min_length, max_length=self.max_length)
        elif self.kind in ("integer", "number"):
            meta = _drop_none(ge=self.ge, le=self.le)
        elif self.kind == "datetime":
            meta = {"tz": True}
        item = Annotated[python, msgspec.Meta(**meta)] if meta else python
        if self.array:
            sizes = _drop_none(min_length=self.min_items, max_length=self.max_items)
            item = Annotated[list[item], msgspec.Meta(**sizes)] if sizes else list[item]  # type: ignore[valid-type]
        return item | None if self.nullable else item

    def check(
        self, value: Any, path: str, problems: list[Problem], *, decoded: bool = False
    ) -> Any:
        """The value as stored, after what msgspec cannot check; problems are appended.
        `decoded`: msgspec read it from JSON text, which has no lone surrogates then."""
        if value is None:
            return None
        if self.kind == "string":
            if not self.array:
                problem = self._text_problem(value, decoded)
                if problem:
                    problems.append({"field": path, "problem": problem})
                return value
            for i, text in enumerate(value):
                problem = self._text_problem(text, decoded)
                if problem:
                    problems.append({"field": f"{path}[{i}]", "problem": problem})
            return list(dict.fromkeys(value)) if self.unique else value
        elif self.kind == "json":
            problem = _json_problem(value)
            if problem:
                problems.append({"field": path, "problem": problem})
            return Jsonb(value)
        return value

    def _text_problem(self, text: str, decoded: bool = False) -> str | None:
        if "\x00" in text:
            return "must not contain NUL characters"
        if not self.blank and not text.strip():
            return "must not be blank"
        if decoded:
            return None
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode (no lone surrogates)"
        return None

    def problem(self, value: Any, item_index: int | None = None) -> str:
        """What a client reads when msgspec refused `value` (the whole value, or one item)."""
        if item_index is not None:
            return f"must be {self._expected_item()}, got {describe_value(value)}"
        return f"must be {self.expected()}, got {describe_value(value)}"

    def expected(self) -> str:
        if self.array:
            sizes = _range("items", self.min_items, self.max_items)
            text = f"an array of {_plural(self._expected_item())}" + (
                f" ({sizes})" if sizes else ""
            )
        else:
            text = self._expected_item()
        return text + ", or null" if self.nullable else text

    def _expected_item(self) -> str:
        if self.kind == "string":
            length = _range("characters", self.min_length, self.max_length)
            return "a string" + (f" of {length}" if length else "")
        if self.kind in ("integer", "number"):
            bounds = _range("", self.ge, self.le).strip()
            noun = "an integer" if self.kind == "integer" else "a number"
            return noun + (f" {bounds}" if bounds else "")
        return {
            "boolean": "true or false",
            "date": "a date like 2026-12-31",
            "datetime": "a date and time with an offset, like 2026-12-31T09:30:00Z",
            "uuid": "a UUID",
            "json": "any JSON value",
        }[self.kind]

    # -- JSON Schema -----------------------------------------------------------------------

    def json_schema(self) -> dict[str, Any]:
        item = dict(_SCALAR_SCHEMA[self.kind])
        if self.kind == "string":
            item.update(_drop_none(minLength=self.min_length, maxLength=self.max_length))
            item["pattern"] = _NO_NUL if self.blank else _NOT_BLANK
        elif self.kind in ("integer", "number"):
            item.update(_drop_none(minimum=_number(self.ge), maximum=_number(self.le)))
        schema = item
        if self.array:
            schema = {"type": "array", "items": item}
            schema.update(_drop_none(minItems=self.min_items, maxItems=self.max_items))
        if self.nullable and "type" in schema:  # `json` (any value) already allows null
            schema = {**schema, "type": [schema["type"], "null"]}
        if self.description:
            schema = {**schema, "description": self.description}
        return schema


def _json_problem(value: Any) -> str | None:
    """What jsonb refuses in a JSON value: a NUL character (or a lone surrogate) in a string."""
    texts: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            texts.extend(item)
            stack.extend(item.values())
    for text in texts:
        if "\x00" in text:
            return "must not contain NUL characters, at any depth"
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode (no lone surrogates), at any depth"
    return None


def describe_value(value: Any) -> str:
    """A value's kind as a client reads it: `a string of 501 characters`, `an array of 3`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"a string of {len(value)} characters" if len(value) > 40 else f"{shown(value)!r}"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return "a value"


def _range(noun: str, low: float | None, high: float | None) -> str:
    low_text, high_text = _number(low), _number(high)
    suffix = f" {noun}" if noun else ""
    if low is not None and high is not None:
        return f"{low_text} to {high_text}{suffix}"
    if high is not None:
        return f"at most {high_text}{suffix}"
    if low is not None:
        return f"at least {low_text}{suffix}"
    return ""


def _plural(text: str) -> str:
    for article in ("an ", "a "):
        if text.startswith(article):
            noun, _, rest = text[len(article) :].partition(" ")
            return f"{noun}s {rest}".strip()
    return text


def _number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _drop_none(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}

"""The shapes a resource's request bodies take, and its page: each parses and documents itself.

`Todo.New`, `Todo.Batch`, `Todo.Changes` parse a body in two passes: msgspec decodes it into a
struct made from the declaration (in C, and checking every limit it can express), then the
checks msgspec has no word for run on the strings. When msgspec refuses a body, `json` reads
it (400 if it is not JSON) and each field is checked alone, so that a 422 names every bad
field, not just the first one msgspec met.
"""

from __future__ import annotations

import typing
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import msgspec

from . import _json
from ._fields import JSON_VALUE, JSON_VALUE_SCHEMA, Field, Problem, describe_value
from ._routes import SCHEMAS
from .errors import ValidationError

if TYPE_CHECKING:
    from ._listing import ListQuery, ListQueryShape

__all__ = [
    "BatchShape",
    "Body",
    "ChangesShape",
    "NewShape",
    "Owner",
    "PageShape",
    "with_json_value",
]


class Owner(Protocol):
    """What a shape reads of its resource: a `neonkit.resources.Resource` class. A protocol,
    so that this module needs nothing of `neonkit.resources`, which builds the shapes."""

    @property
    def schema_name(self) -> str: ...

    @property
    def fields(self) -> dict[str, Field]: ...

    @property
    def max_batch(self) -> int: ...

    @property
    def New(self) -> NewShape: ...

    @property
    def Query(self) -> ListQueryShape: ...

    def schema_ref(self) -> dict[str, Any]: ...


class Body:
    """A request body shape: a fast msgspec decode, and a second pass naming each problem."""

    suffix: ClassVar[str]

    def __init__(self, resource: Owner) -> None:
        self.resource = resource
        self.name = resource.schema_name + self.suffix

    def schema_ref(self) -> dict[str, Any]:
        return {"$ref": SCHEMAS + self.name}

    def _fields(self) -> list[Field]:
        return [f for f in self.resource.fields.values() if f.create]

    def _decode(self, data: bytes, shape: Any) -> Any:
        """The decoded body, or None when msgspec refused it (the caller names the problems)."""
        if _json.too_deep(data):
            _json.loads(data)  # raises the 400
        try:
            return msgspec.json.decode(data, type=shape)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            return None  # ValidationError included: the second pass says what is wrong

    def _row(self, value: Any, path: str, problems: list[Problem], *, partial: bool) -> Any:
        """A row from any JSON value, every problem appended (the second pass)."""
        if not isinstance(value, dict):
            where = path.rstrip(".")
            problems.append(
                {"field": where, "problem": f"must be an object, got {describe_value(value)}"}
            )
            return None
        fields = {f.name: f for f in self._fields()}
        before = len(problems)
        for name in value:
            if name not in fields:
                problems.append({"field": path + _json.shown(name, 40), "problem": "unknown field"})
        row: dict[str, Any] = {}
        for f in fields.values():
            where = path + f.name
            if f.name not in value:
                if f.required and not partial:
                    problems.append({"field": where, "problem": "is required"})
                elif not partial:
                    row[f.name] = _fresh(f.default)
                continue
            try:
                converted = msgspec.convert(_whole_numbers(f, value[f.name]), type=f.msgspec_type)
            except msgspec.ValidationError as exc:
                if _item_index(str(exc)) is None:
                    problems.append({"field": where, "problem": f.problem(value[f.name])})
                else:  # msgspec names the first bad item: name each of them
                    problems += _item_problems(f, value[f.name], where)
                continue
            row[f.name] = f.check(converted, where, problems)
        return row if len(problems) == before else None

    def _checked(self, obj: Any, path: str, problems: list[Problem]) -> dict[str, Any]:
        """The row of a struct msgspec accepted, after the checks msgspec cannot make."""
        row = {}
        for name, f, plain in self._plan:
            value = getattr(obj, name)
            if value is not msgspec.UNSET:
                row[name] = value if plain else f.check(value, path + name, problems, decoded=True)
        return row

    @cached_property
    def _plan(self) -> tuple[tuple[str, Field, bool], ...]:
        """Each field, and whether msgspec's own checks are all it needs (no string, no json)."""
        return tuple((f.name, f, f.kind not in ("string", "json")) for f in self._fields())

    def schema_components(self) -> dict[str, dict[str, Any]]:
        return with_json_value(self._fields(), {self.name: self.json_schema()})

    def json_schema(self) -> dict[str, Any]:
        fields = self._fields()
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {f.name: f.json_schema() for f in fields},
            "additionalProperties": False,
        }
        required = [f.name for f in fields if f.required]
        if required:
            schema["required"] = required
        return schema


class NewShape(Body):
    suffix = "New"

    @cached_property
    def struct(self) -> Any:
        specs: list[Any] = [(f.name, f.msgspec_type) for f in self._fields() if f.required]
        specs += [
            (f.name, f.msgspec_type, _fresh(f.default)) for f in self._fields() if not f.required
        ]
        return msgspec.defstruct(self.name, specs, forbid_unknown_fields=True)

    def parse(self, data: bytes) -> dict[str, Any]:
        """The row to insert; 400 when `data` is not JSON, 422 naming every bad field."""
        problems: list[Problem] = []
        obj = self._decode(data, self.struct)
        if obj is not None:
            row = self._checked(obj, "", problems)
        else:
            row = self._row(_json.loads(data), "", problems, partial=False)
        _raise_if(problems)
        return row


class BatchShape(Body):
    suffix = "Batch"

    @cached_property
    def struct(self) -> Any:
        size = msgspec.Meta(min_length=1, max_length=self.resource.max_batch)
        return typing.Annotated[list[self.resource.New.struct], size]  # type: ignore[name-defined]

    def parse(self, data: bytes) -> list[dict[str, Any]]:
        """All the rows to insert, or a 422 naming every bad field of every item (`[2].title`)."""
        problems: list[Problem] = []
        items = self._decode(data, self.struct)
        if items is not None:
            rows = [self._checked(obj, f"[{i}].", problems) for i, obj in enumerate(items)]
            _raise_if(problems)
            return rows
        value = _json.loads(data)
        limit = self.resource.max_batch
        if not isinstance(value, list):
            raise ValidationError(
                "expected a JSON array",
                details=[
                    {"field": "", "problem": f"must be an array, got {describe_value(value)}"}
                ],
            )
        if not 1 <= len(value) <= limit:
            raise ValidationError(
                f"a batch holds 1 to {limit} items",
                details=[{"field": "", "problem": f"has {len(value)} items"}],
            )
        rows = [self._row(item, f"[{i}].", problems, partial=False) for i, item in enumerate(value)]
        _raise_if(problems)
        return rows

    def schema_components(self) -> dict[str, dict[str, Any]]:
        return self.resource.New.schema_components()

    def json_schema(self) -> dict[str, Any]:
        limit = self.resource.max_batch
        return {
            "type": "array",
            "items": self.resource.New.schema_ref(),
            "minItems": 1,
            "maxItems": limit,
        }

    def schema_ref(self) -> dict[str, Any]:
        return self.json_schema()


class ChangesShape(Body):
    suffix = "Changes"

    def _fields(self) -> list[Field]:
        return [f for f in self.resource.fields.values() if not f.read_only]

    @cached_property
    def struct(self) -> Any:
        specs = [
            (f.name, f.msgspec_type | msgspec.UnsetType, msgspec.UNSET) for f in self._fields()
        ]
        return msgspec.defstruct(self.name, specs, forbid_unknown_fields=True)

    def parse(self, data: bytes) -> dict[str, Any]:
        """The fields a PATCH changes (absent ones stay as they are); at least one."""
        problems: list[Problem] = []
        obj = self._decode(data, self.struct)
        if obj is not None:
            changes = self._checked(obj, "", problems)
        else:
            value = _json.loads(data)
            changes = self._row(value, "", problems, partial=True) or {}
            if isinstance(value, dict) and value:
                _raise_if(problems)
        if not changes and not problems:
            names = ", ".join(f.name for f in self._fields())
            problems.append({"field": "", "problem": f"give at least one of {names}"})
        _raise_if(problems)
        return changes

    def json_schema(self) -> dict[str, Any]:
        return {**super().json_schema(), "minProperties": 1}


class PageShape:
    """`{"items": [...], "next": cursor or null}`: one page of a keyset list."""

    def __init__(self, resource: Owner) -> None:
        self.resource = resource
        self.name = resource.schema_name + "Page"

    def json(self, rows: list[dict[str, Any]], query: ListQuery) -> dict[str, Any]:
        """A page from rows fetched with `query.apply(...)` (one row more than the limit)."""
        return self.resource.Query.page(rows, query)

    def schema_ref(self) -> dict[str, Any]:
        return {"$ref": SCHEMAS + self.name}

    def schema_components(self) -> dict[str, dict[str, Any]]:
        items = {"type": "array", "items": self.resource.schema_ref()}
        cursor = {"type": ["string", "null"], "description": "pass it back as `after`"}
        schema = {
            "type": "object",
            "properties": {"items": items, "next": cursor},
            "required": ["items", "next"],
        }
        return {self.name: schema}


def with_json_value(
    fields: typing.Iterable[Field], schemas: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The schemas, and the one a `json` field refers to if there is such a field."""
    if any(f.kind == "json" for f in fields):
        schemas[JSON_VALUE] = JSON_VALUE_SCHEMA
    return schemas


def _whole_numbers(f: Field, value: Any) -> Any:
    """1.0 is the integer 1 in JSON (and to JSON Schema); msgspec wants 1."""
    if f.kind != "integer":
        return value
    if isinstance(value, list):
        return [_whole_numbers(f.item, item) for item in value]
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _item_problems(f: Field, items: list[Any], where: str) -> list[Problem]:
    found = []
    for i, item in enumerate(items):
        try:
            msgspec.convert(item, type=f.item.msgspec_type)
        except msgspec.ValidationError:
            found.append({"field": f"{where}[{i}]", "problem": f.problem(item, i)})
    return found


def _item_index(message: str) -> int | None:
    """The item a msgspec error points at (`... - at $[3]`), or None for the whole value."""
    _, at, path = message.rpartition(" - at `$[")
    if not at:
        return None
    index = path.split("]", 1)[0]
    return int(index) if index.isdigit() else None


def _fresh(default: Any) -> Any:
    return list(default) if isinstance(default, list | tuple) else default


def _raise_if(problems: list[Problem]) -> None:
    if problems:
        raise ValidationError("the request has invalid fields", details=problems)

"""A resource declared once: its fields give request validation, rows, JSON out and JSON Schema.

    from datetime import date, datetime

    from neonkit.resources import Resource, field

    class Todo(Resource, table="todos"):
        id: int = field(read_only=True)
        title: str = field(max_length=500, blank=False)
        due: date | None = None
        tags: list[str] = field(default=[], max_items=20, max_length=50, filter="tag")
        done: bool = field(default=False, create=False, filter=True)
        created_at: datetime = field(read_only=True, sort=True)

Read it as a dataclass: a field without a default is required on create, `| None` may be
null, `read_only` fields come from the database. From it:

    Todo.New.parse(body)       the row to insert (400 malformed, 422 naming every bad field)
    Todo.Batch.parse(body)     a list of rows to insert (1 to `max_batch`)
    Todo.Changes.parse(body)   a PATCH: the fields given, at least one
    Todo.Query.parse(params)   a list request: filters, sort, limit, cursor (`ListQuery`)
    Todo.parse_id(text)        the key from a path
    Todo.to_json(row)          a row as the API shows it; `Todo.Page.json(rows, query)` a page
    Todo.columns               every field's column, for `select(*Todo.columns)`

and each of `Todo`, `Todo.New`, `Todo.Changes`, `Todo.Batch`, `Todo.Items`, `Todo.Page`
documents itself in OpenAPI (`ref()`, `components()`). Validation runs through msgspec (a
typed decode, in C); when it refuses a body, a second pass names every bad field, not just
the first. Nothing is built at import but the field list: the msgspec types are made on
first use.
"""

from __future__ import annotations

import inspect
import typing
from functools import cached_property
from typing import Any, ClassVar, NamedTuple

import msgspec

from . import _json
from ._fields import BIGINT, JSON_VALUE, JSON_VALUE_SCHEMA, Field, Problem, describe_value
from ._listing import ListQuery, ListQueryShape
from .errors import ValidationError

__all__ = ["Field", "ListQuery", "Problem", "Resource", "Schema", "field"]

_MISSING: Any = object()
_SCHEMAS = "#/components/schemas/"


class _Options(NamedTuple):
    """What `field(...)` returns: the options of one declared field."""

    default: Any = _MISSING
    read_only: bool = False
    create: bool = True
    min_length: int | None = None
    max_length: int | None = None
    blank: bool = True
    ge: float | None = None
    le: float | None = None
    min_items: int | None = None
    max_items: int | None = None
    unique: bool = False
    filter: str | bool | None = None
    sort: bool = False
    description: str | None = None


def field(
    *,
    default: Any = _MISSING,
    read_only: bool = False,
    create: bool = True,
    min_length: int | None = None,
    max_length: int | None = None,
    blank: bool = True,
    ge: float | None = None,
    le: float | None = None,
    min_items: int | None = None,
    max_items: int | None = None,
    unique: bool = False,
    filter: str | bool | None = None,
    sort: bool = False,
    description: str | None = None,
) -> Any:
    """A field's limits and roles. Strings: `min_length` (default 1), `max_length`, `blank`
    (False: more than whitespace); numbers: `ge`, `le` (integers default to bigint's range);
    lists: `min_items`, `max_items`, `unique`, and the string limits for each item.
    `read_only`: set by the database, shown but never accepted; `create=False`: changed by an
    update only; `filter`: the list's query parameter (True: the field's name); `sort`: the
    list may be sorted by it."""
    return _Options(
        default,
        read_only,
        create,
        min_length,
        max_length,
        blank,
        ge,
        le,
        min_items,
        max_items,
        unique,
        filter,
        sort,
        description,
    )


class Schema(NamedTuple):
    """A named JSON Schema written by hand, for a custom route's body or answer."""

    name: str
    schema: dict[str, Any]

    def schema_ref(self) -> dict[str, Any]:
        return {"$ref": _SCHEMAS + self.name}

    def schema_components(self) -> dict[str, dict[str, Any]]:
        return {self.name: self.schema}


class Resource:
    """Base of a declaration; see the module's docstring."""

    table_name: ClassVar[str]
    schema_name: ClassVar[str]  # the OpenAPI schema's name: the class name
    key_field: ClassVar[Field]  # `id`
    fields: ClassVar[dict[str, Field]]
    columns: ClassVar[tuple[str, ...]]
    max_batch: ClassVar[int]
    New: ClassVar[_NewShape]
    Batch: ClassVar[_BatchShape]
    Changes: ClassVar[_ChangesShape]
    Items: ClassVar[Schema]
    Page: ClassVar[_PageShape]
    Query: ClassVar[ListQueryShape]

    def __init_subclass__(
        cls,
        *,
        table: str,
        max_batch: int = 100,
        default_limit: int = 20,
        max_limit: int = 100,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.table_name, cls.schema_name, cls.max_batch = table, cls.__name__, max_batch
        cls.fields = _declared_fields(cls)
        if "id" not in cls.fields or cls.fields["id"].kind not in ("integer", "uuid"):
            raise TypeError(f"{cls.__name__} needs a key: `id: int = field(read_only=True)`")
        cls.key_field = cls.fields["id"]
        cls.columns = tuple(cls.fields)
        cls.New = _NewShape(cls)
        cls.Batch = _BatchShape(cls)
        cls.Changes = _ChangesShape(cls)
        items = {"type": "array", "items": {"$ref": _SCHEMAS + cls.schema_name}}
        cls.Items = Schema(
            f"{cls.schema_name}Items",
            {"type": "object", "properties": {"items": items}, "required": ["items"]},
        )
        cls.Query = ListQueryShape(cls.fields, cls.to_json, default_limit, max_limit)
        cls.Page = _PageShape(cls)

    @classmethod
    def to_json(cls, row: typing.Mapping[str, Any]) -> dict[str, Any]:
        """The row as the API shows it (dates and times become text when encoded)."""
        return {name: row[name] for name in cls.columns}

    @classmethod
    def parse_id(cls, text: str) -> Any:
        """The key from a path: a positive bigint (or a UUID); 422 otherwise."""
        if cls.key_field.kind == "uuid":
            try:
                return msgspec.convert(text, type=cls.key_field.msgspec_type)
            except msgspec.ValidationError:
                pass
        elif text.isascii() and text.isdigit() and len(text) <= 19 and 1 <= int(text) <= BIGINT:
            return int(text)
        kind = "a UUID" if cls.key_field.kind == "uuid" else "a positive integer"
        raise ValidationError(
            f"the id must be {kind}",
            details=[{"field": "id", "problem": f"got {_json.shown(text, 40)!r}"}],
        )

    @classmethod
    def fingerprint(cls, row: typing.Mapping[str, Any]) -> str:
        """What an idempotency key is bound to: the same key with another row is refused."""
        import hashlib  # on first use: most requests carry no key

        text = _fingerprint_encoder.encode(dict(sorted(row.items())))
        return hashlib.sha256(text).hexdigest()

    @classmethod
    def schema_ref(cls) -> dict[str, Any]:
        return {"$ref": _SCHEMAS + cls.schema_name}

    @classmethod
    def schema_components(cls) -> dict[str, dict[str, Any]]:
        properties = {f.name: f.json_schema() for f in cls.fields.values()}
        for f in cls.fields.values():
            if f.read_only:
                properties[f.name] = {**properties[f.name], "readOnly": True}
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": list(cls.columns),
        }
        if cls.__doc__:
            schema["description"] = inspect.cleandoc(cls.__doc__)
        return _with_json_value(cls.fields.values(), {cls.schema_name: schema})


_TAKEN = frozenset(inspect.get_annotations(Resource))


def _declared_fields(cls: type) -> dict[str, Field]:
    try:
        hints = typing.get_type_hints(cls)
    except NameError as exc:
        raise TypeError(
            f"{cls.__name__}: cannot read its fields' types ({exc}): import them in its module"
        ) from None
    fields: dict[str, Field] = {}
    for name in inspect.get_annotations(cls):
        hint = hints[name]
        if typing.get_origin(hint) is ClassVar:
            continue
        value = cls.__dict__.get(name, _MISSING)
        options = value if isinstance(value, _Options) else _Options(default=value)
        if name.startswith("_") or hasattr(Resource, name) or name in _TAKEN:
            raise TypeError(f"{cls.__name__}.{name}: the name is taken; call the field otherwise")
        try:
            kind, array, nullable = Field.parse_type(hint)
        except TypeError as exc:
            raise TypeError(f"{cls.__name__}.{name}: {exc}") from None
        ge, le = options.ge, options.le
        if kind == "integer":
            ge = -BIGINT - 1 if ge is None else ge
            le = BIGINT if le is None else le
        min_length = options.min_length
        if kind == "string" and min_length is None:
            min_length = 1
        filter_name = name if options.filter is True else options.filter or None
        fields[name] = Field(
            name,
            kind,
            array,
            nullable,
            required=options.default is _MISSING and options.create and not options.read_only,
            default=None if options.default is _MISSING else options.default,
            read_only=options.read_only,
            create=options.create and not options.read_only,
            min_length=min_length,
            max_length=options.max_length,
            blank=options.blank,
            ge=ge,
            le=le,
            min_items=options.min_items,
            max_items=options.max_items,
            unique=options.unique,
            filter=filter_name,
            sort=options.sort,
            description=options.description,
        )
        if name in cls.__dict__:
            delattr(cls, name)
    return fields


def _jsonb_value(value: Any) -> Any:
    obj = getattr(value, "obj", _MISSING)  # psycopg's Jsonb wrapper
    if obj is _MISSING:
        raise NotImplementedError(f"cannot fingerprint {type(value).__name__}")
    return obj


_fingerprint_encoder = msgspec.json.Encoder(enc_hook=_jsonb_value)


# -- the shapes a request body takes --------------------------------------------------------


class _Body:
    """A request body shape: a fast msgspec decode, and a second pass naming each problem."""

    suffix: ClassVar[str]

    def __init__(self, resource: type[Resource]) -> None:
        self.resource = resource
        self.name = resource.schema_name + self.suffix

    def schema_ref(self) -> dict[str, Any]:
        return {"$ref": _SCHEMAS + self.name}

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
        return _with_json_value(self._fields(), {self.name: self.json_schema()})

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


class _NewShape(_Body):
    suffix = "New"

    @cached_property
    def struct(self) -> Any:
        specs: list[Any] = [(f.name, _types(f)) for f in self._fields() if f.required]
        specs += [(f.name, _types(f), _fresh(f.default)) for f in self._fields() if not f.required]
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


class _BatchShape(_Body):
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


class _ChangesShape(_Body):
    suffix = "Changes"

    def _fields(self) -> list[Field]:
        return [f for f in self.resource.fields.values() if not f.read_only]

    @cached_property
    def struct(self) -> Any:
        specs = [(f.name, _types(f) | msgspec.UnsetType, msgspec.UNSET) for f in self._fields()]
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


class _PageShape:
    """`{"items": [...], "next": cursor or null}`: one page of a keyset list."""

    def __init__(self, resource: type[Resource]) -> None:
        self.resource = resource
        self.name = resource.schema_name + "Page"

    def json(self, rows: list[dict[str, Any]], query: ListQuery) -> dict[str, Any]:
        """A page from rows fetched with `query.apply(...)` (one row more than the limit)."""
        return self.resource.Query.page(rows, query)

    def schema_ref(self) -> dict[str, Any]:
        return {"$ref": _SCHEMAS + self.name}

    def schema_components(self) -> dict[str, dict[str, Any]]:
        items = {"type": "array", "items": self.resource.schema_ref()}
        cursor = {"type": ["string", "null"], "description": "pass it back as `after`"}
        schema = {
            "type": "object",
            "properties": {"items": items, "next": cursor},
            "required": ["items", "next"],
        }
        return {self.name: schema}


def _with_json_value(
    fields: typing.Iterable[Field], schemas: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The schemas, and the one a `json` field refers to if there is such a field."""
    if any(f.kind == "json" for f in fields):
        schemas[JSON_VALUE] = JSON_VALUE_SCHEMA
    return schemas


def _types(f: Field) -> Any:
    return f.msgspec_type


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

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
from typing import Any, ClassVar, NamedTuple

import msgspec

from . import _json
from ._bodies import BatchShape, ChangesShape, NewShape, PageShape, with_json_value
from ._fields import BIGINT, Field, Problem
from ._listing import ListQuery, ListQueryShape
from ._routes import SCHEMAS, Schema
from .errors import ValidationError

__all__ = ["Field", "ListQuery", "Problem", "Resource", "Schema", "field"]

_MISSING: Any = object()


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


class Resource:
    """Base of a declaration; see the module's docstring."""

    table_name: ClassVar[str]
    schema_name: ClassVar[str]  # the OpenAPI schema's name: the class name
    key_field: ClassVar[Field]  # `id`
    fields: ClassVar[dict[str, Field]]
    columns: ClassVar[tuple[str, ...]]
    max_batch: ClassVar[int]
    New: ClassVar[NewShape]
    Batch: ClassVar[BatchShape]
    Changes: ClassVar[ChangesShape]
    Items: ClassVar[Schema]
    Page: ClassVar[PageShape]
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
        cls.New = NewShape(cls)
        cls.Batch = BatchShape(cls)
        cls.Changes = ChangesShape(cls)
        items = {"type": "array", "items": {"$ref": SCHEMAS + cls.schema_name}}
        cls.Items = Schema(
            f"{cls.schema_name}Items",
            {"type": "object", "properties": {"items": items}, "required": ["items"]},
        )
        cls.Query = ListQueryShape(cls.fields, cls.to_json, default_limit, max_limit)
        cls.Page = PageShape(cls)

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
        return {"$ref": SCHEMAS + cls.schema_name}

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
        return with_json_value(cls.fields.values(), {cls.schema_name: schema})


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

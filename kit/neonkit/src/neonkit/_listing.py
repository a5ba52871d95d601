"""A keyset list of a resource: its query parameters, its cursor and its pages.

`GET /todos?done=false&tag=home&sort=-created_at&limit=20&after=<next>`: filters come from
the fields declared with `filter=`, sorts from those with `sort=True` (and the key), `limit`
defaults to `default_limit` and is capped at `max_limit`, `after` is the `next` of the page
before: url-safe base64 of `[sort, value, id]`, read back with the sort field's own type.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

import msgspec

from . import _json
from ._fields import Field, Problem
from .errors import ValidationError

if TYPE_CHECKING:
    from .query import SelectQuery

__all__ = ["ListQuery", "ListQueryShape"]

_RESERVED = ("limit", "sort", "after")


class ListQuery(NamedTuple):
    """A parsed list request: `apply` it to a select, then `Resource.Page.json(rows, query)`."""

    filters: tuple[tuple[Field, Any], ...]  # (field, the value asked for)
    limit: int
    sort: Field
    descending: bool
    after: tuple[Any, Any] | None  # (sort value, key) of the last row seen
    key: str = "id"

    def apply(self, query: SelectQuery) -> SelectQuery:
        """Filters, order, keyset and `limit + 1` rows (the extra one says a next page exists)."""
        for f, value in self.filters:
            query = query.where(f.name, "@>", [value]) if f.array else query.where(f.name, value)
        direction = "desc" if self.descending else "asc"
        if self.sort.name != self.key:
            query = query.order_by(self.sort.name, direction)
        query = query.order_by(self.key, direction)
        if self.after is not None:
            value, last = self.after
            query = query.after([value, last] if self.sort.name != self.key else [last])
        return query.limit(self.limit + 1)


class ListQueryShape:
    """The list parameters a resource takes; documents them for OpenAPI."""

    def __init__(
        self,
        fields: Mapping[str, Field],
        to_json: Callable[[Mapping[str, Any]], dict[str, Any]],
        default_limit: int,
        max_limit: int,
    ) -> None:
        self.key = next(f for f in fields.values() if f.name == "id")
        self.filters = {f.filter: f for f in fields.values() if f.filter}
        clash = set(self.filters) & set(_RESERVED)
        if clash:
            raise TypeError(f"filter names {sorted(clash)} are taken by the list's own parameters")
        for f in fields.values():
            if f.sort and (f.nullable or f.array or f.kind == "json"):
                raise TypeError(f"{f.name}: a list is sorted by a plain field that is never null")
        self.sorts = {"id": self.key}
        self.sorts.update({f.name: f for f in fields.values() if f.sort})
        self.to_json = to_json
        self.default_limit, self.max_limit = default_limit, max_limit

    def parse(self, params: Mapping[str, str] | None) -> ListQuery:
        """Query string parameters to a `ListQuery`; 422 naming each bad one."""
        params = params or {}
        problems: list[Problem] = []
        for name in params:
            if name not in self.filters and name not in _RESERVED:
                problems.append({"field": _json.shown(name, 40), "problem": "unknown parameter"})
        filters = []
        for name, f in self.filters.items():
            if name in params:
                value = _from_text(f, params[name], name, problems)
                if value is not None:
                    filters.append((f, value))
        limit = self.default_limit
        if "limit" in params:
            raw = params["limit"]
            if raw.isascii() and raw.isdigit() and raw.strip("0"):
                limit = self.max_limit if len(raw) > 9 else min(int(raw), self.max_limit)
            else:
                shown = _json.shown(raw, 40)
                problems.append(
                    {"field": "limit", "problem": f"must be a positive integer, got {shown!r}"}
                )
        sort_name = params.get("sort", "id")
        descending = sort_name.startswith("-")
        sort = self.sorts.get(sort_name.removeprefix("-"))
        if sort is None:
            problems.append(
                {"field": "sort", "problem": f"must be one of {', '.join(self.sort_values())}"}
            )
            sort, descending, sort_name = self.key, False, "id"
        after = None
        if "after" in params:
            after = self._decode_cursor(params["after"], sort_name, sort, problems)
        if problems:
            raise ValidationError("the request has invalid parameters", details=problems)
        return ListQuery(tuple(filters), limit, sort, descending, after)

    def page(self, rows: list[dict[str, Any]], query: ListQuery) -> dict[str, Any]:
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        after = self.encode_cursor(rows[-1], query) if more else None
        return {"items": [self.to_json(row) for row in rows], "next": after}

    def sort_values(self) -> list[str]:
        return [value for name in self.sorts for value in (name, f"-{name}")]

    def encode_cursor(self, row: Mapping[str, Any], query: ListQuery) -> str:
        sort = ("-" if query.descending else "") + query.sort.name
        value = row[query.sort.name]
        if isinstance(value, date | datetime | UUID):
            value = str(value) if isinstance(value, UUID) else value.isoformat()
        payload = json.dumps([sort, value, row[query.key]], separators=(",", ":"))
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    def _decode_cursor(
        self, raw: str, sort_name: str, sort: Field, problems: list[Problem]
    ) -> tuple[Any, Any] | None:
        try:
            padded = raw + "=" * (-len(raw) % 4)
            cursor_sort, value, last = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if cursor_sort != sort_name:
                raise ValueError("a cursor of another sort")
            return _cursor_value(sort, value), _cursor_value(self.key, last)
        except (ValueError, TypeError, binascii.Error, msgspec.ValidationError, RecursionError):
            problems.append(
                {"field": "after", "problem": "is not a cursor from this list's `next`"}
            )
            return None

    def parameters(self) -> list[dict[str, Any]]:
        """The OpenAPI parameters of the list operation."""
        found: list[dict[str, Any]] = []
        for name, f in self.filters.items():
            schema = f.json_schema()
            if f.array:
                schema = schema["items"]
            schema = {k: v for k, v in schema.items() if k != "description"}
            if isinstance(schema.get("type"), list):
                schema["type"] = next(t for t in schema["type"] if t != "null")
            what = "rows whose " + (f"{f.name} hold it" if f.array else f"{f.name} is it")
            found.append({"name": name, "in": "query", "schema": schema, "description": what})
        limit = {"type": "integer", "minimum": 1, "default": self.default_limit}
        found += [
            {
                "name": "limit",
                "in": "query",
                "schema": limit,
                "description": f"rows per page; above {self.max_limit}, {self.max_limit}",
            },
            {
                "name": "sort",
                "in": "query",
                "schema": {"type": "string", "enum": self.sort_values(), "default": "id"},
                "description": "order of the rows; `-` for descending",
            },
            {
                "name": "after",
                "in": "query",
                "schema": {"type": "string"},
                "description": "the `next` of the page before",
            },
        ]
        return found


def _from_text(f: Field, text: str, name: str, problems: list[Problem]) -> Any:
    """A query string value read as the field's (item) type: `?done=true`, `?tag=home`."""
    item = f.item
    try:
        if item.kind == "boolean":
            value: Any = {"true": True, "false": False}[text]
        elif item.kind == "integer":
            if not (text.isascii() and text.lstrip("-").isdigit() and len(text) <= 20):
                raise ValueError(text)
            value = int(text)
        elif item.kind == "number":
            value = float(text)
        else:
            value = text
        value = msgspec.convert(value, type=item.msgspec_type)
    except (KeyError, ValueError, msgspec.ValidationError):
        problems.append({"field": name, "problem": item.problem(text)})
        return None
    before = len(problems)
    item.check(value, name, problems)
    return value if len(problems) == before else None


def _cursor_value(f: Field, value: Any) -> Any:
    if f.kind == "integer":  # any size: a key past bigint finds nothing, it is not an error
        if type(value) is not int:
            raise TypeError("not an integer")
        return value
    return msgspec.convert(value, type=f.item.msgspec_type)

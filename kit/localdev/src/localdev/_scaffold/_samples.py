"""The values a new resource's events and tests send: valid rows, changes, wrong values, filters.

Row n (1 to 3) gives each field a value of its own (`name 1`, 100, 2027-01-15...), so that a
filter on row 1's value finds row 1; the third row gives only what a create requires.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._spec import Spec, SpecField

__all__ = ["Samples", "samples"]

# A value of another type than the field's: what a client gets a 422 naming the field for.
_WRONG: dict[str, Any] = {
    "str": 5,
    "int": "lots",
    "float": "lots",
    "bool": "yes",
    "date": "2027-02-30",
    "datetime": "tomorrow",
    "uuid": "not-a-uuid",
}


class Samples(NamedTuple):
    rows: list[dict[str, Any]]  # three valid creates
    changes: dict[str, Any]  # a valid PATCH of the first field
    wrong: dict[str, Any]  # field -> a value of the wrong type
    filters: list[tuple[str, str, list[int]]]  # (query parameter, its text, rows it finds)


def samples(spec: Spec) -> Samples:
    rows = [{f.name: value(f, n) for f in spec.fields if n < 3 or f.required} for n in (1, 2, 3)]
    first = spec.fields[0]
    wrong = {
        f.name: ("not an array" if f.array else _WRONG[f.kind])
        for f in spec.fields
        if f.kind != "json"
    }
    filters = []
    for f in spec.fields:
        if f.filters:
            wanted = value(f, 1)[0] if f.array else value(f, 1)
            found = [i for i, row in enumerate(rows) if _holds(row.get(f.name), wanted, f)]
            filters.append((f.name, query_text(wanted), found))
    return Samples(rows, {first.name: value(first, 4)}, wrong, filters)


def value(f: SpecField, n: int) -> Any:
    """Row n's value of a field, as JSON sends it."""
    item = _item(f, n)
    return [item] if f.array else item


def _item(f: SpecField, n: int) -> Any:
    match f.kind:
        case "str":
            return f"{f.name.replace('_', ' ')} {n}"
        case "int":
            return n * 100
        case "float":
            return n + 0.5
        case "bool":
            return n % 2 == 1
        case "date":
            return f"2027-{n:02d}-15"
        case "datetime":
            return f"2027-{n:02d}-15T09:30:00Z"
        case "uuid":
            return f"{n:08x}-0000-4000-8000-000000000000"
        case _:
            return {"n": n, "tags": ["a", "b"]}


def _holds(stored: Any, wanted: Any, f: SpecField) -> bool:
    if stored is None:
        return False
    return wanted in stored if f.array else stored == wanted


def query_text(value: Any) -> str:
    """A value as a query string writes it: `?done=true&budget=100`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

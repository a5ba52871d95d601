"""What `localdev resource NAME FIELD...` asks for, checked before any file is written.

    projects name:str budget:int? due:date? tags:str[]

NAME is the table, the URL path (`/projects`), the domain package and the events' prefix; the
class is its singular (`Project`). A field is `name:type`, `type` one of KINDS or a list of one
(`str[]`, not `json[]`); `?` at the end means optional: it may be left out, and be null.
"""

from __future__ import annotations

import importlib.machinery
import keyword
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .._errors import LocalDevError

__all__ = ["KINDS", "ScaffoldError", "Spec", "SpecField", "parse"]


class ScaffoldError(LocalDevError):
    """The resource cannot be added as asked; nothing was written."""


@dataclass(frozen=True)
class Kind:
    python: str  # the annotation in the declaration
    sql: str  # the column's type


KINDS = {
    "str": Kind("str", "text"),
    "int": Kind("int", "bigint"),
    "float": Kind("float", "double precision"),
    "bool": Kind("bool", "boolean"),
    "date": Kind("date", "date"),
    "datetime": Kind("datetime", "timestamptz"),
    "uuid": Kind("UUID", "uuid"),
    "json": Kind("Any", "jsonb"),
}

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_FIELD = re.compile(r"^(?P<name>[^:]*):(?P<kind>[a-z]+)(?P<array>\[\])?(?P<optional>\?)?$")
MAX_NAME = 20  # with MAX_FIELD: every generated line fits in 100 columns
MAX_FIELD = 30

# PostgreSQL 18's reserved key words (pg_get_keywords() catcode R and T): a table or column
# named so needs quotes in every statement, so the scaffold refuses them.
SQL_RESERVED = frozenset(
    """all analyse analyze and any array as asc asymmetric authorization binary both case cast
    check collate collation column concurrently constraint create cross current_catalog
    current_date current_role current_schema current_time current_timestamp current_user
    default deferrable desc distinct do else end except false fetch for foreign freeze from
    full grant group having ilike in initially inner intersect into is isnull join lateral
    leading left like limit localtime localtimestamp natural not notnull null offset on only
    or order outer overlaps placing primary references returning right select session_user
    similar some symmetric system_user table tablesample then to trailing true union unique
    user using variadic verbose when where window with""".split()  # noqa: SIM905 - a list to read
)
# Columns every resource has, and the list's own query parameters.
_COLUMNS = {
    "id": "the key every resource has",
    "owner": "the column that says whose row it is",
    "created_at": "set by the database on insert",
    "updated_at": "set by the database on every change",
    "idempotency_key": "where a create's Idempotency-Key is kept",
    "request_hash": "what an Idempotency-Key is bound to",
    "limit": "a parameter of the list (`?limit=`)",
    "sort": "a parameter of the list (`?sort=`)",
    "after": "a parameter of the list (`?after=`)",
}
# Names the declaration's class body uses: a field named so would hide them.
_DECLARATION_NAMES = frozenset(
    {"field", "date", "datetime", "str", "int", "float", "bool", "list", "Any", "UUID"}
)
# Names the generated modules import or define: the class may not be one of them.
_CLASS_TAKEN = frozenset(
    {"Any", "Database", "Handler", "LambdaContext", "ListQuery", "NotFoundError", "Resource"}
    | {"Response", "Schema", "UUID", "ValidationError"}
)


# Plural endings and their singular: categories, addresses, statuses, boxes, batches, wishes.
_PLURALS = (
    ("ies", "y"),
    ("sses", "ss"),
    ("uses", "us"),
    ("xes", "x"),
    ("ches", "ch"),
    ("shes", "sh"),
)


@dataclass(frozen=True)
class SpecField:
    name: str
    kind: str  # a key of KINDS
    array: bool = False
    optional: bool = False

    @property
    def python(self) -> str:
        python = KINDS[self.kind].python
        return f"list[{python}]" if self.array else python

    @property
    def sql(self) -> str:
        sql = KINDS[self.kind].sql
        return f"{sql}[]" if self.array else sql

    @property
    def filters(self) -> bool:
        """Whether the list filters on it: any JSON value has no one text form to compare."""
        return self.kind != "json"

    @property
    def required(self) -> bool:
        """Whether a create must give it: lists default to empty, `?` fields to null."""
        return not self.optional and not self.array

    def __str__(self) -> str:
        return f"{self.name}:{self.kind}{'[]' if self.array else ''}{'?' if self.optional else ''}"


@dataclass(frozen=True)
class Spec:
    """A resource to add: `projects` with its fields; `Project` is its class."""

    name: str
    fields: tuple[SpecField, ...]
    singular: str
    class_name: str
    owner: bool = False  # rows belong to the caller (row-level security)


def parse(
    name: str,
    field_args: Sequence[str],
    *,
    owner: bool = False,
    project: Path | None = None,
) -> Spec:
    """The resource the arguments ask for; ScaffoldError naming every problem otherwise.
    `project`: its folder, whose own modules are not counted as taken."""
    check_name(name, project)
    singular = singular_of(name)
    if keyword.iskeyword(singular) or keyword.issoftkeyword(singular):
        raise ScaffoldError(
            f"the resource {name!r} would name its rows {singular!r}, a Python keyword: "
            "name it otherwise"
        )
    class_name = "".join(part.capitalize() for part in singular.split("_"))
    if class_name in _CLASS_TAKEN:
        raise ScaffoldError(
            f"the resource {name!r} would be declared as class {class_name}, a name the "
            "generated code imports: name it otherwise"
        )
    fields = parse_fields(field_args)
    return Spec(name, fields, singular, class_name, owner)


def parse_fields(field_args: Sequence[str]) -> tuple[SpecField, ...]:
    """`name:str budget:int?` (one argument each, or several in one separated by spaces)."""
    texts = [text for arg in field_args for text in arg.split()]
    if not texts:
        raise ScaffoldError(
            'give the resource at least one field: FIELDS="name:str budget:int? tags:str[]"'
        )
    problems: list[str] = []
    fields: list[SpecField] = []
    for text in texts:
        match = _FIELD.match(text)
        if match is None:
            problems.append(f"{text!r}: write a field as name:type, e.g. budget:int?")
            continue
        name, kind = match["name"], match["kind"]
        if kind not in KINDS:
            problems.append(f"{text!r}: unknown type {kind!r}; use one of {', '.join(KINDS)}")
            continue
        if kind == "json" and match["array"]:
            problems.append(f"{text!r}: use json, which holds arrays too, not json[]")
            continue
        problem = field_name_problem(name)
        if problem:
            problems.append(f"{text!r}: {problem}")
            continue
        if any(f.name == name for f in fields):
            problems.append(f"{text!r}: the field {name} is given twice")
            continue
        fields.append(SpecField(name, kind, bool(match["array"]), bool(match["optional"])))
    if problems:
        raise ScaffoldError("bad FIELDS:\n  " + "\n  ".join(problems))
    return tuple(fields)


def check_name(name: str, project: Path | None) -> None:
    if not name:
        raise ScaffoldError(
            'name the resource: make resource NAME=projects FIELDS="name:str budget:int?"'
        )
    if not _IDENTIFIER.match(name):
        raise ScaffoldError(
            f"the resource name {name!r} is not a lower-case identifier: letters, digits and "
            "single underscores, starting with a letter (it names a table, a URL path and a "
            "Python package)"
        )
    if len(name) > MAX_NAME:
        raise ScaffoldError(f"the resource name {name!r} is longer than {MAX_NAME} characters")
    if name in SQL_RESERVED:
        raise ScaffoldError(f"{name!r} is a reserved word in SQL: name the resource otherwise")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise ScaffoldError(f"{name!r} is a Python keyword: name the resource otherwise")
    where = importable_elsewhere(name, project)
    if where:
        raise ScaffoldError(
            f"{name!r} is already a Python module ({where}); a package of that name in the "
            "layer would hide it: name the resource otherwise"
        )


def field_name_problem(name: str) -> str | None:
    if not _IDENTIFIER.match(name):
        return (
            f"the field name {name!r} is not a lower-case identifier (letters, digits and "
            "single underscores, starting with a letter)"
        )
    if len(name) > MAX_FIELD:
        return f"the field name is longer than {MAX_FIELD} characters"
    if name in _COLUMNS:
        return f"{name!r} is taken: {_COLUMNS[name]}"
    if name in SQL_RESERVED:
        return f"{name!r} is a reserved word in SQL"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"{name!r} is a Python keyword"
    if name in _DECLARATION_NAMES:
        return f"{name!r} would hide the name {name} in the declaration's class body"
    if _resource_attribute(name):
        return f"{name!r} is taken by neonkit's Resource (Resource.{name})"
    return None


def _resource_attribute(name: str) -> bool:
    from neonkit.resources import Resource

    return hasattr(Resource, name) or name in Resource.__annotations__


def singular_of(name: str) -> str:
    """`projects` -> `project`, `categories` -> `category`, `boxes` -> `box`, `news` -> `news`."""
    head, _, last = name.rpartition("_")
    for plural, singular in _PLURALS:
        if last.endswith(plural) and len(last) > len(plural):
            return head + "_" * bool(head) + last[: -len(plural)] + singular
    if last.endswith("s") and not last.endswith(("ss", "us", "is")) and len(last) > 1:
        return head + "_" * bool(head) + last[:-1]
    return name


def importable_elsewhere(name: str, project: Path | None) -> str | None:
    """Where Python would import `name` from, other than the project's own folders."""
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        return "in Python's standard library"
    here = [Path.cwd().resolve()] + ([project.resolve()] if project else [])
    paths = [p for p in sys.path if p and Path(p).resolve() not in here]
    spec = importlib.machinery.PathFinder.find_spec(name, paths)
    if spec is None:
        return None
    origin = spec.origin or (list(spec.submodule_search_locations or []) or ["?"])[0]
    return f"installed: {origin}"

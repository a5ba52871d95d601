"""A new resource's files, from the templates in `templates/` and its fields.

A template is text with `${name}` placeholders (`string.Template`); a line `#% part` starts a
part of it that is added only where the resource needs it (`#% owner`: row-level security;
`#% filters`: tests of the list's filters...). The code comes out formatted as the project's
ruff formats it, for names of ordinary length; `_format` runs ruff itself where it is there.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from ._samples import Samples, samples
from ._spec import Spec, SpecField

__all__ = ["Layout", "render"]

_TEMPLATES = Path(__file__).with_name("templates")
_STRING_MAX_LENGTH = 500
_LIST_MAX_ITEMS = 100
_LINE = 100  # the project's ruff line length


class Layout:
    """Where a resource's files go: given by the template (the API function, its layer)."""

    def __init__(self, root: Path, code_dir: Path, layer_dir: Path, migrations_dir: Path):
        self.root, self.code_dir, self.layer_dir = root, code_dir, layer_dir
        self.migrations_dir = migrations_dir
        self.routes_dir = code_dir / "routes"
        self.events_dir = root / "events"
        self.tests_dir = root / "tests"


def render(spec: Spec, layout: Layout, migration: str, function_id: str) -> dict[Path, str]:
    """Every new file of the resource (events aside), by path."""
    data = samples(spec)
    package = layout.layer_dir / spec.name
    tests = layout.tests_dir / spec.name
    values = _values(spec)
    return {
        layout.migrations_dir / migration: _migration(spec, values),
        package / "__init__.py": _fill("package.py", values),
        package / "resource.py": _resource(spec, values),
        package / "repository.py": _fill("repository.py", values),
        layout.routes_dir / f"{spec.name}.py": _routes(spec, values),
        tests / "__init__.py": _fill("tests_package.py", values),
        tests / "samples.py": _samples(data, values),
        tests / f"test_{spec.name}_resource.py": _test_resource(spec, data, values),
        tests / f"test_{spec.name}_api.py": _test_api(spec, data, values, function_id),
    }


def _values(spec: Spec) -> dict[str, Any]:
    singular_text = spec.singular.replace("_", " ")
    return {
        "name": spec.name,
        "singular": spec.singular,
        "singular_text": singular_text,
        "plural_text": spec.name.replace("_", " "),
        "class_name": spec.class_name,
        "conflict": '"owner", "idempotency_key"' if spec.owner else '"idempotency_key"',
        "max_batch": 100,
    }


def _migration(spec: Spec, values: dict[str, Any]) -> str:
    columns: list[tuple[str, str]] = [("id", "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY")]
    if spec.owner:
        owner = "text NOT NULL DEFAULT current_setting('neonkit.user_id', true) CHECK (owner <> '')"
        columns.append(("owner", owner))
    for f in spec.fields:
        columns.append((f.name, _column(f)))
    columns += [
        ("created_at", "timestamptz NOT NULL DEFAULT now()"),
        ("updated_at", "timestamptz NOT NULL DEFAULT now()"),
        ("idempotency_key", "text" if spec.owner else "text UNIQUE"),
        ("request_hash", "text"),
    ]
    width = max(len(name) for name, _ in columns) + 1
    lines = [f"    {name.ljust(width)}{definition}" for name, definition in columns]
    if spec.owner:
        lines.append("    UNIQUE (owner, idempotency_key)")
    first = next((f for f in spec.fields if f.filters), spec.fields[0]).name
    index = "owner, created_at, id" if spec.owner else "created_at, id"
    filled = {**values, "columns": ",\n".join(lines), "first_field": first, "index_columns": index}
    return _fill("migration.sql", filled, ["owner", "grant"] if spec.owner else ["grant"])


def _column(f: SpecField) -> str:
    if f.array and not f.optional:
        return f"{f.sql} NOT NULL DEFAULT '{{}}'"
    if f.required and f.kind != "json":  # a json field may hold JSON's null
        return f"{f.sql} NOT NULL"
    return f.sql


def _resource(spec: Spec, values: dict[str, Any]) -> str:
    kinds = {f.kind for f in spec.fields}
    imports = [f"from datetime import {'date, ' if 'date' in kinds else ''}datetime"]
    if "json" in kinds:
        imports.append("from typing import Any")
    if "uuid" in kinds:
        imports.append("from uuid import UUID")
    fields = "\n".join(_declaration(f) for f in spec.fields)
    return _fill("resource.py", {**values, "imports": "\n".join(imports), "fields": fields})


def _declaration(f: SpecField) -> str:
    """The field's line in the class: `budget: int | None = field(default=None, filter=True)`."""
    if f.kind == "json":  # any JSON value, null included
        return f"    {f.name}: Any = None" if f.optional else f"    {f.name}: Any"
    options = []
    if f.optional:
        options.append("default=None")
    elif f.array:
        options.append("default=[]")
    if f.array:
        options.append(f"max_items={_LIST_MAX_ITEMS}")
    if f.kind == "str":
        options.append(f"max_length={_STRING_MAX_LENGTH}")
    options.append("filter=True")
    annotation = f.python + (" | None" if f.optional else "")
    line = f"    {f.name}: {annotation} = field({', '.join(options)})"
    if len(line) <= _LINE:
        return line
    return f"    {f.name}: {annotation} = field(\n        {', '.join(options)}\n    )"


def _routes(spec: Spec, values: dict[str, Any]) -> str:
    imports = _third_party(
        "from aws_lambda_powertools.event_handler import Response",
        "from neonkit import NotFoundError, http",
        f"from {spec.name} import repository",
        f"from {spec.name}.resource import {spec.class_name}",
    )
    return _fill("routes.py", {**values, "imports": imports})


def _samples(data: Samples, values: dict[str, Any]) -> str:
    return _fill(
        "samples.py",
        {
            **values,
            "rows": literal(data.rows, len("ROWS: list[dict[str, Any]] = ")),
            "changes": literal(data.changes, len("CHANGES: dict[str, Any] = ")),
            "wrong": literal(data.wrong, len("WRONG: dict[str, Any] = ")),
            "filters": literal(data.filters, len("FILTERS: list[tuple[str, str, list[int]]] = ")),
        },
    )


def _test_resource(spec: Spec, data: Samples, values: dict[str, Any]) -> str:
    required = {f.name for f in spec.fields if f.required}
    optional = [f.name for f in spec.fields if f.optional]
    imports = _third_party(
        "import pytest",
        "from neonkit import ValidationError",
        f"from {spec.name}.resource import {spec.class_name}",
    )
    filled = {
        **values,
        "imports": imports,
        "required_fields": literal(required, len("REQUIRED = ")),
        "optional_fields": literal(optional, len("NULLABLE = ")),
    }
    wanted = {"required": bool(required), "wrong": bool(data.wrong)}
    wanted |= {"optional": bool(optional), "filters": bool(data.filters)}
    return _fill("test_resource.py", filled, [part for part, needed in wanted.items() if needed])


def _test_api(spec: Spec, data: Samples, values: dict[str, Any], function_id: str) -> str:
    times = tuple(f.name for f in spec.fields if f.kind == "datetime")
    lines = [
        "import pytest",
        "from localdev.testing import Handler, LambdaContext, global_environment, load_event, "
        "load_handler",
        "from neonkit import Database",
    ]
    if spec.owner:
        lines += [
            f"from {spec.name} import repository",
            f"from {spec.name}.resource import {spec.class_name}",
        ]
    columns = ["id", *(f.name for f in spec.fields), "created_at", "updated_at"]
    filled = {
        **values,
        "function_id": function_id,
        "stdlib_imports": ("from datetime import datetime\n" if times else "")
        + "from typing import Any",
        "imports": _third_party(*lines),
        "columns": literal(set(columns), len("SHOWN = ")),
        "times": literal(times, len("TIMES = ")),
    }
    filled["holds"] = _part("test_api.py", "holds_times" if times else "holds", filled).strip()
    wanted = {"filters": data.filters, "wrong": data.wrong, "owner": spec.owner}
    return _fill("test_api.py", filled, [part for part, needed in wanted.items() if needed])


def _third_party(*lines: str) -> str:
    """Import lines in the order ruff's isort wants: `import x` first, then by module."""

    def key(line: str) -> tuple[bool, str]:
        return line.startswith("from "), line.split()[1].lower()

    return "\n".join(sorted(lines, key=key))


# -- templates ----------------------------------------------------------------------------


@cache
def _parts(name: str) -> dict[str, str]:
    """A template's parts: "" (the main text), then each `#% part`."""
    parts = {"": ""}
    current = ""
    for line in (_TEMPLATES / f"{name}.tmpl").read_text().splitlines(keepends=True):
        if line.startswith("#% "):
            current = line[3:].strip()
            parts[current] = ""
        else:
            parts[current] += line
    return parts


def _part(template: str, part: str, values: dict[str, Any]) -> str:
    return Template(_parts(template)[part]).substitute(values)


def _fill(template: str, values: dict[str, Any], parts: list[str] | tuple[str, ...] = ()) -> str:
    return "".join(_part(template, part, values) for part in ("", *parts))


# -- Python literals, as ruff formats them ------------------------------------------------


def literal(value: Any, used: int, indent: int = 0) -> str:
    """`value` as Python source: on one line if it fits after `used` columns, else one item
    per line with a trailing comma (ruff keeps that form)."""
    inline = _inline(value)
    if indent + used + len(inline) <= _LINE:
        return inline
    if isinstance(value, dict):
        items = [
            f"{_inline(k)}: {literal(v, len(_inline(k)) + 3, indent + 4)}" for k, v in value.items()
        ]
        opening, closing = "{", "}"
    elif isinstance(value, list | tuple | set | frozenset):
        items = [literal(v, 1, indent + 4) for v in _ordered(value)]
        brackets = {list: "[]", tuple: "()"}.get(type(value), "{}")
        opening, closing = brackets[0], brackets[1]
    else:
        return inline
    pad = " " * (indent + 4)
    return opening + "\n" + "".join(f"{pad}{item},\n" for item in items) + " " * indent + closing


def _inline(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_inline(k)}: {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_inline(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(_inline(v) for v in _ordered(value)) + "}" if value else "set()"
    return repr(value)


def _ordered(values: Any) -> list[Any]:
    return sorted(values) if isinstance(values, set | frozenset) else list(values)

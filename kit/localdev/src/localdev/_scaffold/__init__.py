"""`python -m localdev resource NAME FIELD...` (`make resource`): add a complete resource.

    make resource NAME=projects FIELDS="name:str budget:int? due:date? tags:str[]"

writes, next to the sample's, a migration (the next number), the declaration and the
repository (a package in the API function's layer), the routes (`routes/projects.py` in the
API function, added in `routes/__init__.py`), one event per scenario in `events/`, and unit
and integration tests in `tests/projects/`. Where they go comes from the template: the
function API Gateway sends `/projects` to, and its layer. Everything is checked first (the
arguments, that nothing of that name exists, that the declaration loads); then all files are
written, or none. The new code is the team's: plain, typed, formatted by ruff where the
project has it.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import types
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from .._database import LocalDatabase
from .._routes import Router
from .._template import Function, Template
from ._events import events
from ._render import Layout, render
from ._samples import samples
from ._spec import ScaffoldError, Spec, parse

__all__ = ["Added", "ScaffoldError", "add_resource"]

_MIGRATION_NUMBER = re.compile(r"^(\d+)[_-]")


class Added(NamedTuple):
    spec: Spec
    created: list[Path]
    changed: list[Path]
    formatted: bool  # ruff formatted the new Python files


def add_resource(
    template_path: str | Path,
    name: str,
    fields: Sequence[str],
    *,
    owner: bool | None = None,
) -> Added:
    """Add the resource `name` with `fields` (`budget:int?`...) to the template's app. Its
    rows belong to their caller (`owner`) by default where the API runs each request as its
    caller."""
    template = Template.load(template_path)
    root = template.root
    spec = parse(name, fields, project=root)
    function, router = _api_function(template, spec.name)
    if owner is None:
        owner = runs_as_caller(function)
    spec = replace(spec, owner=owner)
    layout = Layout(root, function.code_dir, _layer_dir(function, root), _migrations_dir(root))
    registry = layout.routes_dir / "__init__.py"
    _check_free(spec, layout, registry)
    migration = f"{_next_number(layout.migrations_dir)}_create_{spec.name}.sql"
    files = render(spec, layout, migration, function.logical_id)
    for event_name, text in events(spec, samples(spec), router).items():
        files[layout.events_dir / event_name] = text
    registered = register(registry.read_text(encoding="utf-8"), spec.name, registry)
    _check_code(files, spec)
    formatted = _format(files, root)
    _write(files, {registry: registered})
    return Added(spec, list(files), [registry], formatted)


def _api_function(template: Template, name: str) -> tuple[Function, Router]:
    """The function API Gateway sends `/name` to, and the template's router."""
    functions = template.functions()
    router = Router(route for function in functions for route in function.routes)
    match = router.match("POST", f"/{name}")
    if match is None:
        raise ScaffoldError(
            f"no route of {template.path.name} sends POST /{name} to a function: give the API "
            "function a catch-all route (Path: /{proxy+}, Method: ANY)"
        )
    return template.function(match.route.function_id), router


def runs_as_caller(function: Function) -> bool:
    """Whether the function runs each request as its caller (its module calls neonkit's
    `auth.install`): only then has a new row an owner, the caller's identity."""
    module = function.code_dir / (function.handler.rpartition(".")[0].replace(".", "/") + ".py")
    return module.is_file() and "auth.install(" in module.read_text(encoding="utf-8")


def _layer_dir(function: Function, root: Path) -> Path:
    """Where the layer's packages are (`layer/python`, mounted at /opt/python in Lambda)."""
    for path in function.layer_paths:
        if path.name == "python" and path.is_relative_to(root.resolve()):
            return path
    raise ScaffoldError(
        f"{function.logical_id} has no layer of this project with a python/ folder: the "
        "resource's declaration and repository go there"
    )


def _migrations_dir(root: Path) -> Path:
    return LocalDatabase(root).migrations_dir


def _check_free(spec: Spec, layout: Layout, registry: Path) -> None:
    """ScaffoldError if anything of the resource exists already, or its place is missing."""
    if not registry.is_file():
        raise ScaffoldError(
            f"{_shown(registry, layout.root)} is missing: the API function's routes/ package, "
            "whose add_routes(api) adds each resource's routes, is where the routes go"
        )
    taken = {p.stem for p in layout.code_dir.iterdir() if p.suffix == ".py" or p.is_dir()}
    if spec.name in taken:
        raise ScaffoldError(
            f"{spec.name!r} is a module of the API function ({_shown(layout.code_dir, layout.root)}"
            "): name the resource otherwise"
        )
    found = [
        path
        for path in (
            layout.layer_dir / spec.name,
            layout.routes_dir / f"{spec.name}.py",
            layout.tests_dir / spec.name,
        )
        if path.exists()
    ]
    found += sorted(layout.events_dir.glob(f"{spec.name}_*.json"))
    creates = re.compile(rf"create\s+table\s+(if\s+not\s+exists\s+)?\"?{spec.name}\b", re.I)
    if layout.migrations_dir.is_dir():
        found += [
            path
            for path in sorted(layout.migrations_dir.glob("*.sql"))
            if creates.search(path.read_text(encoding="utf-8"))
        ]
    if f"add_{spec.name}_routes" in registry.read_text(encoding="utf-8"):
        found.append(registry)
    if found:
        shown = ", ".join(_shown(path, layout.root) for path in found[:3])
        shown += f" and {len(found) - 3} more" if len(found) > 3 else ""
        raise ScaffoldError(f"the resource {spec.name} exists already ({shown}): nothing changed")


def _next_number(migrations_dir: Path) -> str:
    numbers = [
        match[1]
        for path in (migrations_dir.glob("*.sql") if migrations_dir.is_dir() else [])
        if (match := _MIGRATION_NUMBER.match(path.name))
    ]
    width = max([4, *(len(number) for number in numbers)])
    return str(max([0, *(int(number) for number in numbers)]) + 1).zfill(width)


def register(text: str, name: str, where: Path) -> str:
    """routes/__init__.py with the resource's routes added: its import, in order among the
    other `from .x import`, and a call at the end of `add_routes(api)`."""
    tree = ast.parse(text)
    function = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "add_routes"), None
    )
    if function is None or function.end_lineno is None:
        raise ScaffoldError(f"{where} has no function add_routes(api) to add the routes to")
    lines = text.splitlines(keepends=True)
    indent = " " * function.body[-1].col_offset
    lines.insert(function.end_lineno, f"{indent}add_{name}_routes(api)\n")
    import_line = f"from .{name} import add_{name}_routes\n"
    relative = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module]
    after = next((n for n in relative if str(n.module) > name), None)
    if after is not None:
        lines.insert(after.lineno - 1, import_line)
    elif relative:
        lines.insert(_end(relative[-1]), import_line)
    else:
        imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        if not imports or imports[-1].lineno > function.lineno:
            raise ScaffoldError(f"{where}: add_routes(api) should follow the module's imports")
        lines.insert(_end(imports[-1]), "\n" + import_line)
    # at most two blank lines in a row, as ruff formats it (deleting a line may leave three)
    return re.sub(r"\n{4,}", "\n\n\n", "".join(lines))


def _end(node: ast.stmt) -> int:
    assert node.end_lineno is not None
    return node.end_lineno


def _check_code(files: dict[Path, str], spec: Spec) -> None:
    """Every new Python file compiles, and neonkit accepts the declaration."""
    for path, text in files.items():
        if path.suffix == ".py":
            compile(text, str(path), "exec")
    declaration = next(path for path in files if path.name == "resource.py")
    module = types.ModuleType(f"_scaffold_check_{spec.name}")
    sys.modules[module.__name__] = module
    try:
        code = compile(files[declaration], str(declaration), "exec")
        exec(code, module.__dict__)  # noqa: S102 - the code this command just wrote
    except TypeError as exc:
        raise ScaffoldError(f"neonkit refuses the declaration: {exc}") from None
    finally:
        del sys.modules[module.__name__]


def _format(files: dict[Path, str], root: Path) -> bool:
    """Format the new Python files with the project's ruff, if it is installed."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        return False
    for path, text in files.items():
        if path.suffix == ".py":
            result = subprocess.run(  # noqa: S603 - the project's ruff, fixed arguments
                [ruff, "format", "--stdin-filename", str(path), "-"],
                input=text,
                capture_output=True,
                text=True,
                cwd=root,
                check=False,
            )
            if result.returncode != 0:
                raise ScaffoldError(f"ruff cannot format {path.name}: {result.stderr.strip()}")
            files[path] = result.stdout
    return True


def _write(files: dict[Path, str], changed: dict[Path, str]) -> None:
    """Create every file (none may exist) and replace the changed ones; on any failure, remove
    what was made, so that the project is as it was."""
    made: list[Path] = []
    try:
        for path, text in files.items():
            missing = [p for p in reversed(path.parents) if not p.exists()]
            for folder in missing:
                folder.mkdir()
                made.append(folder)
            with path.open("x", encoding="utf-8") as out:
                made.append(path)
                out.write(text)
        for path, text in changed.items():
            new = path.with_name(path.name + ".new")
            made.append(new)
            new.write_text(text, encoding="utf-8")
            os.replace(new, path)
            made.remove(new)
    except BaseException:
        for path in reversed(made):
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink(missing_ok=True)
        raise


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)

"""`localdev resource`: its arguments, where it writes, and that a refusal changes no file.

Each test works on a copy of the kit's empty fixture app (tests/kit/fixtures/scaffold); the
integration tier runs what the command writes (tests/kit/integration/test_localdev_scaffold.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from localdev import _scaffold
from localdev._cli import main
from localdev._scaffold import ScaffoldError, add_resource, register
from localdev._scaffold._spec import SpecField, parse, parse_fields, singular_of

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "scaffold"
PROJECTS = ["name:str", "budget:int?", "due:date?", "tags:str[]"]


@pytest.fixture(autouse=True)
def _host_app_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """The modules of the app these tests run in (its layer and functions, which pytest and
    load_handler put on the path) are not the fixture app's: hidden, as from `python -m
    localdev` in the fixture app's folder. The kit's packages and the virtualenv stay."""
    host = Path(__file__).resolve().parents[3]
    kept = (host / "kit", Path(sys.prefix).resolve())

    def visible(entry: str) -> bool:
        path = Path(entry).resolve()
        return not path.is_relative_to(host) or any(path.is_relative_to(k) for k in kept)

    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if visible(entry)])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    shutil.copytree(FIXTURE, root)
    return root


def snapshot(root: Path) -> dict[str, str]:
    """Every file of the project and a hash of its content."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def add(root: Path, name: str, fields: list[str], *, owner: bool = False) -> _scaffold.Added:
    return add_resource(root / "template.yaml", name, fields, owner=owner)


# -- what it writes -----------------------------------------------------------------------


def test_it_writes_a_complete_resource_where_the_template_says(project: Path) -> None:
    before = snapshot(project)

    added = add(project, "projects", PROJECTS)

    made = set(snapshot(project)) - set(before)
    assert made == {str(path.relative_to(project)) for path in added.created}
    assert {
        "migrations/0002_create_projects.sql",  # the number after the app's 0001
        "layer/python/projects/__init__.py",
        "layer/python/projects/resource.py",
        "layer/python/projects/repository.py",
        "functions/api/routes/projects.py",
        "tests/projects/__init__.py",
        "tests/projects/samples.py",
        "tests/projects/test_projects_resource.py",
        "tests/projects/test_projects_api.py",
    } <= made
    events = sorted(name.removeprefix("events/") for name in made if name.startswith("events/"))
    assert events == [
        f"projects_{scenario}.json"
        for scenario in sorted(
            [
                "create_created",
                "create_idempotent_created",
                "create_invalid",
                "create_malformed",
                "batch_created",
                "batch_invalid",
                "list",
                "list_filtered",
                "list_invalid",
                "get_found",
                "get_missing",
                "get_invalid",
                "update_found",
                "update_invalid",
                "update_missing",
                "delete_found",
                "delete_missing",
            ]
        )
    ]
    assert added.changed == [project / "functions" / "api" / "routes" / "__init__.py"]
    routes = added.changed[0].read_text()
    assert "from .projects import add_projects_routes\n" in routes
    assert routes.endswith("    add_projects_routes(api)\n")


def test_the_declaration_says_what_the_fields_say(project: Path) -> None:
    add(project, "projects", PROJECTS)
    declaration = (project / "layer/python/projects/resource.py").read_text()
    assert 'class Project(Resource, table="projects"):' in declaration
    assert "    name: str = field(max_length=500, filter=True)\n" in declaration
    assert "    budget: int | None = field(default=None, filter=True)\n" in declaration
    assert "    due: date | None = field(default=None, filter=True)\n" in declaration
    assert (
        "    tags: list[str] = field(default=[], max_items=100, max_length=500, filter=True)\n"
        in declaration
    )
    migration = (project / "migrations/0002_create_projects.sql").read_text()
    assert "    name            text NOT NULL,\n" in migration
    assert "    budget          bigint,\n" in migration
    assert "    tags            text[] NOT NULL DEFAULT '{}',\n" in migration
    assert "idempotency_key text UNIQUE" in migration
    assert "ROW LEVEL SECURITY" not in migration


def test_owner_scoped_resources_get_row_level_security(project: Path) -> None:
    add(project, "chores", ["title:str"], owner=True)
    migration = (project / "migrations/0002_create_chores.sql").read_text()
    assert "owner           text NOT NULL DEFAULT current_setting('neonkit.user_id', true)" in (
        migration
    )
    assert "UNIQUE (owner, idempotency_key)" in migration
    assert "ALTER TABLE chores ENABLE ROW LEVEL SECURITY;" in migration
    assert "ALTER TABLE chores FORCE ROW LEVEL SECURITY;" in migration
    assert "CREATE POLICY chores_owner ON chores" in migration
    repository = (project / "layer/python/chores/repository.py").read_text()
    assert '.on_conflict("owner", "idempotency_key")' in repository
    assert (
        "def test_each_user_sees_and_changes_only_their_own_rows"
        in (project / "tests/chores/test_chores_api.py").read_text()
    )
    # every event carries one user's verified claims, as the authorizer passes them
    events = sorted((project / "events").glob("chores_*.json"))
    assert events
    subjects = {
        json.loads(path.read_text())["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
        for path in events
    }
    assert len(subjects) == 1


def test_rows_of_no_owner_come_in_events_without_claims(project: Path) -> None:
    add(project, "boxes", ["label:str"], owner=False)
    events = sorted((project / "events").glob("boxes_*.json"))
    assert events
    assert all("authorizer" not in json.loads(p.read_text())["requestContext"] for p in events)


def test_rows_belong_to_their_caller_where_the_api_runs_requests_as_the_caller(
    project: Path,
) -> None:
    app = project / "functions/api/app.py"
    assert "auth.install(" not in app.read_text()
    add_resource(project / "template.yaml", "boxes", ["label:str"])
    assert "ROW LEVEL SECURITY" not in (project / "migrations/0002_create_boxes.sql").read_text()
    app.write_text(
        app.read_text().replace("add_routes(api)\n", "auth.install(api)\nadd_routes(api)\n")
    )
    add_resource(project / "template.yaml", "chores", ["title:str"])
    assert "ROW LEVEL SECURITY" in (project / "migrations/0003_create_chores.sql").read_text()


@pytest.mark.parametrize("owner", [True, False])
def test_every_table_is_granted_to_the_functions_role(project: Path, owner: bool) -> None:
    add(project, "chores", ["title:str"], owner=owner)
    migration = (project / "migrations/0002_create_chores.sql").read_text()
    assert "CREATE ROLE app_runtime NOLOGIN;" in migration  # if no earlier migration did
    assert migration.rstrip().endswith(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON chores TO app_runtime;"
    )


def test_routes_are_added_in_order_among_the_others(project: Path) -> None:
    add(project, "projects", PROJECTS)
    add(project, "boxes", ["label:str"])
    add(project, "tasks", ["title:str"])
    routes = (project / "functions/api/routes/__init__.py").read_text()
    assert (
        "from neonkit import http\n\n"
        "from .boxes import add_boxes_routes\n"
        "from .projects import add_projects_routes\n"
        "from .tasks import add_tasks_routes\n\n\n"
    ) in routes
    assert routes.endswith(
        "    add_projects_routes(api)\n    add_boxes_routes(api)\n    add_tasks_routes(api)\n"
    )
    assert sorted(p.name for p in (project / "migrations").iterdir()) == [
        "0001_create_notes.sql",
        "0002_create_projects.sql",
        "0003_create_boxes.sql",
        "0004_create_tasks.sql",
    ]


def test_routes_are_added_where_the_last_one_was_removed() -> None:
    # `perl -ni -e 'print unless /add_todos_routes/'` leaves three blank lines: two again
    emptied = (
        (FIXTURE / "functions/api/routes/__init__.py")
        .read_text()
        .replace("from neonkit import http\n\n\n", "from neonkit import http\n\n\n\n")
    )
    routes = register(emptied, "projects", Path("routes/__init__.py"))
    expected = "from neonkit import http\n\nfrom .projects import add_projects_routes\n\n\ndef "
    assert expected in routes


def test_register_needs_add_routes() -> None:
    with pytest.raises(ScaffoldError, match="no function add_routes"):
        register('"""Routes."""\n', "projects", Path("routes/__init__.py"))


def test_the_cli_prints_what_it_wrote(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["resource", "-t", str(project / "template.yaml"), "projects", *PROJECTS])
    out = capsys.readouterr().out
    assert status == 0
    assert "Added the resource projects (class Project):" in out
    assert "  migrations/0002_create_projects.sql\n" in out
    assert "  functions/api/routes/__init__.py (adds its routes)\n" in out


def test_fields_may_come_in_one_argument_as_make_passes_them() -> None:
    assert parse_fields(["name:str budget:int?", "tags:str[]?"]) == (
        SpecField("name", "str"),
        SpecField("budget", "int", optional=True),
        SpecField("tags", "str", array=True, optional=True),
    )


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("projects", "project"),
        ("categories", "category"),
        ("addresses", "address"),
        ("statuses", "status"),
        ("boxes", "box"),
        ("batches", "batch"),
        ("line_items", "line_item"),
        ("staff", "staff"),
        ("analysis", "analysis"),
    ],
)
def test_the_class_is_named_for_one_row(plural: str, singular: str) -> None:
    assert singular_of(plural) == singular


def test_the_class_name_is_the_singular_in_camel_case() -> None:
    assert parse("line_items", ["sku:str"]).class_name == "LineItem"


# -- refusals: a clear message, and no file changed ------------------------------------------


@pytest.mark.parametrize(
    ("name", "fields", "message"),
    [
        ("", PROJECTS, "name the resource"),
        ("Projects", PROJECTS, "is not a lower-case identifier"),
        ("2fa", PROJECTS, "is not a lower-case identifier"),
        ("my-projects", PROJECTS, "is not a lower-case identifier"),
        ("project__s", PROJECTS, "is not a lower-case identifier"),
        ("a_very_long_resource_name", PROJECTS, "longer than 20 characters"),
        ("select", PROJECTS, "'select' is a reserved word in SQL"),
        ("user", PROJECTS, "'user' is a reserved word in SQL"),
        ("lambda", PROJECTS, "is a Python keyword"),
        ("json", PROJECTS, "is already a Python module (in Python's standard library)"),
        ("psycopg", PROJECTS, "is already a Python module (installed:"),
        ("routes", PROJECTS, "is a module of the API function"),
        ("app", PROJECTS, "is a module of the API function"),
        ("classes", PROJECTS, "would name its rows 'class', a Python keyword"),
        ("responses", PROJECTS, "class Response, a name the generated code imports"),
        ("notes", PROJECTS, "the resource notes exists already (migrations/0001_create_notes"),
        ("projects", [], "give the resource at least one field"),
        ("projects", ["name:strng"], "unknown type 'strng'; use one of str, int, float"),
        ("projects", ["name"], "write a field as name:type"),
        ("projects", ["name:str?[]"], "write a field as name:type"),
        ("projects", ["meta:json[]"], "use json, which holds arrays too"),
        ("projects", ["Name:str"], "is not a lower-case identifier"),
        ("projects", ["id:int"], "'id' is taken: the key every resource has"),
        ("projects", ["owner:str"], "'owner' is taken: the column that says whose row it is"),
        ("projects", ["created_at:datetime"], "'created_at' is taken"),
        ("projects", ["idempotency_key:str"], "'idempotency_key' is taken"),
        ("projects", ["limit:int"], "a parameter of the list"),
        ("projects", ["columns:str"], "taken by neonkit's Resource (Resource.columns)"),
        ("projects", ["table_name:str"], "taken by neonkit's Resource"),
        ("projects", ["to_json:str"], "taken by neonkit's Resource"),
        ("projects", ["order:int"], "'order' is a reserved word in SQL"),
        ("projects", ["from:date"], "reserved word in SQL"),
        ("projects", ["class:str"], "'class' is a Python keyword"),
        ("projects", ["date:date"], "would hide the name date in the declaration"),
        ("projects", ["field:str"], "would hide the name field"),
        ("projects", ["name:str", "name:int"], "the field name is given twice"),
        ("projects", ["a" * 31 + ":str"], "longer than 30 characters"),
    ],
)
def test_a_bad_argument_gets_a_clear_message_and_changes_nothing(
    project: Path, name: str, fields: list[str], message: str
) -> None:
    before = snapshot(project)
    with pytest.raises(ScaffoldError) as error:
        add(project, name, fields)
    assert message in str(error.value)
    assert snapshot(project) == before


def test_every_bad_field_is_named_at_once(project: Path) -> None:
    with pytest.raises(ScaffoldError) as error:
        add(project, "projects", ["id:int", "x:nope", "ok:str", "order:str"])
    assert str(error.value).splitlines()[1:] == [
        "  'id:int': 'id' is taken: the key every resource has",
        "  'x:nope': unknown type 'nope'; use one of str, int, float, bool, date, datetime, "
        "uuid, json",
        "  'order:str': 'order' is a reserved word in SQL",
    ]


def test_running_it_twice_changes_nothing_the_second_time(project: Path) -> None:
    add(project, "projects", PROJECTS)
    after_first = snapshot(project)
    with pytest.raises(ScaffoldError, match="the resource projects exists already"):
        add(project, "projects", PROJECTS)
    with pytest.raises(ScaffoldError, match="exists already"):
        add(project, "projects", ["title:str"])  # other fields: still the same resource
    assert snapshot(project) == after_first


def test_the_cli_says_why_and_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["resource", "-t", str(project / "template.yaml"), "select", "name:str"])
    assert status == 2
    assert capsys.readouterr().err == (
        "localdev: error: 'select' is a reserved word in SQL: name the resource otherwise\n"
    )


def test_make_passes_each_field_quoted(project: Path) -> None:
    # `?` and `[]` are shell patterns: a file that matches one must not change the arguments
    (project / "budget:intX").write_text("")
    shutil.copy(Path(__file__).resolve().parents[3] / "Makefile", project / "Makefile")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    result = subprocess.run(
        ["make", "-s", "-o", ".venv/.test", "resource", "NAME=projects",
         "FIELDS=name:str budget:int? tags:str[]", "VENV=.venv", f"PY={sys.executable}"],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    declaration = (project / "layer/python/projects/resource.py").read_text()
    assert "budget: int | None" in declaration
    assert "tags: list[str]" in declaration


def test_a_failed_write_leaves_the_project_as_it_was(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a disk that fails on the last step, replacing routes/__init__.py
    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("localdev._scaffold.os.replace", fail)
    before = snapshot(project)
    # WHEN the resource is added, THEN it fails and every file it had made is gone again
    with pytest.raises(OSError, match="disk full"):
        add(project, "projects", PROJECTS)
    assert snapshot(project) == before

"""What `localdev resource` writes works at once, with no hand edit: its tests pass, it is
ruff- and mypy-clean, and the served API answers for it on the embedded database.

On a copy of the kit's empty fixture app (tests/kit/fixtures/scaffold), so that it holds for
any app built on the kit, not only for this repository's sample.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from localdev.testing import scratch_database
from neonkit import Database, Settings, using
from neonkit.migrations import migrate
from psycopg import sql

from tests.kit.support.served import http_json, serve

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "scaffold"
FIELDS = ["name:str", "budget:int?", "due:date?", "tags:str[]", "meta:json?", "seen_at:datetime?"]


def run(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture app with `projects` added by the command, as a team would run it."""
    root = tmp_path_factory.mktemp("scaffold") / "app"
    shutil.copytree(FIXTURE, root)
    result = run(root, "-m", "localdev", "resource", "projects", *FIELDS)
    assert result.returncode == 0, result.stderr
    return root


def test_the_generated_tests_pass(app: Path) -> None:
    result = run(app, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/projects")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed is not None, summary
    assert int(passed[1]) >= 25, summary
    assert "failed" not in summary, summary
    assert "error" not in summary, summary


def test_the_generated_code_is_formatted_linted_and_typed(app: Path) -> None:
    ruff = Path(sys.executable).with_name("ruff")
    for command in ([str(ruff), "check", "."], [str(ruff), "format", "--check", "."]):
        result = subprocess.run(command, cwd=app, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    result = run(app, "-m", "mypy", "--no-incremental")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_the_served_api_answers_for_the_new_resource(app: Path, tmp_path: Path) -> None:
    # GIVEN `localdev serve` as `make dev` runs it: the embedded PostgreSQL, migrations applied
    with serve(None, tmp_path, root=app) as served:
        assert "applied migration 0002_create_projects.sql" in served.log()
        # WHEN a project is created, read back and changed with a wrong type
        status, created = http_json(
            served.url, "POST", "/projects", {"name": "Apollo", "budget": 5}
        )
        assert status == 201, created
        assert (created["name"], created["budget"], created["tags"]) == ("Apollo", 5, [])
        status, fetched = http_json(served.url, "GET", f"/projects/{created['id']}")
        assert (status, fetched) == (200, created)
        status, error = http_json(
            served.url, "PATCH", f"/projects/{created['id']}", {"budget": "x"}
        )
        # THEN the wrong type is a 422 naming the field, and the document describes it all
        assert status == 422, error
        assert [problem["field"] for problem in error["details"]] == ["budget"]
        status, document = http_json(served.url, "GET", "/openapi.json")
    assert status == 200
    assert set(document["paths"]["/projects"]) == {"get", "post"}
    assert set(document["paths"]["/projects/{id}"]) == {"get", "patch", "delete"}
    assert set(document["paths"]["/projects/batch"]) == {"post"}
    properties = document["components"]["schemas"]["Project"]["properties"]
    assert properties["budget"]["type"] == ["integer", "null"]
    assert properties["due"] == {"type": ["string", "null"], "format": "date"}
    assert properties["tags"]["type"] == "array"
    assert properties["seen_at"]["format"] == "date-time"
    assert document["components"]["schemas"]["ProjectNew"]["required"] == ["name"]


def test_running_it_again_changes_nothing(app: Path) -> None:
    before = {p: p.read_bytes() for p in app.rglob("*") if p.is_file() and ".local" not in p.parts}
    result = run(app, "-m", "localdev", "resource", "projects", "name:str")
    assert result.returncode == 2
    assert "the resource projects exists already" in result.stderr
    after = {p: p.read_bytes() for p in app.rglob("*") if p.is_file() and ".local" not in p.parts}
    assert {p: v for p, v in after.items() if "__pycache__" not in p.parts} == {
        p: v for p, v in before.items() if "__pycache__" not in p.parts
    }


# -- rows that belong to a user ---------------------------------------------------------------


@pytest.fixture
def owned(tmp_path: Path) -> Iterator[Path]:
    """The fixture app with `scaffold_chores` added, owner-scoped; its layer importable."""
    root = tmp_path / "app"
    shutil.copytree(FIXTURE, root)
    fields = ["title:str", "done:bool?", "--owner"]
    result = run(root, "-m", "localdev", "resource", "scaffold_chores", *fields)
    assert result.returncode == 0, result.stderr
    sys.path.insert(0, str(root / "layer" / "python"))
    yield root
    sys.path.remove(str(root / "layer" / "python"))
    for name in [m for m in sys.modules if m.partition(".")[0] == "scaffold_chores"]:
        del sys.modules[name]


@pytest.fixture
def app_role_url(admin_url: str) -> Iterator[str]:
    """A database owned by a role that is no superuser and cannot bypass row-level security,
    as the functions' role should be: the one that runs the migrations and the requests."""
    with scratch_database(admin_url) as url, psycopg.connect(url, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS scaffold_app")
        # CREATEROLE as Neon's owner role has it: the migration creates app_runtime if missing
        admin.execute("CREATE ROLE scaffold_app LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE")
        admin.execute("ALTER SCHEMA public OWNER TO scaffold_app")
        yield psycopg.conninfo.make_conninfo(url, user="scaffold_app")
        admin.execute(sql.SQL("REASSIGN OWNED BY scaffold_app TO CURRENT_USER"))
        admin.execute("DROP OWNED BY scaffold_app")


def test_owner_scoped_rows_are_kept_apart_by_postgresql(owned: Path, app_role_url: str) -> None:
    # GIVEN the migration applied by the table's owner, which the requests also run as
    migrate(app_role_url, owned / "migrations")
    from scaffold_chores import repository  # type: ignore[import-not-found]
    from scaffold_chores.resource import ScaffoldChore as Chore  # type: ignore[import-not-found]

    database = Database(app_role_url, settings=Settings(connect_deadline=5.0))
    new = Chore.New.parse(b'{"title": "Water the plants"}')
    with using(database):
        # WHEN alice makes a row with a key, and bob looks for it and uses the same key
        with database.as_user("alice"):
            mine, _ = repository.create(new, key="same-key")
        with database.as_user("bob"):
            # THEN bob sees, changes and deletes nothing of alice's, and gets a row of his own
            assert repository.get(mine["id"]) is None
            assert repository.page(Chore.Query.parse({})) == []
            assert repository.update(mine["id"], {"done": True}) is None
            assert repository.delete(mine["id"]) is False
            theirs, created = repository.create(new, key="same-key")
            assert created
            assert theirs["id"] != mine["id"]
        with database.as_user("alice"):
            again, created = repository.create(new, key="same-key")
            assert (again, created) == (mine, False)  # her key still finds her row
            assert [row["id"] for row in repository.page(Chore.Query.parse({}))] == [mine["id"]]
        # and a statement without an identity sees no row at all
        assert database.value("SELECT count(*) FROM scaffold_chores") == 0
    database.close()
    with psycopg.connect(app_role_url) as owner:
        owners = owner.execute("SELECT count(*) FROM scaffold_chores").fetchone()
    assert owners == (0,)  # FORCE: not even the table's owner reads around the policy

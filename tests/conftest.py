"""Integration fixtures: the project's migrations applied, handlers loaded from the template.

The functions run as they do once deployed: logged in as `app_runtime`, the role the
migrations grant the app's rows to, which row-level security binds (not a superuser, no
BYPASSRLS). `todos_db` is the migrations' owner (the server's superuser), for arranging and
inspecting rows behind the functions' back: it sees every user's rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from localdev.testing import (
    Handler,
    PgBouncer,
    global_environment,
    load_handler,
    require_pgbouncer,
)
from neonkit import Database, Settings, using
from neonkit.migrations import migrate
from psycopg import sql

APP_ROLE = "app_runtime"  # created by migrations/0002


@pytest.fixture(scope="session")
def migrated(direct_url: str) -> str:
    """The schema, migrated over the direct endpoint as in production (never the pooler)."""
    migrate(direct_url, "migrations")
    return direct_url


@pytest.fixture(scope="session")
def app_direct_url(migrated: str) -> str:
    """This run's database as the functions' role, straight to PostgreSQL. (The migration
    creates the role NOLOGIN; a team gives it a password once, as done here.)"""
    password = secrets.token_hex(16)
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(APP_ROLE), sql.Literal(password)
            )
        )
    return psycopg.conninfo.make_conninfo(migrated, user=APP_ROLE, password=password)


@pytest.fixture(scope="session")
def app_pgbouncer(app_direct_url: str) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode logging in upstream as the functions' role."""
    with PgBouncer(app_direct_url, binary=require_pgbouncer()) as bouncer:
        yield bouncer


@pytest.fixture(scope="session")
def app_url(database_kind: str, app_direct_url: str, request: pytest.FixtureRequest) -> str:
    """The functions' database URL, reached like `database_url` (directly or via PgBouncer)."""
    if database_kind == "pgbouncer":
        bouncer: PgBouncer = request.getfixturevalue("app_pgbouncer")
        return bouncer.url
    return app_direct_url


@pytest.fixture
def todos_db(db: Database, migrated: str) -> Iterator[Database]:
    """The owner's Database on a migrated schema, emptied before each test."""
    db.execute("TRUNCATE todos RESTART IDENTITY")
    return db


@pytest.fixture
def app_db(app_url: str, settings: Settings, todos_db: Database) -> Iterator[Database]:
    """The functions' Database (as `app_runtime`), installed as `neonkit.db`."""
    database = Database(app_url, settings=settings)
    with using(database):
        yield database
    database.close()


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment the template gives every function."""
    for name, value in global_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ApiFunction")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")


@pytest.fixture
def api(lambda_env: None, app_db: Database) -> Handler:
    return load_handler("ApiFunction")

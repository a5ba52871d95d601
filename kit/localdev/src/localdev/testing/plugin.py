"""The pytest plugin (registered by the package): one PostgreSQL per run (embedded unless
TEST_DATABASE_URL), a database per run, PgBouncer, and the project's migrations.

`db` logs in as the server's superuser (the migrations' owner: it sees every row); `app_db`
as `app_runtime`, the role the migrations grant the app's rows to and the functions log in
as once deployed, which row-level security binds.

Every test that uses `database_url` (and so `db`) runs twice: against PostgreSQL directly
(`[postgres]`) and through PgBouncer in transaction mode (`[pgbouncer]`), as Neon's `-pooler`
endpoint does; there `settings.pooled` is True. `direct_url` always bypasses the pooler.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from neonkit import Database, Settings, using
from psycopg import sql

from ._pgbouncer import PgBouncer, require_pgbouncer
from ._postgres import postgres_server, scratch_database
from ._project import project_root, set_project_root

APP_ROLE = "app_runtime"  # the functions' role: `make dev` and deployed functions log in as it


def pytest_configure(config: pytest.Config) -> None:
    """The project under test is the run's root folder (where template.yaml is)."""
    set_project_root(config.rootpath)


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    """The server's admin URL; a server that cannot start ends the run with its reason."""
    try:
        with postgres_server() as url:
            yield url
    except Exception as exc:  # one clear failure instead of hundreds of red tests
        pytest.exit(f"cannot start or reach the test PostgreSQL: {exc}", returncode=3)


@pytest.fixture(scope="session")
def direct_url(admin_url: str) -> Iterator[str]:
    """A database of its own for this run, on the server itself (never through a pooler):
    for migrations, admin actions and looking behind the kit's back."""
    with scratch_database(admin_url) as url:
        yield url


@pytest.fixture(scope="session")
def pgbouncer(direct_url: str) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of this run's database. Skipped where PgBouncer
    is not installed; a failure instead when NEONKIT_REQUIRE_PGBOUNCER=1 (CI)."""
    binary = require_pgbouncer()
    with PgBouncer(direct_url, binary=binary) as bouncer:
        yield bouncer


@pytest.fixture(
    scope="session", params=["postgres", pytest.param("pgbouncer", marks=pytest.mark.pooler)]
)
def database_kind(request: pytest.FixtureRequest) -> str:
    """How tests reach the database: straight to PostgreSQL, or through PgBouncer."""
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(database_kind: str, direct_url: str, request: pytest.FixtureRequest) -> str:
    """This run's database, directly or through PgBouncer (see `database_kind`)."""
    if database_kind == "pgbouncer":
        bouncer: PgBouncer = request.getfixturevalue("pgbouncer")
        return bouncer.url
    return direct_url


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Settings:
    """Settings as the kit would read them, without the machine's environment; `pooled`
    when the test's database is reached through PgBouncer."""
    pooled = (
        "database_kind" in request.fixturenames
        and request.getfixturevalue("database_kind") == "pgbouncer"
    )
    return Settings(connect_deadline=5.0, query_timeout=10.0, pooled=pooled)


@pytest.fixture
def db(database_url: str, settings: Settings) -> Iterator[Database]:
    """A fresh lazily-connected Database, installed as `neonkit.db` for the test."""
    database = Database(database_url, settings=settings)
    with using(database):
        yield database
    database.close()


@pytest.fixture
def raw(direct_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A plain psycopg connection, to look at the database behind the kit's back (and the
    pooler's: it always goes straight to PostgreSQL)."""
    with psycopg.connect(direct_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def migrated(direct_url: str) -> str:
    """The project's `migrations/`, applied over the direct endpoint as in production (never
    through the pooler); returns the direct URL."""
    from neonkit.migrations import migrate

    migrate(direct_url, project_root() / "migrations")
    return direct_url


@pytest.fixture(scope="session")
def app_direct_url(migrated: str) -> str:
    """This run's database as the functions' role, straight to PostgreSQL. (Migrations create
    the role NOLOGIN; a team gives it a password once, as done here.)"""
    password = secrets.token_hex(16)
    with psycopg.connect(migrated, autocommit=True) as conn:
        if conn.execute("SELECT FROM pg_roles WHERE rolname = %s", [APP_ROLE]).fetchone() is None:
            pytest.fail(f"no role {APP_ROLE}: a migration creates it and grants it the app's rows")
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
def app_db(app_url: str, settings: Settings) -> Iterator[Database]:
    """The functions' Database (as `app_runtime`), installed as `neonkit.db` for the test."""
    database = Database(app_url, settings=settings)
    with using(database):
        yield database
    database.close()

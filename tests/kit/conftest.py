"""Fixtures of the kit's own proof: its fixture app (tests/kit/app) on a database of its own.

The app's migrations run once per test run on a new database of the run's server; each test
reaches it the way its `database_kind` says (straight to PostgreSQL, or through PgBouncer).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from localdev.testing import Handler, global_environment, load_handler, scratch_database
from neonkit import Database, Settings, using
from neonkit.migrations import migrate

from tests.kit.support import app
from tests.kit.support.proxy import FaultProxy


@pytest.fixture(scope="session")
def notes_direct_url(admin_url: str) -> Iterator[str]:
    """The fixture app's database, migrated, straight to PostgreSQL."""
    with scratch_database(admin_url) as url:
        migrate(url, app.MIGRATIONS)
        yield url


@pytest.fixture
def notes_url(database_url: str, notes_direct_url: str) -> str:
    """The fixture app's database, reached like `database_url` (directly or via PgBouncer)."""
    name = psycopg.conninfo.conninfo_to_dict(notes_direct_url)["dbname"]
    return psycopg.conninfo.make_conninfo(database_url, dbname=str(name))


@pytest.fixture
def notes_db(notes_url: str, settings: Settings) -> Iterator[Database]:
    """A Database on the fixture app's emptied tables, installed as `neonkit.db`."""
    database = Database(notes_url, settings=settings)
    database.execute("TRUNCATE notes RESTART IDENTITY")
    with using(database):
        yield database
    database.close()


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment the fixture app's template gives its function."""
    for name, value in global_environment(app.TEMPLATE).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", app.FUNCTION)


@pytest.fixture
def notes_api(app_env: None, notes_db: Database) -> Handler:
    """The fixture app's handler, imported fresh (a new sandbox)."""
    return load_handler(app.FUNCTION, template=app.TEMPLATE)


@pytest.fixture
def proxy(notes_url: str) -> Iterator[FaultProxy]:
    """A FaultProxy in front of the fixture app's database: it counts flights, injects faults
    and tells the kit's sockets apart by port."""
    params = psycopg.conninfo.conninfo_to_dict(notes_url)
    with FaultProxy(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432)) as p:
        yield p


@pytest.fixture
def wire_db(proxy: FaultProxy, notes_url: str, settings: Settings) -> Iterator[Database]:
    """A warm Database behind the proxy, installed as `neonkit.db`."""
    url = psycopg.conninfo.make_conninfo(notes_url, host="127.0.0.1", port=str(proxy.port))
    database = Database(url, settings=settings)
    database.ping()
    with using(database):
        yield database
    database.close()

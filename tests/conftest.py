"""Shared fixtures: one PostgreSQL per run (embedded unless TEST_DATABASE_URL), a database per run."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from neonkit import Database, Settings, using
from tests.support.servers import postgres_server, scratch_database


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    """The server's admin URL; a server that cannot start ends the run with its reason."""
    try:
        with postgres_server() as url:
            yield url
    except Exception as exc:  # one clear failure instead of hundreds of red tests
        pytest.exit(f"cannot start or reach the test PostgreSQL: {exc}", returncode=3)


@pytest.fixture(scope="session")
def database_url(admin_url: str) -> Iterator[str]:
    """A database of its own for this run."""
    with scratch_database(admin_url) as url:
        yield url


@pytest.fixture
def settings() -> Settings:
    """Settings as the kit would read them, without the machine's environment."""
    return Settings(connect_deadline=5.0, query_timeout=10.0)


@pytest.fixture
def db(database_url: str, settings: Settings) -> Iterator[Database]:
    """A fresh lazily-connected Database, installed as `neonkit.db` for the test."""
    database = Database(database_url, settings=settings)
    with using(database):
        yield database
    database.close()


@pytest.fixture
def raw(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A plain psycopg connection, to look at the database behind the kit's back."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn

"""Integration fixtures: the project's migrations applied, handlers loaded from the template."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from localdev.testing import Handler, global_environment, load_handler
from neonkit import Database
from neonkit.migrations import migrate


@pytest.fixture(scope="session")
def migrated(direct_url: str) -> str:
    """The schema, migrated over the direct endpoint as in production (never the pooler)."""
    migrate(direct_url, "migrations")
    return direct_url


@pytest.fixture
def todos_db(db: Database, migrated: str) -> Iterator[Database]:
    """The kit's Database on a migrated schema, emptied before each test."""
    db.execute("TRUNCATE todos RESTART IDENTITY")
    return db


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment the template gives every function."""
    for name, value in global_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ApiFunction")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")


@pytest.fixture
def api(lambda_env: None, todos_db: Database) -> Handler:
    return load_handler("ApiFunction")

"""The sample's fixtures: its table emptied before each test, handlers loaded from the template.

The functions run as they do once deployed: logged in as `app_runtime` (the plugin's `app_db`),
the role the migrations grant the app's rows to, which row-level security binds (not a
superuser, no BYPASSRLS). `todos_db` is the migrations' owner (the server's superuser), for
arranging and inspecting rows behind the functions' back: it sees every user's rows.
"""

from __future__ import annotations

import pytest
from localdev.testing import Handler, global_environment, load_handler
from neonkit import Database


@pytest.fixture
def todos_db(db: Database, migrated: str) -> Database:
    """The owner's Database on a migrated schema, emptied before each test."""
    db.execute("TRUNCATE todos RESTART IDENTITY")
    return db


@pytest.fixture
def app_db(todos_db: Database, app_db: Database) -> Database:
    """The plugin's `app_db` (the functions' role, installed as `neonkit.db` after the owner's
    `db`, so that it is the one in use), on an empty todos table."""
    return app_db


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

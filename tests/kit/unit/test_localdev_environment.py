"""A function's environment, and which database a local run gives it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from localdev._database import LocalDatabase, configured_url, needs_local_database
from localdev._environment import lambda_environment
from localdev._template import Function

BASE = Function(
    logical_id="TodosFunction",
    code_dir=Path("/project/functions/todos"),
    handler="app.handler",
    runtime="python3.13",
    timeout=25.0,
    memory_size=512,
    environment={"LEVEL": "INFO", "SHARED": "template"},
)


def function(**changes: Any) -> Function:
    return dataclasses.replace(BASE, **changes)


def test_lambda_variables() -> None:
    env = lambda_environment(function(), {}, "eu-west-1", host={})
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "TodosFunction"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "25"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
    assert env["LAMBDA_TASK_ROOT"] == "/project/functions/todos"
    assert env["_HANDLER"] == "app.handler"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/TodosFunction"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"].split("/")[-1].startswith("[$LATEST]")
    assert env["TZ"] == ":UTC"
    assert "AWS_LAMBDA_LOG_LEVEL" not in env


def test_precedence_host_template_overrides_reserved() -> None:
    host = {
        "PATH": "/usr/bin",
        "AWS_PROFILE": "dev",
        "SHARED": "host",
        "DATABASE_URL": "postgresql://host/db",
        "VIRTUAL_ENV": "/venv",
    }
    overrides = {"SHARED": "override", "AWS_REGION": "mars-1"}
    env = lambda_environment(function(), overrides, "eu-west-1", host=host)
    assert env["PATH"] == "/usr/bin"
    assert env["AWS_PROFILE"] == "dev"
    assert env["LEVEL"] == "INFO"
    assert env["SHARED"] == "override"
    assert env["AWS_REGION"] == "eu-west-1"  # reserved: Lambda does not let it be set
    assert "DATABASE_URL" not in env  # the shell's variables do not leak in
    assert "VIRTUAL_ENV" not in env


def test_logging_config_variables() -> None:
    env = lambda_environment(
        function(log_format="JSON", log_level="DEBUG"), {}, "us-east-1", host={}
    )
    assert (env["AWS_LAMBDA_LOG_FORMAT"], env["AWS_LAMBDA_LOG_LEVEL"]) == ("JSON", "DEBUG")


@pytest.mark.parametrize(
    ("environment", "needs"),
    [
        ({}, True),
        ({"DATABASE_URL": "", "DATABASE_SECRET": ""}, True),
        ({"DATABASE_URL": "postgresql://h/db"}, False),
        ({"DATABASE_SECRET": "arn:aws:secretsmanager:eu-west-1:1:secret:db"}, False),
    ],
)
def test_functions_naming_a_database_keep_it(environment: dict[str, str], needs: bool) -> None:
    assert needs_local_database(environment) is needs


def test_configured_url_from_environment_then_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # neonkit's rules: the environment first, then a .env found from the current folder up
    for name in ("DATABASE_URL", "DATABASE_SECRET", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    assert configured_url() is None
    (tmp_path / ".env").write_text("OTHER=1\n")
    assert configured_url() is None
    (tmp_path / ".env").write_text("DATABASE_URL=postgresql://from-dotenv/db\n")
    assert configured_url() == "postgresql://from-dotenv/db"
    monkeypatch.setenv("DATABASE_URL", "postgresql://from-env/db")
    assert configured_url() == "postgresql://from-env/db"


def test_migrations_folder_follows_its_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEONKIT_MIGRATIONS_DIR", raising=False)
    assert LocalDatabase(tmp_path).migrations_dir == tmp_path / "migrations"
    monkeypatch.setenv("NEONKIT_MIGRATIONS_DIR", "db/sql")
    assert LocalDatabase(tmp_path).migrations_dir == tmp_path / "db" / "sql"
    monkeypatch.setenv("NEONKIT_MIGRATIONS_DIR", str(tmp_path / "elsewhere"))
    assert LocalDatabase(tmp_path).migrations_dir == tmp_path / "elsewhere"


def test_local_database_keeps_its_port(tmp_path: Path) -> None:
    db = LocalDatabase(tmp_path)
    port = db.server().port
    assert (tmp_path / ".local" / "pgport").read_text().strip() == str(port)
    assert LocalDatabase(tmp_path).server().port == port
    assert db.url == f"postgresql://postgres@127.0.0.1:{port}/postgres"
    assert db.data_dir == tmp_path / ".local" / "pgdata"
    assert not db.is_running()


def test_migrate_without_a_migrations_folder_does_nothing(tmp_path: Path) -> None:
    assert LocalDatabase(tmp_path).migrate() == []

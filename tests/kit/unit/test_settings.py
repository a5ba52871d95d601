"""Settings: read from the environment in one place, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from neonkit._settings import VARIABLES, Settings
from neonkit.errors import ConfigurationError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()  # each default is written once, on its field
    assert settings.url is None
    assert settings.secret is None
    assert settings.pooled is None
    assert settings.prepare is None
    assert settings.client_binding is False
    assert settings.connect_timeout == 5
    assert settings.connect_deadline == 10
    assert settings.query_timeout == 10
    assert settings.idle_ping_after == 60
    assert settings.preconnect is None


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_an_empty_variable_means_unset(name: str) -> None:
    # `sam local invoke` passes DATABASE_URL="" for a variable the template leaves empty
    assert Settings.from_env({name: ""}) == Settings()
    assert Settings.from_env({name: "  "}) == Settings()


def test_an_empty_url_leaves_the_secret_in_charge() -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": "", "DATABASE_SECRET": "arn:aws:secretsmanager:x"}
    )
    assert settings.url is None
    assert settings.secret == "arn:aws:secretsmanager:x"


def test_every_variable_sets_a_field() -> None:
    fields = {field for field, _ in VARIABLES.values()}
    assert fields == set(Settings.__dataclass_fields__)


def test_url_wins_over_secret() -> None:
    settings = Settings.from_env({"DATABASE_URL": "postgresql://x", "DATABASE_SECRET": "arn"})
    assert settings.url == "postgresql://x"
    assert settings.secret is None
    assert Settings.from_env({"DATABASE_SECRET": "arn:aws:secretsmanager:x"}).secret


@pytest.mark.parametrize(("raw", "expected"), [("on", True), ("OFF", False), ("auto", None)])
def test_tristates(raw: str, expected: bool | None) -> None:
    assert Settings.from_env({"NEONKIT_POOLED": raw}).pooled is expected


def test_application_name_comes_from_the_function_name() -> None:
    env = {"AWS_LAMBDA_FUNCTION_NAME": "notes-api"}
    assert Settings.from_env(env).application_name == "notes-api"


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("NEONKIT_POOLED", "maybe", "not one of: auto, on, off"),
        ("NEONKIT_QUERY_TIMEOUT", "soon", "not a number"),
        ("NEONKIT_CONNECT_DEADLINE", "-1", "must be positive"),
    ],
)
def test_bad_values_name_the_setting(name: str, raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{name}={raw!r} .*{message}"):
        Settings.from_env({name: raw})


def test_connect_timeout_is_at_least_libpqs_minimum() -> None:
    assert Settings.from_env({"NEONKIT_CONNECT_TIMEOUT": "1"}).connect_timeout == 2


def test_dotenv_fills_gaps_outside_lambda_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "DATABASE_URL=postgresql://from-dotenv\nNEONKIT_QUERY_TIMEOUT=3\n"
    )
    monkeypatch.chdir(tmp_path)
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    assert Settings.from_env().url == "postgresql://from-dotenv"
    assert Settings.from_env().query_timeout == 3

    monkeypatch.setenv("DATABASE_SECRET", "arn:aws:secretsmanager:us-east-1:1:secret:db")
    assert Settings.from_env().url is None  # the environment chose a secret: .env stays out

    monkeypatch.setenv("DATABASE_SECRET", "")  # as `sam local invoke` passes them
    monkeypatch.setenv("DATABASE_URL", "")
    assert Settings.from_env().url == "postgresql://from-dotenv"  # empty ones are unset

    monkeypatch.delenv("DATABASE_SECRET")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    assert Settings.from_env().url is None  # in Lambda, .env is never read

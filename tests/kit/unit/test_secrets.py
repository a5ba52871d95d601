"""The URL from Secrets Manager or SSM, through a stubbed Powertools provider (no AWS, no moto)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parameters.base import BaseProvider
from neonkit import _secrets as secrets
from neonkit._dsn import DatabaseUrl
from neonkit.errors import ConfigurationError


class StubProvider(BaseProvider):
    """Powertools' own caching in front of values held in memory."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated
        self.values = values
        self.fetches: list[str] = []

    def _get(self, name: str, **kwargs: Any) -> str:
        self.fetches.append(name)
        return self.values[name]

    def _get_multiple(self, path: str, **kwargs: Any) -> dict[str, str]:
        raise NotImplementedError


def test_plain_url_secret() -> None:
    provider = StubProvider({"db": "postgresql://u:p@h/d"})
    assert secrets.fetch_url("db", max_age=60, provider=provider) == "postgresql://u:p@h/d"


def test_json_secret_with_a_url_field() -> None:
    provider = StubProvider({"db": json.dumps({"url": "postgresql://u:p@h/d"})})
    assert secrets.fetch_url("db", max_age=60, provider=provider) == "postgresql://u:p@h/d"


def test_rds_style_fields_become_a_connection_string() -> None:
    value = {
        "username": "neon",
        "password": "pw'x",
        "host": "ep-a-1.aws.neon.tech",
        "port": 5432,
        "dbname": "app",
        "engine": "postgres",
    }
    url = DatabaseUrl.parse(secrets.url_from_secret(json.dumps(value)))
    assert url.params == {
        "user": "neon",
        "password": "pw'x",
        "host": "ep-a-1.aws.neon.tech",
        "port": "5432",
        "dbname": "app",
    }


def test_missing_fields_are_named_without_values() -> None:
    with pytest.raises(ConfigurationError, match="lacks host") as info:
        secrets.url_from_secret(json.dumps({"username": "u", "password": "hunter2-secret"}))
    assert "hunter2-secret" not in str(info.value)


def test_cached_until_forced() -> None:
    provider = StubProvider({"db": "postgresql://a"})
    secrets.fetch_url("db", max_age=300, provider=provider)
    secrets.fetch_url("db", max_age=300, provider=provider)
    assert provider.fetches == ["db"]
    provider.values["db"] = "postgresql://b"
    assert secrets.fetch_url("db", max_age=300, provider=provider, force=True) == "postgresql://b"
    assert provider.fetches == ["db", "db"]


def test_ssm_names_and_arns() -> None:
    assert secrets.is_ssm_parameter("/app/db")
    assert secrets.is_ssm_parameter("arn:aws:ssm:us-east-1:1:parameter/app/db")
    assert not secrets.is_ssm_parameter("arn:aws:secretsmanager:us-east-1:1:secret:db")
    assert secrets.ssm_name("arn:aws:ssm:us-east-1:1:parameter/app/db") == "/app/db"


def test_provider_failures_become_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="could not read DATABASE_SECRET 'nope'"):
        secrets.fetch_url("nope", max_age=1, provider=StubProvider({}))
